#!/usr/bin/env python3
"""nginx (Debian nginx-light) as a reverse proxy in front of rest_api, with upstream keep-alive.

Fifty CRUD requests go through nginx; all must succeed, every one must reach rest_api (its
--access-log writes a Common Log Format line per request), and nginx must have reused its
upstream connections: far fewer connections to rest_api than requests.

Counting connections: common_log prints the peer's address without its port, so the access log
cannot tell connections apart. Instead one `ss -tan` snapshot after the requests lists every TCP
socket touching rest_api's port in any state: open connections are ESTABLISHED, and each closed one
lingers in TIME-WAIT (60 s on Linux) on whichever side closed first, so the distinct nginx-side
ports in that snapshot are the connections made. Sampling over time could miss short connections;
this cannot. A control location without upstream keep-alive (HTTP/1.0, a connection per request)
proves the count sees every connection before the keep-alive part is measured."""
import http.client
import json
import os
import re
import socket
import subprocess
import tempfile
import time
import unittest

from common import connections_to, need, start, stop

CONF = """
daemon off;
master_process off;
worker_processes 1;
pid {dir}/nginx.pid;
error_log {dir}/error.log warn;
events {{ worker_connections 64; }}
http {{
    access_log {dir}/access.log;
    client_body_temp_path {dir}/client_body;
    proxy_temp_path {dir}/proxy;
    fastcgi_temp_path {dir}/fastcgi;
    uwsgi_temp_path {dir}/uwsgi;
    scgi_temp_path {dir}/scgi;
    upstream kept {{ server 127.0.0.1:{upstream}; keepalive 8; }}
    upstream plain {{ server 127.0.0.1:{upstream}; }}
    server {{
        listen 127.0.0.1:{port};
        location / {{
            proxy_pass http://kept;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
        }}
        location /plain/ {{
            proxy_pass http://plain/;
        }}
    }}
}}
"""


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class NginxProxy(unittest.TestCase):
    def setUp(self):
        nginx = need("nginx")
        self.dir = tempfile.TemporaryDirectory()
        self.log = open(os.path.join(self.dir.name, "rest_api.log"), "w+")
        # nginx sends the upstream's name as Host ("kept", "plain"): names a loopback server must be
        # told to accept (a Unix socket would need none).
        self.api, self.upstream = start("rest_api", "--access-log", "--allow-host", "kept", "--allow-host", "plain",
                                        stderr=self.log)
        self.port = free_port()
        conf = os.path.join(self.dir.name, "nginx.conf")
        with open(conf, "w") as f:
            f.write(CONF.format(dir=self.dir.name, upstream=self.upstream, port=self.port))
        self.nginx = subprocess.Popen([nginx, "-p", self.dir.name, "-e", os.path.join(self.dir.name, "error.log"),
                                       "-c", conf], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        deadline = time.monotonic() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                break
            except OSError:
                if self.nginx.poll() is not None or time.monotonic() > deadline:
                    self.fail("nginx did not start: %s" % self.nginx.stderr.read())
                time.sleep(0.05)

    def tearDown(self):
        self.nginx.terminate()
        try:
            self.nginx.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.nginx.kill()
            self.nginx.wait()
        self.nginx.stderr.close()
        self.assertEqual(stop(self.api), 0)
        self.log.close()
        self.dir.cleanup()

    def access_log(self):
        self.log.seek(0)
        return self.log.read().splitlines()

    def test_fifty_requests_through_nginx_reuse_upstream_connections(self):
        # Control: without upstream keep-alive nginx opens a connection per request, and the
        # count sees each of them.
        for _ in range(10):
            c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
            c.request("GET", "/plain/items")
            r = c.getresponse()
            self.assertEqual((r.status, r.read()), (200, b"[]"))
            c.close()
        control = connections_to(self.upstream)
        self.assertGreaterEqual(len(control), 10, control)

        c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        sent, created = 0, []

        def call(method, path, body=None):
            nonlocal sent
            sent += 1
            c.request(method, path, body=body, headers={"Content-Type": "application/json"} if body else {})
            r = c.getresponse()
            return r, r.read()

        for i in range(10):
            r, data = call("POST", "/items", json.dumps({"name": "item %d" % i}))
            self.assertEqual(r.status, 201, data)
            item = json.loads(data)
            self.assertEqual(r.getheader("Location"), "/items/%d" % item["id"])
            created.append(item)
        for item in created:
            r, data = call("GET", "/items/%d" % item["id"])
            self.assertEqual((r.status, json.loads(data)), (200, item))
            r, data = call("PUT", "/items/%d" % item["id"], json.dumps({"name": "renamed %d" % item["id"]}))
            self.assertEqual((r.status, json.loads(data)["name"]), (200, "renamed %d" % item["id"]))
        r, data = call("GET", "/items")
        self.assertEqual([i["name"] for i in json.loads(data)], ["renamed %d" % i["id"] for i in created])
        for item in created[:5]:
            r, data = call("DELETE", "/items/%d" % item["id"])
            self.assertEqual((r.status, data), (204, b""))
        for item in created[:5]:
            r, _ = call("GET", "/items/%d" % item["id"])
            self.assertEqual(r.status, 404)
            r, _ = call("PUT", "/items/%d" % item["id"], json.dumps({"name": "gone"}))
            self.assertEqual(r.status, 404)
        for item in created[5:9]:
            r, data = call("GET", "/items/%d" % item["id"])
            self.assertEqual(r.status, 200)
        c.close()
        self.assertEqual(sent, 50)

        kept = connections_to(self.upstream) - control
        self.assertGreaterEqual(len(kept), 1)
        self.assertLessEqual(len(kept), 8, "nginx opened %d upstream connections for 50 requests" % len(kept))

        # Every request reached rest_api, through nginx.
        lines = self.access_log()
        self.assertEqual(len(lines), 60, "\n".join(lines))
        self.assertTrue(all(l.startswith("127.0.0.1 - - [") for l in lines), lines[:3])
        methods = [re.search(r'"(\w+) (\S+) HTTP/1\.(\d)" (\d{3}) ', l).groups() for l in lines]
        self.assertEqual([m[2] for m in methods], ["0"] * 10 + ["1"] * 50)
        self.assertEqual([m[0] for m in methods[10:20]], ["POST"] * 10)
        self.assertEqual(sum(1 for m in methods if m[0] == "DELETE" and m[3] == "204"), 5)


if __name__ == "__main__":
    unittest.main()
