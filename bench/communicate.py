# SPDX-License-Identifier: MIT
"""Python's side of bench/communicate: what `tend run` is modelled on.

Reads DATA into memory, runs `cat` with stdin, stdout and stderr on pipes
(stderr too, so all three contenders service the same three pipes), and
hands the bytes to Popen.communicate(). Prints one line for the driver:
    python BYTES_OUT SECONDS_IN_COMMUNICATE
The driver times the whole process from outside, as it does for tend;
the inner figure only shows how much of that is interpreter start-up.

usage: python3 communicate.py DATA
"""
import subprocess
import sys
import time


def main() -> int:
    with open(sys.argv[1], "rb") as f:
        data = f.read()
    t0 = time.monotonic()
    p = subprocess.Popen(["cat"], stdin=subprocess.PIPE,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    out, err = p.communicate(data)
    dt = time.monotonic() - t0
    if p.returncode != 0 or err:
        sys.stderr.write(f"communicate.py: cat exited {p.returncode}: {err!r}\n")
        return 1
    print(f"python {len(out)} {dt:.6f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
