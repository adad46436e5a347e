#!/usr/bin/env python3
"""Short runs of ab (apache2-utils) and wrk against hello and echo: every request answered, no
failed or non-2xx responses, no socket errors; wrk also with 8 pipelined requests per write.
wrk runs bench/wrk.lua, whose RESULT line gives the error counts."""
import os
import re
import subprocess
import tempfile
import unittest

from common import SOURCE, need, start, stop

WRK_LUA = os.path.join(SOURCE, "bench", "wrk.lua")


class LoadTools(unittest.TestCase):
    def run_on(self, example, fn):
        proc, port = start(example)
        try:
            return fn("http://127.0.0.1:%d/" % port)
        finally:
            self.assertEqual(stop(proc), 0)

    def ab(self, url, *args):
        out = subprocess.run([need("ab"), "-n", "2000", "-c", "20", "-k", "-q"] + list(args) + [url],
                             capture_output=True, text=True, timeout=60)
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertRegex(out.stdout, r"(?m)^Complete requests:\s+2000$")
        self.assertRegex(out.stdout, r"(?m)^Failed requests:\s+0$")
        self.assertNotRegex(out.stdout, r"(?m)^Non-2xx responses:")
        self.assertRegex(out.stdout, r"(?m)^Keep-Alive requests:\s+2000$")
        return out.stdout

    def test_ab_keep_alive_against_hello(self):
        text = self.run_on("hello", self.ab)
        self.assertRegex(text, r"(?m)^Document Length:\s+13 bytes$")

    def test_ab_keep_alive_posts_against_echo(self):
        with tempfile.NamedTemporaryFile() as f:
            f.write(b"x" * 3000)
            f.flush()
            text = self.run_on("echo", lambda url: self.ab(url, "-p", f.name, "-T", "application/octet-stream"))
        self.assertRegex(text, r"(?m)^Document Length:\s+3000 bytes$")
        self.assertRegex(text, r"(?m)^Total body sent:\s+\d+$")

    def test_ab_gets_against_echo(self):
        text = self.run_on("echo", self.ab)
        self.assertRegex(text, r"(?m)^Document Length:\s+2 bytes$")

    def wrk(self, url, pipeline=1):
        env = dict(os.environ, PIPELINE=str(pipeline))
        out = subprocess.run([need("wrk"), "-t1", "-c16", "-d2s", "-s", WRK_LUA, url],
                             capture_output=True, text=True, timeout=60, env=env)
        self.assertEqual(out.returncode, 0, out.stdout + out.stderr)
        m = re.search(r"^RESULT .*$", out.stdout, re.M)
        self.assertIsNotNone(m, out.stdout)
        result = dict(kv.split("=") for kv in m.group(0).split()[1:])
        self.assertGreater(int(result["requests"]), 100, m.group(0))
        for error in ("connect", "read", "write", "status", "timeout"):
            self.assertEqual(result[error], "0", "%s errors: %s" % (error, m.group(0)))
        self.assertNotIn("Non-2xx", out.stdout)
        self.assertNotIn("Socket errors", out.stdout)
        return result

    def test_wrk_against_hello(self):
        self.run_on("hello", self.wrk)

    def test_wrk_pipelined_against_hello(self):
        self.run_on("hello", lambda url: self.wrk(url, pipeline=8))

    def test_wrk_pipelined_against_echo(self):
        self.run_on("echo", lambda url: self.wrk(url, pipeline=8))


if __name__ == "__main__":
    unittest.main()
