#!/usr/bin/env bash
# Builds and runs a tiny consumer program in each way a user can take porthole:
# the single header alone, a meson subproject, pkg-config and CMake find_package after
# `meson install` into a prefix, and CMake add_subdirectory; each also with HTTPS
# (single_include/porthole/tls.hpp, porthole_tls_dep, porthole-tls, porthole::tls), whose
# consumer does a request over TLS in memory with a certificate made here.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
src=$root/tests/packaging
ok=0
check() { echo "--- $1"; shift; "$@" && ok=$((ok + 1)); }
openssl req -x509 -nodes -newkey ec -pkeyopt ec_paramgen_curve:P-256 -keyout "$work/key.pem" -out "$work/cert.pem" \
  -days 1 -subj /CN=localhost 2>/dev/null
tls_run() { "$1" "$work/cert.pem" "$work/key.pem"; }

single_header() {
  g++ -std=c++20 -O1 -I "$root/single_include" "$src/consumer.cpp" -o "$work/single" -pthread && "$work/single" &&
    ! grep -q "include <openssl" "$root/single_include/porthole/porthole.hpp" &&
    g++ -std=c++20 -O1 -I "$root/single_include" "$src/consumer_tls.cpp" -o "$work/single_tls" -pthread -lssl -lcrypto &&
    tls_run "$work/single_tls"
}

meson_subproject() {
  mkdir -p "$work/sub/subprojects"
  cp "$src/consumer.cpp" "$src/consumer_tls.cpp" "$src/meson.build" "$work/sub/"
  ln -s "$root" "$work/sub/subprojects/porthole"
  meson setup "$work/sub/build" "$work/sub" >/dev/null && ninja -C "$work/sub/build" >/dev/null &&
    "$work/sub/build/consumer" && tls_run "$work/sub/build/consumer_tls" &&
    ! ldd "$work/sub/build/consumer" | grep -q libssl  # the plain consumer links no OpenSSL
}

install_prefix() {
  meson setup "$work/inst-build" "$root" --prefix "$work/prefix" -Dtests=false -Dexamples=false \
    -Dbenchmarks=false >/dev/null && meson install -C "$work/inst-build" >/dev/null
}

pkg_config() {
  local pc
  pc=$(find "$work/prefix" -name porthole.pc -printf '%h\n' | head -1)
  # shellcheck disable=SC2046
  g++ $(PKG_CONFIG_PATH=$pc pkg-config --cflags porthole) "$src/consumer.cpp" -o "$work/pc" \
    $(PKG_CONFIG_PATH=$pc pkg-config --libs porthole) && "$work/pc" &&
  g++ $(PKG_CONFIG_PATH=$pc pkg-config --cflags porthole-tls) "$src/consumer_tls.cpp" -o "$work/pc_tls" \
    $(PKG_CONFIG_PATH=$pc pkg-config --libs porthole-tls) && tls_run "$work/pc_tls"
}

cmake_find_package() {
  cmake -S "$src" -B "$work/cmake-find" -DCMAKE_PREFIX_PATH="$work/prefix" >/dev/null &&
    cmake --build "$work/cmake-find" >/dev/null && "$work/cmake-find/consumer" && tls_run "$work/cmake-find/consumer_tls"
}

cmake_add_subdirectory() {
  cmake -S "$src" -B "$work/cmake-sub" -DPORTHOLE_SOURCE="$root" >/dev/null &&
    cmake --build "$work/cmake-sub" >/dev/null && "$work/cmake-sub/consumer" && tls_run "$work/cmake-sub/consumer_tls"
}

check "single header only" single_header
check "meson subproject" meson_subproject
check "meson install into a prefix" install_prefix
check "pkg-config after install" pkg_config
check "CMake find_package after install" cmake_find_package
check "CMake add_subdirectory" cmake_add_subdirectory
echo "packaging: $ok of 6 ways work"
[ "$ok" -eq 6 ]
