#!/usr/bin/env python3
"""Every example: started with --port 0 --threads 2 it prints exactly one line, "listening on
http://127.0.0.1:PORT/", answers the paths its header comment documents, and exits 0 on SIGTERM
and on SIGINT without printing anything more. 05_gateway runs all three of its --ways."""
import http.client
import json
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time
import unittest

from common import LISTENING, example, stop

PAGES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "examples", "pages")


class Client:
    def __init__(self, test, port):
        self.test, self.port = test, port

    def __call__(self, method, path, body=None, headers=None, status=200):
        c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        try:
            c.request(method, path, body=body, headers=headers or {})
            r = c.getresponse()
            data = r.read()
        finally:
            c.close()
        self.test.assertEqual(r.status, status, "%s %s: %r" % (method, path, data[:200]))
        return r, data.decode("utf-8")


def check_01(t, get, _):
    for path in ("/", "/anything/at/all?x=1"):
        t.assertEqual(get("GET", path)[1], "OK")
    t.assertEqual(get("POST", "/", body="x")[1], "OK")


def check_02(t, get, _):
    t.assertEqual(get("GET", "/index/")[1], "This is the index page.")
    t.assertEqual(get("GET", "/home/")[1], "Welcome home.")
    get("GET", "/", status=404)
    get("GET", "/index", status=404)


def check_03(t, get, _):
    r, page = get("GET", "/index/")
    t.assertTrue(r.getheader("Content-Type").startswith("text/html"))
    t.assertIn("<h1>Index</h1>", page)
    t.assertIn("<h1>Home</h1>", get("GET", "/home/")[1])
    get("GET", "/elsewhere/", status=404)


def check_03_missing_page(t, get, _):  # --pages DIR holding index.html only
    t.assertIn("<h1>Index</h1>", get("GET", "/index/")[1])
    get("GET", "/home/", status=404)


def check_04(t, get, pages):
    page = get("GET", "/index/")[1]
    t.assertRegex(page, r'<b id="now">\d{4}-\d\d-\d\d \d\d:\d\d:\d\d</b>')
    t.assertNotIn("@@", page)
    # Edited while the server runs: the next request shows the edit.
    path = os.path.join(pages, "dynamic.html")
    with open(path, "w") as f:
        f.write("<p>edited @@oo@@</p>\n")
    later = time.time() + 5
    os.utime(path, (later, later))
    t.assertRegex(get("GET", "/index/")[1], r"^<p>edited \d{4}-\d\d-\d\d \d\d:\d\d:\d\d</p>\n$")


def check_05(t, get, _):
    t.assertEqual(get("GET", "/some/path")[1], "gateway answers /some/path\n")
    t.assertEqual(get("POST", "/p", body="body")[1], "gateway answers /p\n")


def check_status_page(t, get, _):
    page = get("GET", "/")[1]
    t.assertRegex(page, r'id="done">\d+<')
    t.assertNotIn("@@", page)
    r, text = get("GET", "/status.json")
    t.assertTrue(r.getheader("Content-Type").startswith("application/json"))
    s = json.loads(text)
    t.assertEqual(set(s), {"uptime", "done", "failed", "jobs", "subscribers"})


def check_embed(t, get, _):
    first = int(re.fullmatch(r"ticks: (\d+)\n", get("GET", "/")[1]).group(1))
    time.sleep(1.1)  # the loop's timer ticks twice a second
    second = int(re.fullmatch(r"ticks: (\d+)\n", get("GET", "/")[1]).group(1))
    t.assertGreater(second, first)


def check_form(t, get, _):
    t.assertIn('<form method="post" action="/submit">', get("GET", "/")[1])
    page = get("POST", "/submit", body="name=%3Cme%3E&message=hi+there",
               headers={"Content-Type": "application/x-www-form-urlencoded"})[1]
    t.assertIn("Received 2 fields", page)
    t.assertIn("<dd>&lt;me&gt;</dd>", page)
    t.assertIn("<dd>hi there</dd>", page)


