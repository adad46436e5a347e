"""Shared by the real-client tests: start an example on a free loopback port, stop it, run a
client program, and find a client program that must be installed (tools/setup.sh installs them)."""
import os
import re
import shutil
import signal
import subprocess
import unittest

BUILD = os.environ.get("PORTHOLE_BUILD_DIR", "build")
SOURCE = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
LISTENING = re.compile(r"listening on https?://127\.0\.0\.1:(\d+)/\n")


def example(name):
    return os.path.join(BUILD, "examples", name)


def start(name, *args, stderr=None):
    """Starts build/examples/NAME --port 0 --threads 2 ARGS; returns (process, port) once it
    announced itself."""
    proc = subprocess.Popen([example(name), "--port", "0", "--threads", "2"] + list(args),
                            stdout=subprocess.PIPE, stderr=stderr, text=True)
    line = proc.stdout.readline()
    m = LISTENING.fullmatch(line)
    if not m:
        proc.kill()
        proc.wait()
        raise AssertionError("%s announced %r" % (name, line))
    return proc, int(m.group(1))


def stop(proc, sig=signal.SIGTERM):
    """Stops a started example; returns its exit status (it is killed after 10 s)."""
    if proc.poll() is None:
        proc.send_signal(sig)
    try:
        return proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        return "killed after %s" % sig
    finally:
        for f in (proc.stdout, proc.stderr):
            if f:
                f.close()


def need(program):
    """The path of `program`, or a test failure naming the package that provides it."""
    path = shutil.which(program)
    if not path:
        raise AssertionError("%s is missing: run tools/setup.sh --deps-only" % program)
    return path


class ExampleTest(unittest.TestCase):
    """Runs one example, started fresh for each test: set `example` and `args`."""
    example = None
    args = ()

    def setUp(self):
        self.proc, self.port = start(self.example, *self.args)
        self.base = "http://127.0.0.1:%d" % self.port

    def tearDown(self):
        self.assertEqual(stop(self.proc), 0)


def connections_to(port):
    """The peer addresses of every TCP connection to 127.0.0.1:port, in any state but LISTEN.
    A closed connection stays listed in TIME-WAIT for a minute, so one call after a test's
    requests counts every connection they made, and may count an earlier server's on the same
    port: subtract what a call before the requests returned."""
    out = subprocess.run([need("ss"), "-tanH"], capture_output=True, text=True, timeout=10, check=True).stdout
    peers = set()
    for line in out.splitlines():
        fields = line.split()
        if len(fields) < 5 or fields[0] == "LISTEN":
            continue
        local, peer = fields[3], fields[4]
        if local == "127.0.0.1:%d" % port:
            peers.add(peer)
        elif peer == "127.0.0.1:%d" % port:
            peers.add(local)
    return peers


def make_certificates(folder, key="ec"):
    """A test CA and a server certificate it signed for localhost and 127.0.0.1, made with the
    openssl command line (nothing secret is committed). Returns the paths of ca.pem, the server's
    chain (cert.pem) and key (key.pem). key: "ec" (P-256) or "rsa" (2048 bits)."""
    openssl = need("openssl")
    newkey = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"] if key == "ec" else ["-newkey", "rsa:2048"]
    ca, ca_key = os.path.join(folder, "ca.pem"), os.path.join(folder, "ca.key")
    csr, cert, server_key = os.path.join(folder, "server.csr"), os.path.join(folder, "cert.pem"), os.path.join(folder, "key.pem")
    ext = os.path.join(folder, "ext.cnf")
    with open(ext, "w") as f:
        f.write("subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=CA:FALSE\n")
    run = lambda *args: subprocess.run([openssl] + list(args), check=True, capture_output=True, timeout=60)
    run("req", "-x509", "-nodes", *newkey, "-keyout", ca_key, "-out", ca, "-days", "2",
        "-subj", "/O=porthole tests/CN=porthole test CA")
    run("req", "-new", "-nodes", *newkey, "-keyout", server_key, "-out", csr, "-subj", "/O=porthole tests/CN=localhost")
    run("x509", "-req", "-in", csr, "-CA", ca, "-CAkey", ca_key, "-CAcreateserial", "-out", cert, "-days", "2",
        "-extfile", ext)
    with open(cert, "a") as chain, open(ca) as c:
        chain.write(c.read())
    return ca, cert, server_key


# Headless Chromium, as every browser test runs it.
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"]


def chromium_profile():
    """A throwaway --user-data-dir. Chromium's helper processes (crashpad, the network service)
    may still write into it for a moment after the browser exits, so removing it tolerates a
    directory that refills while it is being emptied."""
    import tempfile
    return tempfile.TemporaryDirectory(ignore_cleanup_errors=True)
