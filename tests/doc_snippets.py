#!/usr/bin/env python3
"""Compile and run every complete C++ snippet (a ```cpp block with `int main`) in docs/*.md.

  doc_snippets.py DOCS_DIR INCLUDE_DIR -- COMPILER [ARGS...]

Blocks without main or without an #include are fragments and are skipped; one that includes
porthole/tls.hpp links OpenSSL. A snippet passes when
it compiles with -std=c++20 -Wall -Wextra -Werror and its program exits 0; one that contains
`// compile-only` (a server, say) is only compiled; `// link: -lz` lines add to the link.
"""
import concurrent.futures
import os
import pathlib
import re
import subprocess
import sys
import tempfile


def check(name, block, include, compiler):
    """Compiles (and unless compile-only, runs) one snippet; returns (failed, report)."""
    with tempfile.TemporaryDirectory() as tmp:
        src = pathlib.Path(tmp) / "snippet.cpp"
        exe = pathlib.Path(tmp) / "snippet"
        src.write_text(block, encoding="utf-8")
        libraries = [a for line in re.findall(r"^// link: (.*)$", block, re.M) for a in line.split()]
        cmd = compiler + ["-std=c++20", "-Wall", "-Wextra", "-Werror", "-I", include, str(src),
                          "-o", str(exe), "-pthread"] + libraries
        if "porthole/tls.hpp" in block:
            cmd += ["-lssl", "-lcrypto"]
        proc = subprocess.run(cmd, capture_output=True, text=True)
        if proc.returncode != 0:
            return True, "FAIL %s: does not compile\n%s" % (name, proc.stderr[-3000:])
        if "// compile-only" in block:
            return False, "ok   %s (compiled)" % name
        run = subprocess.run([str(exe)], capture_output=True, text=True, timeout=60, cwd=tmp)
        if run.returncode != 0:
            return True, "FAIL %s: exit %d\n%s%s" % (name, run.returncode, run.stdout[-2000:], run.stderr[-2000:])
        return False, "ok   %s" % name


def main(argv):
    sep = argv.index("--")
    docs, include = pathlib.Path(argv[0]), argv[1]
    compiler = argv[sep + 1:]
    snippets = []
    for md in sorted(docs.glob("*.md")):
        for i, block in enumerate(re.findall(r"```cpp\n(.*?)```", md.read_text(encoding="utf-8"), re.S)):
            if "int main" in block and "#include" in block:
                snippets.append(("%s snippet %d" % (md.name, i + 1), block))
    # One compiler per core: the snippets are independent, and each compile is most of the time.
    with concurrent.futures.ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
        results = list(pool.map(lambda s: check(s[0], s[1], include, compiler), snippets))
    failures = 0
    for failed, report in results:
        failures += failed
        print(report)
    print("%d snippets, %d failed" % (len(snippets), failures))
    return 1 if failures or not snippets else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
