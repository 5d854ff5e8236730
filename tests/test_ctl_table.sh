#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The control commands' table (include/tend/ctl.h, src/ctl/cmd.c), as
# `tend __commands` prints it, against what documents and completes them:
# every command has its subsection in tend(1), its line in `tend --help`,
# its word in the bash completion's list of subcommands, and its entry
# (every argument's key too) in the protocol comment of tend/ctl.h.
#   test_ctl_table.sh TEND_BINARY TEND.1.SCD TEND.BASH CTL.H
set -euo pipefail
tend=$1 page=$2 comp=$3 header=$4

fail=0
bad() { echo "FAIL: $*"; fail=1; }

table=$("$tend" __commands)
n=$(printf '%s\n' "$table" | wc -l)
[ "$n" -ge 16 ] || bad "only $n control commands in 'tend __commands'"

helped=$("$tend" --help | awk '/^  [a-z]/ { print $1 }')
# The completion's own list, for when `tend --help` cannot be run.
listed=$(sed -n 's/^_tend_subcommands="\(.*\)"$/\1/p' "$comp")
[ -n "$listed" ] || bad "no _tend_subcommands list in $comp"
# The protocol comment: from "Requests:" to the end of the comment.
doc=$(sed -n '/^ \* Requests:/,/^ \*\//p' "$header")

while IFS= read -r line; do
  # Fields by cut: read would merge the two tabs around no arguments.
  name=$(cut -f1 <<<"$line") args=$(cut -f2 <<<"$line") help=$(cut -f3 <<<"$line")
  grep -Eq "^## tend $name( |$)" "$page" || bad "tend(1) has no subsection 'tend $name'"
  grep -qx -- "$name" <<<"$helped" || bad "'tend --help' does not list $name"
  [[ " $listed " == *" $name "* ]] || bad "_tend_subcommands in $(basename "$comp") lacks $name"
  grep -Eq "^ \*   ([a-z-]+, )*$name[ ,]" <<<"$doc" ||
    bad "$(basename "$header") does not document the request $name"
  for a in $args; do
    key=${a%%:*}
    key=${key%\?}
    grep -Eq "(^| )$key\??:" <<<"$doc" ||
      bad "$(basename "$header") does not document the argument $key of $name"
  done
  [ -n "$help" ] || bad "$name has no help line"
done <<<"$table"
echo "$n control commands checked"
exit $fail
