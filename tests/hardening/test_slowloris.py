#!/usr/bin/env python3
"""Slowloris: a thousand connections trickling a request head, one byte a second.

They must not keep a normal client from being served promptly, and the server must close each
of them at its header timeout (408 or a plain close), not before and not much after.
"""
import os
import resource
import selectors
import socket
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402

SLOW = 1000
HEADER_TIMEOUT = 2.5  # seconds, given to the server in milliseconds
HEAD = b"GET / HTTP/1.1\r\nHost: localhost\r\nX-Slow: " + b"a" * 200


class Trickler:
    """SLOW non-blocking connections, each sending one byte of HEAD a second, watched with one
    selector; records when and how each one ended and what it received."""

    def __init__(self, port, count):
        self.sel = selectors.DefaultSelector()
        self.conns = []
        for _ in range(count):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.setblocking(False)
            s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            err = s.connect_ex((harness.HOST, port))
            if err not in (0, 115):  # EINPROGRESS
                raise OSError(err, "connect failed")
            c = {"sock": s, "sent": 0, "start": time.monotonic(), "end": None, "how": None, "data": b""}
            self.conns.append(c)
            self.sel.register(s, selectors.EVENT_READ | selectors.EVENT_WRITE, c)
        self.last_tick = time.monotonic()

    def open_count(self):
        return sum(1 for c in self.conns if c["end"] is None)

    def step(self, timeout):
        """Waits up to timeout for events; sends the next byte on every open connection once a
        second."""
        now = time.monotonic()
        tick = now - self.last_tick >= 1.0
        if tick:
            self.last_tick = now
        for key, events in self.sel.select(timeout):
            c = key.data
            if events & selectors.EVENT_WRITE and c["sent"] == 0:
                err = c["sock"].getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
                if err:
                    self.finish(c, "connect-error-%d" % err)
                    continue
                self.send_byte(c)
                if c["end"] is None:
                    self.sel.modify(c["sock"], selectors.EVENT_READ, c)
            if events & selectors.EVENT_READ and c["end"] is None:
                try:
                    chunk = c["sock"].recv(65536)
                except ConnectionResetError:
                    self.finish(c, "reset")
                    continue
                except BlockingIOError:
                    continue
                if not chunk:
                    self.finish(c, "eof")
                else:
                    c["data"] += chunk
        if tick:
            for c in self.conns:
                if c["end"] is None and 0 < c["sent"] < len(HEAD):
                    self.send_byte(c)

    def send_byte(self, c):
        try:
            c["sent"] += c["sock"].send(HEAD[c["sent"]:c["sent"] + 1])
        except BlockingIOError:
            pass
        except (BrokenPipeError, ConnectionResetError):
            self.finish(c, "reset")

    def finish(self, c, how):
        c["end"] = time.monotonic()
        c["how"] = how
        self.sel.unregister(c["sock"])
        c["sock"].close()

    def close(self):
        for c in self.conns:
            if c["end"] is None:
                self.finish(c, "closed-by-test")
        self.sel.close()


