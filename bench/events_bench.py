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
import http.client
import socket
import sys
import time
import xmlrpc.client


class UnixConnection(http.client.HTTPConnection):
    def __init__(self, path):
        super().__init__('localhost')
        self.unix_path = path

    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX)
        self.sock.connect(self.unix_path)


class UnixTransport(xmlrpc.client.Transport):
    def __init__(self, path):
        super().__init__()
        self.unix_path = path

    def make_connection(self, host):
        return UnixConnection(self.unix_path)


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
    rpc = xmlrpc.client.ServerProxy('http://localhost', transport=UnixTransport(path))
    t0 = time.time()
    for i in range(n):
        rpc.supervisor.sendRemoteCommEvent('bench', 'event %d' % i)
    print('%.6f' % t0)


if __name__ == '__main__':
    if sys.argv[1] == 'listen':
        listen(int(sys.argv[2]), sys.argv[3])
    else:
        send(sys.argv[2], int(sys.argv[3]))
