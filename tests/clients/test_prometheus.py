#!/usr/bin/env python3
"""/metrics and /debug/vars of examples/status_page against their real consumers: promtool
checks the exposition, and a Prometheus server on loopback scrapes it every 200 ms; its HTTP
API must then return the series by route and the published job counters."""
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.parse
import urllib.request

sys.path.insert(0, os.path.dirname(__file__))
import common  # noqa: E402


def fetch(url, headers=None):
    req = urllib.request.Request(url, headers=headers or {})
    with urllib.request.urlopen(req, timeout=10) as r:
        return r.status, r.headers.get("Content-Type"), r.read().decode()


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class PrometheusTest(common.ExampleTest):
    example = "status_page"

    def test_promtool_accepts_the_exposition(self):
        promtool = common.need("promtool")
        fetch(self.base + "/")
        status, ctype, text = fetch(self.base + "/metrics")
        self.assertEqual(status, 200)
        self.assertEqual(ctype, "text/plain; version=0.0.4; charset=utf-8")
        self.assertIn('porthole_http_requests_total{route="/",method="GET",status_class="2xx"} 1\n', text)
        self.assertIn("# TYPE jobs_done_total counter\n", text)
        check = subprocess.run([promtool, "check", "metrics"], input=text, capture_output=True, text=True, timeout=30)
        self.assertEqual(check.returncode, 0, check.stdout + check.stderr)

    def test_debug_vars_json_and_page(self):
        status, ctype, body = fetch(self.base + "/debug/vars")
        self.assertEqual(ctype, "application/json")
        data = json.loads(body)
        for name in ("jobs_done", "jobs_failed", "last_job_seconds", "uptime_seconds"):
            self.assertIn(name, data)
        self.assertIn("connections", data["porthole"])
        status, ctype, page = fetch(self.base + "/debug/vars", {"Accept": "text/html"})
        self.assertEqual(ctype, "text/html; charset=utf-8")
        self.assertIn("<td>jobs_done</td>", page)

    def test_a_prometheus_server_scrapes_it(self):
        prometheus = common.need("prometheus")
        fetch(self.base + "/status.json")
        with tempfile.TemporaryDirectory() as tmp:
            config = os.path.join(tmp, "prometheus.yml")
            with open(config, "w") as f:
                f.write("global:\n  scrape_interval: 200ms\n  scrape_timeout: 150ms\n"
                        "scrape_configs:\n  - job_name: status_page\n"
                        "    static_configs:\n      - targets: ['127.0.0.1:%d']\n" % self.port)
            web = free_port()
            proc = subprocess.Popen([prometheus, "--config.file=" + config, "--storage.tsdb.path=" + tmp + "/data",
                                     "--web.listen-address=127.0.0.1:%d" % web, "--log.level=warn"],
                                    stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
            try:
                api = "http://127.0.0.1:%d/api/v1/query?query=" % web
                want = {
                    'porthole_http_requests_total{route="/status.json",method="GET"}': None,
                    'up{job="status_page"}': "1",
                    "jobs_done_total": None,
                }
                found = {}
                deadline = time.monotonic() + 30
                while time.monotonic() < deadline and len(found) < len(want):
                    time.sleep(0.3)
                    for q in want:
                        if q in found:
                            continue
                        try:
                            _, _, body = fetch(api + urllib.parse.quote(q))
                        except OSError:
                            continue  # not listening yet
                        result = json.loads(body)["data"]["result"]
                        if result:
                            found[q] = result[0]["value"][1]
                self.assertEqual(set(found), set(want), "Prometheus never returned " + str(set(want) - set(found)))
                self.assertEqual(found['up{job="status_page"}'], "1")
                self.assertGreaterEqual(float(found['porthole_http_requests_total{route="/status.json",method="GET"}']), 1)
            finally:
                proc.terminate()
                try:
                    proc.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
                proc.stderr.close()


if __name__ == "__main__":
    unittest.main(verbosity=2)
