#!/usr/bin/env python3
"""Headless Chromium and the everyday kit. A page served by file_server from one origin fetches
rest_api on another: the origin rest_api lists with --cors-origin reads the answers (a GET, and a
PUT behind a preflight), an origin it does not list is refused by the browser; a page reads the
request ids and meets the rate limit's 429 with its Retry-After. status_page --token
opened at its token URL shows the page (the cookie set on the redirect is sent after it, and by
the page's own EventSource); opened without it, 401. file_server --gzip: the browser decodes what it
is sent, and the page sees the Content-Encoding. Chromium's noise on stderr is ignored."""
import asyncio
import json
import os
import re
import subprocess
import tempfile
import time
import unittest
import urllib.request

import websockets

from common import CHROMIUM_FLAGS, chromium_profile, example, need, start, stop

FLAGS = CHROMIUM_FLAGS

# A page that fetches API (from its query string) and writes what happened into #out.
CORS_PAGE = """<!doctype html><meta charset="utf-8"><pre id="out">pending</pre>
<script>
const api = new URLSearchParams(location.search).get("api");
async function attempt(init, path) {
  try {
    const r = await fetch(api + path, init);
    return r.status + " " + await r.text();
  } catch (e) {
    return "blocked";
  }
}
(async () => {
  const out = {};
  out.get = await attempt({}, "/items");
  out.put = await attempt({method: "PUT", headers: {"Content-Type": "application/json"},
                           body: JSON.stringify({name: "from a page"})}, "/items/1");
  document.getElementById("out").textContent = JSON.stringify(out);
})();
</script>
"""

# A page that fetches API six times in a row and reports each status, X-Request-Id and Retry-After.
BURST_PAGE = """<!doctype html><meta charset="utf-8"><pre id="out">pending</pre>
<script>
const api = new URLSearchParams(location.search).get("api");
(async () => {
  const seen = [];
  for (let i = 0; i < 6; ++i) {
    try {
      const r = await fetch(api + "/items", {cache: "no-store"});
      seen.push([r.status, r.headers.get("X-Request-Id"), r.headers.get("Retry-After")]);
    } catch (e) {
      seen.push(["blocked"]);
    }
  }
  document.getElementById("out").textContent = JSON.stringify(seen);
})();
</script>
"""

# A page that fetches a text file from its own origin and reports its encoding and length.
FETCH_PAGE = """<!doctype html><meta charset="utf-8"><pre id="out">pending</pre>
<script>
(async () => {
  const r = await fetch("/rows.txt", {cache: "no-store"});
  const text = await r.text();
  document.getElementById("out").textContent = JSON.stringify({
    encoding: r.headers.get("Content-Encoding"), length: text.length, last: text.trim().split("\\n").pop()});
})();
</script>
"""


def element(dom, ident):
    m = re.search(r'id="%s">([^<]*)<' % ident, dom)
    return m.group(1) if m else None


