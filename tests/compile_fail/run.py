#!/usr/bin/env python3
"""Compile a file that must not compile; pass only if compilation fails with the expected message.

  run.py CASE.cpp --include DIR -- COMPILER [ARGS...]

The case's first line reads `// expect: TEXT`; TEXT must appear in the compiler's first error; or
`// expect here: TEXT`: the first error is reported at a line of the case itself (the user's code,
not a porthole header) and TEXT appears in it or in what the compiler quotes with it, before any
other diagnostic. No other error may follow it (a fatal error that stops the compiler aside), so a case that fails
for an unrelated reason (a typo, a missing header), buries porthole's message under other errors,
or follows it with misleading ones does not count as a pass. A second line `// std: c++17` compiles the case as
that standard instead of C++20; a second line `// g++ only: REASON` skips the case (exit 77, which meson shows
as skipped) under another compiler, for what only g++ reports as the case expects. A line `// then: TEXT` among
the next ones allows exactly one more error, which must contain TEXT: for a porthole assertion that follows the
user's own error on purpose, naming it.
"""
import re
import subprocess
import sys


def main(argv):
    sep = argv.index("--")
    case, rest, compiler = argv[0], argv[1:sep], argv[sep + 1:]
    include = rest[rest.index("--include") + 1]
    first = open(case, encoding="utf-8").readline()
    if not first.startswith(("// expect:", "// expect here:")):
        print("case lacks a '// expect:' or '// expect here:' first line", file=sys.stderr)
        return 1
    here = first.startswith("// expect here:")
    expected = first[len("// expect here:" if here else "// expect:"):].strip()
    second = open(case, encoding="utf-8").readlines()[1:2]
    then = next((line[len("// then:"):].strip() for line in open(case, encoding="utf-8").readlines()[1:4]
                 if line.startswith("// then:")), None)
    std = second[0][len("// std:"):].strip() if second and second[0].startswith("// std:") else "c++20"
    if second and second[0].startswith("// g++ only:"):
        version = subprocess.run(compiler + ["--version"], capture_output=True, text=True).stdout
        if "clang" in version or "Free Software Foundation" not in version:
            print("skipped, not g++:" + second[0][len("// g++ only:"):].rstrip())
            return 77
    cmd = compiler + ["-std=" + std, "-fsyntax-only", "-I", include, case]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    out = proc.stdout + proc.stderr
    if proc.returncode == 0:
        print("compiled, but must not: " + " ".join(cmd), file=sys.stderr)
        return 1
    lines = out.splitlines()
    errors = [line for line in lines if re.search(r"\berror\b", line)]
    if here:
        if not errors or not errors[0].startswith(case + ":"):
            print("the first error is not reported at the case's own line:\n%s" % out[-4000:], file=sys.stderr)
            return 1
        # the first error and what comes with it: quoted lines and notes, up to the next diagnostic
        start = lines.index(errors[0])
        block = [errors[0]]
        for line in lines[start + 1:]:
            if re.search(r"(^|: )(error|warning):", line):
                break
            block.append(line)
        if expected not in "\n".join(block):
            print("the first error does not come with the expected message %r:\n%s" % (expected, out[-4000:]),
                  file=sys.stderr)
            return 1
    elif not errors or expected not in errors[0]:
        print("the first error is not the expected message %r:\n%s" % (expected, out[-4000:]), file=sys.stderr)
        return 1
    # diagnostics only: not a source line the compiler quotes, nor clang's "N errors generated."
    more = [line for line in errors[1:] if re.search(r"(^|: )error:", line)]
    if then is not None:
        if len(more) != 1 or then not in more[0]:
            print("porthole's message must be followed by exactly one error with %r, not:\n%s" % (
                then, "\n".join(more[:10]) or "(none)"), file=sys.stderr)
            return 1
        more = []
    if more:
        print("porthole's message is followed by %d more errors:\n%s" % (len(more), "\n".join(more[:10])),
              file=sys.stderr)
        return 1
    print("fails to compile as expected: " + expected)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
