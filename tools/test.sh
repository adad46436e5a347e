#!/usr/bin/env bash
# Quick start, step two: run every test. Builds with g++, with clang++, and with
# ASan+UBSan, runs the suite in each, and checks the generated single header.
set -uo pipefail
cd "$(dirname "$0")/.."
tools/setup.sh --deps-only

passed=0
failed=0
step() {  # step NAME COMMAND...: run, count, keep going
  local name=$1; shift
  local start=$SECONDS
  echo "=== $name"
  if "$@"; then passed=$((passed + 1)); else failed=$((failed + 1)); echo "FAILED: $name"; fi
  echo "--- $name: $((SECONDS - start)) s"
}

single_header() {  # single_header CXX [RUNNER [LINK ARGUMENTS...]]
  local cxx=$1 run=${2:-} tmp
  shift $(($# < 2 ? $# : 2))
  tmp=$(mktemp -d)
  cat >"$tmp/x.cpp" <<'CPP'
#include <porthole/porthole.hpp>
int main() { return porthole::to_int(porthole::status::ok) == 200 ? 0 : 1; }
CPP
  "$cxx" -std=c++20 -Wall -Wextra -Werror -I single_include "$tmp/x.cpp" -o "$tmp/x.exe" -pthread "$@" && $run "$tmp/x.exe"
  local rc=$?
  rm -rf "$tmp"
  return $rc
}

suite() {  # suite DIR CXX TEST_SCOPE [meson options...]
  # TEST_SCOPE "all"; "unit": without the suites that drive real clients and load over sockets,
  # which need running once, in an optimized build, not under every compiler, nor the docs'
  # snippets (compiled with g++ in "all").
  local dir=$1 cxx=$2 scope=$3; shift 3
  if [ ! -d "$dir" ]; then  # the benchmarks (and their allocation checks) build once, in "all"
    local bench=false
    [ "$scope" = all ] && bench=true
    CXX=$cxx meson setup "$dir" -Dbenchmarks=$bench "$@" >/dev/null || return 1
  fi
  ninja -C "$dir" >/dev/null || { ninja -C "$dir"; return 1; }
  local skip=()
  [ "$scope" != all ] && skip=(--no-suite clients --no-suite hardening --no-suite docs)
  meson test -C "$dir" --print-errorlogs --num-processes 2 "${skip[@]}" ${MESON_TEST_ARGS:-}
}

tsan_suite() {  # the server and threading tests under ThreadSanitizer
  local dir=build-ci/tsan
  if [ ! -d "$dir" ]; then
    CXX=clang++ meson setup "$dir" -Db_sanitize=thread -Db_lundef=false -Dbuildtype=plain -Doptimization=0 \
      -Db_ndebug=false -Dcpp_args=-gline-tables-only -Dexamples=false >/dev/null || return 1
  fi
  ninja -C "$dir" tests/test_server tests/test_server_stepping tests/test_server_poll tests/test_connection tests/test_connection_storage tests/test_connection_own_answers tests/test_responder \
    tests/test_stream tests/test_sse tests/test_event_hub tests/test_mailbox tests/test_worker_pool tests/test_blocking tests/test_tls_server tests/test_tls_server_output tests/test_metrics tests/test_listeners \
    tests/test_layer tests/test_rate_limit tests/test_layers_later tests/test_body_stream tests/test_body_stream_multipart tests/test_websocket tests/test_websocket_sockets \
    tests/test_client_affinity >/dev/null || return 1
  TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1" \
    meson test -C "$dir" --no-rebuild --print-errorlogs server server_stepping server_poll connection connection_storage connection_own_answers responder stream sse event_hub mailbox worker_pool blocking \
      tls_server tls_server_output metrics listeners layer rate_limit layers_later body_stream body_stream_multipart websocket websocket_sockets client_affinity
}

windows_cross() {  # MinGW-w64 build for Windows (tools/mingw-w64.ini), run under Wine
  local dir=build-ci/windows out rc=0 pid port i
  export WINEPREFIX=$PWD/build-ci/wine WINEDEBUG=-all
  if [ ! -d "$dir" ]; then
    meson setup "$dir" --cross-file tools/mingw-w64.ini -Dbenchmarks=false -Dwerror=true >/dev/null || return 1
  fi
  ninja -C "$dir" >/dev/null || { ninja -C "$dir"; return 1; }
  single_header x86_64-w64-mingw32-g++-posix wine -static -lws2_32 || { echo "single header alone, MinGW-w64: failed"; return 1; }
  meson test -C "$dir" --no-rebuild --print-errorlogs || rc=1
  # hello.exe under Wine, fetched by curl from Linux; Ctrl+C (SIGINT, which Wine turns into a
  # console control event) stops it with status 0.
  out=$(mktemp)
  wine "$dir/examples/hello.exe" --port 0 --threads 2 >"$out" 2>&1 &
  pid=$!
  for i in $(seq 1 100); do
    port=$(sed -n 's|^listening on http://127.0.0.1:\([0-9]*\)/.*|\1|p' "$out")
    [ -n "$port" ] && break
    sleep 0.2
  done
  if [ -z "$port" ] || [ "$(curl -sS "http://127.0.0.1:$port/")" != "Hello, World!" ] ||
     [ "$(curl -sS -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/missing")" != 404 ]; then
    echo "hello.exe under Wine did not serve:"; cat "$out"; rc=1
  fi
  kill -INT "$pid" 2>/dev/null
  for i in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
  if kill -0 "$pid" 2>/dev/null; then
    echo "hello.exe did not stop on Ctrl+C"; kill -KILL "$pid"; rc=1
  fi
  wait "$pid" || { echo "hello.exe exited with $?"; cat "$out"; rc=1; }
  rm -f "$out"
  wineserver -k 2>/dev/null
  return $rc
}

fuzz_all() {  # the seeds once, then two runners side by side (one per core), each building,
  # replaying and fuzzing its half of the targets
  local s=${FUZZ_SECONDS:-20} dir=build-ci/fuzz a b
  mkdir -p "$dir"
  FUZZ_SECONDS=0 tools/fuzz.sh $dir fuzz_url >"$dir/run-seeds.log" 2>&1 || { tail -n 40 "$dir/run-seeds.log"; return 1; }
  FUZZ_KEEP_SEEDS=1 FUZZ_SECONDS=$s tools/fuzz.sh $dir fuzz_parser fuzz_parser_split fuzz_chunked fuzz_connection fuzz_tls \
    >"$dir/run-a.log" 2>&1 &
  a=$!
  FUZZ_KEEP_SEEDS=1 FUZZ_SECONDS=$s tools/fuzz.sh $dir fuzz_url fuzz_cookie_form_multipart fuzz_template fuzz_router fuzz_kit \
    fuzz_websocket \
    >"$dir/run-b.log" 2>&1 &
  b=$!
  wait $a; local ra=$?
  wait $b; local rb=$?
  grep -h -A20 "fuzz summary" "$dir/run-a.log" "$dir/run-b.log"
  [ $ra -eq 0 ] && [ $rb -eq 0 ] || { tail -n 40 "$dir/run-a.log" "$dir/run-b.log"; return 1; }
}

step "single header is fresh" python3 tools/amalgamate.py --check
step "single header alone, g++" single_header g++
step "single header alone, clang++" single_header clang++
step "clang-format: the house style" tools/format.sh --check
step "clang-tidy over the headers" tools/tidy.sh
step "g++ suite" suite build-ci/gcc g++ all -Dwerror=true
# clang++ builds the tests once, under ASan+UBSan (below): its warnings are errors there, its
# compile-fail cases run there, and the unit tests run instrumented. Both sanitizers compile at
# -O0 (TSan: 94 s against -O1's 240 s, its tests 22 s; ASan+UBSan: a third of -O1's time; the
# g++ suite is the optimized build), with line tables only: enough for their reports' file:line.
step "packaging: single header, meson subproject, pkg-config, CMake" tools/packaging_check.sh
step "tsan: server and threading tests" tsan_suite
step "windows: MinGW-w64 cross build, tests and hello.exe under Wine" windows_cross
step "fuzzing: replay regressions and saved inputs, then ${FUZZ_SECONDS:-20} s per target" fuzz_all
# The examples are not built under ASan+UBSan: the suites that drive them (clients, hardening)
# run once, in the g++ build. Nor are the poll(2) variants of the socket tests (about 150 s of
# compiling here): they run in the g++ build, and the server's under TSan.
step "clang++ suite, under asan+ubsan" suite build-ci/asan clang++ unit -Dwerror=true -Db_sanitize=address,undefined \
  -Db_lundef=false -Dbuildtype=plain -Doptimization=0 -Db_ndebug=false -Dcpp_args=-gline-tables-only -Dexamples=false \
  -Dpoll_variants=false

echo
echo "$passed passed, $failed failed, in $SECONDS s"
[ "$failed" -eq 0 ]
