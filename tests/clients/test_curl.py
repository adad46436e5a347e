#!/usr/bin/env python3
"""curl against the examples: HTTP/1.0, HEAD, ranges, Expect: 100-continue, urlencoded forms and
a cookie jar round trip."""
import os
import subprocess
import tempfile
import unittest

from common import ExampleTest, need, start, stop


def curl(*args, timeout=20):
    out = subprocess.run([need("curl"), "-sS"] + list(args), capture_output=True, timeout=timeout)
    if out.returncode != 0:
        raise AssertionError("curl %s failed (%d): %s" % (args, out.returncode, out.stderr.decode()))
    return out


def split(raw):
    """Head lines and body of one response printed by curl -i."""
    head, body = raw.split(b"\r\n\r\n", 1)
    return head.decode().split("\r\n"), body


def header(lines, name):
    values = [l.split(":", 1)[1].strip() for l in lines[1:] if l.split(":", 1)[0].lower() == name.lower()]
    return values[0] if len(values) == 1 else values or None


class Echo(ExampleTest):
    example = "echo"

    def test_http_1_0_request_gets_an_http_1_1_response_that_closes(self):
        out = curl("--http1.0", "-v", "-i", "-d", "hello 1.0", self.base + "/")
        lines, body = split(out.stdout)
        self.assertEqual(lines[0], "HTTP/1.1 200 OK")
        # A 1.0 client that did not ask for keep-alive gets the connection closed, and is told.
        self.assertEqual(header(lines, "Connection"), "close")
        self.assertIn(b"Closing connection", out.stderr)
        self.assertEqual(header(lines, "Content-Length"), "9")
        self.assertEqual(body, b"hello 1.0")

    def test_http_1_0_keep_alive_is_honoured_for_two_requests(self):
        out = curl("--http1.0", "-H", "Connection: keep-alive", "-v", self.base + "/", self.base + "/count")
        self.assertEqual(out.stdout, b"OK1")
        self.assertIn(b"< Connection: keep-alive", out.stderr)
        self.assertIn(b"Re-using existing connection", out.stderr)

    def test_head_has_content_length_and_no_body(self):
        out = curl("-I", self.base + "/")
        lines, body = split(out.stdout)
        self.assertEqual(lines[0], "HTTP/1.1 200 OK")
        self.assertEqual(header(lines, "Content-Length"), "2")
        self.assertEqual(body, b"")

    def test_expect_100_continue_upload_is_echoed_intact(self):
        payload = bytes((i * 7 + 3) % 256 for i in range(5000))
        with tempfile.NamedTemporaryFile() as f:
            f.write(payload)
            f.flush()
            # --expect100-timeout 30: curl waits for the 100 rather than sending after 1 s anyway.
            out = curl("-v", "--expect100-timeout", "30", "-H", "Expect: 100-continue",
                       "-H", "Content-Type: application/octet-stream", "--data-binary", "@" + f.name,
                       self.base + "/")
        self.assertEqual(out.stdout, payload)
        self.assertIn(b"Expect: 100-continue", out.stderr)
        self.assertIn(b"HTTP/1.1 100 Continue", out.stderr)

    def test_expect_100_continue_over_the_body_limit_is_413_without_100(self):
        # The default limit is 1 MiB: refused on the head alone, before curl sends any body.
        with tempfile.NamedTemporaryFile() as f:
            f.truncate(20 * 1024 * 1024)
            out = curl("-v", "--expect100-timeout", "30", "-H", "Expect: 100-continue",
                       "--data-binary", "@" + f.name, "-o", "/dev/null", "-w", "%{http_code} %{size_upload}",
                       self.base + "/")
        code, uploaded = out.stdout.decode().split()
        self.assertEqual(code, "413")
        self.assertNotIn(b"100 Continue", out.stderr)
        self.assertLess(int(uploaded), 1024 * 1024)

    def test_cookie_jar_round_trip(self):
        with tempfile.TemporaryDirectory() as d:
            jar = os.path.join(d, "jar")
            curl("-c", jar, self.base + "/set-cookie?name=sid&value=abc")
            with open(jar) as f:
                self.assertRegex(f.read(), r"127\.0\.0\.1\t.*\tsid\tabc")
            out = curl("-b", jar, self.base + "/cookie")
        self.assertEqual(out.stdout, b"sid=abc\n")


class Form(ExampleTest):
    example = "form"

    def test_urlencoded_fields_are_echoed_html_escaped(self):
        out = curl("--data-urlencode", "name=Ada & <b>Bob</b>", "--data-urlencode", "message=1+1=2 \"quoted\" 'single'",
                   self.base + "/submit")
        page = out.stdout.decode()
        self.assertIn("Received 2 fields", page)
        self.assertIn("<dt>name</dt><dd>Ada &amp; &lt;b&gt;Bob&lt;/b&gt;</dd>", page)
        self.assertRegex(page, r"<dt>message</dt><dd>1\+1=2 &quot;quoted&quot; &(#39|#x27|apos);single&(#39|#x27|apos);</dd>")
        self.assertNotIn("<b>Bob", page)

    def test_get_shows_the_form(self):
        out = curl(self.base + "/")
        self.assertIn(b'<form method="post" action="/submit">', out.stdout)


class Ranges(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.TemporaryDirectory()
        with open(os.path.join(self.dir.name, "digits.txt"), "wb") as f:
            f.write(b"0123456789")
        self.proc, port = start("file_server", "--root", self.dir.name)
        self.url = "http://127.0.0.1:%d/digits.txt" % port

    def tearDown(self):
        self.assertEqual(stop(self.proc), 0)
        self.dir.cleanup()

    def test_first_five_bytes(self):
        lines, body = split(curl("-i", "-r", "0-4", self.url).stdout)
        self.assertEqual(lines[0], "HTTP/1.1 206 Partial Content")
        self.assertEqual(header(lines, "Content-Range"), "bytes 0-4/10")
        self.assertEqual(header(lines, "Content-Length"), "5")
        self.assertEqual(body, b"01234")

    def test_last_three_bytes(self):
        lines, body = split(curl("-i", "-r", "-3", self.url).stdout)
        self.assertEqual(lines[0], "HTTP/1.1 206 Partial Content")
        self.assertEqual(header(lines, "Content-Range"), "bytes 7-9/10")
        self.assertEqual(body, b"789")

    def test_range_past_the_end_is_416(self):
        lines, _ = split(curl("-i", "-r", "10-20", self.url).stdout)
        self.assertEqual(lines[0], "HTTP/1.1 416 Range Not Satisfiable")
        self.assertEqual(header(lines, "Content-Range"), "bytes */10")

    def test_whole_file_without_range(self):
        lines, body = split(curl("-i", self.url).stdout)
        self.assertEqual(lines[0], "HTTP/1.1 200 OK")
        self.assertEqual(header(lines, "Accept-Ranges"), "bytes")
        self.assertEqual(body, b"0123456789")


if __name__ == "__main__":
    unittest.main()
