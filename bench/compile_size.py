#!/usr/bin/env python3
"""Compile time and stripped binary size of the hello example, porthole against cpp-httplib,
in the same run.

  bench/compile_size.py [--runs 3] [--cxx g++] [--httplib-header DIR]

--httplib-header DIR: also header-only cpp-httplib (DIR/httplib.h, a release's single header,
kept outside this repository), compiling the same bench/plaintext_httplib.cpp against it, and
the ratios against it.

porthole: examples/hello.cpp with only the single header (-I single_include).
cpp-httplib: bench/plaintext_httplib.cpp against Debian's libcpp-httplib-dev 0.11, which is
packaged in split mode: a 1,940-line header plus a 580 KB shared library, so its hello compiles
less code than header-only cpp-httplib does, and its binary needs the library beside it (both
shown). Times are medians of --runs compilations with -O2 -std=c++20.
"""
import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def build(cmd, runs):
    times = []
    for _ in range(runs):
        start = time.monotonic()
        subprocess.run(cmd, check=True, capture_output=True)
        times.append(time.monotonic() - start)
    return statistics.median(times)


def stripped_size(path):
    subprocess.run(["strip", path], check=True)
    return os.path.getsize(path)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--cxx", default="g++")
    ap.add_argument("--httplib-header", default="", help="a folder holding header-only cpp-httplib's httplib.h")
    a = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        ours = os.path.join(tmp, "hello_porthole")
        peer = os.path.join(tmp, "hello_httplib")
        t_ours = build([a.cxx, "-O2", "-std=c++20", "-I", os.path.join(ROOT, "single_include"),
                        os.path.join(ROOT, "examples", "hello.cpp"), "-o", ours, "-pthread"], a.runs)
        t_peer = build([a.cxx, "-O2", "-std=c++20", "-DCPPHTTPLIB_TCP_NODELAY=true",
                        os.path.join(ROOT, "bench", "plaintext_httplib.cpp"), "-o", peer,
                        "-lcpp-httplib", "-pthread"], a.runs)
        header_only = None
        if a.httplib_header:
            peer_ho = os.path.join(tmp, "hello_httplib_header_only")
            t_ho = build([a.cxx, "-O2", "-std=c++20", "-DCPPHTTPLIB_TCP_NODELAY=true", "-I", a.httplib_header,
                          os.path.join(ROOT, "bench", "plaintext_httplib.cpp"), "-o", peer_ho, "-pthread"], a.runs)
            header_only = (t_ho, stripped_size(peer_ho))
        s_ours = stripped_size(ours)
        s_peer = stripped_size(peer)
    lib = "/usr/lib/x86_64-linux-gnu/libcpp-httplib.so.0.11.4"
    lib_size = os.path.getsize(lib) if os.path.exists(lib) else 0
    print("hello example, %s -O2 -std=c++20, median of %d" % (a.cxx, a.runs))
    print("%-34s %10s %16s" % ("", "compile s", "stripped bytes"))
    print("%-34s %10.2f %16d" % ("porthole (single header)", t_ours, s_ours))
    print("%-34s %10.2f %16d  (+ %d shared library)" % ("cpp-httplib 0.11 (Debian, split)", t_peer, s_peer, lib_size))
    if header_only:
        print("%-34s %10.2f %16d" % ("cpp-httplib header-only (%s)" % os.path.basename(a.httplib_header.rstrip("/")),
                                      header_only[0], header_only[1]))
    print("ratio porthole / cpp-httplib 0.11 split: compile %.2fx, binary %.2fx (%.2fx counting its library)"
          % (t_ours / t_peer, s_ours / s_peer, s_ours / (s_peer + lib_size)))
    if header_only:
        print("ratio porthole / cpp-httplib header-only: compile %.2fx, binary %.2fx"
              % (t_ours / header_only[0], s_ours / header_only[1]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
