#!/usr/bin/env python3
"""Debian's python3-requests against the everyday kit: Basic authentication and CORS on rest_api,
the token flow of status_page in a session, compression decoded by requests (gzip, deflate, and
br through python3-brotli), a zip bomb refused; and every example listening on a Unix socket
(python3's http.client over AF_UNIX) and on IPv6 loopback."""
import gzip
import http.client
import os
import re
import socket
import subprocess
import tempfile
import unittest

from common import BUILD, ExampleTest, example, start, stop

try:
    import requests
except ImportError:  # a missing client fails its tests (tools/setup.sh installs it)
    requests = None


def need_requests(test):
    if requests is None:
        test.fail("python3-requests is missing: run tools/setup.sh --deps-only")


class RestApi(ExampleTest):
    example = "rest_api"
    args = ("--basic-auth", "ann:pw", "--cors-origin", "http://127.0.0.1:8000")

    def test_crud_with_basic_auth_on_writes(self):
        need_requests(self)
        s = requests.Session()
        self.addCleanup(s.close)
        r = s.post(self.base + "/items", json={"name": "lamp"}, timeout=10)
        self.assertEqual(r.status_code, 401)
        self.assertEqual(r.headers["WWW-Authenticate"], 'Basic realm="rest_api", charset="UTF-8"')
        s.auth = ("ann", "pw")
        r = s.post(self.base + "/items", json={"name": "lamp \u00e9"}, timeout=10)
        self.assertEqual(r.status_code, 201)
        self.assertEqual(r.json(), {"id": 1, "name": "lamp \u00e9"})
        r = s.put(self.base + "/items/1", data="not json", headers={"Content-Type": "application/json"}, timeout=10)
        self.assertEqual(r.status_code, 400)
        self.assertIn("parse error", r.json()["error"])
        r = s.put(self.base + "/items/1", data='{"name": "x"}', headers={"Content-Type": "text/plain"}, timeout=10)
        self.assertEqual(r.status_code, 415)
        r = requests.get(self.base + "/items", timeout=10)  # reading needs no credentials
        self.assertEqual(r.json(), [{"id": 1, "name": "lamp \u00e9"}])

    def test_cors_headers_follow_the_origin(self):
        need_requests(self)
        r = requests.options(self.base + "/items/1", headers={
            "Origin": "http://127.0.0.1:8000", "Access-Control-Request-Method": "DELETE",
            "Access-Control-Request-Headers": "authorization"}, timeout=10)
        self.assertEqual(r.status_code, 204)
        self.assertEqual(r.headers["Access-Control-Allow-Origin"], "http://127.0.0.1:8000")
        r = requests.options(self.base + "/items/1", headers={
            "Origin": "http://127.0.0.1:8001", "Access-Control-Request-Method": "DELETE"}, timeout=10)
        self.assertEqual(r.status_code, 403)
        self.assertNotIn("Access-Control-Allow-Origin", r.headers)


class RestApiRateLimit(ExampleTest):
    example = "rest_api"
    args = ("--rate-limit", "4")

    def test_request_ids_and_429_with_retry_after(self):
        need_requests(self)
        s = requests.Session()
        self.addCleanup(s.close)
        ids = set()
        codes = []
        for _ in range(12):
            r = s.get(self.base + "/items", timeout=10)
            codes.append(r.status_code)
            ids.add(r.headers["X-Request-Id"])
            if r.status_code == 429:
                self.assertGreaterEqual(int(r.headers["Retry-After"]), 1)
        self.assertEqual(len(ids), 12)
        self.assertIn(429, codes)
        self.assertLessEqual(codes.count(200), 6)  # 4 at once, and what refilled meanwhile
        r = s.get(self.base + "/items", headers={"X-Request-Id": "from-the-proxy"}, timeout=10)
        self.assertEqual(r.headers["X-Request-Id"], "from-the-proxy")


class StatusPageToken(unittest.TestCase):
    def test_a_session_follows_the_token_url_and_keeps_its_cookie(self):
        need_requests(self)
        proc = subprocess.Popen([example("status_page"), "--port", "0", "--threads", "2", "--token"],
                                stdout=subprocess.PIPE, text=True)
        try:
            line = proc.stdout.readline()
            m = re.fullmatch(r"listening on (http://127\.0\.0\.1:\d+/)\?token=(\S+)\n", line)
            self.assertTrue(m, line)
            base, token = m.group(1), m.group(2)
            self.assertEqual(requests.get(base, timeout=10).status_code, 401)
            s = requests.Session()
            self.addCleanup(s.close)
            r = s.get(base + "?token=" + token, timeout=10)
            self.assertEqual(r.status_code, 200)
            self.assertEqual([h.status_code for h in r.history], [303])
            self.assertEqual(r.url, base)  # the clean URL
            self.assertIn("Embedded tool", r.text)
            self.assertEqual(r.headers["X-Content-Type-Options"], "nosniff")
            self.assertIn("default-src 'self'", r.headers["Content-Security-Policy"])
            self.assertEqual(s.get(base + "status.json", timeout=10).status_code, 200)
            self.assertEqual(requests.get(base + "status.json", timeout=10).status_code, 401)
            r = requests.get(base, headers={"Host": "rebind.attacker.example"}, timeout=10)
            self.assertEqual(r.status_code, 421)
        finally:
            self.assertEqual(stop(proc), 0)


