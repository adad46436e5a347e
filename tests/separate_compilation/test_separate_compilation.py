#!/usr/bin/env python3
"""A program of ten files built with PORTHOLE_SEPARATE_COMPILATION (serve.hpp): the server is
compiled in implementation.cpp alone, and the program serves every route of the nine others.

  test_separate_compilation.py PROGRAM ROUTES_LIBRARY SERVE_LIBRARY [--tls]

ROUTES_LIBRARY holds main.cpp and the handlers' files, SERVE_LIBRARY implementation.cpp.
--tls: SERVE_LIBRARY was compiled with TLS and the routes' files without; the program is run with
a test certificate (made with the openssl command line) and every case goes over HTTPS.
"""
import http.client
import os
import re
import signal
import ssl
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "clients"))

# The server's parts: templates over the application that serve() used to instantiate where it
# was called, and the engine under them.
ENGINE = re.compile(r"porthole::detail::event_loop<|porthole::detail::engine<|porthole::connection<|"
                    r"porthole::server<|porthole::detail::serve_here<|porthole::detail::listener_set::")


def engine_symbols(library):
    out = subprocess.run(["nm", "-C", "--defined-only", library], check=True, capture_output=True, text=True).stdout
    return [line for line in out.splitlines() if ENGINE.search(line)]


def fetch(port, method, target, body=None, headers=None, tls=None):
    if tls:
        conn = http.client.HTTPSConnection("127.0.0.1", port, timeout=10, context=tls)
    else:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    conn.request(method, target, body=body, headers=headers or {})
    res = conn.getresponse()
    data = res.read()
    conn.close()
    return res, data


def main(program, routes_library, serve_library, *flags):
    if "--tls" in flags:
        from common import make_certificates
        with tempfile.TemporaryDirectory() as folder:
            ca, cert, key = make_certificates(folder)
            return run(program, routes_library, serve_library, ["--tls-cert", cert, "--tls-key", key],
                       ssl.create_default_context(cafile=ca))
    return run(program, routes_library, serve_library, [], None)


def run(program, routes_library, serve_library, extra_args, tls):
    failures = []
    in_routes = engine_symbols(routes_library)
    if in_routes:
        failures.append("the routes' files compiled the server: " + "; ".join(in_routes[:5]))
    if len(engine_symbols(serve_library)) < 10:
        failures.append("implementation.cpp did not compile the server (%d of its symbols)" %
                        len(engine_symbols(serve_library)))

    proc = subprocess.Popen([program, "--port", "0", "--threads", "2"] + extra_args, stdout=subprocess.PIPE, text=True)
    try:
        line = proc.stdout.readline()
        m = re.match(r"listening on %s://127\.0\.0\.1:(\d+)/" % ("https" if tls else "http"), line)
        if not m:
            raise SystemExit("FAIL: no announcement: %r" % line)
        port = int(m.group(1))
        big = b"x" * (3 << 20)  # beyond the default max_body (1 MiB): streamed, or refused
        cases = [
            ("GET", "/hello/ann", None, {}, 200, b"hello, ann\n"),
            ("GET", "/sum?a=2&b=40", None, {}, 200, b"42\n"),
            ("POST", "/form", b"name=zoe", {"Content-Type": "application/x-www-form-urlencoded"}, 200, b"name=zoe\n"),
            ("POST", "/form", b"x=1", {"Content-Type": "application/x-www-form-urlencoded"}, 400, b"no name\n"),
            ("POST", "/form", big, {"Content-Type": "application/x-www-form-urlencoded"}, 413, None),
            ("GET", "/status.json", None, {}, 200, b'{"path":"/status.json","ok":true}'),
            ("GET", "/page?title=%3Cb%3E", None, {}, 200, b"<h1>&lt;b&gt;</h1>\n"),
            ("GET", "/remember", None, {}, 200, b"first\n"),
            ("GET", "/remember", None, {"Cookie": "seen=1"}, 200, b"again\n"),
            ("GET", "/later?who=bob", None, {}, 200, b"later, bob\n"),
            ("POST", "/upload", big, {}, 200, b"%d bytes\n" % len(big)),
            ("GET", "/nowhere", None, {}, 404, None),
            ("DELETE", "/sum", None, {}, 405, None),
        ]
        for method, target, body, headers, status, expected in cases:
            try:  # a 413 too: the server drops the rest of the body (a lingering close), no reset
                res, data = fetch(port, method, target, body, headers, tls)
            except (ConnectionError, http.client.HTTPException, ssl.SSLError) as e:
                failures.append("%s %s: %r" % (method, target, e))
                continue
            if res.status != status or (expected is not None and data != expected):
                failures.append("%s %s: %d %r, expected %d %r" % (method, target, res.status, data[:80], status, expected))
            elif target == "/remember" and "seen=1" not in (res.getheader("Set-Cookie") or ""):
                failures.append("GET /remember: no cookie set")
    finally:
        proc.send_signal(signal.SIGTERM)
        code = proc.wait(timeout=15)
    if code != 0:
        failures.append("exit status %d after SIGTERM" % code)
    for f in failures:
        print("FAIL", f)
    if not failures:
        print("ok: ten files, the server compiled in one%s" % (", over HTTPS" if tls else ""))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
