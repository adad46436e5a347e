#!/usr/bin/env python3
"""Compile time and stripped binary size of the hello example, porthole against cpp-httplib,
in the same run.

  bench/compile_size.py [--runs 3] [--cxx g++]

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
    a = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        ours = os.path.join(tmp, "hello_porthole")
        peer = os.path.join(tmp, "hello_httplib")
        t_ours = build([a.cxx, "-O2", "-std=c++20", "-I", os.path.join(ROOT, "single_include"),
                        os.path.join(ROOT, "examples", "hello.cpp"), "-o", ours, "-pthread"], a.runs)
        t_peer = build([a.cxx, "-O2", "-std=c++20", "-DCPPHTTPLIB_TCP_NODELAY=true",
                        os.path.join(ROOT, "bench", "plaintext_httplib.cpp"), "-o", peer,
                        "-lcpp-httplib", "-pthread"], a.runs)
        s_ours = stripped_size(ours)
        s_peer = stripped_size(peer)
    lib = "/usr/lib/x86_64-linux-gnu/libcpp-httplib.so.0.11.4"
    lib_size = os.path.getsize(lib) if os.path.exists(lib) else 0
    print("hello example, %s -O2 -std=c++20, median of %d" % (a.cxx, a.runs))
    print("%-34s %10s %16s" % ("", "compile s", "stripped bytes"))
    print("%-34s %10.2f %16d" % ("porthole (single header)", t_ours, s_ours))
    print("%-34s %10.2f %16d  (+ %d shared library)" % ("cpp-httplib 0.11 (Debian, split)", t_peer, s_peer, lib_size))
    print("ratio porthole / cpp-httplib: compile %.2fx, binary %.2fx (%.2fx counting its library)"
          % (t_ours / t_peer, s_ours / s_peer, s_ours / (s_peer + lib_size)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
