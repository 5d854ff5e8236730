#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# `meson install` (suite 'install'): install this build directory into a
# temporary DESTDIR and check that every file lands where the options say:
# the binary, both manual pages, <sysconfdir>/tend/tend.conf (and that it
# passes `tend check`), tend.service (ExecStart with the right paths) and the
# bash completion; systemd-analyze verify, where it exists, parses the unit.
#   test_install.sh MESON|'' BUILD_ROOT WITH_MAN BINDIR MANDIR SYSCONFDIR DATADIR UNITDIR
# (the directories absolute, as configured; WITH_MAN is true or false).
set -euo pipefail
meson=$1 build=$2 with_man=$3 bindir=$4 mandir=$5 sysconfdir=$6 datadir=$7 unitdir=$8

# MESON empty: the meson command that regenerates this build directory.
if [ -n "$meson" ]; then
  meson_cmd=("$meson")
else
  read -r -a meson_cmd < <(sed -n 's/^ command = \(.*\) --internal regenerate .*/\1/p' "$build/build.ninja")
fi

dest=$(mktemp -d)
trap 'rm -rf "$dest"' EXIT

# --no-rebuild: `meson test` has built everything, and a second ninja in the
# same directory while tests run must not happen.
if ! out=$("${meson_cmd[@]}" install -C "$build" --no-rebuild --destdir "$dest" 2>&1); then
  printf '%s\n' "$out"
  echo "FAIL: meson install"
  exit 1
fi

fail=0
bad() { echo "FAIL: $*"; fail=1; }
has() {
  if [ -f "$dest$1" ]; then echo "ok: $1"; else bad "$1 is not installed"; fi
}

has "$bindir/tend"
[ -x "$dest$bindir/tend" ] || bad "$bindir/tend is not executable"
if [ "$with_man" = true ]; then
  has "$mandir/man1/tend.1"
  has "$mandir/man5/tend.conf.5"
else
  echo "note: scdoc not found, manual pages not built"
fi
has "$sysconfdir/tend/tend.conf"
has "$unitdir/tend.service"
has "$datadir/bash-completion/completions/tend"

# The unit runs the installed binary on the installed config.
unit=$dest$unitdir/tend.service
if [ -f "$unit" ]; then
  want="ExecStart=$bindir/tend daemon -c $sysconfdir/tend/tend.conf"
  grep -qxF "$want" "$unit" || bad "tend.service: no line '$want'"
  for line in Type=notify KillMode=mixed 'ExecReload=/bin/kill -HUP $MAINPID'; do
    grep -qxF "$line" "$unit" || bad "tend.service: no line '$line'"
  done
  ! grep -n '@[a-z]*@' "$unit" || bad "tend.service: a @variable@ was left unconfigured"
  # systemd's own parser, where there is one: every line of the unit must
  # parse. Commands that are not there are expected (the binary is under
  # DESTDIR, not at ExecStart's path; a container may lack /bin/kill).
  if command -v systemd-analyze >/dev/null; then
    complaints=$(systemd-analyze verify --man=no "$unit" 2>&1 |
                   grep -vE "Command .* is not executable" || true)
    if [ -n "$complaints" ]; then
      bad "systemd-analyze verify tend.service:"
      printf '%s\n' "$complaints" | sed 's/^/    /'
    else
      echo "ok: systemd-analyze verify tend.service"
    fi
  fi
fi

# The installed binary runs, and the installed example config is valid.
if [ -x "$dest$bindir/tend" ] && [ -f "$dest$sysconfdir/tend/tend.conf" ]; then
  "$dest$bindir/tend" --version || bad "the installed tend does not run"
  if "$dest$bindir/tend" check -q -c "$dest$sysconfdir/tend/tend.conf"; then
    echo "ok: tend check -c $sysconfdir/tend/tend.conf"
  else
    bad "the installed tend.conf does not pass 'tend check'"
  fi
fi

# The completion script loads in bash and registers itself.
comp=$dest$datadir/bash-completion/completions/tend
if [ -f "$comp" ]; then
  bash -c 'source "$1" && complete -p tend' _ "$comp" >/dev/null ||
    bad "the bash completion does not load"
fi

exit $fail
