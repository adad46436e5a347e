#!/usr/bin/env python3
"""HTTPS: porthole (examples/hello --tls-cert, one event loop) against nginx (Debian's, one
worker, `return 200 "Hello, World!"`), with the same certificate and key, the same TLS 1.2
cipher list (porthole's default), TLS 1.3's default suites, tickets on (as many per TLS 1.3
handshake as porthole's default), no session cache.
All servers start once; rounds interleave them; medians of the rounds, ratios from the same run.

  handshakes   build/bench/tls_load: 16 connections at once, each a full handshake (no
               resumption) and one request with Connection: close; TLS 1.3 and 1.2, with an
               ECDSA P-256 and an RSA 2048 certificate. Handshakes/s and server CPU per handshake.
  keep-alive   wrk -t1 -c64 (and -c1) over https (TLS 1.3): req/s and server CPU per request.
  --idle N     RSS per idle TLS connection: N connections, one request each, then held.
  --plain-baseline BUILD   also the plaintext keep-alive figures of BUILD's plaintext_porthole
               (a build of main, say) against this build's, to show the plain path unchanged.
  --plain-instructions BUILD   instructions per plaintext keep-alive request (valgrind's
               callgrind, ab -k -c1; 6000 requests less 1000), this build's plaintext_porthole
               against BUILD's: exact, where timings on a shared machine are not.

A handshake costs the client more than the server (it verifies the server's signature, which is
dearer than making it for ECDSA), so with one load-generator thread the ECDSA rates can be bound
by the client: the tables show its CPU per handshake beside the server's, and the server's
capacity, handshakes per second of server CPU (10^6 / server CPU µs), which is what one server
core sustains whichever side is the bound.
  --pin        each server on the last CPU and the load generator on the first (taskset), so
               neither takes the other's time slices. A server held to one CPU cannot follow a
               lone client to its CPU (server_options::single_client_affinity), so the -c1 rows
               then show porthole without it.
  --load-processes N   N handshake load generators at once (16 connections each), unpinned:
               with one per CPU they leave no CPU idle, so the handshake rate is what the server's
               and the clients' cost together allow, and a server that spends less per handshake
               leaves the clients more: the rate then shows a difference in server cost that a
               lone, saturated load generator hides.

  bench/tls_bench.py [--build build] [--duration 3] [--rounds 5] [--pin] [--load-processes 1] [--idle 2000]
                     [--plain-baseline DIR]
"""
import argparse
import os
import pathlib
import re
import resource
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from server_bench import NGINX_CONF as NGINX_PLAIN_CONF  # noqa: E402
from server_bench import Server, cpu_seconds, free_port, rss_bytes  # noqa: E402

ROOT = pathlib.Path(__file__).resolve().parent.parent
# porthole::tls::default_cipher_list, read from its header: nginx gets the same list.
CIPHERS = re.search(r'default_cipher_list\[\] =\s*"([^"]+)"',
                    (ROOT / "include/porthole/detail/tls_context.hpp").read_text()).group(1)
# and as many TLS 1.3 tickets per handshake as porthole's default (OpenSSL's NumTickets).
TICKETS = re.search(r'unsigned tickets_per_handshake = (\d+);',
                    (ROOT / "include/porthole/detail/tls_context.hpp").read_text()).group(1)

# server_bench.py's nginx, listening with TLS.
NGINX_CONF = NGINX_PLAIN_CONF.replace("error.log error;", "error.log crit;").replace("listen 127.0.0.1:{port};", """\
listen 127.0.0.1:{port} ssl;
        ssl_certificate {cert};
        ssl_certificate_key {key};
        ssl_protocols TLSv1.2 TLSv1.3;
        ssl_ciphers {ciphers};
        ssl_prefer_server_ciphers on;
        ssl_session_tickets on;
        ssl_session_cache off;
        ssl_conf_command NumTickets {tickets};""")
assert "ssl_certificate {cert}" in NGINX_CONF


def make_cert(folder, kind):
    key, cert = os.path.join(folder, kind + ".key"), os.path.join(folder, kind + ".pem")
    newkey = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"] if kind == "ecdsa" else ["-newkey", "rsa:2048"]
    subprocess.run(["openssl", "req", "-x509", "-nodes", *newkey, "-keyout", key, "-out", cert, "-days", "2",
                    "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"],
                   check=True, capture_output=True)
    return cert, key


# --pin: the server's CPU and the load generator's, apart (see the docstring); set by main().
CPUS = sorted(os.sched_getaffinity(0))
SERVER_CPU, CLIENT_CPU = [], []


def pin():
    if len(CPUS) > 1 and shutil.which("taskset"):
        SERVER_CPU[:] = ["taskset", "-c", str(CPUS[-1])]
        CLIENT_CPU[:] = ["taskset", "-c", str(CPUS[0])]


