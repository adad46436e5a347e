#!/usr/bin/env python3
"""Server-sent events from status_page's /events to real clients: Node's `eventsource` package
(npm, installed by tools/setup.sh into node_modules/) reconnects after the network cuts it and
gets what it missed through Last-Event-ID; `curl -N` reads the stream as it comes and gets a
replay or a resync for the Last-Event-ID it sends; hundreds of clients that vanish mid-stream
leave no descriptor and no memory behind (fds and RSS back to the baseline, subscribers 0)."""
import json
import os
import re
import shutil
import socket
import subprocess
import time
import unittest
import urllib.request

from common import need, start, stop

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
NODE = shutil.which("node")


def status(port):
    with urllib.request.urlopen("http://127.0.0.1:%d/status.json" % port, timeout=10) as r:
        return json.load(r)


def parse_events(text):
    """(id, type, data) of each complete event in an event stream (ids are always sent here)."""
    out = []
    for block in text.replace("\r\n", "\n").split("\n\n")[:-1]:
        fields = {}
        for line in block.split("\n"):
            if line and not line.startswith(":"):
                name, _, value = line.partition(":")
                fields.setdefault(name, []).append(value[1:] if value.startswith(" ") else value)
        if "data" in fields:
            out.append((fields.get("id", [""])[-1], fields.get("event", ["message"])[-1], "\n".join(fields["data"])))
    return out


class EventStreamClients(unittest.TestCase):
    def setUp(self):
        self.proc, self.port = start("status_page")

    def tearDown(self):
        self.assertEqual(stop(self.proc), 0)

    @unittest.skipUnless(NODE, "node is not installed")
    def test_node_eventsource_reconnects_with_last_event_id(self):
        self.assertTrue(os.path.isdir(os.path.join(ROOT, "node_modules", "eventsource")),
                        "the npm package eventsource is missing: run tools/setup.sh --deps-only")
        out = subprocess.run([NODE, os.path.join(ROOT, "tests", "clients", "eventsource_check.mjs"),
                              "http://127.0.0.1:%d" % self.port], capture_output=True, text=True, timeout=40)
        self.assertEqual(out.returncode, 0, out.stdout + out.stderr)
        self.assertRegex(out.stdout, r"^ok \d+ events\n$")

    def curl(self, *args, seconds):
        out = subprocess.run([need("curl"), "-sN", "--max-time", str(seconds)] + list(args) +
                             ["http://127.0.0.1:%d/events" % self.port], capture_output=True, text=True, timeout=30)
        self.assertEqual(out.returncode, 28, out.stderr)  # cut by --max-time: the stream stays open
        return out.stdout

    def test_curl_streams_events_then_replays_from_last_event_id(self):
        live = parse_events(self.curl("-D", "-", seconds=2.5))
        self.assertGreaterEqual(len(live), 2, live)
        for (a, _, _), (b, _, _) in zip(live, live[1:]):
            self.assertEqual(int(b), int(a) + 1)
        self.assertTrue(all(t == "status" and "done" in json.loads(d) for _, t, d in live))
        time.sleep(1.5)  # events go by that this client misses
        again = parse_events(self.curl("-H", "Last-Event-ID: " + live[-1][0], seconds=0.5))
        self.assertGreaterEqual(len(again), 1)
        self.assertEqual(int(again[0][0]), int(live[-1][0]) + 1, "the replay does not start after the last id seen")
        stale = parse_events(self.curl("-H", "Last-Event-ID: 12", seconds=0.5))
        self.assertEqual(stale[0][1:], ("resync", "too-old"))

    def test_clients_vanishing_mid_stream_leave_nothing_behind(self):
        pid = self.proc.pid

        def fds():
            return len(os.listdir("/proc/%d/fd" % pid))

        def rss_kb():
            with open("/proc/%d/status" % pid) as f:
                return int(re.search(r"VmRSS:\s+(\d+)", f.read()).group(1))

        def round_of(n):
            socks = []
            for _ in range(n):
                s = socket.create_connection(("127.0.0.1", self.port), timeout=10)
                s.sendall(b"GET /events HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")  # a loopback name: others get 421
                socks.append(s)
            for s in socks:  # each is subscribed and receives the next event
                got = b""
                while b"event: status" not in got:
                    got += s.recv(65536)
            self.assertEqual(status(self.port)["subscribers"], n)
            for i, s in enumerate(socks):
                if i % 2:  # half reset the connection, half close it
                    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\0\0\0\0\0\0\0")
                s.close()
            deadline = time.time() + 10
            while time.time() < deadline and status(self.port)["subscribers"]:
                time.sleep(0.05)
            self.assertEqual(status(self.port)["subscribers"], 0)
            settled()  # (no request of ours open meanwhile: each status() connection closes too)

        def settled():
            deadline = time.time() + 10
            while time.time() < deadline and fds() != base_fds:
                time.sleep(0.05)
            self.assertEqual(fds(), base_fds)

        status(self.port)
        time.sleep(0.3)
        base_fds = fds()
        round_of(200)  # warms the allocator and the loops' tables
        warm = rss_kb()
        for _ in range(3):
            round_of(200)
        # Three more rounds of 200 vanishing clients: memory does not grow with them.
        self.assertLess(rss_kb() - warm, 1024, (warm, rss_kb()))


if __name__ == "__main__":
    unittest.main()
