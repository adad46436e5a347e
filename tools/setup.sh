#!/usr/bin/env bash
# Quick start, step one: install what is missing (Debian 12), build, and start the demo.
#   tools/setup.sh              install, build into build/, run the demo on port 8080
#   tools/setup.sh --deps-only  install what the build and the tests need, nothing else
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(meson ninja-build g++ clang clang-tidy clang-format pkg-config python3 doctest-dev libfmt-dev
          curl cmake libcpp-httplib-dev libasio-dev libhttp-parser-dev wrk valgrind
          libclang-rt-14-dev python3-requests apache2-utils nginx-light chromium iproute2
          zlib1g-dev libbrotli-dev nlohmann-json3-dev python3-brotli python3-websockets
          libssl-dev openssl sslscan testssl.sh prometheus g++-mingw-w64-x86-64 wine64 wine)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  echo "installing: ${missing[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# npm packages the real-client tests drive, pinned by package-lock.json, into node_modules/.
if command -v npm >/dev/null; then
  npm ci --no-audit --no-fund --silent
else
  echo "npm is missing: the Node client tests will be skipped (Node 20 and npm come from outside Debian)"
fi

[ "${1:-}" = "--deps-only" ] && exit 0

[ -d build ] || meson setup build >/dev/null
ninja -C build
demo=build/examples/status_page
[ -x "$demo" ] || demo=build/examples/hello
echo "starting $demo (Ctrl-C stops it)"
exec "$demo" --port "${PORT:-8080}"
