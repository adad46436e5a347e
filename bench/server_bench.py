#!/usr/bin/env python3
"""How fast is porthole's server against its peers? One run, interleaved, medians of rounds.

Serves `GET /` -> "Hello, World!" with four servers, all started once and measured in turn:
  porthole  build/bench/plaintext_porthole (one event loop unless --porthole-threads)
  ceiling   build/bench/epoll_ceiling: hand-written epoll that only finds "\\r\\n\\r\\n"
  nginx     /usr/sbin/nginx, 1 worker, `return 200 "Hello, World!";`, temporary config
  httplib   build/bench/plaintext_httplib: Debian's cpp-httplib 0.11 with TCP_NODELAY, or with
            --httplib EXE the same program built elsewhere against another cpp-httplib header
            (bench/plaintext_httplib.cpp compiled with -O2 -DCPPHTTPLIB_TCP_NODELAY=true
            -I DIR-OF-httplib.h -pthread; the peer's code stays outside this repository)

and drives them with `wrk -t1` and bench/wrk.lua in six modes: keep-alive -c1,
-c2, -c64, -c256, pipelined 16 deep (-c64), and `Connection: close` (-c32). For each it prints the
median req/s, p50 and p99 latency, the server's CPU time per request (utime+stime from
/proc/PID/stat before and after, over the requests wrk counted), its context switches and CPU
migrations per request (from /proc/PID/task/*/sched), with ratios to the ceiling, to nginx
and to cpp-httplib. wrk -t1 uses a whole core, so on small machines the fast servers share
wrk's limit in req/s at -c64/-c256; CPU per request is the figure that separates them there.

  bench/server_bench.py [--build build] [--duration 3] [--rounds 3] [--only porthole,nginx] [--modes=-c1,close]
  bench/server_bench.py --only porthole --also main=../main/build     A/B: another build's porthole,
                                         measured in the same interleaved rounds
  bench/server_bench.py --only porthole,httplib --httplib /path/hello_httplib_0.53 --modes=-c1 --rounds 5
  bench/server_bench.py --only porthole --also-flags never=--single-client-affinity=never
                                         A/B: the same porthole with extra flags, same rounds
  bench/server_bench.py --idle 10000     hold 10,000 idle keep-alive connections instead: check
                                         every one is answered, print RSS per held connection
"""
import argparse
import os
import pathlib
import re
import resource
import selectors
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = pathlib.Path(__file__).resolve().parent.parent
WRK_LUA = ROOT / "bench" / "wrk.lua"
CLK_TCK = os.sysconf("SC_CLK_TCK")

MODES = [
    # name, connections, extra wrk args, environment
    ("keep-alive -c1", 1, [], {}),
    ("keep-alive -c2", 2, [], {}),
    ("keep-alive -c64", 64, [], {}),
    ("keep-alive -c256", 256, [], {}),
    ("pipelined 16, -c64", 64, [], {"PIPELINE": "16"}),
    ("Connection: close -c32", 32, ["-H", "Connection: close"], {}),
]

