#!/usr/bin/env python3
"""Real clients against examples over HTTPS (--tls-cert/--tls-key), with a CA and certificate
made by the openssl command line when the test runs: curl --cacert, Python's ssl and
http.client, Node's fetch (NODE_EXTRA_CA_CERTS), openssl s_client (a resumed session shows as
"Reused"), headless Chromium trusting the certificate by its SPKI pin, and wrk over https.
Also SIGHUP reloading a replaced certificate while a connection stays open."""
import base64
import hashlib
import http.client
import os
import shutil
import signal
import ssl
import subprocess
import tempfile
import time
import unittest
import warnings

warnings.filterwarnings("ignore", category=DeprecationWarning)  # TLS 1.0 and 1.1, asked for on purpose

from common import make_certificates, need, start, stop

CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"]


class HttpsClients(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.folder = tempfile.TemporaryDirectory()
        cls.ca, cls.cert, cls.key = make_certificates(cls.folder.name)

    @classmethod
    def tearDownClass(cls):
        cls.folder.cleanup()

    def setUp(self):
        self.proc, self.port = start("hello", "--tls-cert", self.cert, "--tls-key", self.key, stderr=subprocess.PIPE)
        self.url = "https://localhost:%d/" % self.port

    def tearDown(self):
        self.assertEqual(stop(self.proc), 0)

    def context(self, **versions):
        ctx = ssl.create_default_context(cafile=self.ca)
        for k, v in versions.items():
            setattr(ctx, k, v)
        return ctx

    def test_curl_with_the_ca(self):
        out = subprocess.run([need("curl"), "-sS", "--cacert", self.ca, "-w", "\n%{http_code} %{http_version}",
                              self.url, self.url + "missing"], capture_output=True, text=True, timeout=30)
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertEqual(out.stdout, "Hello, World!\n200 1.1\n404 1.1")
        # curl offers h2 and http/1.1 through ALPN: it gets http/1.1
        out = subprocess.run([need("curl"), "-sS", "-v", "--http2", "--cacert", self.ca, self.url],
                             capture_output=True, text=True, timeout=30)
        self.assertEqual(out.stdout, "Hello, World!")
        self.assertIn("ALPN: server accepted http/1.1", out.stderr)
        # without the CA, curl refuses the certificate
        out = subprocess.run([need("curl"), "-sS", self.url], capture_output=True, text=True, timeout=30)
        self.assertNotEqual(out.returncode, 0)

    def test_python_http_client_tls13_and_tls12_keep_alive(self):
        for version in (ssl.TLSVersion.TLSv1_3, ssl.TLSVersion.TLSv1_2):
            ctx = self.context(minimum_version=version, maximum_version=version)
            conn = http.client.HTTPSConnection("localhost", self.port, context=ctx, timeout=10)
            for _ in range(5):
                conn.request("GET", "/")
                r = conn.getresponse()
                self.assertEqual((r.status, r.read()), (200, b"Hello, World!"))
            self.assertEqual(conn.sock.version(), {ssl.TLSVersion.TLSv1_3: "TLSv1.3", ssl.TLSVersion.TLSv1_2: "TLSv1.2"}[version])
            conn.close()

    def test_python_old_versions_are_refused(self):
        ctx = self.context(minimum_version=ssl.TLSVersion.TLSv1, maximum_version=ssl.TLSVersion.TLSv1_1)
        ctx.set_ciphers("DEFAULT@SECLEVEL=0")
        conn = http.client.HTTPSConnection("localhost", self.port, context=ctx, timeout=10)
        with self.assertRaises(ssl.SSLError):
            conn.request("GET", "/")
        conn.close()

    def test_plain_http_gets_a_plain_400(self):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        conn.request("GET", "/")
        r = conn.getresponse()
        self.assertEqual(r.status, 400)
        self.assertIn(b"HTTPS", r.read())
        conn.close()
        self.proc.send_signal(signal.SIGTERM)
        log = self.proc.stderr.read()
        self.assertEqual(log.count("plain HTTP request on the TLS port"), 1, log)
        self.assertRegex(log, r"TLS: 127\.0\.0\.1:\d+: plain HTTP")

    def test_node_fetch_with_extra_ca(self):
        node = shutil.which("node")
        if not node:
            self.skipTest("node is not installed")
        script = ("const r = await fetch(process.argv[1]); const t = await r.text();"
                  "console.log(r.status + ' ' + t);")
        out = subprocess.run([node, "--input-type=module", "-e", script, self.url], capture_output=True, text=True,
                             timeout=60, env=dict(os.environ, NODE_EXTRA_CA_CERTS=self.ca))
        self.assertEqual(out.stdout, "200 Hello, World!\n", out.stderr)

    def test_openssl_s_client_resumes(self):
        openssl = need("openssl")
        sess = os.path.join(self.folder.name, "sess-%d.pem" % self.port)
        first = subprocess.run([openssl, "s_client", "-connect", "127.0.0.1:%d" % self.port, "-CAfile", self.ca,
                                "-servername", "localhost", "-sess_out", sess, "-ign_eof"],
                               input="GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n",
                               capture_output=True, text=True, timeout=30)
        self.assertIn("New, TLSv1.3", first.stdout)
        self.assertIn("Verify return code: 0 (ok)", first.stdout)
        self.assertIn("Hello, World!", first.stdout)
        second = subprocess.run([openssl, "s_client", "-connect", "127.0.0.1:%d" % self.port, "-CAfile", self.ca,
                                 "-servername", "localhost", "-sess_in", sess], input="", capture_output=True,
                                text=True, timeout=30)
        self.assertIn("Reused, TLSv1.3", second.stdout)
        tls12 = subprocess.run([openssl, "s_client", "-connect", "127.0.0.1:%d" % self.port, "-CAfile", self.ca,
                                "-tls1_2", "-reconnect"], input="", capture_output=True, text=True, timeout=30)
        self.assertEqual(tls12.stdout.count("Reused, TLSv1.2"), 5, tls12.stdout[-3000:])
        self.assertIn("Secure Renegotiation IS supported", tls12.stdout)

    def test_python_request_and_close_notify_in_one_write(self):
        """A client's close_notify ends its input only (RFC 8446 6.1): the requests written with it
        are answered, then the server sends its own close_notify (no truncation for a strict client)."""
        import socket
        for version in (ssl.TLSVersion.TLSv1_3, ssl.TLSVersion.TLSv1_2):
            with self.subTest(version=version):
                ctx = self.context(minimum_version=version, maximum_version=version)
                ctx.options &= ~getattr(ssl, "OP_IGNORE_UNEXPECTED_EOF", 0)  # a missing close_notify fails
                incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
                tls = ctx.wrap_bio(incoming, outgoing, server_hostname="localhost")
                sock = socket.create_connection(("127.0.0.1", self.port), timeout=10)

                def move():  # what the client wrote goes out; what came is given to it
                    if outgoing.pending:
                        sock.sendall(outgoing.read())

                def receive():
                    try:
                        data = sock.recv(65536)
                    except TimeoutError:  # nothing more came: what did is judged below
                        return b""
                    if data:
                        incoming.write(data)
                    else:
                        incoming.write_eof()
                    return data

                while True:
                    try:
                        tls.do_handshake()
                        break
                    except ssl.SSLWantReadError:
                        move()
                        receive()
                move()
                tls.write(b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n" * 3)
                try:
                    tls.unwrap()  # close_notify, in the same send as the requests
                except ssl.SSLWantReadError:
                    pass
                move()
                got, closed = b"", False
                deadline = time.monotonic() + 10
                while not closed and time.monotonic() < deadline:
                    try:
                        while not closed:
                            chunk = tls.read(65536)
                            got += chunk
                            closed = not chunk  # the server's close_notify
                    except ssl.SSLWantReadError:
                        pass
                    except ssl.SSLZeroReturnError:
                        closed = True
                    if not closed and not receive():
                        break
                sock.close()
                self.assertEqual(got.count(b"HTTP/1.1 200 OK"), 3, got)
                self.assertTrue(closed, "no close_notify from the server")

    def test_openssl_s_client_finite_field_groups_are_refused(self):
        openssl = need("openssl")
        for groups, ok in (("X25519", True), ("P-256", True), ("ffdhe2048", False), ("ffdhe8192", False)):
            with self.subTest(groups=groups):
                out = subprocess.run([openssl, "s_client", "-connect", "127.0.0.1:%d" % self.port, "-CAfile", self.ca,
                                      "-servername", "localhost", "-tls1_3", "-groups", groups], input="",
                                     capture_output=True, text=True, timeout=30)
                self.assertEqual("New, TLSv1.3" in out.stdout, ok, out.stdout[-2000:] + out.stderr[-2000:])

    def test_chromium_trusts_the_certificate_by_its_pin(self):
        chromium = need("chromium")
        der = subprocess.run([need("openssl"), "x509", "-in", self.cert, "-pubkey", "-noout"], capture_output=True,
                             check=True, timeout=30).stdout
        spki = subprocess.run([need("openssl"), "pkey", "-pubin", "-outform", "der"], input=der, capture_output=True,
                              check=True, timeout=30).stdout
        pin = base64.b64encode(hashlib.sha256(spki).digest()).decode()
        with tempfile.TemporaryDirectory() as profile:
            out = subprocess.run([chromium] + CHROMIUM_FLAGS + ["--user-data-dir=" + profile,
                                  "--ignore-certificate-errors-spki-list=" + pin, "--dump-dom", self.url],
                                 capture_output=True, text=True, timeout=90)
        self.assertEqual(out.returncode, 0, out.stderr[-2000:])
        self.assertIn("Hello, World!", out.stdout)

    def test_wrk_over_https(self):
        out = subprocess.run([need("wrk"), "-t1", "-c8", "-d1s", "https://127.0.0.1:%d/" % self.port],
                             capture_output=True, text=True, timeout=60)
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertNotIn("Socket errors", out.stdout)
        self.assertNotIn("Non-2xx", out.stdout)
        requests = int(out.stdout.split(" requests in ")[0].split()[-1])
        self.assertGreater(requests, 100, out.stdout)

    def test_sighup_reloads_the_certificate_and_keeps_connections(self):
        live = tempfile.TemporaryDirectory()
        try:
            cert, key = os.path.join(live.name, "cert.pem"), os.path.join(live.name, "key.pem")
            shutil.copy(self.cert, cert)
            shutil.copy(self.key, key)
            proc, port = start("hello", "--tls-cert", cert, "--tls-key", key)
            try:
                kept = http.client.HTTPSConnection("localhost", port, context=self.context(), timeout=10)
                kept.request("GET", "/")
                self.assertEqual(kept.getresponse().read(), b"Hello, World!")
                other = tempfile.TemporaryDirectory()
                ca2, cert2, key2 = make_certificates(other.name, key="rsa")
                shutil.copy(cert2, cert)
                shutil.copy(key2, key)
                proc.send_signal(signal.SIGHUP)
                ctx2 = ssl.create_default_context(cafile=ca2)
                deadline = time.time() + 10
                while True:
                    try:
                        c = http.client.HTTPSConnection("localhost", port, context=ctx2, timeout=10)
                        c.request("GET", "/")
                        self.assertEqual(c.getresponse().read(), b"Hello, World!")
                        c.close()
                        break
                    except ssl.SSLError:
                        if time.time() > deadline:
                            raise
                        time.sleep(0.05)
                kept.request("GET", "/")  # the connection made before the reload goes on
                self.assertEqual(kept.getresponse().read(), b"Hello, World!")
                kept.close()
                other.cleanup()
            finally:
                self.assertEqual(stop(proc), 0)
        finally:
            live.cleanup()


if __name__ == "__main__":
    unittest.main()
