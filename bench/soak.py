#!/usr/bin/env python3
"""Soak: wrk at full load against examples/echo for a while, sampling the server's memory.

  python3 bench/soak.py [--build build] [--duration 60] [--warmup 10] [--connections 64]

Passes (exit 0) when wrk saw no socket error and no error status, and the server's resident
memory (VmRSS) grew by less than --max-growth-kib (1 MiB) from the end of the warm-up to the
end of the run, and its descriptors came back to where they were. Loopback only; the run stops
by itself after --duration seconds. Not part of `meson test`.
"""
import argparse
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

# A mix of what echo does: plain GETs, echoed bodies, a header set from the query, the counter.
MIX_LUA = r"""
local bodies = { string.rep("a", 16), string.rep("b", 1024), string.rep("c", 16384) }
local i = 0
request = function()
  i = i + 1
  local k = i % 8
  if k < 4 then
    return wrk.format("GET", "/")
  elseif k < 7 then
    return wrk.format("POST", "/", {["Content-Type"] = "text/plain"}, bodies[(i % 3) + 1])
  elseif i % 16 == 7 then
    return wrk.format("GET", "/header?value=soak%20" .. i)
  else
    return wrk.format("GET", "/count")
  end
end
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("RESULT requests=%d duration_s=%.3f connect=%d read=%d write=%d status=%d timeout=%d p99_us=%d\n",
    summary.requests, summary.duration / 1e6, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(99)))
end
"""


def rss_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def fd_count(pid):
    return len(os.listdir("/proc/%d/fd" % pid))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--build", default=os.environ.get("PORTHOLE_BUILD_DIR", "build"))
    ap.add_argument("--duration", type=float, default=60, help="seconds of load (default 60)")
    ap.add_argument("--warmup", type=float, default=10, help="seconds before the memory reference (default 10)")
    ap.add_argument("--connections", type=int, default=64)
    ap.add_argument("--wrk-threads", type=int, default=1)
    ap.add_argument("--server-threads", type=int, default=1)
    ap.add_argument("--max-growth-kib", type=int, default=1024)
    ap.add_argument("--plain", action="store_true", help="GET / only, instead of the mix")
    args = ap.parse_args()
    if not shutil.which("wrk"):
        print("soak: needs wrk (tools/setup.sh installs it)", file=sys.stderr)
        return 2
    if args.duration <= args.warmup + 2:
        print("soak: --duration must exceed --warmup by more than 2 s", file=sys.stderr)
        return 2

    echo = os.path.join(args.build, "examples", "echo")
    server = subprocess.Popen([echo, "--port", "0", "--threads", str(args.server_threads)],
                              stdout=subprocess.PIPE, text=True)
    line = server.stdout.readline()
    m = re.fullmatch(r"listening on http://127\.0\.0\.1:(\d+)/\n", line)
    if not m:
        server.kill()
        print("soak: echo announced %r" % line, file=sys.stderr)
        return 2
    port = int(m.group(1))
    pid = server.pid
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as lua:
        lua.write(MIX_LUA if not args.plain else MIX_LUA.split("request = function")[0] +
                  "done" + MIX_LUA.split("\ndone")[1])
    try:
        base_fds = fd_count(pid)
        start_rss = rss_kib(pid)
        wrk = subprocess.Popen(["wrk", "-t%d" % args.wrk_threads, "-c%d" % args.connections,
                                "-d%ds" % int(args.duration), "-s", lua.name,
                                "http://127.0.0.1:%d/" % port],
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        t0 = time.monotonic()
        samples = []  # (seconds since start, VmRSS KiB)
        while wrk.poll() is None and time.monotonic() - t0 < args.duration + 30:
            samples.append((time.monotonic() - t0, rss_kib(pid)))
            time.sleep(0.5)
        out = wrk.communicate(timeout=30)[0]
        time.sleep(0.5)
        end_rss = rss_kib(pid)
        end_fds = fd_count(pid)
        deadline = time.monotonic() + 5
        while end_fds != base_fds and time.monotonic() < deadline:
            time.sleep(0.1)
            end_fds = fd_count(pid)
    finally:
        os.unlink(lua.name)
        server.send_signal(signal.SIGTERM)
        try:
            code = server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            code = server.wait()
        server.stdout.close()

    result = re.search(r"RESULT (.*)", out)
    if not result:
        print(out)
        print("soak: FAIL, no result from wrk", file=sys.stderr)
        return 1
    r = {k: float(v) for k, v in (kv.split("=") for kv in result.group(1).split())}
    after = [s for s in samples if s[0] >= args.warmup]
    reference = after[0][1] if after else start_rss
    peak = max((s[1] for s in after), default=reference)
    growth = max(peak, end_rss) - reference
    errors = int(r["connect"] + r["read"] + r["write"] + r["timeout"])
    print("soak: %.0f s, %d connections, %d requests (%.0f/s), p99 %.2f ms" %
          (r["duration_s"], args.connections, r["requests"], r["requests"] / r["duration_s"], r["p99_us"] / 1000))
    print("  socket errors %d (connect %d, read %d, write %d, timeout %d), error statuses %d" %
          (errors, r["connect"], r["read"], r["write"], r["timeout"], r["status"]))
    print("  VmRSS KiB: start %d, after %.0f s warm-up %d, peak after %d, end %d: growth %d KiB (limit %d)" %
          (start_rss, args.warmup, reference, peak, end_rss, growth, args.max_growth_kib))
    print("  descriptors: %d before, %d after; server exit status %d" % (base_fds, end_fds, code))
    ok = errors == 0 and r["status"] == 0 and growth < args.max_growth_kib and end_fds == base_fds and code == 0
    print("soak: %s" % ("PASS" if ok else "FAIL"))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
