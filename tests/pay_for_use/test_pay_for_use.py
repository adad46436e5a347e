#!/usr/bin/env python3
"""A program that uses none of a feature pays nothing for it: hello built with every header
porthole.hpp gathers (WebSocket, layers, compression, JSON, metrics' exposition, server-sent
events, templates...) defines no function or object of those features, and no more code than
hello built with server.hpp alone, beyond what the inliner decides differently in a larger
translation unit (a few small functions, bounded here by SLACK_BYTES).

  test_pay_for_use.py [--features-only] HELLO_ALL_HEADERS HELLO_SERVER_ONLY

--features-only: HELLO_ALL_HEADERS is built otherwise (the server compiled once, linked with
--gc-sections), so only the features' symbols are checked, not the count of bytes.
"""
import re
import subprocess
import sys

SLACK_BYTES = 2048
# Words that name a feature hello does not use (in namespaces, types or functions).
FEATURE = re.compile(r"ws::|websocket|sse::|event_hub|expvar|exposition|multipart|body_stream|cors|auth|rate_limit|"
                     r"request_id|security_headers|layer|compress|gzip|deflate|brotli|nlohmann|json|template|"
                     r"static_files|router|route<|cookie|form_|metrics::collect|write_prometheus|write_json|"
                     r"random_token|access_token|debug_vars|hub_subscriber|read_all", re.IGNORECASE)


def defined(path):
    out = subprocess.run(["nm", "-C", "-S", "--defined-only", path], check=True, capture_output=True,
                         text=True).stdout
    sizes = {}
    for line in out.splitlines():
        parts = line.split(" ", 3)
        if len(parts) < 4:
            continue  # a symbol without a size (section markers)
        name = re.sub(r"\[clone [^\]]*\]", "", parts[3]).strip()
        if name.startswith(("CSWTCH.", ".L")):
            continue  # numbered per translation unit, not per feature
        sizes[name] = sizes.get(name, 0) + int(parts[1], 16)
    return sizes


def main(args):
    features_only = "--features-only" in args
    args = [a for a in args if a != "--features-only"]
    everything, server_only = defined(args[0]), defined(args[1])
    if len(server_only) < 100:
        print(f"FAIL: {args[1]} has only {len(server_only)} symbols: stripped?")
        return 1
    extra = {name: size for name, size in everything.items() if name not in server_only}
    # libstdc++'s std::variant names a step of its own __variant_idx_cookie: not porthole's cookies.
    features = sorted(name for name in extra if FEATURE.search(name.replace("__variant_idx_cookie", "")))
    extra_bytes = sum(extra.values())
    for name in sorted(extra):
        print(f"  extra: {extra[name]:6} {name[:180]}")
    if features:
        print(f"FAIL: with every header, hello defines {len(features)} symbols of features it does not use")
        return 1
    if extra_bytes > SLACK_BYTES and not features_only:
        print(f"FAIL: with every header, hello defines {extra_bytes} more bytes (allowed {SLACK_BYTES})")
        return 1
    print(f"ok: {len(everything)} symbols with every header, {len(server_only)} with server.hpp alone, "
          f"{len(extra)} more ({extra_bytes} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
