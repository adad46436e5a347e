#!/usr/bin/env python3
"""The memory a connection can make examples/echo hold stays within the bound docs/security.md
states, under the attacks that once grew it with the bytes on the wire:

- chunked bodies whose framing dwarfs their data (1-byte chunks, each with a 27-byte extension:
  allowed, and decoded with the framing dropped as it goes);
- the same with 1,000-byte extensions (refused as framing out of proportion: 400, then close);
- pipelined requests for large generated bodies from a client that does not read.

Each runs on several connections at once while a thread samples the server's resident memory;
the growth over a warmed-up baseline must stay under the bound times the connections.
"""
import os
import socket
import sys
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402

KIB = 1024


def connection_bound(app_body, app_head=1 * KIB, read=64 * KIB):
    """docs/security.md's bound with porthole's default limits, in KiB."""
    L, H, B, E, T, N = 8 * KIB, 16 * KIB, 1024 * KIB, 1 * KIB, 8 * KIB, 100
    O, I = 256 * KIB, 16 * KIB
    F = max(66 + E, T)
    return (2 * (L + H + B + F + read) + 32 * N + L + 9 * O + 4 * (I + app_head) + app_body + 16 * KIB) / KIB


class Sampler:
    """Samples a server's RSS (KiB) every 10 ms until stopped; peak is the highest."""

    def __init__(self, server):
        self.server, self.peak = server, server.rss_kib()
        self.done = threading.Event()
        self.thread = threading.Thread(target=self.run)
        self.thread.start()

    def run(self):
        while not self.done.is_set():
            self.peak = max(self.peak, self.server.rss_kib())
            time.sleep(0.01)

    def stop(self):
        self.done.set()
        self.thread.join()
        return self.peak


class Replies:
    """Reads Content-Length framed responses, one after the other, from a blocking socket."""

    def __init__(self, sock, timeout=30.0):
        self.sock, self.buf = sock, b""
        sock.settimeout(timeout)

    def fill(self, n):
        while len(self.buf) < n:
            chunk = self.sock.recv(65536)
            if not chunk:
                return False
            self.buf += chunk
        return True

    def next(self):
        """(status, body), or (None, b"") when the connection closed first."""
        while b"\r\n\r\n" not in self.buf:
            if not self.fill(len(self.buf) + 1):
                return None, b""
        head, _, rest = self.buf.partition(b"\r\n\r\n")
        status = int(head.split(b" ", 2)[1])
        length = 0
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        start = len(head) + 4
        self.fill(start + length)
        body, self.buf = self.buf[start:start + length], self.buf[start + length:]
        return status, body


@unittest.skipIf(harness.sanitized("echo"), "memory figures mean nothing under ASan")
class MemoryPerConnection(unittest.TestCase):
    CONNECTIONS = 4

    def setUp(self):
        self.server = harness.Server("echo", "--threads", "2", "--allow-host", "a")
        # Warm up: every loop's buffers and a few connection objects exist before the baseline.
        for _ in range(20):
            harness.get(self.server.port)
        harness.request(self.server.port, b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 100000\r\n\r\n" + b"w" * 100000)
        time.sleep(0.2)
        self.baseline = self.server.rss_kib()

    def tearDown(self):
        self.assertEqual(self.server.stop(), 0)
        self.server.close_pipes()

    def run_clients(self, client):
        sampler = Sampler(self.server)
        results = [None] * self.CONNECTIONS
        errors = []

        def run(i):
            try:
                results[i] = client()
            except Exception as e:  # noqa: BLE001 - reported below
                errors.append(e)

        threads = [threading.Thread(target=run, args=(i,)) for i in range(self.CONNECTIONS)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        peak = sampler.stop()
        self.assertEqual(errors, [])
        return results, peak - self.baseline

    def test_framing_heavy_chunked_bodies_are_held_at_their_decoded_size(self):
        body_size = 300000
        chunk = b"1;" + b"x" * 27 + b"\r\nA\r\n"

        def client():
            s = harness.connect(self.server.port, timeout=60)
            s.sendall(b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n")
            batch = chunk * 10000
            for _ in range(body_size // 10000):
                s.sendall(batch)
            s.sendall(b"0\r\n\r\n")
            status, body = Replies(s).next()
            s.close()
            return status, len(body)

        results, growth = self.run_clients(client)
        wire = len(chunk) * body_size
        self.assertEqual(results, [(200, body_size)] * self.CONNECTIONS)
        bound = connection_bound(app_body=body_size) * self.CONNECTIONS
        print("framing-heavy chunked: %d x %.1f MB on the wire, RSS grew %d KiB (bound %d KiB)"
              % (self.CONNECTIONS, wire / 1e6, growth, bound))
        self.assertLess(growth, bound)
        self.assertLess(growth * KIB, self.CONNECTIONS * wire / 4)  # the data, not the wire

    def test_framing_out_of_proportion_is_refused_early(self):
        chunk = b"1;" + b"x" * 1000 + b"\r\nA\r\n"

        def client():
            s = harness.connect(self.server.port, timeout=30)
            sent = 0
            try:
                s.sendall(b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n")
                for _ in range(400):  # 40,000 chunks, 40 MB, if the server took them all
                    s.sendall(chunk * 100)
                    sent += 100
            except (BrokenPipeError, ConnectionResetError):
                pass
            data, how = harness.read_until_close(s, timeout=10)
            s.close()
            return data.split(b"\r\n", 1)[0], how, sent

        results, growth = self.run_clients(client)
        # Refused long before the end; the server then reads and drops what still comes, for 2 s
        # at most (lingering close), holding nothing of it (the growth bound below).
        for status_line, how, sent in results:
            self.assertEqual(status_line, b"HTTP/1.1 400 Bad Request")
            self.assertIn(how, ("eof", "reset"))
        print("framing out of proportion: refused, RSS grew %d KiB, the clients sent %d of 40000 chunks at most"
              % (growth, max(r[2] for r in results)))
        self.assertLess(growth, connection_bound(app_body=0) * self.CONNECTIONS)

    def test_a_client_that_does_not_read_cannot_pile_up_generated_bodies(self):
        size, count = 400000, 60  # each answer is a generated 400 KB string

        def client():
            s = harness.connect(self.server.port, timeout=30)
            s.setblocking(False)
            request = b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: %d\r\n\r\n" % size + b"p" * size
            pending = request * count
            sent, deadline = 0, time.monotonic() + 3.0
            while sent < len(pending) and time.monotonic() < deadline:  # until the server stops reading
                try:
                    sent += s.send(pending[sent:sent + 65536])
                except BlockingIOError:
                    time.sleep(0.01)
            time.sleep(0.5)  # the server holds what it holds; the sampler sees it
            s.setblocking(True)
            rest = threading.Thread(target=s.sendall, args=(pending[sent:],))
            rest.start()
            answered, replies = 0, Replies(s)
            for _ in range(count):  # now read everything
                status, body = replies.next()
                if status != 200 or len(body) != size:
                    break
                answered += 1
            rest.join()
            s.close()
            return answered

        results, growth = self.run_clients(client)
        self.assertEqual(results, [count] * self.CONNECTIONS)
        bound = connection_bound(app_body=size) * self.CONNECTIONS
        print("pipelined generated bodies, unread: RSS grew %d KiB (bound %d KiB)" % (growth, bound))
        self.assertLess(growth, bound)


if __name__ == "__main__":
    unittest.main(verbosity=2)
