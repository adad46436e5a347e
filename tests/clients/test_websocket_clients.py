#!/usr/bin/env python3
"""WebSocket with real clients against examples/echo (/ws echoes each message with its opcode):
Python's `websockets` (Debian python3-websockets) for text, binary, large and fragmented messages,
pings, the closing handshake, the Origin policy, and a plain route asked to upgrade; Node's `ws`
package (npm, from package.json); 1,000 concurrent WebSocket clients next to plain HTTP traffic;
and a graceful stop that sends close 1001 to every connection."""
import asyncio
import os
import resource
import shutil
import subprocess
import threading
import unittest
import urllib.request

from common import start, stop

try:
    import websockets
    import websockets.exceptions
except ImportError:  # tools/setup.sh installs python3-websockets; a missing client fails
    websockets = None

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
NODE = shutil.which("node")


def run(coro):
    return asyncio.run(asyncio.wait_for(coro, 60))


class PythonWebsockets(unittest.TestCase):
    def setUp(self):
        self.assertIsNotNone(websockets, "python3-websockets is missing: run tools/setup.sh --deps-only")
        self.proc, self.port = start("echo")
        self.uri = "ws://127.0.0.1:%d/ws" % self.port

    def tearDown(self):
        self.assertEqual(stop(self.proc), 0)

    def test_messages_pings_and_the_closing_handshake(self):
        async def go():
            async with websockets.connect(self.uri, max_size=None, compression=None) as ws:
                await ws.send("héllo")
                self.assertEqual(await ws.recv(), "héllo")
                await ws.send(b"\x00\x01\xff")
                self.assertEqual(await ws.recv(), b"\x00\x01\xff")
                big = os.urandom(3 * 1024 * 1024)
                await ws.send(big)
                self.assertEqual(await ws.recv(), big)
                await ws.send(iter(["frag", "mented ", "ü"]))  # one message in three frames
                self.assertEqual(await ws.recv(), "fragmented ü")
                pong = await ws.ping(b"probe")
                await asyncio.wait_for(pong, 10)
                for i in range(200):
                    await ws.send("n%d" % i)
                for i in range(200):
                    self.assertEqual(await ws.recv(), "n%d" % i)
                await ws.close(code=1000, reason="done")
                self.assertEqual(ws.close_code, 1000)
        run(go())

    def test_deflate_offer_is_declined_and_messages_still_flow(self):
        async def go():
            async with websockets.connect(self.uri) as ws:  # offers permessage-deflate
                self.assertIsNone(ws.response_headers.get("Sec-WebSocket-Extensions"))
                await ws.send("x" * 5000)
                self.assertEqual(await ws.recv(), "x" * 5000)
        run(go())

    def test_another_origin_is_refused_and_a_plain_route_never_upgrades(self):
        async def go():
            with self.assertRaises(websockets.exceptions.InvalidStatusCode) as e:
                async with websockets.connect(self.uri, origin="https://elsewhere.example"):
                    pass
            self.assertEqual(e.exception.status_code, 403)
            async with websockets.connect(self.uri, origin="http://127.0.0.1:%d" % self.port) as ws:
                await ws.send("same origin")
                self.assertEqual(await ws.recv(), "same origin")
            with self.assertRaises(websockets.exceptions.InvalidStatusCode) as e:
                async with websockets.connect("ws://127.0.0.1:%d/" % self.port):
                    pass
            self.assertEqual(e.exception.status_code, 200)
        run(go())

    def test_invalid_utf8_is_closed_with_1007(self):
        async def go():
            async with websockets.connect(self.uri) as ws:
                # A text frame whose payload is not UTF-8, written below the library's checks.
                await ws.write_frame(True, websockets.frames.Opcode.TEXT, b"\xc3\x28")
                with self.assertRaises(websockets.exceptions.ConnectionClosed):
                    await ws.recv()
                self.assertEqual(ws.close_code, 1007)
        run(go())


class ManyClients(unittest.TestCase):
    """1,000 WebSocket connections open at once on echo, each echoing, while plain HTTP
    requests are answered beside them."""

    def test_a_thousand_websocket_clients_next_to_http(self):
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        want = min(hard, 8192)
        self.assertGreaterEqual(want, 2200, "needs descriptors for 1,000 clients and their server")
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))  # the server inherits it
        proc, port = start("echo")
        http_ok = []
        try:
            stop_http = threading.Event()

            def http_traffic():
                while not stop_http.is_set():
                    with urllib.request.urlopen("http://127.0.0.1:%d/" % port, timeout=10) as r:
                        http_ok.append(r.status == 200 and r.read() == b"OK")

            t = threading.Thread(target=http_traffic)
            t.start()

            async def one(i, opened):
                async with websockets.connect("ws://127.0.0.1:%d/ws" % port, compression=None,
                                              open_timeout=30, ping_interval=None) as ws:
                    opened.append(i)
                    while len(opened) < 1000:  # every client holds its connection until all are open
                        await asyncio.sleep(0.05)
                    for k in range(3):
                        await ws.send("%d-%d" % (i, k))
                        if await ws.recv() != "%d-%d" % (i, k):
                            return False
                    return True

            async def go():
                opened = []
                return await asyncio.gather(*(one(i, opened) for i in range(1000)))

            try:
                results = run(go())
            finally:
                stop_http.set()
                t.join()
            self.assertEqual(results.count(True), 1000)
            self.assertGreater(len(http_ok), 0)
            self.assertTrue(all(http_ok))
        finally:
            self.assertEqual(stop(proc), 0)
            resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


class GracefulStop(unittest.TestCase):
    def test_sigterm_sends_close_1001_to_every_connection(self):
        proc, port = start("echo")
        try:
            async def go():
                conns = [await websockets.connect("ws://127.0.0.1:%d/ws" % port, ping_interval=None) for _ in range(5)]
                for ws in conns:
                    await ws.send("before")
                    self.assertEqual(await ws.recv(), "before")
                proc.terminate()
                for ws in conns:
                    with self.assertRaises(websockets.exceptions.ConnectionClosed):
                        await asyncio.wait_for(ws.recv(), 10)
                    self.assertEqual(ws.close_code, 1001)
            run(go())
        finally:
            self.assertEqual(stop(proc), 0)


@unittest.skipUnless(NODE, "node is not installed")
class NodeWs(unittest.TestCase):
    def test_node_ws_client(self):
        self.assertTrue(os.path.isdir(os.path.join(ROOT, "node_modules", "ws")),
                        "npm's ws is missing: run tools/setup.sh --deps-only")
        proc, port = start("echo")
        try:
            out = subprocess.run([NODE, os.path.join(os.path.dirname(os.path.abspath(__file__)), "ws_check.mjs"),
                                  "ws://127.0.0.1:%d/ws" % port], capture_output=True, text=True, timeout=60,
                                 cwd=ROOT)
        finally:
            self.assertEqual(stop(proc), 0)
        self.assertEqual(out.returncode, 0, out.stdout + out.stderr)
        self.assertRegex(out.stdout, r"^ok \d+ checks\n$")


if __name__ == "__main__":
    unittest.main()
