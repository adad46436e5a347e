#!/usr/bin/env python3
"""Replays the request corpora against a running server and checks each case's outcome.

  tests/corpus/replay.py HOST:PORT hostile|realistic [--only TEXT] [--body-length-header NAME]

Each case's file is sent byte for byte on a connection of its own; the replies are read until
the server closes, resets, or stays silent (--idle seconds, --first for the first byte), then
split into responses and checked against the case's row (the format is in README.md). After
every case the server must still accept a connection. Exit status: 0 when every case passes,
1 when one fails, 2 when the server stopped answering.

The hardening and file-server tests use it as a module: cases(), exchange(), check().
Python 3 standard library only.
"""
import argparse
import csv
import os
import select
import socket
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
EXTRA_VARIABLE = "PORTHOLE_EXTRA_CORPUS"

# Statuses that mean the request was processed (by an application that may not know the path).
PROCESSED = set(range(100, 400)) | {401, 403, 404, 405, 406, 409, 410, 412, 415, 416, 422}
# Bytes of files outside the corpus document root, or of the system: never in a reply.
ESCAPE_MARKERS = (b"OUTSIDE-THE-ROOT-5c81e0d2", b"root:x:0:0:")


class Case:
    def __init__(self, folder, row, extra):
        self.folder, self.row, self.extra = folder, row, extra
        self.name = row["file"]

    def data(self):
        with open(os.path.join(self.folder, self.name), "rb") as f:
            return f.read()

    def expected(self):
        """Outcome alternatives for the first final response ("ok" for a realistic request)."""
        return (self.row.get("expected") or "ok").split("|")

    def per_response(self):
        """None, a count of final responses, or one list of alternatives per final response."""
        if "expected" not in self.row:
            return [["ok"]] * int(self.row.get("requests") or 1)
        spec = (self.row.get("responses") or "").strip()
        if not spec:
            return None
        if spec.isdigit():
            return int(spec)
        return [s.split("|") for s in spec.split(",")]

    def methods(self):
        return [m.strip().upper() for m in (self.row.get("method") or "").split(",") if m.strip()]


def folders(kind):
    """(folder, is_extra) for the repository's corpus of this kind and, when the environment
    names one, an extra corpus in the same layout (PORTHOLE_EXTRA_CORPUS=DIR with DIR/KIND)."""
    out = [(os.path.join(HERE, kind), False)]
    extra = os.environ.get(EXTRA_VARIABLE)
    if extra and os.path.isfile(os.path.join(extra, kind, "index.tsv")):
        out.append((os.path.join(extra, kind), True))
    return out


def cases(kind, extra=True):
    out = []
    for folder, is_extra in folders(kind):
        if is_extra and not extra:
            continue
        with open(os.path.join(folder, "index.tsv"), newline="") as f:
            out += [Case(folder, row, is_extra) for row in csv.DictReader(f, delimiter="\t")]
    return out


def exchange(port, data, first=5.0, idle=1.0, limit=15.0, host="127.0.0.1"):
    """Sends data while reading replies. Returns (reply bytes, closed): closed when the server
    closed or reset the connection, not when it went quiet."""
    s = socket.create_connection((host, port), timeout=3.0)
    s.setblocking(False)
    sent, reply, closed = 0, bytearray(), False
    start = last = time.monotonic()
    try:
        while True:
            now = time.monotonic()
            wait = (first if not reply else idle) - (now - last)
            if wait <= 0 or now - start > limit:
                break
            writing = sent < len(data)
            readable, writable, _ = select.select([s], [s] if writing else [], [], min(wait, 0.05) if writing else wait)
            if readable:
                try:
                    chunk = s.recv(65536)
                except ConnectionResetError:
                    closed = True
                    break
                except BlockingIOError:
                    chunk = None
                if chunk == b"":
                    closed = True
                    break
                if chunk:
                    reply += chunk
                    last = time.monotonic()
            if writable:
                try:
                    sent += s.send(data[sent:sent + 65536])
                except (BrokenPipeError, ConnectionResetError):
                    sent = len(data)  # the server answered and closed before reading it all
                except BlockingIOError:
                    pass
    finally:
        s.close()
    return bytes(reply), closed


def responses(reply, methods=()):
    """Splits reply bytes into [(status, headers dict, body, final)]; stops at bytes that are
    not a response. A HEAD request's response (by the methods, in order) has no body."""
    out, pos, finals = [], 0, 0
    while pos < len(reply):
        end = reply.find(b"\r\n\r\n", pos)
        if not reply.startswith(b"HTTP/1.", pos) or end < 0:
            out.append((None, {}, b"", True))
            break
        lines = reply[pos:end].decode("latin-1").split("\r\n")
        try:
            status = int(lines[0].split(" ")[1])
        except (IndexError, ValueError):
            out.append((None, {}, b"", True))
            break
        headers = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        pos = end + 4
        if 100 <= status < 200:
            out.append((status, headers, b"", False))
            continue
        head_only = finals < len(methods) and methods[finals] == "HEAD"
        finals += 1
        body = b""
        if head_only or status in (204, 304):
            pass
        elif "chunked" in headers.get("transfer-encoding", "").lower():
            while True:
                line_end = reply.find(b"\r\n", pos)
                if line_end < 0:
                    pos = len(reply)
                    break
                size = int(reply[pos:line_end].split(b";")[0] or b"0", 16)
                pos = line_end + 2
                if size == 0:
                    pos = reply.find(b"\r\n", pos) + 2 if b"\r\n" in reply[pos:] else len(reply)
                    break
                body += reply[pos:pos + size]
                pos += size + 2
        elif "content-length" in headers:
            n = int(headers["content-length"])
            body = reply[pos:pos + n]
            pos += n
        else:
            body, pos = reply[pos:], len(reply)
        out.append((status, headers, body, True))
    return out


