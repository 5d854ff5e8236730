#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The two commands of the README, on a fresh Debian 12 machine (as root, or
# a user with sudo):
#   ./dev.sh run    install what is missing, build, run the daemon on
#                   conf/tend.conf in the foreground
#   ./dev.sh test   install what is missing, build twice (normal, and
#                   ASan+UBSan), run the whole suite on both builds
# Builds are offline: Debian's packages, never a download (--wrap-mode).
set -euo pipefail
cd "$(dirname "$0")"

# What the build and the tests need, as Debian 12 package names.
PKGS=(gcc libc6-dev pkg-config meson ninja-build
      libuv1-dev libjansson-dev libcriterion-dev)

as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

ensure_packages() {
  local missing=() p
  for p in "${PKGS[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  echo "dev.sh: installing ${missing[*]}" >&2
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive \
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# build DIR [meson options...]: configure once, then build.
build() {
  local dir=$1; shift
  if [ ! -f "$dir/build.ninja" ]; then
    meson setup "$dir" --wrap-mode=nodownload "$@" >/dev/null
  fi
  ninja -C "$dir" >/dev/null
}

# Criterion prints one "Synthesis" line per test program; meson keeps them.
summary() {
  awk '/Synthesis: Tested:/ {
         for (i = 1; i <= NF; i++) {
           if ($i == "Passing:") p += $(i + 1)
           if ($i == "Failing:") f += $(i + 1)
         }
       }
       END { printf "tests: %d passed, %d failed\n", p, f }' "$@"
}

case "${1:-}" in
  run)
    ensure_packages
    build build
    echo "+ build/src/cli/tend daemon -c conf/tend.conf   (Ctrl-C stops it)" >&2
    exec build/src/cli/tend daemon -c conf/tend.conf
    ;;
  test)
    ensure_packages
    build build -Dwerror=true
    build build-asan -Dwerror=true -Db_sanitize=address,undefined -Db_lundef=false \
      -Dc_args=-fno-sanitize-recover=all
    status=0
    meson test -C build --print-errorlogs || status=1
    ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
      meson test -C build-asan --print-errorlogs --timeout-multiplier 3 || status=1
    summary build/meson-logs/testlog.txt build-asan/meson-logs/testlog.txt
    exit $status
    ;;
  *)
    echo "usage: ./dev.sh run|test" >&2
    exit 2
    ;;
esac
