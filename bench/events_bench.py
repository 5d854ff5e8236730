# SPDX-License-Identifier: MIT
"""bench/events' two ends, on Debian's supervisor package:

  events_bench.py listen N OUT   an event listener written with
                                 supervisor.childutils, as real ones are:
                                 acknowledges every event; after the N-th,
                                 writes "N TIME" to OUT
  events_bench.py send SOCK N    N supervisor.sendRemoteCommEvent calls
                                 through xmlrpc.client on the Unix socket
                                 SOCK; prints the time of the first
"""
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from xmlrpc_bench import proxy  # noqa: E402  (the Unix-socket transport, kept once)


def listen(want, out):
    from supervisor import childutils
    seen = 0
    while True:
        childutils.listener.wait(sys.stdin, sys.stdout)
        seen += 1
        childutils.listener.ok(sys.stdout)
        if seen == want:
            with open(out, 'w') as f:
                f.write('%d %.6f\n' % (seen, time.time()))


def send(path, n):
    rpc = proxy(path)
    t0 = time.time()
    for i in range(n):
        rpc.supervisor.sendRemoteCommEvent('bench', 'event %d' % i)
    print('%.6f' % t0)


if __name__ == '__main__':
    if sys.argv[1] == 'listen':
        listen(int(sys.argv[2]), sys.argv[3])
    else:
        send(sys.argv[2], int(sys.argv[3]))
