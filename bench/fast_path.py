#!/usr/bin/env python3
"""Is the fast path untouched? This build against another commit's, measured in the same run.

Two servers from each build, started once, measured in turn, round after round:
  hello  build/bench/plaintext_porthole --threads 1, wrk -t1 keep-alive -c64
  echo   build/examples/echo --threads 1, wrk -t1 pipelined 16 deep, -c64
For each it prints the median server CPU per request (utime+stime over the requests wrk counted)
and req/s of both builds and the ratio. Then the connection alone, without sockets (less
disturbed by other load on the machine): bench/alloc_bench's 2,000,000 keep-alive requests,
CPU per request (median of the rounds, and the fastest round) and allocations per request,
for both builds.

  bench/fast_path.py --base /path/to/other/build [--build build] [--rounds 5] [--duration 3]
  bench/fast_path.py --metrics [--build build]   (one build: metrics off as base, on as this)

The other build is any meson build directory of an earlier commit with -Dbenchmarks=true, e.g.
  git archive COMMIT | tar -x -C /tmp/base && meson setup /tmp/base/build /tmp/base -Dbenchmarks=true
  ninja -C /tmp/base/build bench/plaintext_porthole examples/echo bench/alloc_bench
"""
import argparse
import pathlib
import resource
import statistics
import subprocess
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
import server_bench  # noqa: E402  (its server, wrk and CPU helpers)

MODES = {
    "hello": ("keep-alive -c64", 64, [], {}),
    "echo": ("pipelined 16, -c64", 64, [], {"PIPELINE": "16"}),
}


# With --metrics only (an older build may lack --router): hello's answer from a router, so that
# recording by route pattern is measured too.
ROUTER_MODE = ("router keep-alive -c64", 64, [], {})


def servers(build, label, extra=(), router=False):
    b = pathlib.Path(build)
    hello = [str(b / "bench" / "plaintext_porthole"), "--port", "0", "--threads", "1"]
    out = {
        "hello": server_bench.Server(label + " hello", hello + list(extra)),
        "echo": server_bench.Server(label + " echo", [str(b / "examples" / "echo"), "--port", "0", "--threads", "1"]),
    }
    if router:
        out["router"] = server_bench.Server(label + " router", hello + ["--router"] + list(extra))
    return out


def connection_alone(build, requests=2000000, extra=()):
    """(CPU ns per request, alloc_bench's line) for one run of alloc_bench."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    out = subprocess.run([str(pathlib.Path(build) / "bench" / "alloc_bench"), "--requests", str(requests)] + list(extra),
                         capture_output=True, text=True, check=True).stdout
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return cpu * 1e9 / requests, out.strip()


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--base", help="build directory of the commit to compare with")
    p.add_argument("--metrics", action="store_true",
                   help="compare recording off (base) and on (this, --metrics) in the same build")
    p.add_argument("--build", default=str(server_bench.ROOT / "build"))
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--duration", type=float, default=3.0)
    args = p.parse_args()
    lua = str(server_bench.WRK_LUA)
    if args.metrics:
        args.base = args.base or args.build
        print("base: metrics off; this: metrics on (hello's plaintext_porthole --metrics; alloc_bench --metrics)")
    elif not args.base:
        p.error("--base is needed without --metrics")
    extra = {"base": [], "this": ["--metrics"] if args.metrics else []}
    modes = dict(MODES, router=ROUTER_MODE) if args.metrics else MODES
    builds = {"base": servers(args.base, "base", router=args.metrics),
              "this": servers(args.build, "this", extra["this"], router=args.metrics)}
    results = {(b, s): [] for b in builds for s in modes}
    for group in builds.values():
        for s in group.values():
            s.start()
    try:
        for r in range(args.rounds):
            order = ["base", "this"] if r % 2 == 0 else ["this", "base"]
            for name in modes:
                for b in order:
                    res = server_bench.run_wrk(builds[b][name], modes[name], args.duration, lua)
                    if res and res["errors"] == 0:
                        results[(b, name)].append(res)
    finally:
        for group in builds.values():
            for s in group.values():
                s.stop()
    print("wrk -t1, %gs per run, median of %d interleaved rounds; CPU = server utime+stime per request"
          % (args.duration, args.rounds))
    print("%-6s %-20s %12s %12s %8s %12s %12s" % ("", "mode", "base us/req", "this us/req", "ratio",
                                                 "base req/s", "this req/s"))
    for name, mode in modes.items():
        base, this = results[("base", name)], results[("this", name)]
        if not base or not this:
            print("%-6s %-20s no result" % (name, mode[0]))
            continue
        bc = statistics.median(x["cpu_us"] for x in base)
        tc = statistics.median(x["cpu_us"] for x in this)
        br = statistics.median(x["rps"] for x in base)
        tr = statistics.median(x["rps"] for x in this)
        print("%-6s %-20s %12.3f %12.3f %8.3f %12.0f %12.0f" % (name, mode[0], bc, tc, tc / bc, br, tr))
    for app in ([], ["--router"]) if args.metrics else ([],):
        alone = {"base": [], "this": []}
        lines = {}
        for r in range(args.rounds):
            for b, d in ((("base", args.base), ("this", args.build)) if r % 2 == 0 else (("this", args.build), ("base", args.base))):
                ns, lines[b] = connection_alone(d, extra=extra[b] + app)
                alone[b].append(ns)
        bn, tn = statistics.median(alone["base"]), statistics.median(alone["this"])
        bm, tm = min(alone["base"]), min(alone["this"])
        print("connection alone (alloc_bench%s, 2,000,000 keep-alive requests), ns/req: median base %.1f this %.1f "
              "ratio %.3f; fastest round (least disturbed) base %.1f this %.1f ratio %.3f"
              % (" --router" if app else "", bn, tn, tn / bn, bm, tm, tm / bm))
        print("  base: " + lines["base"])
        print("  this: " + lines["this"])


if __name__ == "__main__":
    main()
