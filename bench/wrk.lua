-- wrk script for bench/server_bench.py and tests/clients/test_load_tools.py.
--   PIPELINE=N in the environment (default 1): each write carries N requests for "/" back to back,
--   and wrk counts each response. Headers given with -H (Connection: close, say) go into every
--   request, as wrk.format() adds wrk.headers.
-- At the end it prints one line for scripts to read:
--   RESULT rps=R p50_us=N p99_us=N mean_us=N max_us=N requests=N connect=N read=N write=N status=N timeout=N duration_s=S
local pipeline = tonumber(os.getenv("PIPELINE") or "1")

if pipeline > 1 then
  local batch
  init = function(args)
    local one = wrk.format("GET", "/")
    batch = string.rep(one, pipeline)
  end
  request = function()
    return batch
  end
end

done = function(summary, latency, requests)
  local seconds = summary.duration / 1000000
  local errors = summary.errors
  print(string.format(
    "RESULT rps=%.1f p50_us=%d p99_us=%d mean_us=%.1f max_us=%d requests=%d connect=%d read=%d write=%d status=%d timeout=%d duration_s=%.3f",
    summary.requests / seconds, latency:percentile(50), latency:percentile(99), latency.mean, latency.max,
    summary.requests, errors.connect, errors.read, errors.write, errors.status, errors.timeout, seconds))
end
