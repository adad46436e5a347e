#!/usr/bin/env bash
# Builds the libFuzzer targets of tests/fuzz/ with ASan and UBSan, replays their saved inputs,
# then fuzzes each for a bounded time. Exits non-zero if any target crashes or fails a check;
# the input that did it is left in BUILD_DIR/crashes/TARGET/.
#
#   tools/fuzz.sh [BUILD_DIR] [TARGET...]     BUILD_DIR defaults to build-fuzz
#
# Environment:
#   FUZZ_SECONDS   fuzzing time per target (default 60; 0: build and replay only)
#   FUZZ_FORK      run N fuzzing processes per target (libFuzzer -fork=N; default: one)
#   FUZZ_ARGS      more libFuzzer flags, e.g. "-only_ascii=1"
#   PORTHOLE_EXTRA_CORPUS  a folder of extra request corpora (tests/corpus/README.md) to seed from too
#   CXX            a clang++ with libFuzzer (default: clang++, else clang++-14)
# See docs/fuzzing.md.
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

build_dir=build-fuzz
if [ $# -gt 0 ] && [[ $1 != fuzz_* ]]; then
  build_dir=$1
  shift
fi
if ! mkdir -p "$build_dir" || ! build_dir=$(cd "$build_dir" && pwd) || [ -z "$build_dir" ]; then
  echo "fuzz: cannot use $build_dir as the build folder" >&2
  exit 2
fi

seconds=${FUZZ_SECONDS:-60}
corpora=("$root/tests/corpus")
[ -n "${PORTHOLE_EXTRA_CORPUS:-}" ] && corpora+=("$PORTHOLE_EXTRA_CORPUS")

# ---- the targets: one tests/fuzz/NAME.cpp each
targets=(
  fuzz_parser
  fuzz_parser_split
  fuzz_chunked
  fuzz_connection
  fuzz_url
  fuzz_cookie_form_multipart
  fuzz_template
  fuzz_router
  fuzz_websocket
  fuzz_tls
  fuzz_kit
)
# Targets for headers that are not always there yet: each joins the list above once both its
# source and the header it needs exist (NAME:HEADER). None at the moment.
later_targets=(
)
for entry in ${later_targets[@]+"${later_targets[@]}"}; do
  name=${entry%%:*} header=${entry#*:}
  [ -f "tests/fuzz/$name.cpp" ] && [ -f "include/porthole/$header" ] && targets+=("$name")
done
if [ $# -gt 0 ]; then
  targets=("$@")
fi

# ---- the compiler
find_cxx() {
  local candidates=() c
  [ -n "${CXX:-}" ] && candidates+=("$CXX")
  candidates+=(clang++ clang++-14)
  local probe
  probe=$(mktemp -d)
  printf 'extern "C" int LLVMFuzzerTestOneInput(const unsigned char*, unsigned long) { return 0; }\n' >"$probe/p.cpp"
  for c in "${candidates[@]}"; do
    if command -v "$c" >/dev/null 2>&1 &&
       "$c" -fsanitize=fuzzer,address,undefined "$probe/p.cpp" -o "$probe/p" >/dev/null 2>&1; then
      rm -rf "$probe"
      echo "$c"
      return 0
    fi
  done
  rm -rf "$probe"
  return 1
}
if ! cxx=$(find_cxx); then
  echo "fuzz: no clang++ that links -fsanitize=fuzzer (install clang and libclang-rt-14-dev: tools/setup.sh --deps-only)" >&2
  exit 2
fi
flags=(-std=c++20 -gline-tables-only -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined
       -I include -Wall -Wextra)

# A target is rebuilt when any header, fuzz source or test driver is newer than it.
sources=(include/porthole/*.hpp include/porthole/detail/*.hpp tests/fuzz/*.hpp tests/fuzz/*.cpp tests/*.hpp)
needs_build() {
  local bin=$1 f
  [ -x "$bin" ] || return 0
  for f in "${sources[@]}"; do
    [ "$f" -nt "$bin" ] && return 0
  done
  return 1
}

# ---- seeds made at run time from the request corpora, in each target's input layout
make_corpus_seeds() {
  local out=$1
  # FUZZ_KEEP_SEEDS: an earlier run made them; runs side by side must not remake them.
  [ -n "${FUZZ_KEEP_SEEDS:-}" ] && [ -d "$out" ] && return 0
  rm -rf "$out"
  mkdir -p "$out"
  python3 - "$out" "${corpora[@]}" <<'PY'
import os, re, sys
out, corpora = sys.argv[1], sys.argv[2:]
def put(target, name, data):
    d = os.path.join(out, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), 'wb') as f:
        f.write(data)
instant = (784111777).to_bytes(8, 'little')
for corpus, sub in [(c, s) for c in corpora for s in ('realistic', 'hostile')]:
    folder = os.path.join(corpus, sub)
    if not os.path.isdir(folder):
        continue
    for name in sorted(os.listdir(folder)):
        if not name.endswith('.http'):
            continue
        raw = open(os.path.join(folder, name), 'rb').read()
        put('fuzz_parser', name, raw)
        put('fuzz_parser_split', name, b'\x00' + raw)
        put('fuzz_parser_split', name + '.cuts', b'\x1c\x01\x05\x07\x03\x11\x02\x09' + raw)
        put('fuzz_parser_split', name + '.small', b'\x5d' + raw)
        put('fuzz_connection', name, b'\x00\x00' + raw)
        put('fuzz_connection', name + '.steps', b'\x08\x03\x10\x50\x05\xfd\x40\x02' + raw)
        # with streamed routes, the request's target moved under one ("/up...")
        put('fuzz_connection', name + '.streamed', b'\x48\x03\x10\x50\x05\xfd\x40\x02' + raw.replace(b' /', b' /up', 1))
        head, sep, body = raw.partition(b'\r\n\r\n')
        if re.search(rb'(?i)transfer-encoding:[^\r\n]*chunked', head) and sep:
            put('fuzz_chunked', name, b'\x00' + body)
            put('fuzz_chunked', name + '.pieces', b'\x0c\x03\x00\x07' + body)
        line = head.split(b'\r\n', 1)[0].split(b' ')
        if len(line) >= 2:
            put('fuzz_url', name, line[1])
        for field in head.split(b'\r\n')[1:]:
            key, _, value = field.partition(b':')
            key, value = key.strip().lower(), value.strip()
            if key == b'cookie' or key.endswith(b'-since') or key == b'date':
                put('fuzz_cookie_form_multipart', name + '.' + key.decode(), b'\x00' + instant + value)
            if key == b'content-type' and value.lower().startswith(b'multipart/'):
                put('fuzz_cookie_form_multipart', name + '.ct', b'\x00' + instant + value)
                m = re.search(rb'boundary="?([^";]+)', value)
                if m and len(m.group(1)) < 72:
                    b = m.group(1)
                    put('fuzz_cookie_form_multipart', name + '.body', bytes([len(b)]) + b + instant + body)
PY
}

# ---- build, replay, fuzz
status=0
summary=()
corpus_seeds=$build_dir/seeds-corpus
make_corpus_seeds "$corpus_seeds" || echo "fuzz: could not make seeds from the request corpora"
echo "fuzz: $cxx, ${seconds}s per target, into $build_dir"

for t in "${targets[@]}"; do
  bin=$build_dir/$t
  if [ ! -f "tests/fuzz/$t.cpp" ]; then
    echo "fuzz: no tests/fuzz/$t.cpp" >&2
    status=1
    summary+=("$t: MISSING")
    continue
  fi
  if needs_build "$bin"; then
    echo "=== build $t"
    libs=()
    [ "$t" = fuzz_tls ] && libs=(-lssl -lcrypto)  # the one target that needs OpenSSL
    [ "$t" = fuzz_kit ] && libs=(-DPORTHOLE_WITH_ZLIB=1 -DPORTHOLE_WITH_BROTLI=1 -lz -lbrotlienc -lbrotlidec)
    if ! "$cxx" "${flags[@]}" "tests/fuzz/$t.cpp" -o "$bin" "${libs[@]}"; then
      status=1
      summary+=("$t: BUILD FAILED")
      continue
    fi
  fi

  crashes=$build_dir/crashes/$t
  work=$build_dir/corpus/$t  # new inputs land here; tests/fuzz/corpus/$t is the saved corpus
  mkdir -p "$crashes" "$work"
  inputs=()
  for d in "tests/fuzz/corpus/$t" "tests/fuzz/regressions/$t" "tests/fuzz/seeds/$t" "$corpus_seeds/$t"; do
    [ -d "$d" ] && [ -n "$(ls -A "$d" 2>/dev/null)" ] && inputs+=("$d")
  done
  max_len=65536
  # The url helpers and the router have no size limits to reach: long inputs only slow them.
  [ "$t" = fuzz_url ] && max_len=8192
  [ "$t" = fuzz_router ] && max_len=4096
  common=(-dict=tests/fuzz/http.dict -max_len=$max_len -rss_limit_mb=2048 -timeout=10
          "-artifact_prefix=$crashes/" -print_final_stats=1)
  # shellcheck disable=SC2206
  extra=(${FUZZ_ARGS:-})
  log=$build_dir/$t.log

  echo "=== replay $t (${inputs[*]:-no saved inputs})"
  if ! "$bin" "${common[@]}" "${extra[@]}" -runs=0 "$work" "${inputs[@]}" >"$log" 2>&1; then
    tail -n 40 "$log"
    status=1
    summary+=("$t: FAILED on a saved input; see $log and $crashes/")
    continue
  fi

  if [ "$seconds" -gt 0 ]; then
    echo "=== fuzz $t for ${seconds}s"
    fork=()
    [ -n "${FUZZ_FORK:-}" ] && fork=("-fork=$FUZZ_FORK" -ignore_crashes=0)
    if ! "$bin" "${common[@]}" "${extra[@]}" "${fork[@]}" -max_total_time="$seconds" "$work" "${inputs[@]}" >"$log" 2>&1; then
      grep -E "ERROR|SUMMARY|check failed|runtime error|Test unit written" "$log" | head -n 20
      status=1
      found=$(ls -t "$crashes" 2>/dev/null | head -n 1)
      summary+=("$t: FAILED, input saved as $crashes/${found:-?}; log $log")
      continue
    fi
  fi

  execs=$(grep -o 'stat::number_of_executed_units:[[:space:]]*[0-9]*' "$log" | tail -n 1 | grep -o '[0-9]*$')
  rate=$(grep -o 'stat::average_exec_per_sec:[[:space:]]*[0-9]*' "$log" | tail -n 1 | grep -o '[0-9]*$')
  cov=$(grep -oE 'cov: [0-9]+ ft: [0-9]+ corp: [0-9]+' "$log" | tail -n 1)
  summary+=("$t: ok, ${execs:-0} execs (${rate:-0}/s), ${cov:-no coverage line}")
done

echo
echo "=== fuzz summary"
printf '%s\n' "${summary[@]}"
exit $status
