#!/usr/bin/env python3
"""The shared hostile and realistic corpora against a running examples/echo, over TCP.

send.py checks each case's status, that a 400 closes the connection, and that the server still
accepts connections after every case; this file then checks, for every case whose answer is an
error, that the server itself closes the connection (EOF or reset, not an idle timeout) and that
a normal request on a new connection is served.
"""
import csv
import os
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402

CORPUS = os.path.join(harness.SHARED, "corpus")
HOSTILE = os.path.join(CORPUS, "hostile", "index.tsv")
REALISTIC = os.path.join(CORPUS, "realistic", "index.tsv")


def error_cases():
    """(file, allowed statuses) for every hostile case whose every allowed outcome is an error."""
    with open(HOSTILE, newline="") as f:
        rows = list(csv.DictReader(f, delimiter="\t"))
    out = []
    for row in rows:
        alternatives = row["expected"].split("|")
        if all(a.isdigit() and int(a) >= 400 for a in alternatives):
            out.append((row["file"], {int(a) for a in alternatives}))
    return out


def method_timeout(raw):
    """How long to wait for the close: short where an open connection is allowed (a request
    line with a method porthole does not implement), long enough elsewhere."""
    method = raw.split(b" ", 1)[0]
    known = (b"GET", b"HEAD", b"POST", b"PUT", b"DELETE", b"OPTIONS", b"PATCH", b"TRACE")
    return 0.5 if method.isalpha() and method.isupper() and method not in known else 4.0


@unittest.skipUnless(os.path.exists(HOSTILE), "needs the shared corpus (PORTHOLE_SHARED_DIR)")
class HostileCorpusOverTheNetwork(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.server = harness.Server("echo", "--threads", "2")

    @classmethod
    def tearDownClass(cls):
        code = cls.server.stop()
        cls.server.close_pipes()
        assert code == 0, "echo exited %r" % code

    def send_py(self, index, *extra):
        out = subprocess.run([sys.executable, os.path.join(CORPUS, "send.py"),
                              "127.0.0.1:%d" % self.server.port, index, "--idle", "0.4",
                              "--first", "3", "--max", "10"] + list(extra),
                             capture_output=True, text=True, timeout=150)
        report = out.stdout + out.stderr
        self.assertEqual(out.returncode, 0, report)
        self.assertRegex(report, r"\n(\d+) PASS, 0 FAIL, 0 NOT-RUN")
        self.assertNotIn("FAIL ", report)
        return report

    def test_send_py_passes_every_hostile_case(self):
        report = self.send_py(HOSTILE)
        self.assertIn("64 PASS", report)

    def test_send_py_passes_every_realistic_case_with_the_decoded_body_lengths(self):
        self.send_py(REALISTIC, "--body-len-header", "X-Body-Length")

    def test_error_cases_are_closed_by_the_server_and_the_next_connection_is_served(self):
        cases = error_cases()
        self.assertGreater(len(cases), 30)
        for name, allowed in cases:
            with self.subTest(case=name):
                with open(os.path.join(CORPUS, "hostile", name), "rb") as f:
                    raw = f.read()
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
