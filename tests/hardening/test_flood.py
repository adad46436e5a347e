#!/usr/bin/env python3
"""A connection flood against examples/echo --max-connections 50.

Connections beyond the limit get 503 with Connection: close, or are closed; a client already
connected is served throughout, a new one is answered at once (503 while the flood holds every
slot, 200 once it is gone); and afterwards the server's descriptors and resident memory return
to what they were.
"""
import os
import socket
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402

LIMIT = 50
FLOOD = 300
ROUNDS = 3
RSS_SLACK_KIB = 2048


def outcome(sock):
    """What a flood connection has seen so far: None (still open, nothing received), or
    (bytes, how) once the server closed it."""
    sock.setblocking(False)
    data = b""
    try:
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                return data, "eof"
            data += chunk
    except BlockingIOError:
        return (data, "open") if data else None
    except ConnectionResetError:
        return data, "reset"


class Flood(unittest.TestCase):
    def setUp(self):
        if harness.raise_nofile_limit() < FLOOD + 100:
            self.skipTest("needs %d descriptors" % (FLOOD + 100))
        self.server = harness.Server("echo", "--threads", "2", "--max-connections", LIMIT)

    def tearDown(self):
        code = self.server.stop()
        self.server.close_pipes()
        self.assertEqual(code, 0)

    def test_connections_beyond_the_limit_are_refused_and_everything_comes_back(self):
        port = self.server.port
        for _ in range(20):
            self.assertEqual(harness.get(port).status, 200)
        base_fds = self.server.quiet_fds()
        base_rss = self.server.rss_kib()
        for round_ in range(ROUNDS):
            with self.subTest(round=round_):
                self.flood_round(port, base_fds)
        fds = self.server.settle_fds(base_fds)
        rss = self.server.settle_rss(base_rss, RSS_SLACK_KIB)
        print("flood: %d rounds of %d connections against a limit of %d; descriptors %d -> %d, "
              "VmRSS %d -> %d KiB" % (ROUNDS, FLOOD, LIMIT, base_fds, fds, base_rss, rss), file=sys.stderr)
        self.assertEqual(fds, base_fds)
        if not harness.sanitized():
            self.assertLessEqual(rss, base_rss + RSS_SLACK_KIB)

    def flood_round(self, port, base_fds):
        # A client connected before the flood holds one of the slots.
        normal = harness.connect(port)
        normal.sendall(b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n")
        self.assertEqual(harness.read_response(normal).status, 200)

        flood = [socket.create_connection((harness.HOST, port), timeout=5) for _ in range(FLOOD)]
        try:
            # Wait for the server to have answered every connection beyond the limit.
            results = [None] * FLOOD
            deadline = time.monotonic() + 5
            while time.monotonic() < deadline:
                for i, s in enumerate(flood):
                    if results[i] is None or results[i][1] == "open":
                        got = outcome(s)
                        if got is not None:
                            results[i] = got
                if sum(1 for r in results if r is not None and r[1] != "open") >= FLOOD - (LIMIT - 1):
                    break
                time.sleep(0.05)
            time.sleep(0.2)  # nothing more should happen now
            for i, s in enumerate(flood):
                if results[i] is None or results[i][1] == "open":
                    got = outcome(s)
                    if got is not None:
                        results[i] = got

            held = [r for r in results if r is None]
            refused = [r for r in results if r is not None]
            self.assertEqual(len(held), LIMIT - 1)
            self.assertEqual(len(refused), FLOOD - (LIMIT - 1))
            for data, how in refused:
                self.assertIn(how, ("eof", "reset"))
                if data:
                    responses, rest = harness.parse_all(data)
                    self.assertEqual(([r.status for r in responses], rest), ([503], b""))
                    self.assertEqual(responses[0].header("Connection"), "close")

            # The connected client is served throughout, promptly.
            for _ in range(20):
                start = time.monotonic()
                normal.sendall(b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n")
                r = harness.read_response(normal, timeout=5)
                self.assertEqual((r.status, r.body), (200, b"OK"))
                self.assertLess(time.monotonic() - start, 1.0)
            # A new client is answered at once: every slot is taken.
            start = time.monotonic()
            s = harness.connect(port)
            data, how = harness.read_until_close(s, timeout=3)
            s.close()
            self.assertLess(time.monotonic() - start, 1.0)
            self.assertIn(how, ("eof", "reset"))
            if data:
                self.assertTrue(data.startswith(b"HTTP/1.1 503 "), data)
        finally:
            for s in flood:
                s.close()

        # With the flood gone, new clients are served again.
        deadline = time.monotonic() + 5
        while True:
            r = harness.get(port)
            if r is not None and r.status == 200:
                break
            self.assertLess(time.monotonic() - deadline, 0, "still refused after the flood: %r" % r)
            time.sleep(0.05)
        normal.close()
        self.assertEqual(self.server.settle_fds(base_fds), base_fds)


if __name__ == "__main__":
    unittest.main(verbosity=2)
