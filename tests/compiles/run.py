#!/usr/bin/env python3
"""Compile a file that must compile with the flags its first line names; pass when it does.

  run.py CASE.cpp --include DIR -- COMPILER [ARGS...]

The case's first line reads `// flags: FLAG...`: compiler flags beside -std=c++20 (a sanitizer,
say, under which a compiler may evaluate constant expressions differently). The object code is
thrown away: only that it compiles is checked.
"""
import os
import subprocess
import sys
import tempfile


def main(argv):
    sep = argv.index("--")
    case, rest, compiler = argv[0], argv[1:sep], argv[sep + 1:]
    include = rest[rest.index("--include") + 1]
    first = open(case, encoding="utf-8").readline()
    if not first.startswith("// flags:"):
        print("case lacks a '// flags:' first line", file=sys.stderr)
        return 1
    flags = first[len("// flags:"):].split()
    with tempfile.TemporaryDirectory() as tmp:
        cmd = compiler + ["-std=c++20", *flags, "-I", include, "-c", case, "-o", os.path.join(tmp, "case.o")]
        run = subprocess.run(cmd, capture_output=True, text=True)
    if run.returncode != 0:
        print(" ".join(cmd), file=sys.stderr)
        print(run.stderr[:20000], file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