def token_matches(token, status, last, closed):
    if status is None:
        return False
    if token == "ok":
        return status in PROCESSED
    if token == "ok-close":
        return status in PROCESSED and last and closed
    if token == "400":
        return status == 400 and last and closed  # a 400 closes the connection
    return token.isdigit() and int(token) == status


def check(case, reply, closed, body_length_header=None):
    """(passed, what arrived, notes) for one case's reply."""
    all_responses = responses(reply, case.methods())
    finals = [r for r in all_responses if r[3]]
    interim = [r for r in all_responses if not r[3]]
    got = " ".join(filter(None, [
        "+".join("%s(interim)" % r[0] for r in interim),
        ",".join(str(r[0]) for r in finals) or "no response",
        "closed" if closed else "open"]))
    expected = case.expected()
    if expected == ["no-escape"]:
        leaked = [m for m in ESCAPE_MARKERS if m in reply]
        return not leaked, got, ["bytes from outside the root: %r" % leaked[0]] if leaked else []
    notes = []
    if not finals:
        only_continue = bool(interim) and all(r[0] == 100 for r in interim)
        if not ("100" in expected and only_continue):
            notes.append("no final response, expected " + "|".join(expected))
        return not notes, got, notes
    if not any(token_matches(t, finals[0][0], len(finals) == 1, closed) for t in expected):
        notes.append("the first response is not " + "|".join(expected))
    spec = case.per_response()
    if isinstance(spec, int) and len(finals) != spec:
        notes.append("%d final responses, expected %d" % (len(finals), spec))
    elif isinstance(spec, list):
        if len(finals) != len(spec):
            notes.append("%d final responses, expected %d" % (len(finals), len(spec)))
        else:
            for i, (alternatives, r) in enumerate(zip(spec, finals)):
                if not any(token_matches(t, r[0], i + 1 == len(finals), closed) for t in alternatives):
                    notes.append("response %d is not %s" % (i + 1, "|".join(alternatives)))
    if body_length_header and case.row.get("body_len"):
        wanted = case.row["body_len"].split(",")
        for i, r in enumerate(finals):
            have = r[1].get(body_length_header.lower())
            if have is not None and i < len(wanted) and have != wanted[i].strip():
                notes.append("response %d: %s %s, the index says %s" % (i + 1, body_length_header, have, wanted[i]))
    return not notes, got, notes


def accepts(port, host="127.0.0.1"):
    try:
        socket.create_connection((host, port), timeout=3.0).close()
        return True
    except OSError:
        return False


def replay(port, kind, only="", first=5.0, idle=1.0, limit=15.0, body_length_header=None, out=sys.stdout):
    """Runs every case of a kind; returns (passed, failed, not run)."""
    passed = failed = not_run = 0
    down = False
    for case in cases(kind):
        if only and only not in case.name:
            continue
        if down:
            not_run += 1
            print("NOT-RUN %s" % case.name, file=out)
            continue
        reply, closed = exchange(port, case.data(), first, idle, limit)
        ok, got, notes = check(case, reply, closed, body_length_header)
        if not accepts(port):
            ok, down = False, True
            notes.append("the server stopped accepting connections")
        passed += ok
        failed += not ok
        print("%s %s: %s%s" % ("PASS" if ok else "FAIL", case.name, got, "".join("; " + n for n in notes)), file=out)
    print("%d PASS, %d FAIL, %d NOT-RUN" % (passed, failed, not_run), file=out)
    return passed, failed, not_run


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("target", help="HOST:PORT of a running server (only the port is used: 127.0.0.1)")
    ap.add_argument("kind", choices=["hostile", "realistic"])
    ap.add_argument("--only", default="", help="cases whose file name contains this text")
    ap.add_argument("--first", type=float, default=5.0, help="seconds to wait for a reply's first byte")
    ap.add_argument("--idle", type=float, default=1.0, help="seconds of silence that end a case")
    ap.add_argument("--limit", type=float, default=15.0, help="seconds one case may take")
    ap.add_argument("--body-length-header", help="a response field giving the decoded request body length, "
                                                 "compared with the index's body_len")
    a = ap.parse_args()
    port = int(a.target.rpartition(":")[2])
    passed, failed, not_run = replay(port, a.kind, a.only, a.first, a.idle, a.limit, a.body_length_header)
    sys.exit(2 if not_run else 1 if failed else 0)


if __name__ == "__main__":
    main()
