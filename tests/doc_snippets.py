#!/usr/bin/env python3
"""Compile and run every complete C++ snippet (a ```cpp block with `int main`) in docs/*.md.

  doc_snippets.py DOCS_DIR INCLUDE_DIR -- COMPILER [ARGS...]

Blocks without main or without an #include are fragments and are skipped; one that includes
porthole/tls.hpp links OpenSSL. A snippet passes when
it compiles with -std=c++20 -Wall -Wextra -Werror and its program exits 0; one that contains
`// compile-only` (a server, say) is only compiled; `// link: -lz` lines add to the link.
"""
import pathlib
import re
import subprocess
import sys
import tempfile


def main(argv):
    sep = argv.index("--")
    docs, include = pathlib.Path(argv[0]), argv[1]
    compiler = argv[sep + 1:]
    failures = 0
    count = 0
    for md in sorted(docs.glob("*.md")):
        for i, block in enumerate(re.findall(r"```cpp\n(.*?)```", md.read_text(encoding="utf-8"), re.S)):
            if "int main" not in block or "#include" not in block:
                continue
            count += 1
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
                name = "%s snippet %d" % (md.name, i + 1)
                if proc.returncode != 0:
                    failures += 1
                    print("FAIL %s: does not compile\n%s" % (name, proc.stderr[-3000:]))
                    continue
                if "// compile-only" in block:
                    print("ok   %s (compiled)" % name)
                    continue
                run = subprocess.run([str(exe)], capture_output=True, text=True, timeout=60, cwd=tmp)
                if run.returncode != 0:
                    failures += 1
                    print("FAIL %s: exit %d\n%s%s" % (name, run.returncode, run.stdout[-2000:], run.stderr[-2000:]))
                    continue
                print("ok   %s" % name)
    print("%d snippets, %d failed" % (count, failures))
    return 1 if failures or count == 0 else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
