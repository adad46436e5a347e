#!/usr/bin/env python3
"""Headless Chromium loads status_page: the served DOM holds the live values rendered by the
server, and after the page's own JavaScript fetched /status.json (it does every two seconds) the
"Last refresh" text turns from "at load" into a time. Also saves a screenshot under the build
directory (chromium/status_page.png). Chromium's noise on stderr is ignored."""
import json
import os
import re
import struct
import subprocess
import tempfile
import unittest
import urllib.request

from common import BUILD, need, start, stop

FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"]


def element(dom, ident):
    m = re.search(r'id="%s">([^<]*)<' % ident, dom)
    return m.group(1) if m else None


class Chromium(unittest.TestCase):
    def setUp(self):
        self.chromium = need("chromium")
        self.profile = tempfile.TemporaryDirectory()
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

    def test_dump_shows_live_values_then_a_refresh_from_status_json(self):
        first = self.run_chromium("--dump-dom")
        with urllib.request.urlopen(self.url + "status.json", timeout=10) as r:
            status = json.load(r)
        self.assertEqual(element(first, "refreshed"), "at load")
        values = {k: element(first, k) for k in ("uptime", "done", "failed")}
        for k, v in values.items():
            self.assertRegex(v or "", r"^\d+$", k)
        # The page was rendered before /status.json was asked: its counters are not ahead of it.
        for k in values:
            self.assertLessEqual(int(values[k]), status[k], k)
        rows = re.findall(r"<tr><td>(\d+)</td><td>job-(\d+)</td><td>[\d.]+</td><td>(ok|failed)</td></tr>", first)
        self.assertEqual(len(rows), min(8, int(values["done"]) + int(values["failed"])), first)
        self.assertTrue(all(a == b for a, b, _ in rows))

        # Five seconds of virtual time: the page's interval runs its fetch of /status.json.
        second = self.run_chromium("--virtual-time-budget=5000", "--dump-dom")
        refreshed = element(second, "refreshed")
        self.assertNotEqual(refreshed, "at load", "the page never refreshed itself")
        self.assertFalse(refreshed.startswith("failed"), refreshed)
        self.assertRegex(refreshed, r"\d{1,2}:\d{2}:\d{2}")
        self.assertGreaterEqual(int(element(second, "done")), int(values["done"]))
        self.assertGreaterEqual(int(element(second, "uptime")), int(values["uptime"]))
        self.assertRegex(second, r'<tbody id="jobs">(<tr( class="failed")?><td>\d+</td><td>job-\d+</td><td>[\d.]+</td><td>(ok|failed)</td></tr>)+</tbody>')

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
