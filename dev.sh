#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The two commands of the README, on a fresh Debian 12 machine (as root, or
# a user with sudo):
#   ./dev.sh run    install what is missing, build, run the daemon on
#                   conf/tend.conf in the foreground
#   ./dev.sh test   install what is missing (and Debian's supervisor, for
#                   tests/test_realconf.c, without starting its service),
#                   build twice (normal, and
#                   ASan+UBSan), run the whole suite on both builds, then
#                   a few seconds of each fuzzer (clang, build-fuzz)
#   ./dev.sh fuzz   the fuzzers for longer: FUZZ_SECONDS each (default 60),
#                   on a corpus kept in build-fuzz/work (docs/RELIABILITY.md)
# Builds are offline: Debian's packages, never a download (--wrap-mode).
set -euo pipefail
cd "$(dirname "$0")"

# What the build and the tests need, as Debian 12 package names (scdoc
# builds the manual pages; man-db, groff-base and bash-completion are for
# the 'doc' and 'install' tests).
PKGS=(gcc libc6-dev pkg-config meson ninja-build
      libuv1-dev libjansson-dev libcriterion-dev
      scdoc man-db groff-base bash-completion)
# valgrind runs the daemon's lifecycle test (tests/test_faults.c); clang and
# its runtime build the libFuzzer targets (fuzz/, the smoke run of 'test').
PKGS+=(valgrind clang libclang-rt-14-dev)
# hiredis (its async API, on tend's loop) and a Redis server for the
# distributed tasks (src/dist*.c) and their tests (tests/test_dist.c).
PKGS+=(libhiredis-dev redis-server)
# expat parses the XML-RPC requests of supervisord's interface (src/xmlrpc/).
PKGS+=(libexpat1-dev)
# http_parser 2.9 parses the requests of the XML-RPC/HTTP server (src/http/,
# issue #16); python3 drives it as a client in tests/test_http.c.
PKGS+=(libhttp-parser-dev python3)
# The web page's test drives Debian's headless Chromium (tests/test_webui.c);
# the /metrics test reads the page with the Prometheus client's own strict
# parser (tests/test_metrics.c).
PKGS+=(chromium python3-prometheus-client)

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

# Debian's supervisor package, for the tests only: tests/test_realconf.c
# compares tend with supervisord's own config loader (Python's supervisor
# module) and runs its fixture issue-1224.conf; tests/test_supervisorctl.c
# drives the daemon with its supervisorctl (and, with TEND_PEER=supervisord,
# runs the same tests against its supervisord). Installing it would start
# supervisord through invoke-rc.d; a policy-rc.d that exits 101 forbids
# that for the time of the install, and is removed after only if this
# function created it (a container's own, as Docker's, stays).
ensure_supervisor() {
  dpkg-query -W -f='${Status}' supervisor 2>/dev/null | grep -q 'ok installed' && return 0
  local policy=/usr/sbin/policy-rc.d created=0 rc=0
  if [ ! -e "$policy" ]; then
    as_root sh -c "printf '#!/bin/sh\\nexit 101\\n' > $policy && chmod 755 $policy"
    created=1
  fi
  echo "dev.sh: installing supervisor (its service not started)" >&2
  as_root apt-get update -qq || rc=$?
  [ $rc -ne 0 ] || as_root env DEBIAN_FRONTEND=noninteractive \
    apt-get install -y -qq --no-install-recommends supervisor >/dev/null || rc=$?
  if [ $created -eq 1 ]; then as_root rm -f "$policy"; fi
  return $rc
}

# took PHASE: how long the phase since the last call took (stderr), so a
# slow CI run shows where its time went.
phase_start=$SECONDS
took() {
  echo "dev.sh: $1 took $((SECONDS - phase_start)) s" >&2
  phase_start=$SECONDS
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
# A test program without one (the shell tests, the fuzz replays) counts as
# one test, passed or failed by its exit status, and so does a Criterion
# program that failed with no failing test (it crashed, or timed out).
# The fuzz smoke run (fuzz_run) writes one "fuzz smoke: NAME passed|failed"
# line per fuzzer; each counts as one test.
summary() {
  awk 'function settle() {
         if (!inblock) return
         if (!synth) { if (ok) p++; else f++ }
         else if (!ok && !synthfail) f++
         inblock = 0
       }
       FNR == 1 { settle() }
       /^test: / { settle(); inblock = 1; synth = 0; synthfail = 0; ok = 1 }
       /^result: / { ok = ($0 ~ /exit status 0$/) }
       /Synthesis: Tested:/ {
         synth = 1
         for (i = 1; i <= NF; i++) {
           if ($i == "Passing:") p += $(i + 1)
           if ($i == "Failing:") { f += $(i + 1); if ($(i + 1) > 0) synthfail = 1 }
         }
       }
       /^fuzz smoke: .* passed/ { p++ }
       /^fuzz smoke: .* failed/ { f++ }
       /^sanitizer reports: failed/ { f++ }
       END { settle(); printf "tests: %d passed, %d failed\n", p, f }' "$@"
}

