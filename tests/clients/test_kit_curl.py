#!/usr/bin/env python3
"""curl against the everyday kit in the examples: Basic authentication and CORS on rest_api, the
one-time token of status_page with a cookie jar, the loopback Host check, response compression
and precompressed files on file_server (curl --compressed decodes), gzip request bodies and a
zip bomb on echo --gunzip."""
import gzip
import os
import re
import subprocess
import tempfile
import unittest
import zlib

from common import ExampleTest, need, start, stop


def curl(*args, timeout=20):
    out = subprocess.run([need("curl"), "-sS"] + list(args), capture_output=True, timeout=timeout)
    if out.returncode != 0:
        raise AssertionError("curl %s failed (%d): %s" % (args, out.returncode, out.stderr.decode()))
    return out


def response(*args):
    """(status, {lower-case header: value}, body) of the last response curl -i printed."""
    raw = curl("-i", *args).stdout
    heads = []
    while raw.startswith(b"HTTP/"):
        head, raw = raw.split(b"\r\n\r\n", 1)
        heads.append(head)
    lines = heads[-1].decode().split("\r\n")
    fields = {}
    for l in lines[1:]:
        k, v = l.split(":", 1)
        fields[k.strip().lower()] = v.strip()
    return int(lines[0].split()[1]), fields, raw


class RestApiBasicAuth(ExampleTest):
    example = "rest_api"
    args = ("--basic-auth", "admin:s3cret:with-colon")

    def test_writes_need_the_credentials_and_reads_do_not(self):
        item = '{"name": "chair"}'
        status, h, _ = response("--json", item, self.base + "/items")
        self.assertEqual(status, 401)
        self.assertEqual(h["www-authenticate"], 'Basic realm="rest_api", charset="UTF-8"')
        status, _, _ = response("-u", "admin:wrong", "--json", item, self.base + "/items")
        self.assertEqual(status, 401)
        status, h, body = response("-u", "admin:s3cret:with-colon", "--json", item, self.base + "/items")
        self.assertEqual((status, body), (201, b'{"id":1,"name":"chair"}'))
        status, _, body = response(self.base + "/items/1")
        self.assertEqual((status, body), (200, b'{"id":1,"name":"chair"}'))
        status, _, _ = response("-X", "DELETE", self.base + "/items/1")
        self.assertEqual(status, 401)
        status, _, _ = response("-u", "admin:s3cret:with-colon", "-X", "DELETE", self.base + "/items/1")
        self.assertEqual(status, 204)


class RestApiCors(ExampleTest):
    example = "rest_api"
    args = ("--cors-origin", "http://127.0.0.1:3000", "--cors-origin", "https://app.example")

    def preflight(self, origin, method="PUT", headers="content-type"):
        return response("-X", "OPTIONS", "-H", "Origin: " + origin, "-H", "Access-Control-Request-Method: " + method,
                        "-H", "Access-Control-Request-Headers: " + headers, self.base + "/items/1")

    def test_preflight_for_listed_origins_only(self):
        for origin in ("http://127.0.0.1:3000", "https://app.example"):
            status, h, _ = self.preflight(origin)
            self.assertEqual(status, 204)
            self.assertEqual(h["access-control-allow-origin"], origin)
            self.assertIn("PUT", h["access-control-allow-methods"])
            self.assertEqual(h["access-control-allow-headers"], "Content-Type, Authorization, X-Request-Id")
            self.assertEqual(h["access-control-allow-credentials"], "true")
        for origin in ("http://127.0.0.1:3001", "http://app.example", "null"):
            status, h, _ = self.preflight(origin)
            self.assertEqual(status, 403)
            self.assertNotIn("access-control-allow-origin", h)
        status, _, _ = self.preflight("https://app.example", headers="x-not-allowed")
        self.assertEqual(status, 403)

    def test_simple_requests_name_the_origin_when_allowed_and_vary_on_it(self):
        status, h, body = response("-H", "Origin: https://app.example", self.base + "/items")
        self.assertEqual((status, body), (200, b"[]"))
        self.assertEqual(h["access-control-allow-origin"], "https://app.example")
        self.assertIn("Origin", h["vary"])
        status, h, _ = response("-H", "Origin: https://evil.example", self.base + "/items")
        self.assertEqual(status, 200)
        self.assertNotIn("access-control-allow-origin", h)
        self.assertIn("Origin", h["vary"])

    def test_a_body_over_the_limit_is_a_413_a_page_of_another_origin_can_read(self):
        # Over max_body (4096): refused unread, through the layers, so that CORS names the origin
        # (without it a browser reports a network error); a path with no route is the router's 404.
        with tempfile.NamedTemporaryFile() as big:
            big.write(b'{"name": "' + b"x" * 10000 + b'"}')
            big.flush()
            for path, code in (("/items", 413), ("/nothing", 404)):
                status, h, _ = response("-H", "Origin: https://app.example", "-H", "Content-Type: application/json",
                                        "--data-binary", "@" + big.name, self.base + path)
                self.assertEqual(status, code)
                self.assertEqual(h["access-control-allow-origin"], "https://app.example")
                self.assertEqual(h["connection"], "close")


