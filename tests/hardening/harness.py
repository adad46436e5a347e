"""What the hardening tests share: start and stop an example on loopback, read its memory and
descriptor counts from /proc, and speak raw HTTP/1.1 over sockets.

Every server listens on 127.0.0.1 only; every loop here is bounded in count and in time.
Environment: PORTHOLE_BUILD_DIR (the meson build directory); the request corpora are
tests/corpus (tests/corpus/replay.py), with PORTHOLE_EXTRA_CORPUS adding cases.
"""
import os
import re
import resource
import signal
import socket
import struct
import subprocess
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE = os.path.dirname(os.path.dirname(HERE))
BUILD = os.environ.get("PORTHOLE_BUILD_DIR", os.path.join(SOURCE, "build"))
CORPUS = os.path.join(SOURCE, "tests", "corpus")
HOST = "127.0.0.1"


def raise_nofile_limit():
    """Raises this process's descriptor soft limit to its hard limit; returns the new soft limit."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY:
        hard = 1 << 20
    if soft == resource.RLIM_INFINITY or soft < hard:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
        except (ValueError, OSError):
            pass
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def sanitized(name="echo"):
    """Whether build/examples/NAME was built with AddressSanitizer, whose quarantine makes
    resident memory meaningless as a leak measure (descriptors still count)."""
    with open(os.path.join(BUILD, "examples", name), "rb") as f:
        return b"__asan_init" in f.read()


class Server:
    """build/examples/NAME --port 0 ARGS, started and announced; stop() sends SIGTERM."""

    def __init__(self, name="echo", *args, nofile=None, nofile_hard=False, prefix=()):
        """nofile: the server's soft descriptor limit; with nofile_hard, its hard limit too.
        prefix: a command that execs the server with its arguments (its process stays the server's)."""
        path = os.path.join(BUILD, "examples", name)
        preexec = None
        if nofile is not None:
            def preexec():
                hard = nofile if nofile_hard else resource.getrlimit(resource.RLIMIT_NOFILE)[1]
                resource.setrlimit(resource.RLIMIT_NOFILE, (nofile, hard))
        # The error log goes to a file: a pipe nobody reads would block the server once full.
        self.stderr = tempfile.TemporaryFile()
        self.proc = subprocess.Popen(list(prefix) + [path, "--port", "0"] + [str(a) for a in args],
                                     stdout=subprocess.PIPE, stderr=self.stderr, text=True,
                                     preexec_fn=preexec)
        line = self.proc.stdout.readline()
        m = re.fullmatch(r"listening on http://127\.0\.0\.1:(\d+)/\n", line)
        if not m:
            self.kill()
            raise AssertionError("%s announced %r" % (name, line))
        self.port = int(m.group(1))
        self.pid = self.proc.pid

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        if self.proc.poll() is None:
            self.stop()
        self.close_pipes()

    def stop(self, sig=signal.SIGTERM, timeout=10):
        """Signals the server and returns its exit status (killed if it outlives timeout)."""
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            code = self.proc.wait(timeout=timeout)
        finally:
            if self.proc.poll() is None:
                self.kill()
        log = self.error_log()
        for marker in ("AddressSanitizer", "LeakSanitizer", "runtime error:"):
            if marker in log:
                raise AssertionError("the server's error log has a sanitizer report:\n" + log[-4000:])
        return code

    def kill(self):
        self.proc.kill()
        self.proc.wait()
        self.close_pipes()

    def close_pipes(self):
        for f in (self.proc.stdout, self.stderr):
            if f and not f.closed:
                f.close()

    def error_log(self):
        if self.stderr.closed:
            return ""
        self.stderr.seek(0)
        return self.stderr.read().decode("utf-8", "replace")

    def rss_kib(self):
        with open("/proc/%d/status" % self.pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
        raise AssertionError("no VmRSS for %d" % self.pid)

    def fd_count(self):
        return len(os.listdir("/proc/%d/fd" % self.pid))

    def quiet_fds(self, timeout=3.0):
        """The descriptor count once it has stopped changing (closes the server has yet to
        notice, from clients just gone, have happened)."""
        deadline = time.monotonic() + timeout
        last, same = self.fd_count(), 0
        while same < 4 and time.monotonic() < deadline:
            time.sleep(0.05)
            n = self.fd_count()
            same = same + 1 if n == last else 0
            last = n
        return last

    def settle_fds(self, target, timeout=5.0):
        """Waits until the server holds `target` descriptors (or timeout); returns the count."""
        deadline = time.monotonic() + timeout
        n = self.fd_count()
        while n != target and time.monotonic() < deadline:
            time.sleep(0.05)
            n = self.fd_count()
        return n

    def settle_rss(self, baseline_kib, slack_kib, timeout=5.0):
        """Waits until resident memory is within slack of baseline (or timeout); returns it."""
        deadline = time.monotonic() + timeout
        r = self.rss_kib()
        while r > baseline_kib + slack_kib and time.monotonic() < deadline:
            time.sleep(0.1)
            r = self.rss_kib()
        return r


# ------------------------------------------------------------------ raw HTTP

def connect(port, timeout=5.0):
    s = socket.create_connection((HOST, port), timeout=timeout)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return s


def reset(sock):
    """Closes with RST instead of FIN (SO_LINGER with a zero timeout)."""
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    except OSError:
        pass
    sock.close()


def read_until_close(sock, timeout=5.0):
    """Reads until the peer closes. Returns (bytes, how): how is 'eof', 'reset' or 'timeout'."""
    deadline = time.monotonic() + timeout
    buf = bytearray()
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            return bytes(buf), "timeout"
        sock.settimeout(left)
        try:
            chunk = sock.recv(65536)
        except socket.timeout:
            return bytes(buf), "timeout"
        except ConnectionResetError:
            return bytes(buf), "reset"
        if not chunk:
            return bytes(buf), "eof"
        buf += chunk


class Response:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers  # list of (lowercase name, value)
        self.body = body

    def header(self, name):
        name = name.lower()
        for n, v in self.headers:
            if n == name:
                return v
        return None

    def __repr__(self):
        return "Response(%d, %r, %d body bytes)" % (self.status, self.headers, len(self.body))


class Truncated(Exception):
    """The bytes end inside a response."""


def parse_one(data, head_only=False):
    """Parses one response at the start of data: (Response, rest). Raises Truncated when data
    ends before the response does, ValueError when it is not a response. Needs Content-Length
    (or no body) framing, which is all porthole sends for these tests' requests."""
    end = data.find(b"\r\n\r\n")
    if end < 0:
        raise Truncated("head incomplete: %r" % data[:200])
    lines = data[:end].decode("latin-1").split("\r\n")
    m = re.fullmatch(r"HTTP/1\.[01] (\d{3}) [^\r\n]*", lines[0])
    if not m:
        raise ValueError("not a status line: %r" % lines[0])
    headers = []
    for line in lines[1:]:
        name, sep, value = line.partition(":")
        if not sep or not name or name != name.strip():
            raise ValueError("bad header line %r" % line)
        headers.append((name.lower(), value.strip()))
    status = int(m.group(1))
    length = 0
    cl = [v for n, v in headers if n == "content-length"]
    if len(cl) > 1:
        raise ValueError("several Content-Length: %r" % cl)
    if any(n == "transfer-encoding" for n, _ in headers):
        raise ValueError("chunked responses are not expected here")
    if cl and not head_only and status >= 200 and status not in (204, 304):
        if not cl[0].isdigit():
            raise ValueError("bad Content-Length %r" % cl[0])
        length = int(cl[0])
    start = end + 4
    if len(data) - start < length:
        raise Truncated("body has %d of %d bytes" % (len(data) - start, length))
    return Response(status, headers, data[start:start + length]), data[start + length:]


def parse_all(data):
    """Every complete response in data, and the bytes left over."""
    out = []
    while data:
        try:
            r, data = parse_one(data)
        except Truncated:
            break
        out.append(r)
    return out, data


def read_response(sock, timeout=5.0, head_only=False):
    """Reads exactly one response from a keep-alive connection (None if closed before any byte)."""
    deadline = time.monotonic() + timeout
    buf = b""
    while True:
        try:
            r, rest = parse_one(buf, head_only)
            if rest:
                raise ValueError("bytes after the response: %r" % rest[:200])
            return r
        except Truncated:
            pass
        left = deadline - time.monotonic()
        if left <= 0:
            raise socket.timeout("no whole response after %.1f s: %r" % (timeout, buf[:200]))
        sock.settimeout(left)
        chunk = sock.recv(65536)
        if not chunk:
            if not buf:
                return None
            raise Truncated("closed inside a response: %r" % buf[:200])
        buf += chunk


def request(port, raw, timeout=5.0):
    """Sends raw on a new connection and returns its one response; closes the connection."""
    s = connect(port, timeout)
    try:
        s.sendall(raw)
        return read_response(s, timeout)
    finally:
        s.close()


def get(port, target="/", timeout=5.0):
    return request(port, b"GET %s HTTP/1.1\r\nHost: localhost\r\n\r\n" % target.encode(), timeout)


def app_count(port):
    """How many requests echo's application had received before this one."""
    r = get(port, "/count")
    if r is None or r.status != 200:
        raise AssertionError("GET /count gave %r" % r)
    return int(r.body)
