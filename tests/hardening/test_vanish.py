#!/usr/bin/env python3
"""Clients that vanish: mid-head, mid-body, mid-response, with FIN or with RST, or that half-close
after a whole request (whose answer must still arrive), and clients that go quiet (stop reading,
stop sending, idle). After hundreds of rounds the server holds the descriptors and about the
resident memory it held before, and it still serves.
"""
import os
import socket
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402

ROUNDS = 1000
BIG = 900 * 1024  # under the default 1 MiB body limit
# What the allocator may keep resident without a leak: each loop thread's malloc arena can hold
# freed buffers of big bodies (glibc raises its mmap threshold once one is freed, so later ones
# come from the heap, which it trims only from the top). Measured: up to 2.6 MiB above a
# baseline taken when the warm-up's buffers had been trimmed, with the code of two releases
# alike. A leak of 5 KiB per vanished client still fails over the rounds.
RSS_SLACK_KIB = 4096
GET = b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n"


def big_post(n=BIG):
    return b"POST / HTTP/1.1\r\nHost: localhost\r\nContent-Length: %d\r\n\r\n" % n + b"x" * n


def partial_head_fin(port):
    s = harness.connect(port)
    s.sendall(b"GET / HTTP/1.1\r\nHost: loc")
    s.close()


def partial_head_rst(port):
    s = harness.connect(port)
    s.sendall(b"GET /count HTTP/1.1\r\nHost: localhost\r\nX-A: ")
    harness.reset(s)


def partial_body_fin(port):
    s = harness.connect(port)
    s.sendall(b"POST / HTTP/1.1\r\nHost: localhost\r\nContent-Length: 5000\r\n\r\n" + b"y" * 1000)
    s.close()


def partial_body_rst(port):
    s = harness.connect(port)
    s.sendall(b"POST / HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\n\r\n1000\r\n" + b"z" * 2000)
    harness.reset(s)


def whole_request_then_rst(port):
    s = harness.connect(port)
    s.sendall(GET * 3)
    harness.reset(s)


def half_close_gets_its_answer(port):
    s = harness.connect(port)
    s.sendall(b"POST / HTTP/1.1\r\nHost: localhost\r\nContent-Length: 5\r\n\r\nhello" + GET)
    s.shutdown(socket.SHUT_WR)
    data, how = harness.read_until_close(s, timeout=5)
    s.close()
    responses, rest = harness.parse_all(data)
    if how != "eof" or rest or [(r.status, r.body) for r in responses] != [(200, b"hello"), (200, b"OK")]:
        raise AssertionError("half-closed client got %r (%s)" % (data[:300], how))


def mid_response_rst(port):
    s = harness.connect(port)
    s.sendall(big_post())
    got = b""
    while len(got) < 100:
        chunk = s.recv(100)
        if not chunk:
            raise AssertionError("closed before the response")
        got += chunk
    if not got.startswith(b"HTTP/1.1 200 "):
        raise AssertionError("unexpected answer %r" % got)
    harness.reset(s)