def make_servers(build, folder, kind):
    cert, key = make_cert(folder, kind)
    porthole = Server("porthole", SERVER_CPU + [str(build / "examples" / "hello"), "--port", "0", "--threads", "1",
                                                "--tls-cert", cert, "--tls-key", key])
    nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    tmp = tempfile.mkdtemp(prefix="porthole-nginx-tls-")
    port = free_port()
    conf = pathlib.Path(tmp) / "nginx.conf"
    conf.write_text(NGINX_CONF.format(dir=tmp, port=port, cert=cert, key=key, ciphers=CIPHERS, tickets=TICKETS))
    return [porthole, Server("nginx", SERVER_CPU + [nginx, "-p", tmp, "-c", str(conf)], port=port, tmpdir=tmp)]


def children_cpu_seconds():
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def run_handshakes(build, server, version, duration, processes=1):
    """`processes` load generators at once, 16 connections each."""
    before, client_before = cpu_seconds(server.proc.pid), children_cpu_seconds()
    procs = [subprocess.Popen(CLIENT_CPU + [str(build / "bench" / "tls_load"), "--port", str(server.port),
                                            "--connections", "16", "--seconds", str(duration), "--tls", version],
                              stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
             for _ in range(processes)]
    outs = [p.communicate(timeout=duration + 30)[0] for p in procs]
    after, client_after = cpu_seconds(server.proc.pid), children_cpu_seconds()
    n, secs, errors = 0, 0.0, 0
    for out in outs:
        m = re.search(r"handshakes (\d+) requests (\d+) seconds ([\d.]+) errors (\d+)", out)
        if not m:
            return None
        n, secs, errors = n + int(m.group(1)), max(secs, float(m.group(3))), errors + int(m.group(4))
    return {"rate": n / secs, "cpu_us": (after - before) * 1e6 / n if n else float("nan"),
            "client_us": (client_after - client_before) * 1e6 / n if n else float("nan"), "errors": errors}


def run_wrk(server, connections, duration, scheme="https"):
    before, client_before = cpu_seconds(server.proc.pid), children_cpu_seconds()
    out = subprocess.run(CLIENT_CPU + ["wrk", "-t1", "-c%d" % connections, "-d%gs" % duration, "--timeout", "2s",
                          "%s://127.0.0.1:%d/" % (scheme, server.port)], capture_output=True, text=True,
                         timeout=duration + 30)
    after, client_after = cpu_seconds(server.proc.pid), children_cpu_seconds()
    m = re.search(r"(\d+) requests in", out.stdout)
    if not m:
        return None
    n = int(m.group(1))
    errors = sum(int(x) for x in re.findall(r"(?:connect|read|write|timeout) (\d+)", out.stdout))
    errors += int((re.search(r"Non-2xx or 3xx responses: (\d+)", out.stdout) or [0, 0])[1])
    return {"rate": n / duration, "cpu_us": (after - before) * 1e6 / n if n else float("nan"),
            "client_us": (client_after - client_before) * 1e6 / n if n else float("nan"), "errors": errors}


def table(title, unit, results, names):
    print("\n## %s" % title)
    print("%-9s %12s %14s %16s %15s %8s" % ("server", unit, "server CPU µs", "per server CPU-s", "client CPU µs",
                                             "errors"))
    med = {}
    for name in names:
        runs = [r for r in results.get(name, []) if r]
        if runs:
            med[name] = {k: statistics.median(r[k] for r in runs) for k in ("rate", "cpu_us", "client_us", "errors")}
            med[name]["capacity"] = statistics.median(1e6 / r["cpu_us"] if r["cpu_us"] > 0 else float("nan")
                                                      for r in runs)
            print("%-9s %12.0f %14.1f %16.0f %15.1f %8.0f" % (name, med[name]["rate"], med[name]["cpu_us"],
                                                          med[name]["capacity"], med[name]["client_us"],
                                                          med[name]["errors"]))
        else:
            print("%-9s %12s" % (name, "failed"))
    if "porthole" in med and "nginx" in med:
        print("porthole / nginx: %.2fx %s, %.2fx CPU each, %.2fx per server CPU-second" % (
            med["porthole"]["rate"] / med["nginx"]["rate"], unit, med["porthole"]["cpu_us"] / med["nginx"]["cpu_us"],
            med["porthole"]["capacity"] / med["nginx"]["capacity"]))


def bench(args):
    build = pathlib.Path(args.build)
    folder = tempfile.mkdtemp(prefix="porthole-tls-bench-")
    servers = {kind: make_servers(build, folder, kind) for kind in ("ecdsa", "rsa")}
    plain = []
    if args.plain_baseline:
        plain = [Server("this", SERVER_CPU + [str(build / "bench" / "plaintext_porthole"), "--port", "0",
                                              "--threads", "1"]),
                 Server("baseline", SERVER_CPU + [str(pathlib.Path(args.plain_baseline) / "bench" / "plaintext_porthole"),
                                                  "--port", "0", "--threads", "1"])]
    cases = []
    for kind in ("ecdsa", "rsa"):
        for version in ("1.3", "1.2"):
            cases.append(("handshakes/s, TLS %s, %s" % (version, "ECDSA P-256" if kind == "ecdsa" else "RSA 2048"),
                          "hs/s", servers[kind],
                          lambda s, v=version: run_handshakes(build, s, v, args.duration, args.load_processes)))
    for c in (64, 1):
        cases.append(("keep-alive req/s over TLS 1.3, wrk -t1 -c%d (ECDSA)" % c, "req/s", servers["ecdsa"],
                      lambda s, c=c: run_wrk(s, c, args.duration)))
    for c in (64, 1):
        if plain:
            cases.append(("plaintext keep-alive req/s, wrk -t1 -c%d: this build against --plain-baseline" % c,
                          "req/s", plain, lambda s, c=c: run_wrk(s, c, args.duration, "http")))
    results = {}
    try:
        for group in list(servers.values()) + ([plain] if plain else []):
            for s in group:
                s.start()
        for rnd in range(args.rounds):
            for title, unit, group, run in cases:
                order = group[rnd % len(group):] + group[:rnd % len(group)]
                for s in order:
                    results.setdefault(title, {}).setdefault(s.name, []).append(run(s))
            print("round %d of %d done" % (rnd + 1, args.rounds), file=sys.stderr)
    finally:
        for group in list(servers.values()) + ([plain] if plain else []):
            for s in group:
                s.stop()
        shutil.rmtree(folder, ignore_errors=True)
    print("%gs per run, median of %d interleaved rounds; server CPU = utime+stime per handshake or request;"
          " %s; load average at the end: %s" % (
              args.duration, args.rounds,
              "servers on CPU %d, load generator on CPU %d" % (CPUS[-1], CPUS[0]) if SERVER_CPU else
              "not pinned, %d handshake load generator(s)" % args.load_processes,
              " ".join("%.2f" % x for x in os.getloadavg())))
    for title, unit, group, _ in cases:
        table(title, unit, results.get(title, {}), [s.name for s in group])


def idle(args):
    build = pathlib.Path(args.build)
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < args.idle * 2 + 1024:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(args.idle * 2 + 1024, hard), hard))
    folder = tempfile.mkdtemp(prefix="porthole-tls-bench-")
    print("%d idle TLS 1.3 connections (ECDSA), each answered once and then held" % args.idle)
    print("%-9s %12s %12s %14s" % ("server", "RSS idle", "RSS held", "per connection"))
    try:
        for s in make_servers(build, folder, "ecdsa"):
            try:
                s.start()
                run_handshakes(build, s, "1.3", 0.5)  # warm
                time.sleep(0.3)
                base = rss_bytes(s.proc.pid)
                holder = subprocess.Popen([str(build / "bench" / "tls_load"), "--port", str(s.port), "--connections",
                                           str(args.idle), "--hold"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                          text=True)
                line = holder.stdout.readline()
                time.sleep(0.5)
                held = rss_bytes(s.proc.pid)
                holder.stdin.close()
                holder.wait(timeout=30)
                if not line.startswith("held"):
                    print("%-9s failed: %r" % (s.name, line))
                    continue
                print("%-9s %9.1f MB %9.1f MB %12.0f B" % (s.name, base / 2**20, held / 2**20, (held - base) / args.idle))
            finally:
                s.stop()
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def callgrind_instructions(exe, requests):
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "cg.out")
        proc = subprocess.Popen(["valgrind", "--tool=callgrind", "--callgrind-out-file=" + out, str(exe), "--port", "0",
                                 "--threads", "1"], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        port = re.search(r":(\d+)/", proc.stdout.readline()).group(1)
        subprocess.run(["ab", "-q", "-k", "-n", str(requests), "-c", "1", "http://127.0.0.1:%s/" % port],
                       capture_output=True, timeout=300)
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=60)
        with open(out) as f:
            return int(re.search(r"^(?:summary|totals): (\d+)", f.read(), re.M).group(1))


def plain_instructions(args):
    print("instructions per plaintext keep-alive request (callgrind, user space; 6000 requests less 1000)")
    for name, build in (("this", pathlib.Path(args.build)), ("baseline", pathlib.Path(args.plain_instructions))):
        exe = build / "bench" / "plaintext_porthole"
        per = (callgrind_instructions(exe, 6000) - callgrind_instructions(exe, 1000)) / 5000
        print("%-9s %8.0f  %s" % (name, per, exe))


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--build", default=str(ROOT / "build"))
    p.add_argument("--duration", type=float, default=3.0)
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--idle", type=int, default=0)
    p.add_argument("--plain-baseline", default="")
    p.add_argument("--plain-instructions", default="")
    p.add_argument("--pin", action="store_true")
    p.add_argument("--load-processes", type=int, default=1)
    args = p.parse_args()
    if args.pin and args.load_processes > 1:
        p.error("--pin puts every load generator on one CPU: give --load-processes without it")
    if args.pin:
        pin()
    if args.plain_instructions:
        plain_instructions(args)
    elif args.idle:
        idle(args)
    else:
        bench(args)


if __name__ == "__main__":
    main()
