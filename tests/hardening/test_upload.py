#!/usr/bin/env python3
"""A large upload through examples/form's streamed multipart route (POST /upload), sent by curl
-F from a sparse file: the file lands in --upload-dir whole, with the size and SHA-256 the server
reports, while the server's peak resident memory grows by less than 16 MiB. Past --max-upload
the answer is 413, and on a full disk (a 256 KiB tmpfs, mounted in a user and mount namespace of
the server's own) 507; either way nothing is left in the directory.

PORTHOLE_UPLOAD_BYTES sets the size of the large upload: 2 GiB by default (about 15 s here, the
file written to a temporary directory and removed)."""
import hashlib
import os
import shutil
import subprocess
import tempfile
import time
import unittest

from harness import Server, sanitized

SIZE = int(os.environ.get("PORTHOLE_UPLOAD_BYTES", str(2 << 30)))


def zeros_sha256(n):
    h = hashlib.sha256()
    block = bytes(1 << 20)
    while n > 0:
        h.update(block[:min(n, len(block))])
        n -= min(n, len(block))
    return h.hexdigest()


def peak_rss_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    raise AssertionError("no VmHWM for %d" % pid)


def curl_upload(port, path, *extra, name="big.bin"):
    """(status, body) of curl -F's upload; curl must succeed. A server that answers before it has
    read the whole body (413, 507) lingers, reading and dropping the rest for a while, so that
    curl gets the answer and the connection's end rather than a reset (exit 55 or 56)."""
    curl = shutil.which("curl")
    if not curl:
        raise AssertionError("curl is missing: run tools/setup.sh --deps-only")
    out = subprocess.run([curl, "-sS", "-w", "\n%{http_code}", "-F", "title=big", "-F", "file=@%s;filename=%s" % (path, name),
                          *extra, "http://127.0.0.1:%d/upload" % port], capture_output=True, timeout=600)
    body, _, code = out.stdout.decode().rpartition("\n")
    if out.returncode != 0:
        raise AssertionError("curl failed (%d): %s" % (out.returncode, out.stderr.decode()))
    return int(code), body


class LargeUpload(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="porthole-upload-")
        self.source = tempfile.NamedTemporaryFile(prefix="porthole-upload-src-")
        self.source.truncate(SIZE)  # sparse: no disk, no time to write it

    def tearDown(self):
        self.source.close()
        shutil.rmtree(self.dir, ignore_errors=True)

    def test_a_large_file_streams_to_disk_in_flat_memory(self):
        with Server("form", "--upload-dir", self.dir, "--max-upload", str(SIZE + (1 << 20))) as s:
            code, body = curl_upload(s.port, "/dev/null", name="null")  # a first upload: the code paths are warm
            self.assertEqual(code, 201, body)
            before = peak_rss_kib(s.pid)
            t0 = time.monotonic()
            code, body = curl_upload(s.port, self.source.name)
            elapsed = time.monotonic() - t0
            growth = peak_rss_kib(s.pid) - before
            self.assertEqual(code, 201, body)
            fields = dict(line.split(" ", 1) for line in body.strip().split("\n"))
            self.assertEqual(fields["stored"], "big.bin")
            self.assertEqual(int(fields["size"]), SIZE)
            stored = os.path.join(self.dir, "big.bin")
            self.assertEqual(os.path.getsize(stored), SIZE)
            if not fields["sha256"].startswith("unavailable"):
                self.assertEqual(fields["sha256"], zeros_sha256(SIZE))
            if not sanitized("form"):
                self.assertLess(growth, 16 * 1024, "peak RSS grew by %d KiB" % growth)
            print("uploaded %d MiB in %.1f s (%.0f MiB/s); peak RSS growth %d KiB"
                  % (SIZE >> 20, elapsed, (SIZE >> 20) / elapsed, growth))
            self.assertEqual(sorted(os.listdir(self.dir)), ["big.bin", "null"])
            self.assertEqual(s.stop(), 0)

    def test_past_max_upload_413_and_nothing_kept(self):
        self.source.truncate(4 << 20)
        with Server("form", "--upload-dir", self.dir, "--max-upload", str(1 << 20)) as s:
            code, _ = curl_upload(s.port, self.source.name)
            self.assertEqual(code, 413)
            # chunked, so that the size is known only as it comes: cut at the limit
            code, _ = curl_upload(s.port, self.source.name, "-H", "Transfer-Encoding: chunked")
            self.assertEqual(code, 413)
            self.assertEqual(os.listdir(self.dir), [])
            self.assertEqual(s.stop(), 0)

    def test_a_full_disk_507_and_nothing_kept(self):
        # The server runs in namespaces of its own, where a 256 KiB tmpfs covers the upload
        # directory: the disk is full after 256 KiB, for it alone.
        check = subprocess.run(["unshare", "-rm", "sh", "-c", "mount -t tmpfs -o size=4k tmpfs /tmp"],
                               capture_output=True)
        if check.returncode != 0:
            self.skipTest("no user and mount namespaces here: %s" % check.stderr.decode().strip())
        mount = ["unshare", "-rm", "sh", "-c", 'mount -t tmpfs -o size=256k tmpfs "$0" && exec "$@"', self.dir]
        self.source.truncate(1 << 20)
        with Server("form", "--upload-dir", self.dir, "--max-upload", str(4 << 20), prefix=mount) as s:
            code, body = curl_upload(s.port, self.source.name)
            self.assertEqual(code, 507, body)
            self.assertEqual(body, "no space left to store the file\n")
            self.assertEqual(os.listdir("/proc/%d/root%s" % (s.pid, self.dir)), [])  # the tmpfs, seen by the server
            code, body = curl_upload(s.port, "/dev/null", name="small")  # the room is back
            self.assertEqual(code, 201, body)
            self.assertEqual(s.stop(), 0)


if __name__ == "__main__":
    unittest.main()
