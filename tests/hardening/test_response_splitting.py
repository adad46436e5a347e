#!/usr/bin/env python3
"""Response splitting: a header value carrying CR, LF or NUL never reaches the wire.

examples/echo sets `X-Echo: V` from GET /header?value=V (percent-decoded). porthole refuses such
a field: the answer is a 500 with nothing of the application's response in it, exactly one
response comes back, and the connection either serves the next request or closes cleanly.
"""
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402

INJECTIONS = {
    "crlf": "a%0d%0aX-Injected:%20yes",
    "lf": "a%0aX-Injected:%20yes",
    "cr": "a%0dX-Injected:%20yes",
    "nul": "a%00X-Injected:%20yes",
    "crlf-leading": "%0d%0aX-Injected:%20yes",
    "crlf-trailing": "a%0d%0a",
    "lf-then-fold": "a%0a%20X-Injected:%20yes",
    "whole-second-response": ("a%0d%0aContent-Length:%200%0d%0a%0d%0aHTTP/1.1%20200%20OK%0d%0a"
                              "X-Injected:%20yes%0d%0aContent-Length:%205%0d%0a%0d%0ahello"),
    "crlf-set-cookie": "a%0d%0aSet-Cookie:%20session=X-Injected",
    "other-control": "a%01X-Injected",
    "del": "a%7fX-Injected",
}


class ResponseSplitting(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = harness.Server("echo", "--threads", "2")

    @classmethod
    def tearDownClass(cls):
        code = cls.server.stop()
        cls.server.close_pipes()
        assert code == 0, "echo exited %r" % code

    def test_a_plain_value_is_echoed(self):
        r = harness.get(self.server.port, "/header?value=plain%20text")
        self.assertEqual((r.status, r.header("X-Echo")), (200, "plain text"))

    def test_injections_give_one_500_with_nothing_injected(self):
        for name, value in INJECTIONS.items():
            with self.subTest(injection=name):
                s = harness.connect(self.server.port)
                try:
                    s.sendall(b"GET /header?value=%s HTTP/1.1\r\nHost: localhost\r\n\r\n" % value.encode())
                    r = harness.read_response(s)
                    self.assertIsNotNone(r, "closed without a response")
                    self.assertEqual(r.status, 500)
                    self.assertIsNone(r.header("X-Echo"))
                    self.assertIsNone(r.header("X-Injected"))
                    self.assertIsNone(r.header("Set-Cookie"))
                    self.assertNotIn(b"header set", r.body)  # nothing of the application's answer
                    self.assertNotIn(b"Injected", r.body)
                    # Still usable, or closed with nothing more on the wire.
                    try:
                        s.sendall(b"GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
                        data, how = harness.read_until_close(s, timeout=4)
                    except (BrokenPipeError, ConnectionResetError):
                        data, how = b"", "reset"
                    self.assertNotIn(b"Injected", data)
                    responses, rest = harness.parse_all(data)
                    self.assertEqual(rest, b"")
                    if responses:
                        self.assertEqual([(x.status, x.body) for x in responses], [(200, b"OK")])
                        self.assertEqual(how, "eof")
                    else:
                        self.assertIn(how, ("eof", "reset"))
                finally:
                    s.close()
        r = harness.get(self.server.port)
        self.assertEqual(r.status, 200)
        self.assertIn("invalid header field", self.server.error_log())  # the detail goes to the log

    def test_injections_in_a_pipeline_leave_the_neighbours_alone(self):
        s = harness.connect(self.server.port)
        try:
            s.sendall(b"GET /header?value=one HTTP/1.1\r\nHost: localhost\r\n\r\n"
                      b"GET /header?value=a%0d%0aX-Injected:%20yes HTTP/1.1\r\nHost: localhost\r\n\r\n"
                      b"GET /header?value=three HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
            data, how = harness.read_until_close(s, timeout=4)
        finally:
            s.close()
        self.assertNotIn(b"Injected", data)
        responses, rest = harness.parse_all(data)
        self.assertEqual(rest, b"")
        self.assertEqual([r.status for r in responses][:2], [200, 500])
        self.assertEqual(responses[0].header("X-Echo"), "one")
        if len(responses) == 3:
            self.assertEqual((responses[2].status, responses[2].header("X-Echo")), (200, "three"))
        else:
            self.assertEqual(len(responses), 2)


if __name__ == "__main__":
    unittest.main(verbosity=2)
