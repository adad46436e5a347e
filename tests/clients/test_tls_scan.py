#!/usr/bin/env python3
"""sslscan (Debian's) against examples/hello over TLS: SSLv2, SSLv3, TLS 1.0 and 1.1 disabled,
TLS 1.2 and 1.3 enabled; every accepted suite forward-secret, AEAD and at least 128 bits; no
client-initiated renegotiation; not vulnerable to Heartbleed; no compression. About 1 s.

With PORTHOLE_TESTSSL=1, testssl.sh runs too (protocols, cipher categories, server defaults
and every named vulnerability: about two minutes) and must report no vulnerability."""
import os
import re
import shutil
import subprocess
import tempfile
import unittest

from common import make_certificates, need, start, stop


class Scanners(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.folder = tempfile.TemporaryDirectory()
        cls.ca, cls.cert, cls.key = make_certificates(cls.folder.name)

    @classmethod
    def tearDownClass(cls):
        cls.folder.cleanup()

    def setUp(self):
        self.proc, self.port = start("hello", "--tls-cert", self.cert, "--tls-key", self.key,
                                     stderr=subprocess.DEVNULL)

    def tearDown(self):
        self.assertEqual(stop(self.proc), 0)

    def test_sslscan(self):
        out = subprocess.run([need("sslscan"), "--no-colour", "127.0.0.1:%d" % self.port],
                             capture_output=True, text=True, timeout=120)
        self.assertEqual(out.returncode, 0, out.stderr)
        text = out.stdout
        for old in ("SSLv2", "SSLv3", "TLSv1.0", "TLSv1.1"):
            self.assertRegex(text, r"(?m)^%s\s+disabled$" % re.escape(old))
        for new in ("TLSv1.2", "TLSv1.3"):
            self.assertRegex(text, r"(?m)^%s\s+enabled$" % re.escape(new))
        self.assertRegex(text, r"Session renegotiation not supported|Secure session renegotiation supported")
        self.assertNotIn("Insecure session renegotiation", text)
        self.assertNotRegex(text, r"(?m)vulnerable to heartbleed$(?<!not vulnerable to heartbleed)")
        self.assertNotIn("Compression enabled", text)
        suites = re.findall(r"(?m)^(?:Preferred|Accepted)\s+(TLSv1\.[23])\s+(\d+) bits\s+(\S+)", text)
        self.assertGreaterEqual(len(suites), 4, text)
        for version, bits, name in suites:
            self.assertGreaterEqual(int(bits), 128, name)
            if version == "TLSv1.2":
                self.assertRegex(name, r"^(ECDHE|DHE)-", name)          # forward secrecy
                self.assertRegex(name, r"(GCM|CHACHA20|CCM)", name)      # AEAD: no CBC
            for weak in ("RC4", "DES", "NULL", "EXP", "MD5", "ADH", "AECDH", "anon"):
                self.assertNotIn(weak, name)

    @unittest.skipUnless(os.environ.get("PORTHOLE_TESTSSL") == "1", "PORTHOLE_TESTSSL=1 runs testssl.sh (about two minutes)")
    def test_testssl(self):
        testssl = shutil.which("testssl") or need("testssl.sh")
        with tempfile.TemporaryDirectory() as folder:
            report = os.path.join(folder, "report.json")
            subprocess.run([testssl, "--quiet", "--color", "0", "--warnings", "off", "--protocols", "--std",
                            "--server-defaults", "--vulnerable", "--jsonfile", report, "127.0.0.1:%d" % self.port],
                           capture_output=True, text=True, timeout=600)
            import json
            with open(report) as f:
                findings = json.load(f)
        by_id = {f["id"]: f for f in findings}
        for old in ("SSLv2", "SSLv3", "TLS1", "TLS1_1"):
            self.assertEqual(by_id[old]["finding"], "not offered", old)
        self.assertIn("offered", by_id["TLS1_3"]["finding"])
        bad = [f for f in findings if f["severity"] in ("HIGH", "CRITICAL", "MEDIUM")
               and f["id"] not in ("cert_chain_of_trust", "cert_trust", "cert_caIssuers", "OCSP_stapling")]
        self.assertEqual(bad, [])
        vulnerabilities = ["heartbleed", "CCS", "ticketbleed", "ROBOT", "secure_renego", "secure_client_renego",
                           "CRIME_TLS", "POODLE_SSL", "fallback_SCSV", "SWEET32", "FREAK", "DROWN", "LOGJAM",
                           "BEAST", "LUCKY13", "RC4"]
        for v in vulnerabilities:
            if v in by_id:
                self.assertIn(by_id[v]["severity"], ("OK", "INFO", "LOW"), (v, by_id[v]["finding"]))


if __name__ == "__main__":
    unittest.main()