def check_rest_api(t, get, _):
    r, text = get("POST", "/items", body='{"name": "chair"}', status=201)
    t.assertEqual(json.loads(text), {"id": 1, "name": "chair"})
    t.assertEqual(r.getheader("Location"), "/items/1")
    t.assertEqual(json.loads(get("GET", "/items/1")[1]), {"id": 1, "name": "chair"})
    t.assertEqual(json.loads(get("GET", "/items")[1]), [{"id": 1, "name": "chair"}])
    get("DELETE", "/items/1", status=204)
    get("GET", "/items/1", status=404)


def check_file_server(t, get, root):
    t.assertEqual(get("GET", "/")[1], "<p>index</p>\n")
    t.assertEqual(get("GET", "/sub/a.txt")[1], "a file\n")
    r, _ = get("GET", "/sub/a.txt", headers={"Range": "bytes=2-5"}, status=206)
    t.assertEqual(r.getheader("Content-Range"), "bytes 2-5/7")
    r, _ = get("GET", "/sub/a.txt")
    get("GET", "/sub/a.txt", headers={"If-None-Match": r.getheader("ETag")}, status=304)
    get("GET", "/missing.txt", status=404)
    c = http.client.HTTPConnection("127.0.0.1", get.port, timeout=10)
    c.putrequest("GET", "/../secret.txt", skip_accept_encoding=True)  # sent as is, not normalised
    c.endheaders()
    r = c.getresponse()
    body = r.read()
    c.close()
    t.assertIn(r.status, (400, 403, 404))
    t.assertNotIn(b"secret", body)


def check_echo(t, get, _):
    t.assertEqual(get("GET", "/")[1], "OK")
    t.assertEqual(get("POST", "/", body="ping")[1], "ping")
    r, _ = get("OPTIONS", "/")
    t.assertEqual(r.getheader("Allow"), "GET, HEAD, OPTIONS, POST")
    t.assertIn("X-Probe: 1\n", get("POST", "/echo", body="", headers={"X-Probe": "1"})[1])


def check_blocking_work(t, get, _):
    t.assertEqual(get("GET", "/fast")[1], "fast\n")
    t.assertEqual(get("GET", "/slow?ms=50")[1], "slept 50 ms on a worker thread\n")
    t.assertEqual(get("GET", "/later?ms=50")[1], "answered after 50 ms\n")
    # While /slow and /later wait, /fast is answered at once on the same two loops.
    import threading
    done = []
    waiting = [threading.Thread(target=lambda p=p: done.append(get("GET", p)[1]))
               for p in ("/slow?ms=1500", "/later?ms=1500") * 2]
    for w in waiting:
        w.start()
    time.sleep(0.2)
    t0 = time.monotonic()
    for _ in range(20):
        get("GET", "/fast")
    t.assertLess(time.monotonic() - t0, 1.0)
    for w in waiting:
        w.join()
    t.assertEqual(len(done), 4)
    get("GET", "/nowhere", status=404)


def check_chat(t, get, _):
    r, page = get("GET", "/")
    t.assertEqual(r.getheader("Content-Type"), "text/html; charset=utf-8")
    t.assertIn("new WebSocket(", page)
    r, _ = get("GET", "/ws", status=426)  # not an upgrade request
    t.assertEqual(r.getheader("Sec-WebSocket-Version"), "13")


def check_hello(t, get, _):
    t.assertEqual(get("GET", "/")[1], "Hello, World!")
    get("GET", "/other", status=404)


def file_server_root():
    d = tempfile.mkdtemp()
    os.mkdir(os.path.join(d, "www"))
    os.mkdir(os.path.join(d, "www", "sub"))
    with open(os.path.join(d, "www", "index.html"), "w") as f:
        f.write("<p>index</p>\n")
    with open(os.path.join(d, "www", "sub", "a.txt"), "w") as f:
        f.write("a file\n")
    with open(os.path.join(d, "secret.txt"), "w") as f:
        f.write("secret\n")
    return d, ["--root", os.path.join(d, "www")], os.path.join(d, "www")


def pages_copy(only=None):
    d = tempfile.mkdtemp()
    for name in os.listdir(PAGES):
        if only is None or name == only:
            shutil.copy(os.path.join(PAGES, name), d)
    return d, ["--pages", d], d