def mid_response_fin(port):
    s = harness.connect(port)
    s.sendall(big_post(BIG // 3))
    s.recv(10)
    s.close()  # unread data: the kernel sends RST


KINDS = [partial_head_fin, partial_head_rst, partial_body_fin, partial_body_rst, whole_request_then_rst,
         half_close_gets_its_answer, mid_response_rst, mid_response_fin]


class Vanish(unittest.TestCase):
    def setUp(self):
        self.server = harness.Server("echo", "--threads", "2", "--header-timeout-ms", "1000",
                                     "--body-timeout-ms", "1000", "--keep-alive-timeout-ms", "1000",
                                     "--write-timeout-ms", "1000")

    def tearDown(self):
        code = self.server.stop()
        self.server.close_pipes()
        self.assertEqual(code, 0)

    def baseline(self):
        """Warms up every path (both loops see big bodies), then the settled counts."""
        port = self.server.port
        for _ in range(6):
            for kind in KINDS:
                kind(port)
            s = harness.connect(port)
            s.sendall(big_post())
            r = harness.read_response(s, timeout=10)
            s.close()
            self.assertEqual((r.status, len(r.body)), (200, BIG))
        # Past the 1 s timeouts: a connection whose close went unnoticed (see EndOfInput) is gone.
        time.sleep(1.3)
        return self.server.quiet_fds(), self.server.rss_kib()

    def test_hundreds_of_vanishing_clients_leak_nothing(self):
        port = self.server.port
        base_fds, base_rss = self.baseline()
        peak_rss = base_rss
        for i in range(ROUNDS):
            KINDS[i % len(KINDS)](port)
            if i % 50 == 0:
                peak_rss = max(peak_rss, self.server.rss_kib())
        fds = self.server.settle_fds(base_fds)
        rss = self.server.settle_rss(base_rss, RSS_SLACK_KIB)
        print("vanish: %d rounds; descriptors %d -> %d, VmRSS %d -> %d KiB (peak %d)"
              % (ROUNDS, base_fds, fds, base_rss, rss, peak_rss), file=sys.stderr)
        self.assertEqual(fds, base_fds)
        if not harness.sanitized():
            self.assertLessEqual(rss, base_rss + RSS_SLACK_KIB)
        r = harness.get(port)
        self.assertEqual((r.status, r.body), (200, b"OK"))

    def test_quiet_clients_are_closed_at_their_timeouts(self):
        port = self.server.port
        base_fds, _ = self.baseline()
        quiet = []
        try:
            for _ in range(10):
                # Stops reading a large response: the write timeout.
                s = harness.connect(port)
                s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
                s.sendall(big_post())
                quiet.append(s)
                # Stops sending in the middle of a body: the body timeout (408).
                s = harness.connect(port)
                s.sendall(b"POST / HTTP/1.1\r\nHost: localhost\r\nContent-Length: 100\r\n\r\nabc")
                quiet.append(s)
                # Stops sending in the middle of a head: the header timeout (408).
                s = harness.connect(port)
                s.sendall(b"GET / HTTP/1.1\r\nHost")
                quiet.append(s)
                # Idle after a request: the keep-alive timeout.
                s = harness.connect(port)
                s.sendall(GET)
                self.assertEqual(harness.read_response(s).status, 200)
                quiet.append(s)
            self.assertGreater(self.server.fd_count(), base_fds + 30)
            # Every one of them is closed by the server while the clients still hold theirs.
            start = time.monotonic()
            fds = self.server.settle_fds(base_fds, timeout=6)
            self.assertEqual(fds, base_fds, "still open %.1f s later" % (time.monotonic() - start))
        finally:
            for s in quiet:
                s.close()
        r = harness.get(port)
        self.assertEqual(r.status, 200)


def last_bytes_with_fin(port, first, last):
    """Sends `first`, waits until the server has read it, then sends `last` and the FIN in one
    TCP segment (TCP_CORK holds the bytes until shutdown adds the FIN to them)."""
    s = harness.connect(port)
    s.sendall(first)
    time.sleep(0.05)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 0)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_CORK, 1)
    s.sendall(last)
    s.shutdown(socket.SHUT_WR)
    return s


def _partial_head_then_fin(port):
    s = harness.connect(port)
    s.sendall(b"GET / HTTP/1.1\r\nHost: loc")
    time.sleep(0.05)
    s.shutdown(socket.SHUT_WR)
    return s


class EndOfInput(unittest.TestCase):
    """A peer's FIN that arrives in the same segment as its last bytes.

    The event loop stops reading after a short read ("the socket is drained; new data brings a
    new edge"), but a FIN that came with those bytes brings no new edge: the server misses the
    end of input and keeps the connection, in CLOSE-WAIT, until a timeout (header 10 s, body
    30 s, keep-alive 60 s by default) instead of closing it at once. A client can so hold a
    server slot and descriptor for a whole timeout without holding anything itself.
    """

    ROUNDS = 20

    def setUp(self):
        self.server = harness.Server("echo", "--threads", "2")  # default timeouts: 10 s and up

    def tearDown(self):
        code = self.server.stop()
        self.server.close_pipes()
        self.assertEqual(code, 0)

    def held_after(self, send):
        base = self.server.quiet_fds()
        socks = [send(self.server.port) for _ in range(self.ROUNDS)]
        for s in socks:
            s.close()
        return self.server.settle_fds(base, timeout=2.0) - base

    def test_a_fin_on_its_own_after_a_partial_head_closes_the_connection_at_once(self):
        self.assertEqual(self.held_after(_partial_head_then_fin), 0)

    def test_a_fin_with_the_last_bytes_of_a_partial_head_closes_the_connection_at_once(self):
        self.assertEqual(self.held_after(
            lambda p: last_bytes_with_fin(p, b"GET / HTTP/1.1\r\n", b"Host: localhost\r\n")), 0)

    def test_a_fin_with_the_last_bytes_of_a_partial_body_closes_the_connection_at_once(self):
        self.assertEqual(self.held_after(
            lambda p: last_bytes_with_fin(p, b"POST / HTTP/1.1\r\nHost: localhost\r\nContent-Length: 100\r\n\r\n",
                                          b"x" * 10)), 0)

    def test_a_fin_with_a_whole_request_gets_the_answer_then_a_close(self):
        port = self.server.port
        base = self.server.quiet_fds()
        for _ in range(self.ROUNDS):
            s = last_bytes_with_fin(port, b"GET / HTTP/1.1\r\n", b"Host: localhost\r\n\r\n")
            data, how = harness.read_until_close(s, timeout=2)
            s.close()
            responses, rest = harness.parse_all(data)
            self.assertEqual([r.status for r in responses], [200])  # the answer arrives either way
            self.assertEqual(how, "eof")  # and then the close, not 60 s later
        self.assertEqual(self.server.settle_fds(base, timeout=2.0), base)


if __name__ == "__main__":
    unittest.main(verbosity=2)
