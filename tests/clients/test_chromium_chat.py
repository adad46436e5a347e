#!/usr/bin/env python3
"""Headless Chromium on examples/chat: two pages open the chat, each sends a line through the
page's own form, and each page shows both lines, its own and the other's, as the server
broadcast them over WebSocket. Chromium is driven through its DevTools protocol (over a
WebSocket, with python3-websockets); its noise on stderr is ignored."""
import asyncio
import itertools
import json
import os
import subprocess
import time
import unittest
import urllib.request

from common import CHROMIUM_FLAGS, chromium_profile, need, start, stop

try:
    import websockets
except ImportError:
    websockets = None

FLAGS = CHROMIUM_FLAGS + ["--remote-debugging-port=0"]


class Page:
    """One tab, through its own DevTools WebSocket."""

    def __init__(self, ws):
        self.ws = ws
        self.ids = itertools.count(1)

    async def call(self, method, **params):
        i = next(self.ids)
        await self.ws.send(json.dumps({"id": i, "method": method, "params": params}))
        while True:
            msg = json.loads(await self.ws.recv())
            if msg.get("id") == i:
                if "error" in msg:
                    raise AssertionError("%s: %s" % (method, msg["error"]))
                return msg["result"]

    async def evaluate(self, expression):
        r = await self.call("Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True)
        return r["result"].get("value")

    async def wait_for(self, expression, timeout=20):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if await self.evaluate(expression):
                return True
            await asyncio.sleep(0.1)
        raise AssertionError("never true: %s" % expression)


class ChromiumChat(unittest.TestCase):
    def setUp(self):
        self.assertIsNotNone(websockets, "python3-websockets is missing: run tools/setup.sh --deps-only")
        self.chromium = need("chromium")
        self.profile = chromium_profile()
        self.proc, port = start("chat")
        self.url = "http://127.0.0.1:%d/" % port
        self.browser = subprocess.Popen([self.chromium] + FLAGS + ["--user-data-dir=" + self.profile.name, "about:blank"],
                                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def tearDown(self):
        self.browser.terminate()
        try:
            self.browser.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.browser.kill()
            self.browser.wait()
        self.assertEqual(stop(self.proc), 0)
        self.profile.cleanup()

    def devtools_port(self):
        path = os.path.join(self.profile.name, "DevToolsActivePort")
        for _ in range(300):
            if os.path.exists(path):
                with open(path) as f:
                    first = f.readline().strip()
                if first:
                    return int(first)
            time.sleep(0.1)
        raise AssertionError("Chromium did not open its DevTools port")

    def test_two_pages_see_each_others_messages(self):
        port = self.devtools_port()

        def new_tab():
            req = urllib.request.Request("http://127.0.0.1:%d/json/new?%s" % (port, self.url), method="PUT")
            with urllib.request.urlopen(req, timeout=20) as r:
                return json.load(r)["webSocketDebuggerUrl"]

        tabs = [new_tab(), new_tab()]

        async def go():
            async with websockets.connect(tabs[0], max_size=None) as a_ws, \
                    websockets.connect(tabs[1], max_size=None) as b_ws:
                a, b = Page(a_ws), Page(b_ws)
                for p in (a, b):
                    await p.wait_for("document.getElementById('state').textContent === 'connected'")

                async def say(page, text):
                    await page.evaluate(
                        "document.getElementById('text').value = %s;"
                        "document.getElementById('form').requestSubmit(); true" % json.dumps(text))

                await say(a, "hello from A <b>not bold</b>")
                await say(b, "and from B, ünïcødé")
                lines = "[...document.querySelectorAll('#log p')].map(p => p.textContent)"
                for p in (a, b):
                    await p.wait_for("%s.length >= 2" % lines)
                    got = await p.evaluate(lines)
                    self.assertEqual(sorted(got), sorted(["hello from A <b>not bold</b>", "and from B, ünïcødé"]))
                    self.assertEqual(await p.evaluate("document.querySelectorAll('#log b').length"), 0)
        asyncio.run(asyncio.wait_for(go(), 90))


if __name__ == "__main__":
    unittest.main()