class RestApiRequestIdRateLimitAccessLog(unittest.TestCase):
    def test_ids_429_with_retry_after_and_a_log_line_per_response(self):
        log = tempfile.TemporaryFile(mode="w+")
        self.addCleanup(log.close)
        proc, port = start("rest_api", "--rate-limit", "3", "--access-log", stderr=log)
        try:
            base = "http://127.0.0.1:%d" % port
            status, h, _ = response(base + "/items")
            self.assertEqual(status, 200)
            self.assertRegex(h["x-request-id"], r"^[0-9a-f]{32}$")
            status, h, _ = response("-H", "X-Request-Id: trace-42", base + "/items")
            self.assertEqual(h["x-request-id"], "trace-42")
            # One curl, one connection, six requests at once: beyond the burst of three.
            args = ["-w", "%{http_code} %header{retry-after}\n"]
            for _ in range(6):
                args += ["-o", "/dev/null", base + "/items"]
            statuses = [l.split(" ") for l in curl(*args).stdout.decode().split("\n") if l]
            codes = [s[0] for s in statuses]
            self.assertIn("429", codes)
            self.assertIn(codes.count("200"), (0, 1, 2, 3))
            for code, retry in statuses:
                if code == "429":
                    self.assertRegex(retry, r"^[1-9]\d*$")
        finally:
            self.assertEqual(stop(proc), 0)
        log.seek(0)
        lines = log.read().splitlines()
        self.assertEqual(len(lines), 8)  # one per response, 429s included
        self.assertRegex(lines[0], r'^127\.0\.0\.1 - - \[[^]]+\] "GET /items HTTP/1\.1" 200 2$')
        self.assertTrue(any(l.endswith('" 429 17') for l in lines), lines)


