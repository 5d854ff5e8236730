#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The manual pages (suite 'doc'): tend(1) and tend.conf(5) render with no
# groff warning at 80 columns; tend(1) has a section for every subcommand
# that `tend --help` lists, and names every long option of each one's
# `tend help SUBCOMMAND`; tend.conf(5) defines every key that the config
# parser (src/config/config.c) reads.
#   test_doc.sh TEND_BINARY TEND.1 TEND.CONF.5 CONFIG.C
# Exit 77 (skipped) when the pages were not built (no scdoc).
set -euo pipefail
tend=$1 page1=$2 page5=$3 config_c=$4

for f in "$page1" "$page5"; do
  if [ ! -f "$f" ]; then
    echo "SKIP: $f was not built (scdoc missing)"
    exit 77
  fi
done
command -v man >/dev/null || { echo "FAIL: man (man-db) is not installed"; exit 1; }

fail=0
bad() { echo "FAIL: $*"; fail=1; }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# man-db's seccomp sandbox is refused in some containers; nothing here
# needs it.
export MANWIDTH=80 MAN_DISABLE_SECCOMP=1 LC_ALL=C.UTF-8

# 1. No warnings: groff's (-ww) and man's own, all on stderr.
for f in "$page1" "$page5"; do
  warnings=$(man -l --warnings=w "$f" 2>&1 >/dev/null) || bad "man -l $f failed"
  if [ -n "$warnings" ]; then
    bad "$(basename "$f") renders with warnings:"
    printf '%s\n' "$warnings" | sed 's/^/    /'
  fi
done
man -l "$page1" >"$tmp/tend.1.txt" 2>/dev/null
man -l "$page5" >"$tmp/tend.conf.5.txt" 2>/dev/null

# 2. Every subcommand of `tend --help` has its subsection ("tend NAME ...")
#    in tend(1), and every long option of its help is in the page.
subs=$("$tend" --help | awk '/^  [a-z]/ { print $1 }')
[ -n "$subs" ] || bad "no subcommand found in 'tend --help'"
n=0
for s in $subs; do
  n=$((n + 1))
  grep -Eq "^ {3}tend $s( |$)" "$tmp/tend.1.txt" ||
    bad "tend(1) has no subsection 'tend $s' (a subcommand of 'tend --help')"
  for o in $("$tend" help "$s" | grep -oE -- '--[a-z][a-z-]+' | sort -u); do
    grep -Eq -- "$o([^a-z-]|$)" "$tmp/tend.1.txt" ||
      bad "tend(1) does not name option $o of 'tend help $s'"
  done
done
echo "tend(1): $n subcommands checked"

# 3. Every key the parser reads is defined ("KEY = ...") in tend.conf(5).
#    The keys are the quoted names passed to value_of, the get_* helpers and
#    cfg_section_get; "%s_logfile" and the like stand for stdout_ and stderr_.
keys=$(grep -oE '(get_[a-z]+|value_of)\(x, [a-z]+, "[a-z_%]+"|cfg_section_get\([a-z]+, "[a-z_]+"\)|"%s_[a-z_]+"' \
         "$config_c" | grep -oE '"[^"]+"' | tr -d '"' | sort -u)
expanded=""
for k in $keys; do
  case $k in
    %s_*) expanded+=" stdout_${k#%s_} stderr_${k#%s_}" ;;
    *) expanded+=" $k" ;;
  esac
done
n=0
for k in $(printf '%s\n' $expanded | sort -u); do
  n=$((n + 1))
  grep -Eq "^ {7}$k = " "$tmp/tend.conf.5.txt" ||
    bad "tend.conf(5) does not define key '$k' (read by src/config/config.c)"
done
[ "$n" -ge 40 ] || bad "only $n config keys found in $config_c: has the parser changed shape?"
echo "tend.conf(5): $n keys checked"

exit $fail
