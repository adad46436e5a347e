#!/usr/bin/env python3
"""Does a blocking handler hold up others? /fast latency while 5 handlers block 2 s.

Servers, each with its default options, serving GET /slow?ms=N (a handler that sleeps N ms)
and GET /fast:
  porthole  build/examples/blocking_work (/slow on the worker pool: porthole::blocking)
  httplib   bench/blocking_httplib.cpp compiled against the cpp-httplib header given with
            --httplib DIR (the folder holding httplib.h; give it more than once to compare
            versions), thread pool at its default size

Each round, for each server in turn: 5 clients send /slow?ms=2000 and wait; 100 ms later, for
1.5 s, /fast is timed (a) on a new connection per request, one after another, and (b) with
`wrk -t1 -c2 -d1s` on keep-alive connections. Printed: p50/p99/max of /fast in milliseconds,
medians over the rounds, and whether all five slow requests were answered.

  bench/blocking_bench.py --httplib /path/to/cpp-httplib [--build build] [--rounds 3]
"""
import argparse
import pathlib
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
import server_bench  # noqa: E402

SOURCE = pathlib.Path(__file__).resolve().parent / "blocking_httplib.cpp"


def build_httplib(include_dir, out_dir):
    exe = pathlib.Path(out_dir) / ("blocking_httplib_%d" % abs(hash(include_dir)))
    cmd = ["g++", "-O2", "-std=c++20", "-DCPPHTTPLIB_TCP_NODELAY=true", "-I", include_dir, str(SOURCE), "-pthread",
           "-o", str(exe)]
    # A header-only copy links alone; Debian's splits it into a shared library.
    if subprocess.run(cmd, stderr=subprocess.DEVNULL).returncode != 0:
        subprocess.run(cmd + ["-lcpp-httplib"], check=True)
    return str(exe)


def get(port, path, timeout=10.0):
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    s.sendall(("GET %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nConnection: close\r\n\r\n" % (path, port)).encode())
    data = b""
    while True:
        chunk = s.recv(65536)
        if not chunk:
            break
        data += chunk
    s.close()
    return data


def percentile(values, p):
    v = sorted(values)
    return v[min(len(v) - 1, int(round(p / 100.0 * (len(v) - 1))))]


def one_round(server, lua):
    slow_ok = []
    slow = [threading.Thread(target=lambda: slow_ok.append(get(server.port, "/slow?ms=2000").startswith(b"HTTP/1.1 200")))
            for _ in range(5)]
    for t in slow:
        t.start()
    time.sleep(0.1)
    lat = []
    end = time.monotonic() + 1.5
    while time.monotonic() < end:
        t0 = time.monotonic()
        ok = get(server.port, "/fast").startswith(b"HTTP/1.1 200")
        lat.append((time.monotonic() - t0) * 1000.0 if ok else float("inf"))
    for t in slow:
        t.join()
    fresh = {"p50": percentile(lat, 50), "p99": percentile(lat, 99), "max": max(lat), "n": len(lat)}
    # Keep-alive: wrk on /fast while five more slow requests block.
    slow_ok2 = []
    slow = [threading.Thread(target=lambda: slow_ok2.append(get(server.port, "/slow?ms=2000").startswith(b"HTTP/1.1 200")))
            for _ in range(5)]
    for t in slow:
        t.start()
    time.sleep(0.1)
    out = subprocess.run(["wrk", "-t1", "-c2", "-d1s", "--timeout", "3s", "-s", lua,
                          "http://127.0.0.1:%d/fast" % server.port], capture_output=True, text=True)
    for t in slow:
        t.join()
    keep = None
    for line in out.stdout.splitlines():
        if line.startswith("RESULT "):
            r = {k: float(v) for k, v in (kv.split("=") for kv in line[7:].split())}
            keep = {"p50": r["p50_us"] / 1000.0, "p99": r["p99_us"] / 1000.0, "max": r["max_us"] / 1000.0,
                    "n": r["requests"]}
    return fresh, keep, sum(slow_ok) + sum(slow_ok2)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--build", default=str(server_bench.ROOT / "build"))
    p.add_argument("--httplib", action="append", default=[], help="folder holding a cpp-httplib httplib.h")
    p.add_argument("--rounds", type=int, default=3)
    args = p.parse_args()
    lua = str(server_bench.WRK_LUA)
    tmp = tempfile.mkdtemp(prefix="blocking_bench_")
    servers = [server_bench.Server("porthole", [str(pathlib.Path(args.build) / "examples" / "blocking_work"),
                                                "--port", "0"])]
    for d in args.httplib:
        version = "?"
        for line in open(pathlib.Path(d) / "httplib.h"):
            if line.startswith("#define CPPHTTPLIB_VERSION "):
                version = line.split('"')[1]
                break
        servers.append(server_bench.Server("httplib " + version, [build_httplib(d, tmp), "--port", "0"]))
    results = {s.name: {"fresh": [], "keep": [], "slow": []} for s in servers}
    for s in servers:
        s.start()
    try:
        for _ in range(args.rounds):
            for s in servers:
                fresh, keep, slow = one_round(s, lua)
                results[s.name]["fresh"].append(fresh)
                if keep:
                    results[s.name]["keep"].append(keep)
                results[s.name]["slow"].append(slow)
    finally:
        for s in servers:
            s.stop()
    print("/fast while 5 handlers block 2 s; ms, median of %d rounds" % args.rounds)
    print("%-16s %-28s %8s %8s %8s %8s %10s" % ("server", "mode", "p50", "p99", "max", "n", "slow ok"))
    for s in servers:
        r = results[s.name]
        for mode, label in (("fresh", "new connection per request"), ("keep", "keep-alive, wrk -c2")):
            rows = r[mode]
            if not rows:
                print("%-16s %-28s no result" % (s.name, label))
                continue
            med = {k: statistics.median(x[k] for x in rows) for k in ("p50", "p99", "max", "n")}
            print("%-16s %-28s %8.2f %8.2f %8.2f %8.0f %7d/%d" % (s.name, label, med["p50"], med["p99"], med["max"],
                                                              med["n"], sum(r["slow"]), 10 * args.rounds))


if __name__ == "__main__":
    main()
