#!/usr/bin/env python3
"""examples/file_server over real sockets: the traversal cases of the hostile corpus (tests/corpus)
never return a byte from outside the root, and a 1 GiB download keeps the server's memory flat (the file
goes out with sendfile, never read into memory)."""
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "corpus"))
import harness  # noqa: E402
import replay  # noqa: E402


class Traversal(unittest.TestCase):
    def test_the_corpus_traversal_cases_never_escape_the_root(self):
        root = os.path.join(harness.CORPUS, "docroot", "www")
        traversals = [c for c in replay.cases("hostile") if c.expected() == ["no-escape"]]
        self.assertGreaterEqual(len(traversals), 12)
        with harness.Server("file_server", "--root", root) as server:
            for case in traversals:
                reply, closed = replay.exchange(server.port, case.data(), first=3, idle=0.3)
                ok, got, notes = replay.check(case, reply, closed)
                self.assertTrue(ok, "%s: %s %s" % (case.name, got, notes))
                self.assertTrue(reply.startswith(b"HTTP/1.1 4"), "%s: %r" % (case.name, reply[:100]))
            # The same root serves what is inside it.
            r = harness.get(server.port, "/hello.txt")
            self.assertEqual(r.status, 200)
            self.assertEqual(r.body, open(os.path.join(root, "hello.txt"), "rb").read())
            for target in ["/../outside.txt", "/%2e%2e/outside.txt", "/sub/..%2f..%2foutside.txt",
                           "/..%5coutside.txt", "//etc/passwd", "/%00/../outside.txt"]:
                r = harness.get(server.port, target)
                self.assertIn(r.status, (400, 404), target)
                self.assertNotIn(b"OUTSIDE-THE-ROOT", r.body, target)
            self.assertEqual(server.stop(), 0)


class BigDownload(unittest.TestCase):
    SIZE = 1 << 30

    def test_a_1_gib_download_keeps_the_server_memory_flat(self):
        if harness.sanitized("file_server"):
            self.skipTest("memory figures mean nothing under ASan")
        with tempfile.TemporaryDirectory() as root:
            path = os.path.join(root, "big.bin")
            with open(path, "wb") as f:
                f.truncate(self.SIZE)  # sparse: costs no disk
            with harness.Server("file_server", "--root", root) as server:
                harness.get(server.port, "/")  # warm up: the loop's buffers exist
                baseline = server.rss_kib()
                peak = [baseline]
                done = threading.Event()

                def sample():
                    while not done.is_set():
                        peak[0] = max(peak[0], server.rss_kib())
                        time.sleep(0.02)

                sampler = threading.Thread(target=sample)
                sampler.start()
                received = 0
                try:
                    s = socket.create_connection(("127.0.0.1", server.port), timeout=30)
                    s.sendall(b"GET /big.bin HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
                    head = b""
                    while b"\r\n\r\n" not in head:
                        head += s.recv(65536)
                    end = head.index(b"\r\n\r\n") + 4
                    self.assertTrue(head.startswith(b"HTTP/1.1 200 "), head[:200])
                    self.assertIn(b"Content-Length: %d\r\n" % self.SIZE, head)
                    received = len(head) - end
                    while True:
                        chunk = s.recv(1 << 20)
                        if not chunk:
                            break
                        received += len(chunk)
                    s.close()
                finally:
                    done.set()
                    sampler.join()
                self.assertEqual(received, self.SIZE)
                growth = peak[0] - baseline
                self.assertLess(growth, 8 * 1024, "RSS grew by %d KiB during a 1 GiB download" % growth)
                print("1 GiB download: RSS %d KiB before, peak %d KiB" % (baseline, peak[0]))
                self.assertEqual(server.stop(), 0)


class PipelinedFiles(unittest.TestCase):
    """Each file response holds an open descriptor until it is sent. Clients that pipeline
    requests for a large file and never read must not make the server hold one per request (a
    few hundred such connections would fill the descriptor table, and every other client would
    be told existing files are missing): one file per connection at most."""
    CLIENTS = 8
    REQUESTS = 20

    def test_pipelined_file_requests_hold_one_descriptor_per_connection(self):
        with tempfile.TemporaryDirectory() as root:
            with open(os.path.join(root, "big.bin"), "wb") as f:
                f.truncate(8 << 20)
            with open(os.path.join(root, "small.txt"), "wb") as f:
                f.write(b"small\n")
            with harness.Server("file_server", "--root", root, "--threads", "2") as server:
                harness.get(server.port, "/small.txt")
                baseline = server.quiet_fds()
                clients = []
                for _ in range(self.CLIENTS):
                    s = socket.socket()
                    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
                    s.connect(("127.0.0.1", server.port))
                    s.sendall(b"GET /big.bin HTTP/1.1\r\nHost: localhost\r\n\r\n" * self.REQUESTS)
                    clients.append(s)
                held = server.quiet_fds() - baseline
                # a socket and one file each (the first response's, stuck in the unread socket)
                self.assertLessEqual(held, 2 * self.CLIENTS, "%d descriptors for %d clients" % (held, self.CLIENTS))
                self.assertGreaterEqual(held, self.CLIENTS)
                r = harness.get(server.port, "/small.txt")
                self.assertEqual((r.status, r.body), (200, b"small\n"))
                # A client that reads gets all of its responses.
                reader = clients.pop()
                reader.settimeout(30)
                want = self.REQUESTS * (8 << 20)
                got = 0
                while got < want:
                    chunk = reader.recv(1 << 20)
                    self.assertTrue(chunk, "closed after %d bytes" % got)
                    got += len(chunk)
                for s in clients + [reader]:
                    s.close()
                self.assertEqual(server.settle_fds(baseline), baseline)
                self.assertEqual(server.stop(), 0)


if __name__ == "__main__":
    unittest.main(verbosity=2)