# The libFuzzer targets, built by clang with ASan+UBSan in build-fuzz (only
# them, not the whole tree).
FUZZERS=(config ctl outlog dist_codec template request xmlrpc)
fuzz_build() {
  if [ ! -f build-fuzz/build.ninja ]; then
    CC=clang meson setup build-fuzz --wrap-mode=nodownload -Db_sanitize=address,undefined \
      -Db_lundef=false -Dc_args=-fno-sanitize-recover=all >/dev/null
  fi
  ninja -C build-fuzz "${FUZZERS[@]/#/fuzz/fuzz_}" >/dev/null
}

# fuzz_run SECONDS RESULTS LABEL: each fuzzer for SECONDS on
# build-fuzz/work/NAME (new inputs go there; fuzz/corpus/NAME, the seeds, is
# only read), crashes to build-fuzz/artifacts/NAME/, its output to
# build-fuzz/NAME.log; one "LABEL: NAME passed|failed" line per fuzzer to
# RESULTS. Returns 1 if one crashed.
fuzz_run() {
  local secs=$1 results=$2 label=$3 t rc=0 len
  : > "$results"
  for t in "${FUZZERS[@]}"; do
    mkdir -p "build-fuzz/work/$t" "build-fuzz/artifacts/$t"
    # Room for a few frames (ctl), a config, a result with its output
    # (dist_codec), a command line (template), a few requests (request).
    case $t in
      ctl) len=16384 ;;
      config | dist_codec) len=8192 ;;
      template) len=2048 ;;
      request) len=4096 ;;
      *) len=4096 ;;
    esac
    if build-fuzz/fuzz/fuzz_$t -max_total_time="$secs" -max_len=$len -timeout=20 \
         -rss_limit_mb=2048 -print_final_stats=1 -artifact_prefix="build-fuzz/artifacts/$t/" \
         "build-fuzz/work/$t" "fuzz/corpus/$t" >"build-fuzz/$t.log" 2>&1; then
      echo "$label: $t passed ($(sed -n 's/^stat::number_of_executed_units: *//p' \
        "build-fuzz/$t.log") runs in ${secs}s)" >>"$results"
    else
      echo "$label: $t failed (build-fuzz/$t.log, build-fuzz/artifacts/$t/)" >>"$results"
      rc=1
    fi
  done
  return $rc
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
    ensure_supervisor
    took setup
    build build -Dwerror=true
    build build-asan -Dwerror=true -Db_sanitize=address,undefined -Db_lundef=false \
      -Dc_args=-fno-sanitize-recover=all
    took build
    status=0
    # Two test programs a core: most of them wait on children, timers and
    # sockets, so two a core keep both cores busy (a fifth off the wall
    # time); every test holds with both cores hogged besides.
    jobs=${TEST_JOBS:-$(($(nproc) * 2))}
    meson test -C build --print-errorlogs --num-processes "$jobs" || status=1
    took tests
    rm -f build-asan/sanitizer.txt
    ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
      meson test -C build-asan --print-errorlogs --timeout-multiplier 3 \
      --num-processes "$jobs" || status=1
    # Criterion counts a test as passed before its worker exits, so a leak
    # LeakSanitizer reports at that exit fails nothing by itself: any
    # sanitizer report in the log fails the run.
    reports='ERROR: LeakSanitizer|ERROR: AddressSanitizer|runtime error:'
    if grep -qE "$reports" build-asan/meson-logs/testlog.txt; then
      echo "dev.sh: sanitizer reports in build-asan/meson-logs/testlog.txt:" >&2
      grep -nE -A12 "$reports" build-asan/meson-logs/testlog.txt | head -80 >&2
      echo "sanitizer reports: failed" >>build-asan/sanitizer.txt
      status=1
    fi
    took "ASan tests"
    # A few seconds of each fuzzer: a smoke run, the long one is 'fuzz'.
    smoke=build-fuzz/smoke.txt
    mkdir -p build-fuzz
    if fuzz_build; then
      fuzz_run "${FUZZ_SMOKE_SECONDS:-5}" "$smoke" "fuzz smoke" || status=1
    else
      echo "fuzz smoke: the fuzzers failed to build (ninja -C build-fuzz)" > "$smoke"
      status=1
    fi
    took "fuzz build and smoke"
    cat "$smoke"
    summary build/meson-logs/testlog.txt build-asan/meson-logs/testlog.txt "$smoke" \
      $( [ -f build-asan/sanitizer.txt ] && echo build-asan/sanitizer.txt )
    exit $status
    ;;
  fuzz)
    ensure_packages
    fuzz_build
    status=0
    fuzz_run "${FUZZ_SECONDS:-60}" build-fuzz/fuzz.txt fuzz || status=1
    cat build-fuzz/fuzz.txt
    if [ $status -ne 0 ]; then
      echo "A crash: reproduce with build-fuzz/fuzz/fuzz_NAME FILE, fix it, and copy FILE" \
           "to fuzz/corpus/NAME/regress-WHAT (replayed by every 'meson test')." >&2
    fi
    exit $status
    ;;
  *)
    echo "usage: ./dev.sh run|test|fuzz" >&2
    exit 2
    ;;
esac
