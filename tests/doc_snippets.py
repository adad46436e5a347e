#!/usr/bin/env python3
"""Compile and run every complete C++ snippet (a ```cpp block with `int main`) in docs/*.md.

  doc_snippets.py DOCS_DIR INCLUDE_DIR -- COMPILER [ARGS...]

Blocks without main or without an #include are fragments and are skipped; one that includes
porthole/tls.hpp links OpenSSL. A snippet passes when
it compiles with -std=c++20 -Wall -Wextra -Werror and its program exits 0; one that contains
`// compile-only` (a server, say) is only compiled; `// link: -lz` lines add to the link.

With g++, a header that several snippets include first is parsed once, into a precompiled header
that g++ finds beside where it looks for the header (the same text under the same flags, so a
snippet compiles exactly as without it); most of a snippet's time is that parsing.
"""
import collections
import concurrent.futures
import os
import pathlib
import re
import subprocess
import sys
import tempfile

FLAGS = ["-std=c++20", "-Wall", "-Wextra", "-Werror", "-pthread"]


def first_include(block):
    """The header a snippet includes before anything else (`porthole/porthole.hpp`), or None."""
    for line in block.splitlines():
        line = line.strip()
        if line and not line.startswith("//"):
            m = re.fullmatch(r"#include <(porthole/[a-z_/]+\.hpp)>", line)
            return m.group(1) if m else None
    return None


def precompile(headers, include, compiler, directory):
    """Precompiles each header into DIRECTORY/HEADER.gch; returns the headers that compiled."""
    done = []
    for header in headers:
        wrapper = pathlib.Path(directory) / ("wrap_" + header.replace("/", "_"))
        wrapper.write_text("#include <%s>\n" % header, encoding="utf-8")
        out = pathlib.Path(directory) / "pch" / (header + ".gch")
        out.parent.mkdir(parents=True, exist_ok=True)
        cmd = compiler + FLAGS + ["-I", include, "-x", "c++-header", str(wrapper), "-o", str(out)]
        if subprocess.run(cmd, capture_output=True).returncode == 0:
            done.append(header)
    return done


def check(name, block, include, compiler, pch=None):
    """Compiles (and unless compile-only, runs) one snippet; returns (failed, report)."""
    with tempfile.TemporaryDirectory() as tmp:
        src = pathlib.Path(tmp) / "snippet.cpp"
        exe = pathlib.Path(tmp) / "snippet"
        src.write_text(block, encoding="utf-8")
        libraries = [a for line in re.findall(r"^// link: (.*)$", block, re.M) for a in line.split()]
        cmd = compiler + FLAGS + (["-I", pch] if pch else []) + ["-I", include, str(src), "-o", str(exe)] + libraries
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
    with tempfile.TemporaryDirectory() as shared:
        first = [first_include(block) for _, block in snippets]
        firsts = collections.Counter(first)
        gnu = "g++" in pathlib.Path(compiler[0]).name
        common = {h for h, n in firsts.items() if h and n >= 3} if gnu else set()
        pch = str(pathlib.Path(shared) / "pch")
        # One compiler per core: the snippets are independent, and each compile is most of the time.
        # The headers are precompiled while the snippets that do not start with one compile.
        with concurrent.futures.ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
            precompiling = pool.submit(precompile, sorted(common), include, compiler, shared)
            futures = {i: pool.submit(check, name, block, include, compiler)
                       for i, (name, block) in enumerate(snippets) if first[i] not in common}
            precompiled = set(precompiling.result())
            for i, (name, block) in enumerate(snippets):
                if i not in futures:
                    futures[i] = pool.submit(check, name, block, include, compiler,
                                             pch if first[i] in precompiled else None)
            results = [futures[i].result() for i in range(len(snippets))]
    failures = 0
    for failed, report in results:
        failures += failed
        print(report)
    print("%d snippets, %d failed" % (len(snippets), failures))
    return 1 if failures or not snippets else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
