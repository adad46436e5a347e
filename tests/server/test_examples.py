#!/usr/bin/env python3
"""The examples' shared command line and hello over real sockets, with curl and http.client.

  test_examples.py BUILD_DIR       (meson runs it with the build directory)
"""
import http.client
import os
import re
import resource
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import unittest

BUILD = os.environ.get("PORTHOLE_BUILD_DIR", "build")


def start(name, *args, max_fds=None):
    """Starts build/NAME --port 0 ARGS; returns (process, port) once it announced itself."""
    path = os.path.join(BUILD, name)

    def limit():
        if max_fds:  # hard limit too: the server raises its soft limit to the hard one
            resource.setrlimit(resource.RLIMIT_NOFILE, (max_fds, max_fds))

    proc = subprocess.Popen([path, "--port", "0"] + list(args), stdout=subprocess.PIPE, text=True,
                            preexec_fn=limit)
    line = proc.stdout.readline()
    m = re.fullmatch(r"listening on http://127\.0\.0\.1:(\d+)/\n", line)
    if not m:
        proc.kill()
        proc.wait()
        raise AssertionError("%s announced %r" % (name, line))
    return proc, int(m.group(1))


def stop(proc, sig=signal.SIGTERM):
    proc.send_signal(sig)
    try:
        return proc.wait(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


class Hello(unittest.TestCase):
    def setUp(self):
        self.proc, self.port = start("examples/hello", "--threads", "2")

    def tearDown(self):
        if self.proc.poll() is None:
            stop(self.proc)
        self.proc.stdout.close()

    def test_prints_one_line_then_nothing_more(self):
        stop(self.proc)
        self.assertEqual(self.proc.stdout.read(), "")

    @unittest.skipUnless(shutil.which("curl"), "needs curl")
    def test_curl_gets_hello_world(self):
        out = subprocess.run(["curl", "-sS", "-i", "http://127.0.0.1:%d/" % self.port],
                             capture_output=True, timeout=10)
        self.assertEqual(out.returncode, 0, out.stderr)
        head, body = out.stdout.decode().split("\r\n\r\n", 1)
        self.assertTrue(head.startswith("HTTP/1.1 200 OK"), head)
        self.assertRegex(head, r"(?im)^content-type: text/plain")
        self.assertEqual(body, "Hello, World!")

    @unittest.skipUnless(shutil.which("curl"), "needs curl")
    def test_curl_other_paths_are_404(self):
        out = subprocess.run(["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}",
                              "http://127.0.0.1:%d/nothing/here" % self.port],
                             capture_output=True, text=True, timeout=10)
        self.assertEqual(out.stdout, "404")

    def test_http_client_keeps_one_connection_alive(self):
        c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        for _ in range(100):
            c.request("GET", "/")
            r = c.getresponse()
            self.assertEqual((r.status, r.read()), (200, b"Hello, World!"))
        c.request("HEAD", "/")
        r = c.getresponse()
        self.assertEqual((r.status, r.read()), (200, b""))
        self.assertEqual(r.getheader("Content-Length"), "13")
        c.close()

    def test_many_python_clients_at_once(self):
        results = []

        def client():
            c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
            for _ in range(20):
                c.request("GET", "/")
                results.append(c.getresponse().read())
            c.close()

        threads = [threading.Thread(target=client) for _ in range(20)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        self.assertEqual(results, [b"Hello, World!"] * 400)

    def test_sigint_exits_0(self):
        self.assertEqual(stop(self.proc, signal.SIGINT), 0)

    def test_sigterm_exits_0_with_an_idle_connection_open(self):
        s = socket.create_connection(("127.0.0.1", self.port))
        s.sendall(b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n")
        s.recv(4096)
        self.assertEqual(stop(self.proc, signal.SIGTERM), 0)
        s.settimeout(5)
        self.assertEqual(s.recv(4096), b"")  # closed, not left hanging
        s.close()


class CommandLine(unittest.TestCase):
    def test_bad_port_exits_2_naming_help(self):
        path = os.path.join(BUILD, "examples/hello")
        out = subprocess.run([path, "--port", "http"], capture_output=True, text=True, timeout=10)
        self.assertEqual(out.returncode, 2)
        self.assertEqual(out.stderr, path + ": --port needs a number from 0 to 65535\n"
                         "Try '" + path + " --help' for more information.\n")

    def test_help_exits_0(self):
        out = subprocess.run([os.path.join(BUILD, "examples/hello"), "--help"],
                             capture_output=True, text=True, timeout=10)
        self.assertEqual(out.returncode, 0)
        self.assertIn("--port", out.stdout)

    def test_every_way_of_starting_decides_in_main(self):
        # serve(app, command_line), and the examples that build their server themselves or do
        # work first: --help is 0 with the usage on stdout, a bad value 2 with the problem and
        # where to find the usage on stderr.
        for name in ("hello", "embed_existing_loop", "05_gateway", "file_server", "rest_api"):
            with self.subTest(example=name):
                path = os.path.join(BUILD, "examples", name)
                out = subprocess.run([path, "--help"], capture_output=True, text=True, timeout=10)
                self.assertEqual(out.returncode, 0, out.stderr)
                self.assertIn("usage: ", out.stdout)
                self.assertEqual(out.stderr, "")
                out = subprocess.run([path, "--threads", "many"], capture_output=True, text=True, timeout=10)
                self.assertEqual(out.returncode, 2)
                self.assertIn("--threads needs a number", out.stderr)
                self.assertIn(" --help' for more information.", out.stderr)
                self.assertNotIn("usage: ", out.stderr)
                self.assertEqual(out.stdout, "")

    def test_examples_list_their_own_flags_and_refuse_others(self):
        own = {"file_server": ["--root DIR", "--gzip", "--gzip-level N"], "rest_api": ["--rate-limit N",
               "--cors-origin ORIGIN", "--basic-auth USER:PASSWORD", "--access-log"],
               "form": ["--upload-dir DIR", "--max-upload BYTES"], "status_page": ["--pages DIR", "--token"],
               "05_gateway": ["--way WAY"], "echo": ["--gunzip"], "03_pages": ["--pages DIR"]}
        for name, flags in own.items():
            with self.subTest(example=name):
                path = os.path.join(BUILD, "examples", name)
                out = subprocess.run([path, "--help"], capture_output=True, text=True, timeout=10)
                self.assertEqual(out.returncode, 0, out.stderr)
                for flag in flags:
                    self.assertIn("\n  " + flag + " ", out.stdout)
                self.assertIn("porthole's flags: [--port N]", out.stdout)
                out = subprocess.run([path, "--verbose"], capture_output=True, text=True, timeout=10)
                self.assertEqual(out.returncode, 2)
                self.assertTrue(out.stderr.startswith(path + ": unknown flag --verbose\n"), out.stderr[:200])
                first = flags[0].split(" ")[0]
                typo = first[:-1]  # one character dropped
                out = subprocess.run([path, typo, "x"], capture_output=True, text=True, timeout=10)
                self.assertEqual(out.returncode, 2)
                self.assertIn("unknown flag %s; did you mean %s?" % (typo, first), out.stderr)
        out = subprocess.run([os.path.join(BUILD, "examples", "file_server"), "--gzip", "--gzip-level", "fast"],
                             capture_output=True, text=True, timeout=10)
        self.assertEqual(out.returncode, 2)
        self.assertIn("--gzip-level needs a number from 1 to 9", out.stderr)

    def test_rest_api_refuses_what_its_layers_refuse_with_2(self):
        # The layers throw std::invalid_argument where they are made: the example ended by
        # std::terminate (134) for these.
        path = os.path.join(BUILD, "examples", "rest_api")
        for flags, reason in ((["--cors-origin", "null"], "origin \"null\""),
                              (["--basic-auth", "u\x01:p"], "control character")):
            with self.subTest(flags=flags):
                out = subprocess.run([path, "--port", "0"] + flags, capture_output=True, text=True, timeout=10)
                self.assertEqual(out.returncode, 2, out.stderr)
                self.assertTrue(out.stderr.startswith(path + ": "), out.stderr)
                self.assertIn(reason, out.stderr)
                self.assertEqual(out.stdout, "")

    def test_taken_port_exits_1(self):
        proc, port = start("examples/hello")
        try:
            out = subprocess.run([os.path.join(BUILD, "examples/hello"), "--port", str(port)],
                                 capture_output=True, text=True, timeout=10)
            self.assertEqual(out.returncode, 1)
            self.assertIn("porthole:", out.stderr)
        finally:
            stop(proc)


class GracefulStop(unittest.TestCase):
    def test_requests_in_flight_get_whole_answers_and_the_process_exits_0(self):
        proc, port = start("tests/slow_server", "--threads", "2", "--delay-ms", "300")
        outcomes = []
        lock = threading.Lock()

        def client():
            try:
                c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
                c.request("GET", "/slow")
                r = c.getresponse()
                body = r.read()  # raises IncompleteRead on a cut body
                with lock:
                    outcomes.append("whole" if r.status == 200 and len(body) == 100000 else "bad")
            except (http.client.IncompleteRead, ) as e:
                with lock:
                    outcomes.append("cut: %r" % e)
            except (ConnectionError, http.client.RemoteDisconnected, socket.timeout) as e:
                with lock:
                    outcomes.append("refused")  # no answer at all is allowed; half of one is not

        threads = [threading.Thread(target=client) for _ in range(12)]
        for t in threads:
            t.start()
        time.sleep(0.15)
        code = stop(proc)
        for t in threads:
            t.join()
        proc.stdout.close()
        self.assertEqual(code, 0)
        self.assertEqual(len(outcomes), 12)
        self.assertTrue(all(o in ("whole", "refused") for o in outcomes), outcomes)
        self.assertGreater(outcomes.count("whole"), 0)


def cpu_seconds(pid):
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class OutOfDescriptors(unittest.TestCase):
    def test_without_descriptors_extra_clients_are_refused_and_the_listener_does_not_spin(self):
        proc, port = start("tests/slow_server", "--threads", "1", max_fds=32)
        clients = []
        try:
            for _ in range(60):  # about twice what the server can hold
                s = socket.create_connection(("127.0.0.1", port))
                s.sendall(b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n")
                clients.append(s)
            answers = []
            for s in clients:
                s.settimeout(5)
                try:
                    answers.append(s.recv(4096).split(b"\r\n", 1)[0])
                except (socket.timeout, ConnectionError):
                    answers.append(b"nothing")
            self.assertIn(b"HTTP/1.1 200 OK", answers)
            self.assertIn(b"HTTP/1.1 503 Service Unavailable", answers)
            self.assertNotIn(b"nothing", answers)  # every client heard back
            before = cpu_seconds(proc.pid)
            time.sleep(1.0)  # connections held, server out of descriptors
            self.assertLess(cpu_seconds(proc.pid) - before, 0.5)
        finally:
            for s in clients:
                s.close()
        time.sleep(0.2)
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        c.request("GET", "/")
        self.assertEqual(c.getresponse().status, 200)
        c.close()
        self.assertEqual(stop(proc), 0)
        proc.stdout.close()


if __name__ == "__main__":
    if len(sys.argv) > 1 and not sys.argv[1].startswith("-"):
        BUILD = sys.argv.pop(1)
    unittest.main(verbosity=2)