class StatusPageToken(unittest.TestCase):
    def setUp(self):
        self.proc = subprocess.Popen([os.path.join(os.environ.get("PORTHOLE_BUILD_DIR", "build"), "examples", "status_page"),
                                      "--port", "0", "--threads", "2", "--token"], stdout=subprocess.PIPE, text=True)
        line = self.proc.stdout.readline()
        m = re.fullmatch(r"listening on (http://127\.0\.0\.1:(\d+)/)\?token=([A-Za-z0-9_-]{43})\n", line)
        if not m:
            self.proc.kill()
            raise AssertionError("status_page --token announced %r" % line)
        self.base, self.port, self.token = m.group(1), int(m.group(2)), m.group(3)
        self.jar = tempfile.NamedTemporaryFile(suffix=".jar", delete=False)
        self.jar.close()

    def tearDown(self):
        os.unlink(self.jar.name)
        self.assertEqual(stop(self.proc), 0)

    def test_the_token_url_sets_a_session_cookie_and_leads_to_the_clean_url(self):
        status, h, body = response(self.base)
        self.assertEqual(status, 401)
        self.assertNotIn(b"Embedded tool", body)
        status, h, _ = response("-c", self.jar.name, self.base + "?token=" + self.token)
        self.assertEqual(status, 303)
        self.assertEqual(h["location"], "/")
        cookie = h["set-cookie"]
        self.assertRegex(cookie, r"^porthole-[A-Za-z0-9_-]+=[A-Za-z0-9_-]{43}; Path=/; HttpOnly; SameSite=Strict$")
        self.assertNotIn(self.token, cookie)
        status, _, body = response("-b", self.jar.name, self.base)
        self.assertEqual(status, 200)
        self.assertIn(b"Embedded tool", body)
        status, _, body = response("-b", self.jar.name, self.base + "status.json")
        self.assertEqual(status, 200)
        self.assertIn(b'"uptime"', body)
        # Followed in one go, as a browser does.
        status, _, body = response("-L", "-c", self.jar.name + "2", "-b", self.jar.name + "2", self.base + "?token=" + self.token)
        os.unlink(self.jar.name + "2")
        self.assertEqual(status, 200)
        self.assertIn(b"Embedded tool", body)

    def test_wrong_tokens_and_cookies_get_401_and_scripts_may_send_the_token(self):
        for args in (("?token=" + self.token[:-1] + "x",), ("", "-b", "porthole-x=" + self.token),
                     ("", "-H", "Authorization: Bearer nope")):
            status, _, _ = response(*args[1:], self.base + args[0])
            self.assertEqual(status, 401, args)
        status, _, body = response("-H", "Authorization: Bearer " + self.token, self.base + "status.json")
        self.assertEqual(status, 200)

    def test_events_and_metrics_are_behind_the_token_and_every_page_keeps_the_policy(self):
        bearer = ("-H", "Authorization: Bearer " + self.token)
        for path in ("events", "metrics", "debug/vars"):
            status, _, _ = response(self.base + path)
            self.assertEqual(status, 401, path)
        status, h, body = response(*bearer, self.base + "metrics")
        self.assertEqual(status, 200)
        self.assertIn(b"porthole_http_requests_total{", body)
        _, h, _ = response(*bearer, self.base)
        self.assertNotIn("'unsafe-inline'", h["content-security-policy"])  # the page's script is a file
        status, h, body = response(*bearer, "-H", "Accept: text/html", self.base + "debug/vars")
        self.assertEqual(status, 200)
        self.assertIn(b'<script src="?format=script" defer></script>', body)
        self.assertNotIn(b"<script>", body)
        self.assertNotIn("'unsafe-inline'", h["content-security-policy"])  # its script is a file too
        self.assertEqual(h["x-frame-options"], "DENY")  # the other fields as on every page
        status, h, body = response(*bearer, self.base + "debug/vars?format=script")
        self.assertEqual(status, 200)
        self.assertEqual(h["content-type"], "text/javascript; charset=utf-8")

    def test_a_rebound_name_gets_421_even_with_the_token(self):
        status, _, body = response("-H", "Host: attacker.example:%d" % self.port, self.base + "?token=" + self.token)
        self.assertEqual(status, 421)
        status, _, _ = response("-H", "Host: localhost:%d" % self.port, "-H", "Authorization: Bearer " + self.token,
                                self.base)
        self.assertEqual(status, 200)