class Slowloris(unittest.TestCase):
    def setUp(self):
        limit = harness.raise_nofile_limit()
        if limit < SLOW + 200:
            self.skipTest("needs %d descriptors, RLIMIT_NOFILE allows %d" % (SLOW + 200, limit))

    def test_trickling_connections_do_not_delay_others_and_end_at_the_header_timeout(self):
        with harness.Server("echo", "--threads", "2",
                            "--header-timeout-ms", int(HEADER_TIMEOUT * 1000)) as server:
            self.assertEqual(harness.get(server.port).status, 200)
            baseline_fds = server.quiet_fds()
            t = Trickler(server.port, SLOW)
            latencies = []
            try:
                deadline = time.monotonic() + HEADER_TIMEOUT + 6
                next_probe = time.monotonic() + 0.3
                while t.open_count() and time.monotonic() < deadline:
                    t.step(0.05)
                    now = time.monotonic()
                    # A normal client, while at least nine in ten of the slow ones are open.
                    if now >= next_probe and t.open_count() >= SLOW * 9 // 10:
                        start = time.monotonic()
                        r = harness.get(server.port, timeout=5)
                        latencies.append(time.monotonic() - start)
                        self.assertEqual((r.status, r.body), (200, b"OK"))
                        next_probe = time.monotonic() + 0.25
            finally:
                t.close()
            # Every slow connection got through its connect and sent bytes.
            self.assertEqual([c["how"] for c in t.conns if c["sent"] == 0], [])
            self.assertEqual([c["how"] for c in t.conns if c["how"] not in ("eof", "reset")], [])
            lifetimes = sorted(c["end"] - c["start"] for c in t.conns)
            self.assertGreaterEqual(lifetimes[0], HEADER_TIMEOUT - 0.3, "closed before the header timeout")
            self.assertLessEqual(lifetimes[-1], HEADER_TIMEOUT + 3.0, "left open past the header timeout")
            for c in t.conns:
                if c["data"]:
                    responses, rest = harness.parse_all(c["data"])
                    self.assertEqual(([r.status for r in responses], rest), ([408], b""))
            self.assertGreaterEqual(len(latencies), 4)
            self.assertLess(max(latencies), 1.0, latencies)
            # Nothing left behind.
            self.assertEqual(server.settle_fds(baseline_fds), baseline_fds)
            self.assertEqual(harness.get(server.port).status, 200)
            print("slowloris: %d connections, lifetimes %.2f..%.2f s, %d answered 408, "
                  "normal GET max %.1f ms over %d probes"
                  % (SLOW, lifetimes[0], lifetimes[-1], sum(1 for c in t.conns if c["data"]),
                     max(latencies) * 1000, len(latencies)), file=sys.stderr)


class DescriptorLimit(unittest.TestCase):
    """The server run with a low descriptor limit (256, to keep it quick)."""

    LOW = 256

    def setUp(self):
        limit = harness.raise_nofile_limit()
        if limit < 2 * self.LOW + 100:
            self.skipTest("the hard descriptor limit is too low to tell")

    def test_out_of_descriptors_the_server_sheds_and_recovers(self):
        with harness.Server("echo", "--threads", "2", "--header-timeout-ms", "2000",
                            nofile=self.LOW, nofile_hard=True) as server:
            held = []
            for _ in range(self.LOW + 100):
                s = socket.create_connection((harness.HOST, server.port), timeout=5)
                s.sendall(HEAD[:10])
                held.append(s)
            time.sleep(0.5)
            # Whatever was refused was refused cleanly: 503 and close, or a close.
            refused = 0
            for s in held:
                s.setblocking(False)
                try:
                    data = s.recv(4096)
                except BlockingIOError:
                    continue
                except ConnectionResetError:
                    data = b""
                refused += 1
                if data:
                    self.assertTrue(data.startswith(b"HTTP/1.1 503 "), data)
            # LOW descriptors cannot hold LOW + 100 connections: at least 100 were refused, and
            # at once, while the server still had descriptors to accept and answer them with.
            self.assertGreaterEqual(refused, 100, "too few connections refused: the limit was never reached")
            for s in held:
                s.close()
            # Once the trickle is gone, new clients are served.
            deadline = time.monotonic() + 5
            while True:
                try:
                    r = harness.get(server.port, timeout=2)
                    if r is not None and r.status == 200:
                        break
                except (ConnectionError, socket.timeout):
                    pass
                self.assertLess(time.monotonic(), deadline, "not serving after the descriptors came back")
                time.sleep(0.1)
            self.assertEqual(server.stop(), 0)

    # Under the common soft RLIMIT_NOFILE of 1024 a server could not hold a thousand connections
    # even when the hard limit allows it, so it raises its soft limit to the hard one at start.
    def test_the_server_raises_its_descriptor_soft_limit_to_the_hard_limit(self):
        with harness.Server("echo", "--threads", "2", nofile=self.LOW) as server:
            self.assertEqual(harness.get(server.port).status, 200)
            with open("/proc/%d/limits" % server.pid) as f:
                line = next(x for x in f if x.startswith("Max open files"))
            soft, hard = line.split()[3:5]
            self.assertEqual(soft, hard)


if __name__ == "__main__":
    unittest.main(verbosity=2)
