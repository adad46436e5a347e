#!/usr/bin/env python3
"""The hostile and realistic corpora (tests/corpus) against a running examples/echo, over TCP.

replay.py checks each case's status, that a 400 closes the connection, and that the server still
accepts connections after every case; this file then checks, for every case whose answer is an
error, that the server itself closes the connection (EOF or reset, not an idle timeout) and that
a normal request on a new connection is served.
"""
import io
import os
import re
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "corpus"))
import harness  # noqa: E402
import replay  # noqa: E402


def error_cases():
    """(case, allowed statuses) for every hostile case whose every allowed outcome is an error."""
    out = []
    for case in replay.cases("hostile"):
        alternatives = case.expected()
        if all(a.isdigit() and int(a) >= 400 for a in alternatives):
            out.append((case, {int(a) for a in alternatives}))
    return out


def method_timeout(raw):
    """How long to wait for the close: short where an open connection is allowed (a request
    line with a method porthole does not implement), long enough elsewhere."""
    method = raw.split(b" ", 1)[0]
    known = (b"GET", b"HEAD", b"POST", b"PUT", b"DELETE", b"OPTIONS", b"PATCH", b"TRACE")
    return 0.5 if method.isalpha() and method.isupper() and method not in known else 4.0


def corpus_host_names():
    """The names the corpora's requests give as Host or in an absolute target: the loopback Host
    check (421 for a name that is not this machine's) is not what the corpora test."""
    names = set()
    for kind in ("hostile", "realistic"):
        for case in replay.cases(kind):
            raw = case.data()
            for m in re.finditer(rb"(?im)^host:[ \t]*([a-z][a-z0-9.-]*)", raw):
                names.add(m.group(1).decode())
            for m in re.finditer(rb"(?i)https?://([a-z][a-z0-9.-]*)", raw):
                names.add(m.group(1).decode())
    return sorted(names)


class HostileCorpusOverTheNetwork(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        allow = [a for name in corpus_host_names() for a in ("--allow-host", name)]
        cls.server = harness.Server("echo", "--threads", "2", *allow)

    @classmethod
    def tearDownClass(cls):
        code = cls.server.stop()
        cls.server.close_pipes()
        assert code == 0, "echo exited %r" % code

    def replay(self, kind, **options):
        report = io.StringIO()
        passed, failed, not_run = replay.replay(self.server.port, kind, first=3, idle=0.4, limit=10,
                                                out=report, **options)
        self.assertEqual((failed, not_run), (0, 0), report.getvalue())
        self.assertEqual(passed, len(replay.cases(kind)), report.getvalue())
        return passed

    def test_every_hostile_case_gets_an_answer_its_index_allows(self):
        self.assertGreaterEqual(self.replay("hostile"), 90)

    def test_every_realistic_case_is_served_with_the_decoded_body_lengths(self):
        self.assertGreaterEqual(self.replay("realistic", body_length_header="X-Body-Length"), 26)

    def test_error_cases_are_closed_by_the_server_and_the_next_connection_is_served(self):
        cases = error_cases()
        self.assertGreater(len(cases), 50)
        for case, allowed in cases:
            with self.subTest(case=case.name):
                raw = case.data()
                s = harness.connect(self.server.port)
                try:
                    try:
                        s.sendall(raw)
                    except (BrokenPipeError, ConnectionResetError):
                        pass  # the server may answer and close before the whole request is sent
                    data, how = harness.read_until_close(s, timeout=method_timeout(raw))
                    responses, _ = harness.parse_all(data)
                    self.assertTrue(responses, "no response: %r (%s)" % (data[:300], how))
                    status = responses[0].status
                    self.assertIn(status, allowed)
                    if status == 501 and b"transfer-encoding" not in raw.lower():
                        # An unknown method or CONNECT: the message was framed correctly, so the
                        # connection may stay open; if it does, it must serve the next request.
                        if how == "timeout":
                            s.sendall(b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n")
                            self.assertEqual(harness.read_response(s).status, 200)
                    else:
                        self.assertIn(how, ("eof", "reset"), "the server left the connection open")
                        self.assertEqual(len(responses), 1, responses)
                finally:
                    s.close()
                r = harness.get(self.server.port)
                self.assertEqual((r.status, r.body), (200, b"OK"))


if __name__ == "__main__":
    unittest.main(verbosity=2)
