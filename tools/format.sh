#!/usr/bin/env bash
# The house style (.clang-format) over every C++ file in the repository but the generated single
# header: `tools/format.sh` rewrites them, `tools/format.sh --check` (run by tools/test.sh) lists
# the files that differ and fails.
set -uo pipefail
cd "$(dirname "$0")/.."
fmt=$(command -v clang-format || command -v clang-format-14) || { echo "clang-format not found (tools/setup.sh)"; exit 1; }
mapfile -t files < <(git ls-files '*.hpp' '*.cpp' '*.hpp.in' '*.cpp.in' | grep -v '^single_include/')
if [ "${1:-}" = "--check" ]; then
  # 40 files to a clang-format, two at a time: one process per file spent most of its time starting.
  out=$(printf '%s\n' "${files[@]}" | xargs -P 2 -n 40 "$fmt" --style=file --dry-run --Werror 2>&1)
  if [ $? -ne 0 ]; then
    bad=$(sed -n 's/^\(.*\):[0-9]*:[0-9]*: error: code should be clang-formatted.*/\1/p' <<<"$out" | sort -u)
    if [ -n "$bad" ]; then sed 's/^/not formatted: /' <<<"$bad"; else echo "$out"; fi
    exit 1
  fi
  echo "clang-format: ${#files[@]} files in the house style"
  exit 0
fi
"$fmt" --style=file -i "${files[@]}"
