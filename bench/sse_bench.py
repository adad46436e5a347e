#!/usr/bin/env python3
"""Server-sent events to many subscribers of one hub, 100 events/s published from another thread.

Servers, each publishing an event of about 100 bytes `--rate` times a second to every
subscriber of GET /events, the events encoded once and shared through a bounded history:
  porthole  build/bench/sse_porthole (porthole::event_hub, default options)
  httplib   bench/sse_httplib.cpp compiled against the cpp-httplib header given with
            --httplib DIR (the folder holding httplib.h): its chunked content provider, a
            thread per subscriber
The subscribers are build/bench/sse_load: one epoll thread holding every connection, started
once all are subscribed, counting for --seconds.

Printed per server and subscriber count, medians over the rounds: events delivered per
second, p50/p99 from publish to receipt (ms), server CPU per delivered event (us, user+system
from /proc), and server RSS per subscriber (bytes: RSS with every subscriber connected, less
RSS before the first, divided by their number).

  bench/sse_bench.py --httplib /path/to/cpp-httplib [--build build] [--rounds 3]
                     [--subscribers 1000,10000] [--httplib-subscribers 1000] [--seconds 10]
"""
import argparse
import pathlib
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
import server_bench  # noqa: E402

SOURCE = pathlib.Path(__file__).resolve().parent / "sse_httplib.cpp"


def build_httplib(include_dir, out_dir):
    exe = pathlib.Path(out_dir) / "sse_httplib"
    cmd = ["g++", "-O2", "-std=c++20", "-DCPPHTTPLIB_TCP_NODELAY=true", "-I", include_dir, str(SOURCE), "-pthread",
           "-o", str(exe)]
    if subprocess.run(cmd, stderr=subprocess.DEVNULL).returncode != 0:
        subprocess.run(cmd + ["-lcpp-httplib"], check=True)
    return str(exe)


cpu_seconds, rss_bytes = server_bench.cpu_seconds, server_bench.rss_bytes


def one_run(server, load, subscribers, seconds):
    server.start()
    try:
        pid = server.proc.pid
        time.sleep(0.3)
        base_rss = rss_bytes(pid)
        client = subprocess.Popen([load, "--port", str(server.port), "--subscribers", str(subscribers),
                                   "--seconds", str(seconds)], stdout=subprocess.PIPE, text=True)
        line = client.stdout.readline()
        if line.strip() != "ready":
            client.kill()
            raise RuntimeError("%s: the subscribers did not all subscribe (%r)" % (server.name, line))
        full_rss = rss_bytes(pid)
        cpu0 = cpu_seconds(pid)
        out = client.stdout.readline().split()
        cpu1 = cpu_seconds(pid)
        client.wait(timeout=60)
        r = dict(zip(out[::2], out[1::2]))
        events = int(r["events"])
        return {
            "delivered": events / float(r["seconds"]),
            "p50": int(r["p50_us"]) / 1000.0,
            "p99": int(r["p99_us"]) / 1000.0,
            "cpu_us": (cpu1 - cpu0) * 1e6 / max(events, 1),
            "rss_per_sub": (full_rss - base_rss) / subscribers,
            "resyncs": int(r["resyncs"]),
            "closed": int(r["closed"]),
        }
    finally:
        server.stop()


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--build", default="build")
    p.add_argument("--httplib", help="folder holding a cpp-httplib httplib.h")
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--seconds", type=float, default=10)
    p.add_argument("--rate", type=float, default=100)
    p.add_argument("--subscribers", default="1000,10000")
    p.add_argument("--httplib-subscribers", default="1000")
    args = p.parse_args()
    build = pathlib.Path(args.build)
    load = str(build / "bench" / "sse_load")
    rate = ["--rate", str(args.rate)]
    runs = []
    with tempfile.TemporaryDirectory() as tmp:
        for n in [int(x) for x in args.subscribers.split(",") if x]:
            runs.append((server_bench.Server("porthole", [str(build / "bench" / "sse_porthole"), "--port", "0",
                                                           "--max-connections", str(n + 100)] + rate), n))
        if args.httplib:
            version = "?"
            for line in open(pathlib.Path(args.httplib) / "httplib.h"):
                if "CPPHTTPLIB_VERSION " in line:
                    version = line.split('"')[1]
                    break
            exe = build_httplib(args.httplib, tmp)
            for n in [int(x) for x in args.httplib_subscribers.split(",") if x]:
                runs.append((server_bench.Server("httplib " + version, [exe, "--port", "0", "--subscribers", str(n + 100)]
                                                 + rate), n))
        results = {i: [] for i in range(len(runs))}
        for _ in range(args.rounds):
            for i, (server, n) in enumerate(runs):
                server.port = None
                results[i].append(one_run(server, load, n, args.seconds))
    print("%-16s %11s %12s %9s %9s %13s %13s %8s %7s" % ("server", "subscribers", "delivered/s", "p50 ms", "p99 ms",
                                                         "cpu us/event", "RSS B/sub", "resyncs", "closed"))
    for i, (server, n) in enumerate(runs):
        m = {k: statistics.median(r[k] for r in results[i]) for k in results[i][0]}
        print("%-16s %11d %12.0f %9.2f %9.2f %13.2f %13.0f %8d %7d" % (server.name, n, m["delivered"], m["p50"], m["p99"],
                                                                       m["cpu_us"], m["rss_per_sub"], m["resyncs"],
                                                                       m["closed"]))
    print("(%d rounds, %.0f s each, %.0f events/s published; medians)" % (args.rounds, args.seconds, args.rate))


if __name__ == "__main__":
    main()
