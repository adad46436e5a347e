#!/usr/bin/env python3
"""Node's built-in fetch (undici, whose HTTP/1.1 parser is strict) against echo and rest_api:
GET, HEAD, POST with fixed and chunked bodies, a JSON round trip through the CRUD, and hundreds of
sequential requests over keep-alive. Any undici protocol error rejects a fetch and fails the test.
Skipped only when there is no `node` (it comes from outside Debian; Node 18 or newer)."""
import os
import shutil
import subprocess
import unittest

from common import connections_to, start, stop

NODE = shutil.which("node")


@unittest.skipUnless(NODE, "node is not installed (Node 18 or newer has a built-in fetch)")
class NodeFetch(unittest.TestCase):
    def test_fetch_against_echo_and_rest_api(self):
        version = subprocess.run([NODE, "-e", "console.log(typeof fetch)"], capture_output=True, text=True, timeout=30)
        self.assertEqual(version.stdout.strip(), "function", "this node has no built-in fetch")
        echo, echo_port = start("echo")
        # An earlier server given the same port within the minute leaves its connections listed
        # in TIME-WAIT: count only the ones that appear from here on (one that reuses such an
        # address pair, as loopback may, goes uncounted: the check can only loosen).
        earlier = connections_to(echo_port)
        try:
            rest, rest_port = start("rest_api")
            try:
                out = subprocess.run([NODE, os.path.join(os.path.dirname(os.path.abspath(__file__)), "fetch_check.mjs"),
                                      "http://127.0.0.1:%d" % echo_port, "http://127.0.0.1:%d" % rest_port],
                                     capture_output=True, text=True, timeout=60)
                connections = connections_to(echo_port) - earlier
            finally:
                self.assertEqual(stop(rest), 0)
        finally:
            self.assertEqual(stop(echo), 0)
        self.assertEqual(out.returncode, 0, out.stdout + out.stderr)
        self.assertRegex(out.stdout, r"^ok \d+ checks\n$")
        # Over 300 sequential requests to echo, on kept-alive connections: a handful at most.
        self.assertLessEqual(len(connections), 4, connections)


if __name__ == "__main__":
    unittest.main()
