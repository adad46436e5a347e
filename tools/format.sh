#!/usr/bin/env bash
# The house style (.clang-format) over every C++ file in the repository but the generated single
# header: `tools/format.sh` rewrites them, `tools/format.sh --check` (run by tools/test.sh) lists
# the files that differ and fails.
set -uo pipefail
cd "$(dirname "$0")/.."
fmt=$(command -v clang-format || command -v clang-format-14) || { echo "clang-format not found (tools/setup.sh)"; exit 1; }
mapfile -t files < <(git ls-files '*.hpp' '*.cpp' '*.hpp.in' '*.cpp.in' | grep -v '^single_include/')
if [ "${1:-}" = "--check" ]; then
  bad=0
  for f in "${files[@]}"; do
    if ! "$fmt" --style=file "$f" | cmp -s - "$f"; then echo "not formatted: $f"; bad=1; fi
  done
  [ "$bad" -eq 0 ] && echo "clang-format: ${#files[@]} files in the house style"
  exit "$bad"
fi
"$fmt" --style=file -i "${files[@]}"
