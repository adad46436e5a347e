#!/usr/bin/env python3
"""Each header pulls in only what its layer may use: the engine knows no HTTP header, the
lowest HTTP headers stay free of the heavy standard headers, and the small ones include
nothing of porthole's but the language check every public header makes first. Reads the
preprocessor's own dependency list (COMPILER -M), and each public header's first #include: the
language check must come before anything a C++17 compiler would choke on.

  include_hygiene.py INCLUDE_DIR -- COMPILER [ARGS...]
"""
import pathlib
import subprocess
import sys
import tempfile

HTTP = ["porthole/http.hpp", "porthole/parse_error.hpp", "porthole/detail/field_line.hpp", "porthole/chunked.hpp",
        "porthole/parser.hpp", "porthole/request.hpp", "porthole/response.hpp", "porthole/connection.hpp",
        "porthole/router.hpp", "porthole/detail/route_trie.hpp"]
HEAVY = ["<chrono>", "<functional>", "<thread>", "<filesystem>", "<sstream>", "<iostream>", "<fstream>",
         "<regex>", "<locale>", "<future>"]
ANY_PORTHOLE = ["porthole/"]
LANGUAGE_CHECK = "porthole/detail/cxx20.hpp"  # preprocessor lines alone, first in every public header
# Helpers of the standard library's kind, which the small headers may share: they include nothing
# of porthole's themselves (a rule below).
STANDALONE = ["porthole/detail/utf8.hpp"]

# header: what it must not pull in, directly or through another header
RULES = {
    "porthole/detail/sys.hpp": HTTP,
    "porthole/detail/poller.hpp": HTTP,
    "porthole/detail/engine_shared.hpp": HTTP,
    "porthole/detail/loop_timers.hpp": HTTP,
    "porthole/detail/event_loop.hpp": HTTP,
    "porthole/detail/engine.hpp": HTTP,
    "porthole/detail/client_affinity.hpp": HEAVY + ANY_PORTHOLE,
    "porthole/mailbox.hpp": HTTP,
    "porthole/http.hpp": HEAVY,
    "porthole/parse_error.hpp": HEAVY,
    "porthole/detail/field_line.hpp": HEAVY,
    "porthole/chunked.hpp": HEAVY,
    "porthole/parser.hpp": HEAVY,
    "porthole/url.hpp": HEAVY,
    "porthole/html.hpp": HEAVY + ANY_PORTHOLE,
    "porthole/unique_fd.hpp": HEAVY + ANY_PORTHOLE,
    "porthole/json_string.hpp": HEAVY + ANY_PORTHOLE,
    "porthole/detail/utf8.hpp": HEAVY + ANY_PORTHOLE,
    # What a server is told knows nothing of how the engine does it.
    "porthole/options.hpp": ["porthole/detail/sys.hpp", "porthole/detail/engine.hpp", "porthole/detail/event_loop.hpp"],
    "porthole/command_line.hpp": ["porthole/detail/sys.hpp", "porthole/detail/engine.hpp",
                                  "porthole/detail/event_loop.hpp"],
    # serve() compiled once elsewhere: a file that calls it compiles none of the server.
    "porthole/serve.hpp -DPORTHOLE_SEPARATE_COMPILATION": [
        "porthole/server.hpp", "porthole/connection.hpp", "porthole/detail/engine.hpp",
        "porthole/detail/event_loop.hpp", "porthole/detail/sys.hpp"],
}


def dependencies(compiler, include, header_and_flags):
    header, *flags = header_and_flags.split()
    with tempfile.NamedTemporaryFile("w", suffix=".cpp") as src:
        src.write("#include <%s>\n" % header)
        src.flush()
        out = subprocess.run(compiler + ["-std=c++20", "-M", "-I", include] + flags + [src.name],
                             capture_output=True, text=True, check=True).stdout
    return [d for d in out.replace("\\\n", " ").split()[2:]]


def offends(dep, banned, header):
    if banned.startswith("<"):
        return dep.endswith("/" + banned[1:-1])
    if dep.endswith("/" + header) or dep.endswith("/" + LANGUAGE_CHECK):
        return False
    if any(dep.endswith("/" + helper) for helper in STANDALONE):
        return False
    return ("/" + banned) in dep if banned.endswith("/") else dep.endswith("/" + banned)


def first_include(header):
    for line in header.read_text().splitlines():
        if line.startswith("#include"):
            return line.split(None, 1)[1].strip()
    return None


def main(argv):
    sep = argv.index("--")
    include, compiler = argv[0], argv[sep + 1:]
    failures = 0
    public = sorted(pathlib.Path(include, "porthole").glob("*.hpp"))
    late = [h.name for h in public if first_include(h) != "<%s>" % LANGUAGE_CHECK]
    if not public or late:
        failures += 1
        print("FAIL first include is not <%s> in: %s" % (LANGUAGE_CHECK, ", ".join(late) or "no header found"))
    else:
        print("ok   %d public headers include <%s> first" % (len(public), LANGUAGE_CHECK))
    for header, banned in RULES.items():
        deps = dependencies(compiler, include, header)
        bad = sorted({b for d in deps for b in banned if offends(d, b, header.split()[0])})
        if bad:
            failures += 1
            print("FAIL %s pulls in %s" % (header, ", ".join(bad)))
        else:
            print("ok   %s" % header)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
