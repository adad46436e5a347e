#!/usr/bin/env python3
"""Instructions per request for porthole's parser and for nodejs/http-parser, counted by
callgrind (load-independent, unlike timings).

  bench/parser_instructions.py BUILD_DIR [--shared DIR] [-n 2000]

Runs `parser_bench --loop PARSER FILE N` under `valgrind --tool=callgrind` with collection on only
inside the parse function, and divides its instruction count by N.
"""
import argparse
import os
import re
import subprocess
import sys
import tempfile

FUNCS = {"porthole": "porthole_parse_all", "http_parser": "http_parser_parse_all"}


def count(bench, parser, path, n):
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "cg.out")
        subprocess.run(["valgrind", "--tool=callgrind", "--callgrind-out-file=" + out,
                        "--toggle-collect=" + FUNCS[parser], bench, "--loop", parser, path, str(n)],
                       check=True, capture_output=True)
        text = open(out).read()
        m = re.search(r"^totals:\s+(\d+)", text, re.M) or re.search(r"^summary:\s+(\d+)", text, re.M)
        return int(m.group(1)) / n


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("build")
    ap.add_argument("--shared", default=os.path.join(os.path.dirname(__file__), "..", "..", "shared"))
    ap.add_argument("-n", type=int, default=2000)
    a = ap.parse_args()
    bench = os.path.join(a.build, "bench", "parser_bench")
    print("%-10s %10s %16s %8s" % ("request", "porthole", "http-parser", "ratio"))
    for name in "abcd":
        path = os.path.join(a.shared, "bench", "requests", name + ".http")
        ours = count(bench, "porthole", path, a.n)
        peer = count(bench, "http_parser", path, a.n)
        print("%-10s %10.0f %16.0f %7.2fx" % (name + ".http", ours, peer, peer / ours))
    print("instructions per request (callgrind); ratio = peer / porthole (higher is better for porthole)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