NGINX_CONF = """\
worker_processes 1;
master_process off;
daemon off;
pid {dir}/nginx.pid;
error_log {dir}/error.log error;
worker_rlimit_nofile 65536;
events {{ worker_connections 65536; use epoll; }}
http {{
    access_log off;
    default_type text/plain;
    keepalive_requests 100000000;
    client_body_temp_path {dir}/body;
    proxy_temp_path {dir}/proxy;
    fastcgi_temp_path {dir}/fastcgi;
    uwsgi_temp_path {dir}/uwsgi;
    scgi_temp_path {dir}/scgi;
    server {{
        listen 127.0.0.1:{port};
        location / {{ return 200 "Hello, World!"; }}
    }}
}}
"""


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def cpu_seconds(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK  # utime, stime


def scheduler_counts(pid):
    """(context switches, CPU migrations) summed over the process's threads; migrations are None
    where the kernel does not publish them."""
    switches, migrations = 0, 0
    try:
        tasks = os.listdir("/proc/%d/task" % pid)
    except OSError:
        return 0, None
    for tid in tasks:
        try:
            with open("/proc/%d/task/%s/sched" % (pid, tid)) as f:
                text = f.read()
        except OSError:
            continue
        m = re.search(r"^nr_switches\s*:\s*(\d+)", text, re.M)
        switches += int(m.group(1)) if m else 0
        m = re.search(r"^se\.nr_migrations\s*:\s*(\d+)", text, re.M)
        if m and migrations is not None:
            migrations += int(m.group(1))
        else:
            migrations = None
    return switches, migrations


def rss_bytes(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


class Server:
    def __init__(self, name, argv, port=None, tmpdir=None):
        self.name, self.argv, self.port, self.tmpdir = name, argv, port, tmpdir
        self.proc = None

    def start(self):
        self.proc = subprocess.Popen(self.argv, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        if self.port is None:  # the examples' command line: one "listening on" line
            line = self.proc.stdout.readline()
            m = re.search(r":(\d+)/\s*$", line)
            if not m:
                raise RuntimeError("%s did not announce its port: %r" % (self.name, line))
            self.port = int(m.group(1))
        deadline = time.time() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                break
            except OSError:
                if time.time() > deadline or self.proc.poll() is not None:
                    raise RuntimeError("%s is not accepting connections" % self.name)
                time.sleep(0.05)

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.tmpdir:
            shutil.rmtree(self.tmpdir, ignore_errors=True)


def make_servers(args):
    build = pathlib.Path(args.build)
    servers = []
    want = set(args.only.split(",")) if args.only else None

    def wanted(name):
        return want is None or name in want

    if wanted("porthole"):
        exe = build / "bench" / "plaintext_porthole"
        servers.append(Server("porthole", [str(exe), "--port", "0", "--threads", str(args.porthole_threads)]))
    for also in args.also:
        name, _, other = also.partition("=")
        exe = pathlib.Path(other) / "bench" / "plaintext_porthole"
        servers.append(Server(name, [str(exe), "--port", "0", "--threads", str(args.porthole_threads)]))
    for also in args.also_flags:
        name, _, flags = also.partition("=")
        exe = build / "bench" / "plaintext_porthole"
        servers.append(Server(name, [str(exe), "--port", "0", "--threads", str(args.porthole_threads)] + flags.split()))
    if wanted("ceiling"):
        servers.append(Server("ceiling", [str(build / "bench" / "epoll_ceiling"), "--port", "0"]))
    if wanted("nginx"):
        nginx = shutil.which("nginx") or "/usr/sbin/nginx"
        tmp = tempfile.mkdtemp(prefix="porthole-nginx-")
        port = free_port()
        conf = pathlib.Path(tmp) / "nginx.conf"
        conf.write_text(NGINX_CONF.format(dir=tmp, port=port))
        servers.append(Server("nginx", [nginx, "-p", tmp, "-c", str(conf)], port=port, tmpdir=tmp))
    if wanted("httplib"):
        exe = pathlib.Path(args.httplib) if args.httplib else build / "bench" / "plaintext_httplib"
        if exe.exists():
            servers.append(Server("httplib", [str(exe), "--port", "0"]))
        else:
            print("note: %s not built (needs libcpp-httplib-dev); skipped" % exe, file=sys.stderr)
    return servers


def run_wrk(server, mode, duration, lua, path="/"):
    name, conns, extra, env = mode
    cmd = ["wrk", "-t1", "-c%d" % conns, "-d%gs" % duration, "--timeout", "2s", "-s", lua] + extra
    cmd.append("http://127.0.0.1:%d%s" % (server.port, path))
    before = cpu_seconds(server.proc.pid)
    sched_before = scheduler_counts(server.proc.pid)
    out = subprocess.run(cmd, capture_output=True, text=True, env=dict(os.environ, **env), timeout=duration + 30)
    after = cpu_seconds(server.proc.pid)
    sched_after = scheduler_counts(server.proc.pid)
    m = re.search(r"^RESULT (.*)$", out.stdout, re.M)
    if not m:
        return None
    r = {k: float(v) for k, v in (kv.split("=") for kv in m.group(1).split())}
    r["cpu_us"] = (after - before) * 1e6 / r["requests"] if r["requests"] else float("nan")
    r["cs_req"] = (sched_after[0] - sched_before[0]) / r["requests"] if r["requests"] else float("nan")
    r["mig_req"] = ((sched_after[1] - sched_before[1]) / r["requests"]
                    if r["requests"] and sched_after[1] is not None and sched_before[1] is not None else float("nan"))
    r["errors"] = r["connect"] + r["read"] + r["write"] + r["timeout"] + r["status"]
    return r


def fmt_ratio(a, b):
    return "%.2fx" % (a / b) if a and b else "-"


def bench(args):
    lua = str(WRK_LUA)
    servers = make_servers(args)
    picked = args.modes.split(",") if args.modes else []
    # Whole words: -c64 picks keep-alive -c64, not also "pipelined 16, -c64".
    modes = [m for m in MODES if not picked or any(w in m[0].replace(",", "").split() for w in picked)]
    try:
        for s in servers:
            s.start()
        results = {}  # (mode, server) -> list of runs
        for rnd in range(args.rounds):
            for mode in modes:
                order = servers[rnd % len(servers):] + servers[:rnd % len(servers)]
                for s in order:
                    r = run_wrk(s, mode, args.duration, lua)
                    results.setdefault((mode[0], s.name), []).append(r)
            print("round %d of %d done" % (rnd + 1, args.rounds), file=sys.stderr)
    finally:
        for s in servers:
            s.stop()

    print("wrk -t1, %gs per run, median of %d interleaved rounds; CPU = server utime+stime per request"
          % (args.duration, args.rounds))
    print("porthole runs %d event loop thread(s); load average at the end: %s"
          % (args.porthole_threads, " ".join("%.2f" % x for x in os.getloadavg())))
    for mode in modes:
        print("\n## %s" % mode[0])
        print("%-9s %10s %7s %7s %7s %7s %8s %6s %10s %8s %8s" % (
            "server", "req/s", "p50 µs", "p99 µs", "CPU µs", "cs/req", "mig/req", "errors",
            "vs ceiling", "vs nginx", "vs httplib"))
        med = {}
        for s in servers:
            runs = [r for r in results.get((mode[0], s.name), []) if r]
            if not runs:
                continue
            med[s.name] = {k: statistics.median(r[k] for r in runs)
                           for k in ("rps", "p50_us", "p99_us", "cpu_us", "cs_req", "mig_req", "errors")}
        for s in servers:
            m = med.get(s.name)
            if not m:
                print("%-9s %10s" % (s.name, "failed"))
                continue
            ceil = med.get("ceiling", {}).get("rps")
            ngx = med.get("nginx", {}).get("rps")
            hl = med.get("httplib", {}).get("rps")
            print("%-9s %10.0f %7.0f %7.0f %7.2f %7.3f %8.4f %6.0f %10s %8s %10s" % (
                s.name, m["rps"], m["p50_us"], m["p99_us"], m["cpu_us"], m["cs_req"], m["mig_req"], m["errors"],
                fmt_ratio(m["rps"], ceil), fmt_ratio(m["rps"], ngx), fmt_ratio(m["rps"], hl)))
        for also in args.also + args.also_flags:
            name = also.partition("=")[0]
            if name in med and "porthole" in med:
                print("porthole / %s: req/s %s, CPU per request %s" % (
                    name, fmt_ratio(med["porthole"]["rps"], med[name]["rps"]),
                    fmt_ratio(med["porthole"]["cpu_us"], med[name]["cpu_us"])))
        if "ceiling" in med and "porthole" in med:
            print("porthole CPU per request: %s the ceiling's, %s nginx's" % (
                fmt_ratio(med["porthole"]["cpu_us"], med["ceiling"]["cpu_us"]),
                fmt_ratio(med["porthole"]["cpu_us"], med.get("nginx", {}).get("cpu_us"))))


# ---------------------------------------------------------------- idle connections

REQUEST = b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n"


def response_complete(buf):
    head_end = buf.find(b"\r\n\r\n")
    if head_end < 0:
        return False
    m = re.search(rb"(?i)\r\ncontent-length:\s*(\d+)", buf[:head_end + 2])
    length = int(m.group(1)) if m else 0
    return len(buf) >= head_end + 4 + length


def hold_idle(server, count, timeout=60.0):
    """Opens `count` connections, sends one request on each, reads each whole response, and
    keeps them open. Returns (answered, sockets)."""
    sel = selectors.DefaultSelector()
    pending, answered, socks = 0, 0, []
    started = 0
    deadline = time.time() + timeout
    while answered < count and time.time() < deadline:
        while started < count and pending < 512:
            s = socket.socket()
            s.setblocking(False)
            s.connect_ex(("127.0.0.1", server.port))
            sel.register(s, selectors.EVENT_WRITE, {"buf": b"", "sent": False})
            socks.append(s)
            started += 1
            pending += 1
        for key, ev in sel.select(timeout=1.0):
            s, st = key.fileobj, key.data
            if not st["sent"]:
                if s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR):
                    sel.unregister(s)
                    pending -= 1
                    continue
                s.send(REQUEST)
                st["sent"] = True
                sel.modify(s, selectors.EVENT_READ, st)
                continue
            try:
                chunk = s.recv(4096)
            except BlockingIOError:
                continue
            except OSError:
                chunk = b""
            if not chunk:
                sel.unregister(s)
                pending -= 1
                continue
            st["buf"] += chunk
            if response_complete(st["buf"]):
                sel.unregister(s)
                pending -= 1
                answered += 1
    sel.close()
    return answered, socks


def idle(args):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    need = args.idle * 2 + 1024
    if soft < need:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(need, hard), hard))
    servers = make_servers(args)
    print("%d idle keep-alive connections, each answered once and then held" % args.idle)
    print("%-9s %10s %12s %12s %14s" % ("server", "answered", "RSS idle", "RSS held", "per connection"))
    for s in servers:
        try:
            s.start()
            for _ in range(10):  # warm: a few requests on fresh connections
                hold_idle(s, 1)[1][0].close()
            time.sleep(0.2)
            base = rss_bytes(s.proc.pid)
            answered, socks = hold_idle(s, args.idle, timeout=args.idle_timeout)
            time.sleep(0.2)
            held = rss_bytes(s.proc.pid)
            per = (held - base) / max(1, answered)
            print("%-9s %10s %10.1f MB %10.1f MB %12.0f B" % (
                s.name, "%d/%d" % (answered, args.idle), base / 2**20, held / 2**20, per))
            for x in socks:
                x.close()
        except Exception as e:  # noqa: BLE001 - a peer that cannot cope is a result, not a crash
            print("%-9s failed: %s" % (s.name, e))
        finally:
            s.stop()


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--build", default=str(ROOT / "build"), help="meson build directory (with -Dbenchmarks=true)")
    p.add_argument("--duration", type=float, default=3.0, help="seconds per wrk run")
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--only", default="", help="comma-separated subset: porthole,ceiling,nginx,httplib")
    p.add_argument("--modes", default="", help="comma-separated words picking modes, e.g. -c1,close")
    p.add_argument("--porthole-threads", type=int, default=1)
    p.add_argument("--also", action="append", default=[], metavar="NAME=BUILD",
                   help="another build's plaintext_porthole, run as server NAME (repeatable)")
    p.add_argument("--also-flags", action="append", default=[], metavar="NAME=FLAGS",
                   help="this build's plaintext_porthole with extra flags, run as server NAME (repeatable)")
    p.add_argument("--httplib", default="", metavar="EXE",
                   help="the httplib server: bench/plaintext_httplib.cpp built against another cpp-httplib")
    p.add_argument("--idle", type=int, default=0, help="hold this many idle connections instead")
    p.add_argument("--idle-timeout", type=float, default=60.0)
    args = p.parse_args()
    if args.idle:
        idle(args)
    else:
        bench(args)


if __name__ == "__main__":
    main()