class FileServerCompression(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.TemporaryDirectory()
        self.text = "".join("line %d of a long text that compresses well\n" % i for i in range(4000)).encode()
        with open(os.path.join(self.dir.name, "big.txt"), "wb") as f:
            f.write(self.text)
        with open(os.path.join(self.dir.name, "pre.css"), "wb") as f:
            f.write(b"body { color: red }\n" * 100)
        with open(os.path.join(self.dir.name, "pre.css.gz"), "wb") as f:
            f.write(gzip.compress(b"/* made ahead */\n" + b"body { color: red }\n" * 100))
        with open(os.path.join(self.dir.name, "image.png"), "wb") as f:
            f.write(os.urandom(5000))

    def tearDown(self):
        self.dir.cleanup()

    def serve(self, *args):
        proc, port = start("file_server", "--root", self.dir.name, *args)
        self.addCleanup(lambda: self.assertEqual(stop(proc), 0))
        return "http://127.0.0.1:%d" % port

    def test_gzip_flag_compresses_text_and_curl_decodes_it(self):
        base = self.serve("--gzip")
        status, h, body = response("--compressed", base + "/big.txt")
        self.assertEqual(status, 200)
        self.assertIn(h["content-encoding"], ("br", "gzip", "deflate"))
        self.assertEqual(body, self.text)
        self.assertEqual(h["vary"], "Accept-Encoding")
        self.assertTrue(h["etag"].startswith('W/"'))
        for coding, decode in (("gzip", gzip.decompress), ("deflate", zlib.decompress)):
            status, h, raw = response("-H", "Accept-Encoding: " + coding, base + "/big.txt")
            self.assertEqual(h["content-encoding"], coding)
            self.assertLess(len(raw), len(self.text) // 5)
            self.assertEqual(decode(raw), self.text)
        status, h, body = response("-H", "Accept-Encoding: gzip", base + "/image.png")
        self.assertNotIn("content-encoding", h)
        # HEAD: the head its GET gets (RFC 9110 9.3.2, 8.6), compressed length included.
        status, get_h, raw = response("-H", "Accept-Encoding: gzip", base + "/big.txt")
        status, h, body = response("-I", "-H", "Accept-Encoding: gzip", base + "/big.txt")
        self.assertEqual(h["content-encoding"], "gzip")
        self.assertEqual(h["content-length"], get_h["content-length"])
        self.assertEqual(int(h["content-length"]), len(raw))
        self.assertEqual(h["etag"], get_h["etag"])
        status, h, body = response("-H", "Accept-Encoding: gzip", "-H", "Range: bytes=0-9", base + "/big.txt")
        self.assertEqual((status, body), (206, self.text[:10]))
        self.assertNotIn("content-encoding", h)

    def test_precompressed_files_with_or_without_the_flag(self):
        for args in ((), ("--gzip",)):
            base = self.serve(*args)
            status, h, body = response("--compressed", base + "/pre.css")
            self.assertEqual(h["content-encoding"], "gzip")
            self.assertTrue(body.startswith(b"/* made ahead */"))
            self.assertEqual(h["content-type"], "text/css; charset=utf-8")
            status, h, body = response(base + "/pre.css")
            self.assertNotIn("content-encoding", h)
            self.assertTrue(body.startswith(b"body"))
        plain = self.serve()
        status, h, body = response("--compressed", plain + "/big.txt")
        self.assertNotIn("content-encoding", h)  # without --gzip nothing is compressed at request time


class EchoGunzip(ExampleTest):
    example = "echo"
    args = ("--gunzip",)

    def post_gzip(self, data, *extra):
        with tempfile.NamedTemporaryFile() as f:
            f.write(data)
            f.flush()
            return response("-H", "Content-Encoding: gzip", "-H", "Content-Type: text/plain", "--data-binary",
                            "@" + f.name, *extra, self.base + "/")

    def test_a_gzip_body_reaches_the_application_decoded(self):
        text = b"hello, compressed world\n" * 1000
        status, h, body = self.post_gzip(gzip.compress(text))
        self.assertEqual((status, body), (200, text))
        self.assertEqual(h["x-body-length"], str(len(text)))

    def test_a_zip_bomb_gets_413(self):
        bomb = gzip.compress(b"\0" * (256 << 20), compresslevel=9)  # 256 MiB in about 250 KiB
        self.assertLess(len(bomb), 1 << 20)  # within the wire limit: only the decoded size is too large
        status, _, _ = self.post_gzip(bomb)
        self.assertEqual(status, 413)
        status, _, body = response(self.base + "/count")  # and the server is fine
        self.assertEqual(status, 200)

    def test_broken_gzip_is_400_and_other_codings_415(self):
        status, _, _ = self.post_gzip(b"\x1f\x8b not really gzip")
        self.assertEqual(status, 400)
        status, h, _ = response("-H", "Content-Encoding: br", "--data-binary", "xx", self.base + "/")
        self.assertEqual(status, 415)
        self.assertEqual(h["accept-encoding"], "gzip, deflate")


if __name__ == "__main__":
    unittest.main()