# name, extra arguments (or a function making a temporary directory for them), check
CASES = [
    ("01_socket_ok", [], check_01),
    ("02_routes", [], check_02),
    ("03_pages", [], check_03),
    ("03_pages", lambda: pages_copy("index.html"), check_03_missing_page),
    ("04_dynamic", pages_copy, check_04),
    ("05_gateway", [], check_05),
    ("05_gateway", ["--way", "server"], check_05),
    ("05_gateway", ["--way", "loop"], check_05),
    ("status_page", [], check_status_page),
    ("embed_existing_loop", [], check_embed),
    ("form", [], check_form),
    ("rest_api", [], check_rest_api),
    ("file_server", file_server_root, check_file_server),
    ("echo", [], check_echo),
    ("blocking_work", [], check_blocking_work),
    ("hello", [], check_hello),
    ("chat", [], check_chat),
]


class Smoke(unittest.TestCase):
    def run_case(self, name, args, check, sig):
        tmp, extra = None, None
        if callable(args):
            tmp, args, extra = args()
        try:
            proc = subprocess.Popen([example(name), "--port", "0", "--threads", "2"] + args,
                                    stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            try:
                line = proc.stdout.readline()
                m = LISTENING.fullmatch(line)
                self.assertTrue(m, "%s announced %r" % (name, line))
                check(self, Client(self, int(m.group(1))), extra)
            finally:
                if proc.poll() is None:
                    proc.send_signal(sig)
                try:
                    rest, err = proc.communicate(timeout=10)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    rest, err = proc.communicate()
                    self.fail("%s did not stop on %s" % (name, sig.name))
            self.assertEqual(proc.returncode, 0, "%s on %s: %s" % (name, sig.name, err))
            self.assertEqual(rest, "", "%s printed more than its one line" % name)
            self.assertEqual(err, "", "%s wrote to stderr" % name)
        finally:
            if tmp:
                shutil.rmtree(tmp)

    def test_every_example_serves_and_stops_on_sigterm(self):
        for name, args, check in CASES:
            with self.subTest(example=name, args=args):
                self.run_case(name, args, check, signal.SIGTERM)

    def test_every_example_serves_and_stops_on_sigint(self):
        for name, args, check in CASES:
            with self.subTest(example=name, args=args):
                self.run_case(name, args, check, signal.SIGINT)

    def test_a_second_signal_while_stopping_ends_the_process_at_once(self):
        # A blocking handler that sleeps 20 s: its client is told 503 when the drain ends, and
        # serve() then waits for the handler, which nothing interrupts. A second signal, during
        # the drain or during that wait, ends the process by the signal at once.
        import threading
        for second_after in (0.3, 1.2):  # within the 0.8 s drain; after it
            with self.subTest(second_after=second_after):
                proc = subprocess.Popen([example("blocking_work"), "--port", "0", "--threads", "1",
                                         "--drain-timeout-ms", "800"],
                                        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                try:
                    port = int(LISTENING.fullmatch(proc.stdout.readline()).group(1))
                    answers = []

                    def slow():
                        c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
                        c.request("GET", "/slow?ms=20000")
                        answers.append(c.getresponse().status)
                        c.close()
                    client = threading.Thread(target=slow)
                    client.start()
                    time.sleep(0.3)
                    proc.send_signal(signal.SIGTERM)
                    time.sleep(second_after)
                    self.assertIsNone(proc.poll(), "one signal: serve() still stopping")
                    t0 = time.monotonic()
                    proc.send_signal(signal.SIGTERM)
                    proc.wait(timeout=10)
                    self.assertLess(time.monotonic() - t0, 3)
                    self.assertEqual(proc.returncode, -signal.SIGTERM)
                    client.join(timeout=10)
                    if second_after > 0.8:
                        self.assertEqual(answers, [503])  # the drain's end told the client
                finally:
                    if proc.poll() is None:
                        proc.kill()
                    proc.communicate()

    def test_gateway_direct_needs_no_socket(self):
        out = subprocess.run([example("05_gateway"), "--way", "direct"], capture_output=True, text=True, timeout=10)
        self.assertEqual((out.returncode, out.stdout, out.stderr), (0, "200 gateway answers /direct\n", ""))


if __name__ == "__main__":
    unittest.main()