class Compression(unittest.TestCase):
    def test_requests_decodes_what_file_server_compresses(self):
        need_requests(self)
        with tempfile.TemporaryDirectory() as d:
            text = "".join('{"row": %d, "state": "ok"}\n' % i for i in range(5000))
            with open(os.path.join(d, "rows.json"), "w") as f:
                f.write(text)
            proc, port = start("file_server", "--root", d, "--gzip")
            try:
                url = "http://127.0.0.1:%d/rows.json" % port
                for coding in ("br", "gzip", "deflate"):
                    r = requests.get(url, headers={"Accept-Encoding": coding}, timeout=10)
                    self.assertEqual(r.headers["Content-Encoding"], coding)
                    self.assertEqual(r.text, text)
                r = requests.get(url, timeout=10)  # requests' own: gzip, deflate, br
                self.assertEqual(r.headers["Content-Encoding"], "br")
                self.assertEqual(r.text, text)
                with requests.get(url, headers={"Accept-Encoding": "gzip"}, stream=True, timeout=10) as r:
                    raw = r.raw.read()
                self.assertLess(len(raw), len(text) // 5)
                self.assertEqual(gzip.decompress(raw).decode(), text)
            finally:
                self.assertEqual(stop(proc), 0)

    def test_a_zip_bomb_to_echo_gunzip_is_413(self):
        need_requests(self)
        proc, port = start("echo", "--gunzip")
        try:
            url = "http://127.0.0.1:%d/" % port
            ok = requests.post(url, data=gzip.compress(b"payload"), headers={"Content-Encoding": "gzip"}, timeout=10)
            self.assertEqual((ok.status_code, ok.text), (200, "payload"))
            bomb = gzip.compress(b"A" * (200 << 20), compresslevel=9)
            r = requests.post(url, data=bomb, headers={"Content-Encoding": "gzip"}, timeout=30)
            self.assertEqual(r.status_code, 413)
        finally:
            self.assertEqual(stop(proc), 0)


# ---------------------------------------------------------------- where the examples listen

EXAMPLES = {  # name: (extra arguments, a path that answers 200)
    "hello": ((), "/"), "01_socket_ok": ((), "/"), "02_routes": ((), "/index/"), "03_pages": ((), "/index/"),
    "04_dynamic": ((), "/index/"), "05_gateway": ((), "/"), "status_page": ((), "/"), "embed_existing_loop": ((), "/"),
    "form": ((), "/"), "rest_api": ((), "/items"), "file_server": (("--root", os.path.dirname(__file__)), "/common.py"),
    "echo": ((), "/"),
}


class UnixHTTPConnection(http.client.HTTPConnection):
    def __init__(self, path):
        super().__init__("localhost", timeout=10)
        self.path = path

    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(10)
        self.sock.connect(self.path)


def start_at(name, address, extra):
    proc = subprocess.Popen([example(name), "--port", "0", "--threads", "2", "--address", address] + list(extra),
                            stdout=subprocess.PIPE, text=True)
    return proc, proc.stdout.readline()


class Addresses(unittest.TestCase):
    def test_every_example_on_a_unix_socket(self):
        with tempfile.TemporaryDirectory() as d:
            for name, (extra, path) in EXAMPLES.items():
                if not os.path.exists(example(name)):
                    continue
                with self.subTest(example=name):
                    sock = os.path.join(d, name + ".sock")
                    proc, line = start_at(name, "unix:" + sock, extra)
                    try:
                        self.assertEqual(line, "listening on unix:%s\n" % sock)
                        self.assertEqual(os.stat(sock).st_mode & 0o777, 0o660)
                        c = UnixHTTPConnection(sock)
                        c.request("GET", path, headers={"Host": "tool.example"})  # no Host check on a Unix socket
                        r = c.getresponse()
                        r.read()
                        c.close()
                        self.assertEqual(r.status, 200)
                    finally:
                        self.assertEqual(stop(proc), 0)
                    self.assertFalse(os.path.exists(sock), "the socket file is removed on stop")

    def test_every_example_on_ipv6_loopback(self):
        need_requests(self)
        if not socket.has_ipv6:
            self.skipTest("no IPv6")
        for name, (extra, path) in EXAMPLES.items():
            if not os.path.exists(example(name)):
                continue
            with self.subTest(example=name):
                proc, line = start_at(name, "::1", extra)
                try:
                    m = re.fullmatch(r"listening on http://\[::1\]:(\d+)/\n", line)
                    self.assertTrue(m, line)
                    r = requests.get("http://[::1]:%s%s" % (m.group(1), path), timeout=10)
                    self.assertEqual(r.status_code, 200)
                finally:
                    self.assertEqual(stop(proc), 0)

    def test_dual_stack_and_several_addresses_at_once(self):
        need_requests(self)
        with tempfile.TemporaryDirectory() as d:
            sock = os.path.join(d, "h.sock")
            proc = subprocess.Popen([example("hello"), "--port", "0", "--threads", "2", "--address", "::",
                                     "--address", "unix:" + sock], stdout=subprocess.PIPE, text=True)
            try:
                first, second = proc.stdout.readline(), proc.stdout.readline()
                m = re.fullmatch(r"listening on http://\[::\]:(\d+)/\n", first)
                self.assertTrue(m, first)
                self.assertEqual(second, "listening on unix:%s\n" % sock)
                port = m.group(1)
                for url in ("http://127.0.0.1:%s/" % port, "http://[::1]:%s/" % port):
                    self.assertEqual(requests.get(url, timeout=10).text, "Hello, World!")
                c = UnixHTTPConnection(sock)
                c.request("GET", "/")
                self.assertEqual(c.getresponse().read(), b"Hello, World!")
                c.close()
            finally:
                self.assertEqual(stop(proc), 0)


if __name__ == "__main__":
    unittest.main()
