#!/usr/bin/env python3
"""WebSocket: porthole (examples/echo's /ws, one event loop) against the ceiling (build/bench/
ws_epoll_ceiling, a hand-written single-threaded epoll echo that checks nothing) and Node's `ws`
package (bench/ws_node_echo.mjs, one thread, from the repository's node_modules). All load comes
from build/bench/ws_load; rounds interleave the servers; medians of the rounds, ratios from the
same run.

  echo       round trips per second and server CPU per message, binary messages of 64 B and
             16 KiB, at 1 and 64 connections (each connection one message in flight).
  broadcast  examples/chat (and the Node peer with --broadcast): one message of 64 B to every
             one of 1,000 and 10,000 connections: time until all have it (median of rounds),
             and the server's RSS per connection (RSS with them open, less RSS before, over N).

  bench/ws_bench.py [--build build] [--seconds 2] [--rounds 3] [--only echo,broadcast]
"""
import argparse
import os
import pathlib
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from server_bench import Server, cpu_seconds, rss_bytes  # noqa: E402

ROOT = pathlib.Path(__file__).resolve().parent.parent


def servers(build, broadcast=False):
    node = shutil.which("node")
    out = []
    if broadcast:
        out.append(Server("porthole", [str(build / "examples/chat"), "--port", "0", "--threads", "1",
                                       "--max-connections", "20000"]))
    else:
        out.append(Server("porthole", [str(build / "examples/echo"), "--port", "0", "--threads", "1"]))
        out.append(Server("ceiling", [str(build / "bench/ws_epoll_ceiling"), "--port", "0"]))
    if node and (ROOT / "node_modules/ws").is_dir():
        argv = [node, str(ROOT / "bench/ws_node_echo.mjs"), "--port", "0"] + (["--broadcast"] if broadcast else [])
        out.append(Server("node-ws", argv))
    return out


def load(build, *args, timeout=300):
    r = subprocess.run([str(build / "bench/ws_load")] + [str(a) for a in args],
                       capture_output=True, text=True, timeout=timeout)
    if r.returncode != 0:
        raise RuntimeError("ws_load %s: %s" % (" ".join(map(str, args)), r.stderr.strip()))
    return r.stdout


def echo(args, build):
    cases = [(size, conns) for size in (64, 16384) for conns in (1, 64)]
    results = {}
    ss = servers(build)
    for s in ss:
        s.start()
    try:
        for rnd in range(args.rounds):
            for size, conns in cases:
                for s in ss:
                    before = cpu_seconds(s.proc.pid)
                    out = load(build, "echo", "--port", s.port, "--connections", conns, "--size", size,
                               "--seconds", args.seconds).split()
                    cpu = cpu_seconds(s.proc.pid) - before
                    trips, secs = int(out[1]), float(out[3])
                    results.setdefault((size, conns, s.name), []).append((trips / secs, cpu / max(trips, 1) * 1e6))
    finally:
        for s in ss:
            s.stop()
    print("echo: round trips/s and server CPU per message (µs), medians of %d rounds of %s s" % (args.rounds, args.seconds))
    print("%-8s %-6s %-10s %12s %10s %10s" % ("size", "conns", "server", "trips/s", "cpu µs", "vs ceiling"))
    for size, conns in cases:
        ceiling = statistics.median(r[0] for r in results.get((size, conns, "ceiling"), [(0, 0)]))
        for s in ss:
            rows = results[(size, conns, s.name)]
            rate = statistics.median(r[0] for r in rows)
            cpu = statistics.median(r[1] for r in rows)
            print("%-8d %-6d %-10s %12.0f %10.2f %10s" % (size, conns, s.name, rate, cpu,
                                                       "%.2fx" % (rate / ceiling) if ceiling else "-"))


def broadcast(args, build):
    print("broadcast: one 64 B text message to every connection; medians of %d rounds" % args.rounds)
    print("%-10s %-7s %12s %14s" % ("server", "conns", "deliver ms", "RSS/conn B"))
    for conns in (1000, 10000):
        for s in servers(build, broadcast=True):
            s.start()
            try:
                time.sleep(0.3)
                base = rss_bytes(s.proc.pid)
                with tempfile.TemporaryDirectory() as d:
                    hold = os.path.join(d, "hold")
                    p = subprocess.Popen([str(build / "bench/ws_load"), "broadcast", "--port", str(s.port),
                                          "--connections", str(conns), "--size", "64", "--rounds", str(args.rounds),
                                          "--hold-file", hold], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                    while not os.path.exists(hold) and p.poll() is None:
                        time.sleep(0.05)
                    time.sleep(1.0)
                    held = rss_bytes(s.proc.pid)
                    out, err = p.communicate(timeout=300)
                    if p.returncode != 0:
                        raise RuntimeError("ws_load broadcast: " + err.strip())
                ms = [float(line.split()[1]) for line in out.splitlines() if line.startswith("deliver_ms")]
                print("%-10s %-7d %12.2f %14.0f" % (s.name, conns, statistics.median(ms), (held - base) / conns))
            finally:
                s.stop()


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--build", default="build")
    ap.add_argument("--seconds", type=float, default=2.0)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--only", default="echo,broadcast")
    args = ap.parse_args()
    build = pathlib.Path(args.build).resolve()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))  # servers inherit it: 10,000 connections
    only = args.only.split(",")
    if "echo" in only:
        echo(args, build)
    if "broadcast" in only:
        broadcast(args, build)


if __name__ == "__main__":
    main()
