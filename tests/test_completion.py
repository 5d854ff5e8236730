#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""The bash completion (completion/tend.bash) against the real tend.

  test_completion.py TEND_BINARY TEND_BASH

Starts `tend daemon` on a small config and waits for its READY=1 on a
NOTIFY_SOCKET of ours (what systemd's Type=notify waits for; no sleeps), then
runs the completion function in bash as bash would on TAB, and checks the
subcommands, options and process names it offers. With no daemon it must
offer nothing, quickly and silently. If bash-completion is installed, the
same checks run again with it loaded (its _init_completion path).
"""
import os
import re
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

TEND, COMP = sys.argv[1], sys.argv[2]
BASH_COMPLETION = "/usr/share/bash-completion/bash_completion"
failures = []


def check(what, got, want):
    if got != want:
        failures.append(f"{what}: got {sorted(got)}, want {sorted(want)}")
    else:
        print(f"ok: {what}")


def complete(words, with_lib=False):
    """COMPREPLY for the command line `words` (the last one is being
    completed), and the time it took. Words ":" are bash's split of a word
    at a ':' (COMP_WORDBREAKS): COMP_LINE has no spaces around them."""
    script = (
        ('source "$LIB"; ' if with_lib else "")
        + 'source "$COMP"; COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); '
        'COMP_LINE=$LINE; COMP_POINT=${#COMP_LINE}; _tend; '
        '(( ${#COMPREPLY[@]} == 0 )) || printf "%s\\n" "${COMPREPLY[@]}"'
    )
    line = " ".join(words).replace(" : ", ":").replace(" :", ":")
    env = dict(os.environ, COMP=COMP, LIB=BASH_COMPLETION, LINE=line)
    env.pop("TEND_SOCKET", None)
    env.pop("TEND_CONFIG", None)
    start = time.monotonic()
    r = subprocess.run(["bash", "-c", script, "bash"] + words, env=env,
                       capture_output=True, text=True, timeout=30)
    took = time.monotonic() - start
    if r.returncode != 0 or r.stderr:
        failures.append(f"completing {words}: exit {r.returncode}, stderr {r.stderr!r}")
    return set(r.stdout.split("\n")) - {""}, took


def subcommands():
    out = subprocess.run([TEND, "--help"], capture_output=True, text=True).stdout
    return {l.split()[0] for l in out.splitlines() if l.startswith("  ") and l[2:3].isalpha()}


def long_options(sub):
    r = subprocess.run([TEND, sub, "--help"], capture_output=True, text=True)
    return set(re.findall(r"(?<![\w-])--[a-z][a-z-]*", r.stdout))


def run_checks(tmp, conf, with_lib):
    tag = " (bash-completion loaded)" if with_lib else ""
    subs = subcommands()
    if len(subs) < 10:
        failures.append(f"only {len(subs)} subcommands in 'tend --help'")
    got, _ = complete([TEND, ""], with_lib)
    check("tend <TAB> offers every subcommand of 'tend --help'" + tag, got, subs)
    got, _ = complete([TEND, "help", ""], with_lib)
    check("tend help <TAB>" + tag, got, subs)
    for sub in sorted(subs - {"help"}):
        want = long_options(sub)
        got, _ = complete([TEND, sub, "--"], with_lib)
        missing = want - got
        if missing:
            failures.append(f"tend {sub} --<TAB>{tag}: missing {sorted(missing)}")
    print(f"ok: every long option of every subcommand's --help{tag}")
    got, _ = complete([TEND, "run", "--ti"], with_lib)
    check("tend run --ti<TAB>" + tag, got, {"--timeout"})
    got, _ = complete([TEND, "demo", ""], with_lib)
    if "list" not in got or "fork" not in got:
        failures.append(f"tend demo <TAB>{tag}: {sorted(got)}")

    names = {"alpha", "grp:web-0", "grp:web-1"}
    got, _ = complete([TEND, "status", "-c", conf, ""], with_lib)
    check("tend status -c CONF <TAB>" + tag, got, names | {"grp:*"})
    got, _ = complete([TEND, "restart", "-s", os.path.join(tmp, "tend.sock"), ""], with_lib)
    check("tend restart -s SOCK <TAB>" + tag, got, names | {"grp:*", "all"})
    got, _ = complete([TEND, "logs", "-n", "5", "-c", conf, ""], with_lib)
    check("tend logs -n 5 -c CONF <TAB>" + tag, got, names)
    got, _ = complete([TEND, "logs", "-c", conf, "al"], with_lib)
    check("tend logs -c CONF al<TAB>" + tag, got, {"alpha"})
    # bash splits "grp:w" at the ':' (COMP_WORDBREAKS) and replaces only
    # what follows it.
    got, _ = complete([TEND, "logs", "-c", conf, "grp", ":", "w"], with_lib)
    check("tend logs -c CONF grp:w<TAB>" + tag, got, {"web-0", "web-1"})
    got, _ = complete([TEND, "stop", "-c", conf, "grp", ":"], with_lib)
    check("tend stop -c CONF grp:<TAB>" + tag, got, {"web-0", "web-1", "*"})
    got, _ = complete([TEND, "wait", "-c", conf, "alpha", ""], with_lib)
    check("tend wait -c CONF alpha <TAB>" + tag, got, set())
    got, _ = complete([TEND, "send", "-c", conf, "alpha", ""], with_lib)
    check("tend send -c CONF alpha <TAB>" + tag, got, {"-"})

    # No daemon on that socket: nothing, at once, nothing on stderr.
    got, took = complete([TEND, "stop", "-s", os.path.join(tmp, "none.sock"), ""], with_lib)
    check("tend stop -s NO-DAEMON <TAB>" + tag, got, {"all"})
    if took > 2:
        failures.append(f"completion with no daemon took {took:.1f} s")


def main():
    tmp = tempfile.mkdtemp(prefix="tend-completion-")
    daemon = None
    try:
        conf = os.path.join(tmp, "tend.conf")
        with open(conf, "w") as f:
            f.write(
                "[tend]\nsocket = %(here)s/tend.sock\nlogdir = %(here)s/log\n"
                "[program:alpha]\ncommand = sleep 1000\nstartsecs = 0\n"
                "[program:web]\ncommand = sleep 1000\nstartsecs = 0\n"
                "process_name = web-%(process_num)d\nnumprocs = 2\n"
                "[group:grp]\nprograms = web\n"
            )
        notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        notify_path = os.path.join(tmp, "notify")
        notify.bind(notify_path)
        env = dict(os.environ, NOTIFY_SOCKET=notify_path)
        log = open(os.path.join(tmp, "daemon.log"), "w")
        daemon = subprocess.Popen([TEND, "daemon", "-c", conf], env=env,
                                  stdin=subprocess.DEVNULL, stdout=log, stderr=log)
        # Wait for READY=1, or for the daemon to exit (its pidfd), 30 s at most.
        pidfd = os.pidfd_open(daemon.pid)
        deadline = time.monotonic() + 30
        ready = exited = False
        while not ready and not exited and time.monotonic() < deadline:
            r, _, _ = select.select([notify, pidfd], [], [], deadline - time.monotonic())
            if notify in r:
                ready = "READY=1" in notify.recv(4096).decode().split("\n")
            exited = pidfd in r
        os.close(pidfd)
        if not ready:
            log.flush()
            print(open(os.path.join(tmp, "daemon.log")).read())
            print("FAIL: the daemon " + ("exited" if exited else "did not send READY=1"))
            return 1
        print("ok: the daemon sent READY=1 on NOTIFY_SOCKET")

        run_checks(tmp, conf, with_lib=False)
        if os.path.exists(BASH_COMPLETION):
            run_checks(tmp, conf, with_lib=True)
        else:
            print(f"note: {BASH_COMPLETION} not installed, checked without it")
    finally:
        if daemon is not None:
            daemon.send_signal(signal.SIGTERM)
            try:
                daemon.wait(timeout=30)
            except subprocess.TimeoutExpired:
                daemon.kill()
                daemon.wait()
                failures.append("the daemon did not stop on SIGTERM")
            if daemon.returncode != 0:
                failures.append(f"the daemon exited {daemon.returncode} after SIGTERM")
        shutil.rmtree(tmp, ignore_errors=True)
    for f in failures:
        print("FAIL: " + f)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
