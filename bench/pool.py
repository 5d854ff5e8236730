# SPDX-License-Identifier: MIT
"""Python's side of bench/pool: multiprocessing.Pool(N), one subprocess per
task, as a Python user would write a worker pool.

Each task line of stdin is appended to CMD (as tend pool, xargs -n1 and GNU
parallel do) and run with subprocess.run(capture_output=True) in a pool
worker; the parent writes each task's stdout, then its stderr, in one piece
as the task ends (grouped, in finish order, like tend pool and parallel).

usage: python3 pool.py N CMD [ARG...] < tasks
"""
import multiprocessing
import subprocess
import sys


def run(argv):
    p = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True)
    return p.returncode, p.stdout, p.stderr


def main() -> int:
    n = int(sys.argv[1])
    cmd = sys.argv[2:]
    tasks = (cmd + [line.rstrip("\n")] for line in sys.stdin)
    failed = 0
    out, err = sys.stdout.buffer, sys.stderr.buffer
    with multiprocessing.Pool(n) as pool:
        for code, o, e in pool.imap_unordered(run, tasks):
            out.write(o)
            err.write(e)
            failed += code != 0
    out.flush()
    return min(failed, 101)


if __name__ == "__main__":
    sys.exit(main())