class Chromium(unittest.TestCase):
    def setUp(self):
        self.chromium = need("chromium")
        self.profile = chromium_profile()
        self.www = tempfile.TemporaryDirectory()
        self.addCleanup(self.profile.cleanup)
        self.addCleanup(self.www.cleanup)

    def run_chromium(self, url, *args):
        out = subprocess.run([self.chromium] + FLAGS + ["--user-data-dir=" + self.profile.name] + list(args) + [url],
                             capture_output=True, text=True, timeout=90)
        self.assertEqual(out.returncode, 0, out.stderr[-2000:])
        return out.stdout

    def serve(self, name, *args):
        proc, port = start(name, *args)
        self.addCleanup(lambda: self.assertEqual(stop(proc), 0))
        return port

    def test_cross_origin_fetch_allowed_for_a_listed_origin_and_refused_for_another(self):
        with open(os.path.join(self.www.name, "cors.html"), "w") as f:
            f.write(CORS_PAGE)
        listed = self.serve("file_server", "--root", self.www.name)
        unlisted = self.serve("file_server", "--root", self.www.name)
        api = self.serve("rest_api", "--cors-origin", "http://127.0.0.1:%d" % listed)
        api_url = "http://127.0.0.1:%d" % api
        # An item to rename; created without a browser, so without CORS.
        subprocess.run([need("curl"), "-sS", "--json", '{"name": "chair"}', api_url + "/items"], check=True,
                       capture_output=True, timeout=20)

        dom = self.run_chromium("http://127.0.0.1:%d/cors.html?api=%s" % (listed, api_url),
                                "--virtual-time-budget=5000", "--dump-dom")
        result = json.loads(element(dom, "out").replace("&quot;", '"'))
        self.assertEqual(result["get"], '200 [{"id":1,"name":"chair"}]')
        self.assertEqual(result["put"], '200 {"id":1,"name":"from a page"}')  # after a preflight it passed

        dom = self.run_chromium("http://127.0.0.1:%d/cors.html?api=%s" % (unlisted, api_url),
                                "--virtual-time-budget=5000", "--dump-dom")
        result = json.loads(element(dom, "out").replace("&quot;", '"'))
        self.assertEqual(result, {"get": "blocked", "put": "blocked"})
        # The refused preflight kept the PUT from being sent at all.
        out = subprocess.run([need("curl"), "-sS", api_url + "/items/1"], capture_output=True, timeout=20)
        self.assertEqual(out.stdout, b'{"id":1,"name":"from a page"}')

    def test_a_page_sees_request_ids_and_the_rate_limit_through_cors(self):
        with open(os.path.join(self.www.name, "burst.html"), "w") as f:
            f.write(BURST_PAGE)
        page = self.serve("file_server", "--root", self.www.name)
        api = self.serve("rest_api", "--cors-origin", "http://127.0.0.1:%d" % page, "--rate-limit", "2")
        dom = self.run_chromium("http://127.0.0.1:%d/burst.html?api=http://127.0.0.1:%d" % (page, api),
                                "--virtual-time-budget=5000", "--dump-dom")
        seen = json.loads(element(dom, "out").replace("&quot;", '"'))
        self.assertEqual(len(seen), 6)
        self.assertEqual(seen[0][0], 200)
        self.assertRegex(seen[0][1], r"^[0-9a-f]{32}$")  # exposed by Access-Control-Expose-Headers
        self.assertEqual(len({s[1] for s in seen}), 6)
        limited = [s for s in seen if s[0] == 429]
        self.assertTrue(limited, seen)  # the 429 carries CORS fields too: the page can read it
        self.assertRegex(limited[0][2], r"^[1-9]\d*$")

    def test_token_url_opens_the_status_page_and_its_refreshes_and_nothing_else_does(self):
        proc = subprocess.Popen([example("status_page"), "--port", "0", "--threads", "2", "--token"],
                                stdout=subprocess.PIPE, text=True)
        self.addCleanup(lambda: self.assertEqual(stop(proc), 0))
        m = re.fullmatch(r"listening on (http://127\.0\.0\.1:\d+/)(\?token=\S+)\n", proc.stdout.readline())
        self.assertTrue(m)
        base, query = m.group(1), m.group(2)

        # The page's event stream stays open (virtual time would never run out): watched over
        # DevTools until it has shown an update pushed on /events.
        browser = subprocess.Popen([self.chromium] + FLAGS + ["--user-data-dir=" + self.profile.name,
                                                              "--remote-debugging-port=0", base + query],
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            page = asyncio.run(self.first_push(self.profile.name))
        finally:
            browser.terminate()
            browser.wait(timeout=30)
        self.assertEqual(page["title"], "Embedded tool")
        self.assertEqual(page["url"], base)  # the token left the address bar
        self.assertRegex(page["refreshed"], r"^pushed at \d{1,2}:\d{2}:\d{2}", "the page's event stream (/events) was refused")

        other = chromium_profile()  # another browser profile: no cookie
        self.addCleanup(other.cleanup)
        out = subprocess.run([self.chromium] + FLAGS + ["--user-data-dir=" + other.name, "--dump-dom", base],
                             capture_output=True, text=True, timeout=90)
        self.assertIn("<h1>Unauthorized</h1>", out.stdout)
        self.assertNotIn("Embedded tool", out.stdout)

    async def first_push(self, profile):
        """The page's heading, address and #refreshed once #pushed is above 0 (20 s at most)."""
        deadline = time.time() + 20
        port_file = os.path.join(profile, "DevToolsActivePort")
        while not os.path.exists(port_file):
            self.assertLess(time.time(), deadline, "chromium opened no DevTools port")
            await asyncio.sleep(0.1)
        with open(port_file) as f:
            devtools = int(f.readline())
        target = None
        while target is None:
            self.assertLess(time.time(), deadline, "the page never appeared")
            try:
                with urllib.request.urlopen("http://127.0.0.1:%d/json/list" % devtools, timeout=5) as r:
                    target = next((t for t in json.load(r) if t["type"] == "page"), None)
            except OSError:
                pass
            await asyncio.sleep(0.1)
        probe = """(() => { const p = document.getElementById("pushed"); return p && +p.textContent > 0 ?
            JSON.stringify({title: document.querySelector("h1").textContent, url: location.href,
                            refreshed: document.getElementById("refreshed").textContent}) : null; })()"""
        async with websockets.connect(target["webSocketDebuggerUrl"], max_size=None) as ws:
            ident = 0
            while time.time() < deadline:
                ident += 1
                await ws.send(json.dumps({"id": ident, "method": "Runtime.evaluate",
                                          "params": {"expression": probe, "returnByValue": True}}))
                reply = json.loads(await ws.recv())
                while reply.get("id") != ident:
                    reply = json.loads(await ws.recv())
                value = reply.get("result", {}).get("result", {}).get("value")  # an error: still navigating
                if value:
                    return json.loads(value)
                await asyncio.sleep(0.2)
        self.fail("no update was pushed to the page within 20 s")

    def test_the_browser_decodes_compressed_responses(self):
        rows = "".join("row %d\n" % i for i in range(20000))
        with open(os.path.join(self.www.name, "rows.txt"), "w") as f:
            f.write(rows)
        with open(os.path.join(self.www.name, "fetch.html"), "w") as f:
            f.write(FETCH_PAGE)
        port = self.serve("file_server", "--root", self.www.name, "--gzip")
        dom = self.run_chromium("http://127.0.0.1:%d/fetch.html" % port, "--virtual-time-budget=5000", "--dump-dom")
        result = json.loads(element(dom, "out").replace("&quot;", '"'))
        self.assertIn(result["encoding"], ("br", "gzip"))
        self.assertEqual(result["length"], len(rows))
        self.assertEqual(result["last"], "row 19999")


if __name__ == "__main__":
    unittest.main()
