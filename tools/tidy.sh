#!/usr/bin/env bash
# clang-tidy with the repository's .clang-tidy (bugs and performance) over porthole's headers, as
# programs instantiate them: a translation unit with every header (HTTPS, JSON, compression on)
# and the two examples that use the most of them. Fails on any finding in include/porthole/; the
# examples' own code is not judged here.
#
#   tools/tidy.sh
set -uo pipefail
cd "$(dirname "$0")/.."
tidy=$(command -v clang-tidy || command -v clang-tidy-14) || { echo "clang-tidy not found (tools/setup.sh)"; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cat >"$tmp/everything.cpp" <<'CPP'
#include <porthole/porthole.hpp>
#include <porthole/tls.hpp>
int main() {}
CPP
flags=(-std=c++20 -Iinclude -DPORTHOLE_WITH_JSON -DPORTHOLE_WITH_ZLIB -DPORTHOLE_WITH_BROTLI -DPORTHOLE_WITH_TLS
       '-DPORTHOLE_EXAMPLES_DIR="examples"')
printf '%s\n' "$tmp/everything.cpp" examples/rest_api.cpp examples/status_page.cpp |
  xargs -P 2 -I{} "$tidy" --quiet --config-file=.clang-tidy {} -- "${flags[@]}" \
    >"$tmp/out" 2>&1
if grep -E "include/porthole/.*(warning|error):" "$tmp/out"; then
  echo "clang-tidy: findings in porthole's headers (above)"
  exit 1
fi
if grep -q "clang-diagnostic-error" "$tmp/out"; then
  grep "clang-diagnostic-error" "$tmp/out" | head -20
  echo "clang-tidy: a translation unit did not compile"
  exit 1
fi
echo "clang-tidy: no finding in include/porthole/ ($(grep -c . .clang-tidy) lines of .clang-tidy)"
