#!/usr/bin/env python3
"""Headless Chromium loads status_page: the served DOM holds the live values rendered by the
server; then, driven over the DevTools protocol, the page's own EventSource receives status
updates pushed on /events and rewrites the DOM with them, several times, without reloading and
without asking /status.json; the same for /debug/vars, whose table is pushed to over its own
event stream without polling. Also saves a screenshot under the build directory
(chromium/status_page.png). Chromium's noise on stderr is ignored."""
import asyncio
import html
import json
import os
import re
import struct
import subprocess
import time
import unittest
import urllib.request

import websockets

from common import CHROMIUM_FLAGS, chromium_profile, BUILD, need, start, stop

FLAGS = CHROMIUM_FLAGS


def element(dom, ident):
    m = re.search(r'id="%s">([^<]*)<' % ident, dom)
    return m.group(1) if m else None


class Chromium(unittest.TestCase):
    def setUp(self):
        self.chromium = need("chromium")
        self.profile = chromium_profile()
        self.proc, port = start("status_page")
        self.url = "http://127.0.0.1:%d/" % port

    def tearDown(self):
        self.assertEqual(stop(self.proc), 0)
        self.profile.cleanup()

    def run_chromium(self, *args):
        out = subprocess.run([self.chromium] + FLAGS + ["--user-data-dir=" + self.profile.name] + list(args) + [self.url],
                             capture_output=True, text=True, timeout=90)
        self.assertEqual(out.returncode, 0, out.stderr[-2000:])
        return out.stdout

    def test_dump_shows_the_values_rendered_by_the_server(self):
        first = self.run_chromium("--dump-dom")
        with urllib.request.urlopen(self.url + "status.json", timeout=10) as r:
            status = json.load(r)
        # The page is dumped once loaded; an update may have been pushed by then.
        self.assertRegex(element(first, "refreshed"), r"^(at load|pushed at .+)$")
        values = {k: element(first, k) for k in ("uptime", "done", "failed")}
        for k, v in values.items():
            self.assertRegex(v or "", r"^\d+$", k)
        # The page was rendered before /status.json was asked: its counters are not ahead of it.
        for k in values:
            self.assertLessEqual(int(values[k]), status[k], k)
        rows = re.findall(r"<tr(?: class=\"failed\")?><td>(\d+)</td><td>job-(\d+)</td><td>[\d.]+</td><td>(ok|failed)</td></tr>",
                          first)
        self.assertEqual(len(rows), min(8, int(values["done"]) + int(values["failed"])), first)
        self.assertTrue(all(a == b for a, b, _ in rows))


    def watch(self, url, loaded, probe, enough):
        """Opens `url` in Chromium and evaluates `probe` in it until `enough(seen)` (20 s at most)."""
        profile = self.profile.name
        proc = subprocess.Popen([self.chromium] + FLAGS + ["--user-data-dir=" + profile, "--remote-debugging-port=0",
                                                           url], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            return asyncio.run(self.watch_page(profile, url, loaded, probe, enough))
        finally:
            proc.terminate()
            proc.wait(timeout=30)

    def test_event_source_updates_the_page_without_reloading(self):
        probe = """JSON.stringify({
            pushed: +document.getElementById("pushed").textContent,
            done: +document.getElementById("done").textContent,
            failed: +document.getElementById("failed").textContent,
            refreshed: document.getElementById("refreshed").textContent,
            rows: document.getElementById("jobs").innerHTML,
            marker: window.__kept === true,
            navigations: performance.getEntriesByType("navigation").length,
            fetches: performance.getEntriesByType("resource").map(e => e.name).filter(n => n.includes("status.json"))})"""
        loaded = 'document.readyState === "complete" && document.getElementById("pushed") !== null'
        state = self.watch(self.url, loaded, probe, lambda seen: seen[-1]["pushed"] >= 3)
        first, last = state[0], state[-1]
        self.assertGreaterEqual(last["pushed"], 2, state)
        self.assertTrue(last["marker"], "the page was reloaded")
        self.assertEqual(last["navigations"], 1)
        self.assertRegex(last["refreshed"], r"^pushed at \d{1,2}:\d{2}:\d{2}")
        self.assertGreater(last["done"] + last["failed"], first["done"] + first["failed"], state)
        self.assertEqual(last["fetches"], [], "the page asked /status.json")
        self.assertRegex(last["rows"], r'^(<tr( class="failed")?><td>\d+</td><td>job-\d+</td><td>[\d.]+</td><td>(ok|failed)</td></tr>)+$')

    def test_debug_vars_table_is_pushed_to_without_reloading_or_polling(self):
        url = self.url + "debug/vars"
        probe = """JSON.stringify({
            updated: document.getElementById("updated").textContent,
            done: +([...document.querySelectorAll("#vars tr")].find(r => r.cells[0].textContent === "jobs_done")
                    || {cells: [0, 0, {textContent: "-1"}]}).cells[2].textContent,
            rows: document.querySelectorAll("#vars tr").length,
            names: [...document.querySelectorAll("#vars tr")].map(r => r.cells[0].textContent),
            marker: window.__kept === true,
            navigations: performance.getEntriesByType("navigation").length,
            resources: performance.getEntriesByType("resource").map(e => e.name)})"""
        loaded = 'document.readyState === "complete" && document.getElementById("vars") !== null'
        changes = lambda seen: len({s["updated"] for s in seen if s["updated"] not in ("at load", "reconnecting")})
        state = self.watch(url, loaded, probe, lambda seen: changes(seen) >= 3)
        first, last = state[0], state[-1]
        self.assertGreaterEqual(changes(state), 3, state)  # pushed to, at 1 s intervals
        self.assertTrue(last["marker"], "the page was reloaded")
        self.assertEqual(last["navigations"], 1)
        self.assertGreater(last["rows"], 5)
        # the pushed table has the rows the server rendered, not another shape of the same data
        req = urllib.request.Request(url, headers={"Accept": "text/html"})
        served = urllib.request.urlopen(req, timeout=10).read().decode()
        served_names = [html.unescape(n) for n in re.findall(r"<tr><td>([^<]*)</td>", served)]
        self.assertEqual(sorted(last["names"]), sorted(served_names))
        self.assertGreater(last["done"], first["done"], state)
        self.assertEqual([r for r in last["resources"] if "format=json" in r], [], "the page polled")
        self.assertTrue(any("format=script" in r for r in last["resources"]), last["resources"])

    async def watch_page(self, profile, url, loaded, probe, enough):
        """Polls the page's DOM through the DevTools protocol until `enough(seen)` (20 s at most);
        returns what it saw each time."""
        deadline = time.time() + 20
        port_file = os.path.join(profile, "DevToolsActivePort")
        devtools = None
        while devtools is None:  # the file appears before its port is written
            self.assertLess(time.time(), deadline, "chromium opened no DevTools port")
            try:
                with open(port_file) as f:
                    line = f.readline()
                devtools = int(line) if line.endswith("\n") else None
            except (FileNotFoundError, ValueError):
                pass
            if devtools is None:
                await asyncio.sleep(0.1)
        page = None
        while page is None:
            self.assertLess(time.time(), deadline, "the page never appeared")
            try:
                with urllib.request.urlopen("http://127.0.0.1:%d/json/list" % devtools, timeout=5) as r:
                    page = next((t for t in json.load(r) if t["type"] == "page" and t["url"] == url), None)
            except OSError:
                pass
            await asyncio.sleep(0.1)
        seen = []
        async with websockets.connect(page["webSocketDebuggerUrl"], max_size=None) as ws:
            ident = 0

            async def evaluate(expression, while_loading=False):
                nonlocal ident
                ident += 1
                await ws.send(json.dumps({"id": ident, "method": "Runtime.evaluate",
                                          "params": {"expression": expression, "returnByValue": True}}))
                while True:
                    reply = json.loads(await ws.recv())
                    if reply.get("id") == ident:
                        if while_loading and "error" in reply:  # no context yet: the page is still navigating
                            return None
                        self.assertNotIn("exceptionDetails", reply["result"], expression)
                        return reply["result"]["result"].get("value")

            while not await evaluate(loaded, while_loading=True):
                self.assertLess(time.time(), deadline, "the page never loaded")
                await asyncio.sleep(0.05)
            await evaluate("window.__kept = true")
            while time.time() < deadline:
                seen.append(json.loads(await evaluate(probe)))
                if enough(seen):
                    break
                await asyncio.sleep(0.2)
        return seen

    def test_screenshot_is_a_png_of_the_window(self):
        folder = os.path.join(BUILD, "chromium")
        os.makedirs(folder, exist_ok=True)
        path = os.path.join(folder, "status_page.png")
        if os.path.exists(path):
            os.remove(path)
        self.run_chromium("--screenshot=" + os.path.abspath(path), "--window-size=1000,800")
        with open(path, "rb") as f:
            png = f.read()
        self.assertEqual(png[:8], b"\x89PNG\r\n\x1a\n")
        self.assertEqual(png[12:16], b"IHDR")
        self.assertEqual(struct.unpack(">II", png[16:24]), (1000, 800))
        self.assertGreater(len(png), 5000)


if __name__ == "__main__":
    unittest.main()
