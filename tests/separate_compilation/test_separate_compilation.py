#!/usr/bin/env python3
"""A program of eleven files built with PORTHOLE_SEPARATE_COMPILATION (serve.hpp): the server, and
the bodies of the parts compiled once (detail/compiled_once.hpp), are compiled in
implementation.cpp alone, and the program serves every route of the ten others.

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


# Functions whose bodies implementation.cpp alone compiles, one or more from each header that has
# such bodies; the routes' files call each (observe.cpp, main.cpp). Whole names as `nm -C` gives
# them (libstdc++), so that an overload still inline (publish(data), subscribe(request)) or an
# implicit copy constructor is not taken for one.
SV = "std::basic_string_view<char, std::char_traits<char> >"
STRING = "std::__cxx11::basic_string<char, std::char_traits<char>, std::allocator<char> >"
READINGS = "std::vector<porthole::expvar::reading, std::allocator<porthole::expvar::reading> > const&"
PATH = "std::filesystem::__cxx11::path const&"
ONCE = [
    "porthole::server_options::from_command_line(int, char const* const*, std::initializer_list<porthole::program_flag>)",
    "porthole::command_line_value(int, char const* const*, %s)" % SV,
    "porthole::command_line_number(int, char const* const*, %s)" % SV,
    "porthole::metrics::collect()",
    "porthole::metrics::write_prometheus(%s&, porthole::metrics::snapshot const&, %s)" % (STRING, READINGS),
    "porthole::metrics::write_json(%s&, porthole::metrics::snapshot const&, %s)" % (STRING, READINGS),
    "porthole::debug_vars::render_page[abi:cxx11]() const",
    "porthole::expvar::read_all()",
    "porthole::event_hub::event_hub(porthole::event_hub_options)",
    "porthole::event_hub::publish(%s, %s)" % (SV, SV),
    "porthole::event_hub::subscribe(%s)" % SV,
    "porthole::event_hub::close()",
    "porthole::detail::hub_subscriber::next()",
    "porthole::access_token::access_token(porthole::access_token_options)",
    "porthole::access_token::trade_for_cookie(porthole::request const&) const",
    "porthole::security_headers::security_headers(porthole::security_headers_options)",
    "porthole::random_token[abi:cxx11](unsigned long)",
    "porthole::load_template(%s, unsigned long)" % PATH,
    "porthole::detail::open_template_file(%s)" % PATH,
    "porthole::detail::read_template_file(%s, porthole::detail::template_file const&, unsigned long)" % PATH,
    "porthole::page_template::page_template(%s)" % STRING,
]


def defined_symbols(library):
    out = subprocess.run(["nm", "-C", "--defined-only", library], check=True, capture_output=True, text=True).stdout
    return out.splitlines()


def engine_symbols(library):
    return [line for line in defined_symbols(library) if ENGINE.search(line)]


def once_symbols(library):
    """The ONCE functions the library defines (as code: T, or W for an inline one)."""
    found = set()
    for line in defined_symbols(library):
        parts = line.split(" ", 2)
        if len(parts) == 3 and parts[1] in "TtWw":
            name = parts[2].split(" [clone ")[0]  # a copy the optimiser made is the same body
            if name in ONCE:
                found.add(name)
    return found


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
    with tempfile.TemporaryDirectory() as folder:
        page = os.path.join(folder, "page.html")
        with open(page, "w") as f:
            f.write("<p>@@who@@ @@token_length@@</p>\n")
        extra = ["--template", page, "--max-upload", str(4 << 20)]
        if "--tls" in flags:
            from common import make_certificates
            ca, cert, key = make_certificates(folder)
            return run(program, routes_library, serve_library, extra + ["--tls-cert", cert, "--tls-key", key],
                       ssl.create_default_context(cafile=ca))
        return run(program, routes_library, serve_library, extra, None)


def run(program, routes_library, serve_library, extra_args, tls):
    failures = []
    in_routes = engine_symbols(routes_library)
    if in_routes:
        failures.append("the routes' files compiled the server: " + "; ".join(in_routes[:5]))
    if len(engine_symbols(serve_library)) < 10:
        failures.append("implementation.cpp did not compile the server (%d of its symbols)" %
                        len(engine_symbols(serve_library)))
    in_routes = once_symbols(routes_library)
    if in_routes:
        failures.append("the routes' files compiled bodies meant for implementation.cpp: " + ", ".join(sorted(in_routes)))
    missing = set(ONCE) - once_symbols(serve_library)
    if missing:
        failures.append("implementation.cpp did not compile: " + ", ".join(sorted(missing)))

    # A refused value ends the program with its message and status 2, before the program reads it.
    refused = subprocess.run([program, "--max-upload", "lots"], capture_output=True, text=True, timeout=30)
    if refused.returncode != 2 or "--max-upload needs a number from 1 to 1073741824" not in refused.stderr:
        failures.append("--max-upload lots: status %d, %r" % (refused.returncode, refused.stderr[-300:]))

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
            ("POST", "/upload", big + big, {}, 413, None),  # beyond --max-upload
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
        # The parts compiled once: what each answers holds (target, status, header or None, texts).
        observed = [
            ("/metrics", 200, None, [b"\nobserve_served_total 1\n", b"# TYPE porthole_http_requests_total counter\n"]),
            ("/debug/vars", 200, ("Content-Type", "application/json"), [b'"observe_served":1', b'"porthole":{']),
            ("/debug/vars?format=html", 200, ("Content-Type", "text/html"),
             [b"<h1>Variables</h1>", b"<td>observe_served</td><td>number</td><td>1</td>"]),
            ("/events", 200, ("Content-Type", "text/event-stream"), [b"event: hello\ndata: one event\n\n"]),
            ("/token", 401, ("WWW-Authenticate", "Bearer"), [b"Unauthorized"]),
            ("/token?token=s3cret&a=1", 303, ("Location", "/token?a=1"), []),
            ("/file?who=%3Cann%3E", 200, None, [b"<p>&lt;ann&gt; 11</p>\n"]),
        ]
        for target, status, header, texts in observed:
            try:
                res, data = fetch(port, "GET", target, tls=tls)
            except (ConnectionError, http.client.HTTPException, ssl.SSLError) as e:
                failures.append("GET %s: %r" % (target, e))
                continue
            if res.status != status or any(t not in data for t in texts):
                failures.append("GET %s: %d %r, expected %d with %r" % (target, res.status, data[:300], status, texts))
            elif header and not (res.getheader(header[0]) or "").startswith(header[1]):
                failures.append("GET %s: %s %r" % (target, header[0], res.getheader(header[0])))
            elif target.startswith("/token?") and not (res.getheader("Set-Cookie") or "").startswith("porthole-"):
                failures.append("GET %s: no session cookie: %r" % (target, res.getheader("Set-Cookie")))
            elif target.startswith("/token") and res.getheader("X-Content-Type-Options") != "nosniff":
                failures.append("GET %s: no security headers" % target)
    finally:
        proc.send_signal(signal.SIGTERM)
        code = proc.wait(timeout=15)
    if code != 0:
        failures.append("exit status %d after SIGTERM" % code)
    for f in failures:
        print("FAIL", f)
    if not failures:
        print("ok: eleven files, the server and the parts compiled once in one%s" % (", over HTTPS" if tls else ""))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
