#!/usr/bin/env python3
"""Requests hidden in a body, behind conflicting framing, or pipelined after a bad request never
reach the application as requests.

examples/echo counts every request its application receives (GET /count). Each case reads that
count on a fresh connection, sends its bytes on another, reads until the server closes (or falls
silent), reads the count again, and checks exactly how many requests the application saw.
"""
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402

SMUGGLED = b"GET /smuggled HTTP/1.1\r\nHost: localhost\r\n\r\n"
GOOD = b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n"


def post(headers, body):
    return b"POST / HTTP/1.1\r\nHost: localhost\r\n" + headers + b"\r\n" + body


class Smuggling(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = harness.Server("echo", "--threads", "2", "--keep-alive-timeout-ms", "1000")

    @classmethod
    def tearDownClass(cls):
        code = cls.server.stop()
        cls.server.close_pipes()
        assert code == 0, "echo exited %r" % code

    def exchange(self, raw, app_requests, statuses, closes=True):
        """Sends raw on one connection; the application must see exactly app_requests requests
        and the connection must carry responses with exactly these statuses."""
        before = harness.app_count(self.server.port)
        s = harness.connect(self.server.port)
        try:
            try:
                s.sendall(raw)
            except (BrokenPipeError, ConnectionResetError):
                pass
            # Without a close from the server, the keep-alive timeout (1 s) ends the exchange.
            data, how = harness.read_until_close(s, timeout=4)
        finally:
            s.close()
        responses, rest = harness.parse_all(data)
        self.assertEqual(rest, b"", "bytes after the last whole response")
        self.assertEqual([r.status for r in responses], statuses, data[:600])
        if closes:
            self.assertIn(how, ("eof", "reset"))
        after = harness.app_count(self.server.port)
        # The first GET /count is one of the requests counted between the two readings.
        self.assertEqual(after - before - 1, app_requests)
        return responses

    # ------------------------------------------------------------ bodies

    def test_a_request_inside_a_body_is_only_a_body(self):
        responses = self.exchange(post(b"Content-Length: %d\r\n" % len(SMUGGLED), SMUGGLED), 1, [200],
                                  closes=False)
        self.assertEqual(responses[0].body, SMUGGLED)

    def test_a_request_inside_a_chunked_body_is_only_a_body(self):
        body = b"%x\r\n%s\r\n0\r\n\r\n" % (len(SMUGGLED), SMUGGLED)
        responses = self.exchange(post(b"Transfer-Encoding: chunked\r\n", body), 1, [200], closes=False)
        self.assertEqual(responses[0].body, SMUGGLED)

    def test_a_body_on_a_get_is_read_and_dropped_not_parsed(self):
        raw = b"GET / HTTP/1.1\r\nHost: localhost\r\nContent-Length: %d\r\n\r\n" % len(SMUGGLED) + SMUGGLED
        responses = self.exchange(raw, 1, [200], closes=False)
        self.assertEqual(responses[0].header("X-Body-Length"), str(len(SMUGGLED)))

    # ------------------------------------------------------------ conflicting framing

    def test_cl_te_is_refused_whole(self):
        body = b"0\r\n\r\n" + SMUGGLED
        self.exchange(post(b"Content-Length: %d\r\nTransfer-Encoding: chunked\r\n" % len(body), body), 0, [400])

    def test_te_cl_is_refused_whole(self):
        chunk = b"%x\r\n%s\r\n0\r\n\r\n" % (len(SMUGGLED), SMUGGLED)
        self.exchange(post(b"Transfer-Encoding: chunked\r\nContent-Length: 4\r\n", chunk), 0, [400])

    def test_te_cl_with_the_smuggled_request_after_the_chunked_body(self):
        # A Content-Length reader takes "0\r\n\r\n" as the body; a chunked reader, the same:
        # either way the rest would be a request. porthole refuses the message instead.
        self.exchange(post(b"Content-Length: 5\r\nTransfer-Encoding: chunked\r\n", b"0\r\n\r\n" + SMUGGLED), 0, [400])

    def test_te_with_obs_fold_is_refused(self):
        body = b"0\r\n\r\n" + SMUGGLED
        self.exchange(post(b"Content-Length: %d\r\nTransfer-Encoding:\r\n chunked\r\n" % len(body), body), 0, [400])

    def test_te_folded_onto_another_header_is_refused(self):
        body = b"0\r\n\r\n" + SMUGGLED
        self.exchange(post(b"Content-Length: %d\r\nX-Padding: a\r\n Transfer-Encoding: chunked\r\n" % len(body), body),
                      0, [400])

    def test_te_with_a_vertical_tab_is_refused(self):
        body = b"0\r\n\r\n" + SMUGGLED
        responses = self.exchange(
            post(b"Content-Length: %d\r\nTransfer-Encoding: \x0bchunked\r\n" % len(body), body), 0, [400])
        self.assertEqual(responses[0].status, 400)

    def test_duplicate_te_lines_are_refused(self):
        chunk = b"%x\r\n%s\r\n0\r\n\r\n" % (len(SMUGGLED), SMUGGLED)
        data = post(b"Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n", chunk)
        before = harness.app_count(self.server.port)
        s = harness.connect(self.server.port)
        s.sendall(data)
        raw, how = harness.read_until_close(s, timeout=4)
        s.close()
        responses, _ = harness.parse_all(raw)
        self.assertEqual(len(responses), 1)
        self.assertIn(responses[0].status, (400, 501))
        self.assertIn(how, ("eof", "reset"))
        self.assertEqual(harness.app_count(self.server.port) - before - 1, 0)

    def test_te_unknown_coding_with_cl_is_refused(self):
        body = b"0\r\n\r\n" + SMUGGLED
        before = harness.app_count(self.server.port)
        s = harness.connect(self.server.port)
        s.sendall(post(b"Content-Length: %d\r\nTransfer-Encoding: xchunked\r\n" % len(body), body))
        raw, how = harness.read_until_close(s, timeout=4)
        s.close()
        responses, _ = harness.parse_all(raw)
        self.assertEqual([r.status in (400, 501) for r in responses], [True])
        self.assertIn(how, ("eof", "reset"))
        self.assertEqual(harness.app_count(self.server.port) - before - 1, 0)

    def test_cl_list_of_differing_values_is_refused(self):
        self.exchange(post(b"Content-Length: 0, %d\r\n" % len(SMUGGLED), SMUGGLED), 0, [400])

    def test_two_cl_lines_with_differing_values_are_refused(self):
        self.exchange(post(b"Content-Length: 0\r\nContent-Length: %d\r\n" % len(SMUGGLED), SMUGGLED), 0, [400])

    def test_cl_that_wraps_a_64_bit_counter_is_refused(self):
        # 2^64 + 5: an unchecked parser reads 5 and takes the rest as a request.
        self.exchange(post(b"Content-Length: 18446744073709551621\r\n", b"hello" + SMUGGLED), 0, [400])

    def test_chunk_size_that_wraps_a_64_bit_counter_is_refused(self):
        # 0x10000000000000005 is 2^64 + 5.
        body = b"10000000000000005\r\nhello\r\n0\r\n\r\n" + SMUGGLED
        before = harness.app_count(self.server.port)
        s = harness.connect(self.server.port)
        s.sendall(post(b"Transfer-Encoding: chunked\r\n", body))
        raw, how = harness.read_until_close(s, timeout=4)
        s.close()
        responses, _ = harness.parse_all(raw)
        self.assertEqual(len(responses), 1, raw)
        self.assertIn(responses[0].status, (400, 413))
        self.assertIn(how, ("eof", "reset"))
        self.assertEqual(harness.app_count(self.server.port) - before - 1, 0)

    def test_bare_lf_hiding_a_content_length_is_refused(self):
        body = SMUGGLED
        raw = b"POST / HTTP/1.1\r\nHost: localhost\r\nX-A: a\nContent-Length: %d\r\n\r\n" % len(body) + body
        self.exchange(raw, 0, [400])

    # ------------------------------------------------------------ pipelining

    def test_nothing_after_a_bad_request_reaches_the_application(self):
        bad = b"GET /a b HTTP/1.1\r\nHost: localhost\r\n\r\n"
        self.exchange(GOOD + bad + SMUGGLED + GOOD, 1, [200, 400])

    def test_a_bad_request_first_stops_the_whole_pipeline(self):
        bad = b"GET / HTTP/1.1\r\nHost: localhost\r\nBad Name: x\r\n\r\n"
        self.exchange(bad + SMUGGLED + GOOD, 0, [400])

    def test_cl_te_second_in_a_pipeline_stops_the_pipeline(self):
        body = b"0\r\n\r\n" + SMUGGLED
        second = post(b"Content-Length: %d\r\nTransfer-Encoding: chunked\r\n" % len(body), body)
        self.exchange(GOOD + second + GOOD, 1, [200, 400])

    def test_a_good_pipeline_reaches_the_application_request_by_request(self):
        self.exchange(GOOD * 5 + post(b"Content-Length: 3\r\n", b"abc") + GOOD, 7, [200] * 7, closes=False)


if __name__ == "__main__":
    unittest.main(verbosity=2)
