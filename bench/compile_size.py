#!/usr/bin/env python3
"""Compile time and stripped binary size of two programs, porthole against its peers, in the same
run: the hello example, and the status page example.

  bench/compile_size.py [--runs 3] [--cxx g++] [--httplib-header DIR] [--crow-include DIR]

Each program is compiled with --cxx -O2 -std=c++20 -pthread into a binary, --runs times; the time
shown is the median, the size that of the binary after strip.

porthole, with its headers (-I include), as meson, CMake and pkg-config consumers compile it:
examples/hello.cpp (which includes serve.hpp), and examples/status_page.cpp (porthole.hpp) with
-DPORTHOLE_WITH_JSON=1 (nlohmann/json, as meson builds it). Twice: header-only, the default; and
compiled separately (serve.hpp, PORTHOLE_SEPARATE_COMPILATION), where the time shown is the
program's own file, and the implementation file (tests/separate_compilation/implementation.cpp),
which compiles serve() once for the program, is timed on a line of its own.
Its peers compile their own versions of the same programs: bench/plaintext_*.cpp for hello, and
bench/status_page_*.cpp for the status page (the same routes, page, JSON and events, from the same
examples/pages; bench/status_page_tool.hpp holds what porthole provides and they do not).

cpp-httplib, always: Debian's libcpp-httplib-dev 0.11, which is packaged in split mode: a
1,940-line header plus a 580 KB shared library, so its programs compile less code than
header-only cpp-httplib's do, and their binaries need the library beside them (both shown).
--httplib-header DIR: also header-only cpp-httplib (DIR/httplib.h, a release's single header).
--crow-include DIR: also Crow (DIR/crow.h, a release's include folder), over standalone Asio
(Debian's libasio-dev, which tools/setup.sh installs).
Both peers are kept outside this repository. Ratios are porthole's figure over the peer's.
"""
import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
HTTPLIB_SO = "/usr/lib/x86_64-linux-gnu/libcpp-httplib.so.0.11.4"
IMPLEMENTATION = os.path.join(ROOT, "tests", "separate_compilation", "implementation.cpp")
SEPARATE = "porthole, compiled separately"
# (name, porthole's source, cpp-httplib's, Crow's, porthole's own flags for it)
PROGRAMS = [("hello", "examples/hello.cpp", "bench/plaintext_httplib.cpp", "bench/plaintext_crow.cpp", []),
            ("status page", "examples/status_page.cpp", "bench/status_page_httplib.cpp", "bench/status_page_crow.cpp",
             ["-DPORTHOLE_WITH_JSON=1"])]


def build(cmd, runs):
    times = []
    for _ in range(runs):
        start = time.monotonic()
        done = subprocess.run(cmd, capture_output=True, text=True)
        times.append(time.monotonic() - start)
        if done.returncode != 0:
            sys.exit("failed: %s\n%s" % (" ".join(cmd), done.stderr[:4000]))
    return statistics.median(times)


def stripped_size(path):
    subprocess.run(["strip", path], check=True)
    return os.path.getsize(path)


def release_name(folder):
    """cpp-httplib-0.53 for /x/cpp-httplib-0.53, crow-v1.3.3 for /x/crow-v1.3.3/include."""
    folder = os.path.abspath(folder)
    if os.path.basename(folder) == "include":
        folder = os.path.dirname(folder)
    return os.path.basename(folder)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--cxx", default="g++")
    ap.add_argument("--httplib-header", default="", help="a folder holding header-only cpp-httplib's httplib.h")
    ap.add_argument("--crow-include", default="", help="Crow's include folder (the one holding crow.h)")
    a = ap.parse_args()
    common = [a.cxx, "-O2", "-std=c++20", '-DPORTHOLE_EXAMPLES_DIR="%s"' % os.path.join(ROOT, "examples")]
    httplib = ["-DCPPHTTPLIB_TCP_NODELAY=true"]
    include = ["-I", os.path.join(ROOT, "include")]
    separate = include + ["-DPORTHOLE_SEPARATE_COMPILATION"]
    # (label, flags before the source, flags after it, which source of PROGRAMS: 1 ours, 2 httplib, 3 Crow)
    builds = [("porthole, header-only", include, [], 1),
              (SEPARATE, separate, [], 1),
              ("cpp-httplib 0.11 (Debian, split)", httplib, ["-lcpp-httplib"], 2)]
    if a.httplib_header:
        builds.append(("cpp-httplib header-only (%s)" % release_name(a.httplib_header),
                       httplib + ["-I", a.httplib_header], [], 2))
    if a.crow_include:  # Crow defines ASIO_STANDALONE itself and finds <asio.hpp> in /usr/include
        builds.append(("Crow (%s)" % release_name(a.crow_include), ["-I", a.crow_include], [], 3))

    results = {}  # (program, label) -> (seconds, stripped bytes)
    with tempfile.TemporaryDirectory() as tmp:
        implementation = os.path.join(tmp, "implementation.o")
        implementation_seconds = build(common + separate + ["-c", IMPLEMENTATION, "-o", implementation], a.runs)
        for program in PROGRAMS:
            for n, (label, before, after, which) in enumerate(builds):
                out = os.path.join(tmp, "p%d" % n)
                own = program[4] if which == 1 else []
                source = os.path.join(ROOT, program[which])
                if label == SEPARATE:  # the program's file alone; linked with the implementation
                    seconds = build(common + own + before + ["-c", source, "-o", out + ".o"], a.runs)
                    subprocess.run([a.cxx, out + ".o", implementation, "-o", out, "-pthread"], check=True)
                else:
                    seconds = build(common + own + before + [source, "-o", out] + after + ["-pthread"], a.runs)
                results[(program[0], label)] = (seconds, stripped_size(out))
    lib_size = os.path.getsize(HTTPLIB_SO) if os.path.exists(HTTPLIB_SO) else 0

    print("%s -O2 -std=c++20, median of %d compilations; binaries stripped" % (a.cxx, a.runs))
    print("%-12s %-44s %10s %16s" % ("program", "", "compile s", "stripped bytes"))
    for program in PROGRAMS:
        for label, _, _, _ in builds:
            seconds, size = results[(program[0], label)]
            note = "  (+ %d shared library)" % lib_size if "split" in label else ""
            print("%-12s %-44s %10.2f %16d%s" % (program[0], label, seconds, size, note))
    print("%-12s %-44s %10.2f   (once for the program, whatever its files)"
          % ("", "porthole's implementation file", implementation_seconds))
    print("ratio porthole / peer (compile time, binary size):")
    for ours in (builds[0][0], SEPARATE):
        for program in PROGRAMS:
            t_ours, s_ours = results[(program[0], ours)]
            for label, _, _, which in builds:
                if which == 1:
                    continue
                seconds, size = results[(program[0], label)]
                note = " (%.2fx counting its library)" % (s_ours / (size + lib_size)) if "split" in label else ""
                print("%-12s %-30s / %-32s compile %.2fx, binary %.2fx%s"
                      % (program[0], ours, label, t_ours / seconds, s_ours / size, note))
    return 0


if __name__ == "__main__":
    sys.exit(main())
