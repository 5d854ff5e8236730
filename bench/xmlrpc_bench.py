#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""The XML-RPC side of bench/xmlrpc: Python's xmlrpc.client on a Unix socket.

usage: xmlrpc_bench.py wait SOCKET N SECONDS   until N processes are RUNNING (exit 1 at the deadline)
       xmlrpc_bench.py rate SOCKET N SECONDS   supervisor.getAllProcessInfo() in a loop for SECONDS,
                                         each answer checked to hold N processes; prints
                                         "CALLS SECONDS CALLS_PER_S"
       xmlrpc_bench.py check SOCKET N         getAllProcessInfo holds N RUNNING processes, once

One ServerProxy per run, as a client would keep one: xmlrpc.client keeps
the connection when the server does (HTTP/1.1 keep-alive).
"""

import http.client
import socket
import sys
import time
import xmlrpc.client


class UnixConnection(http.client.HTTPConnection):
    def __init__(self, path):
        super().__init__('localhost', timeout=60)
        self.path = path

    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(60)
        self.sock.connect(self.path)


class UnixTransport(xmlrpc.client.Transport):
    def __init__(self, path):
        super().__init__()
        self.path = path

    def make_connection(self, host):
        if self._connection[1] is not None:
            return self._connection[1]
        self._connection = (host, UnixConnection(self.path))
        return self._connection[1]


def proxy(path):
    return xmlrpc.client.ServerProxy('http://localhost/RPC2', transport=UnixTransport(path))


def running(infos):
    return sum(1 for i in infos if i['statename'] == 'RUNNING')


def main(argv):
    if len(argv) < 4 or argv[1] not in ('wait', 'rate', 'check'):
        sys.stderr.write(__doc__)
        return 2
    mode, path, n = argv[1], argv[2], int(argv[3])
    if mode == 'check':
        infos = proxy(path).supervisor.getAllProcessInfo()
        if len(infos) != n or running(infos) != n:
            print('xmlrpc_bench.py: %d processes, %d RUNNING; expected %d' % (len(infos),
                                                                      running(infos), n))
            return 1
        return 0
    secs = float(argv[4])
    end = time.monotonic() + secs
    if mode == 'wait':
        got = -1
        while time.monotonic() < end:
            try:
                got = running(proxy(path).supervisor.getAllProcessInfo())
            except (OSError, xmlrpc.client.Error):
                got = -1
            if got == n:
                return 0
            time.sleep(0.05)
        print('xmlrpc_bench.py: %d RUNNING after %.0f s, expected %d' % (got, secs, n))
        return 1
    sv = proxy(path).supervisor
    sv.getAllProcessInfo()  # connected, warm
    calls = 0
    start = time.monotonic()
    while True:
        infos = sv.getAllProcessInfo()
        calls += 1
        if len(infos) != n:
            print('xmlrpc_bench.py: getAllProcessInfo gave %d processes, expected %d' % (len(infos), n))
            return 1
        now = time.monotonic()
        if now - start >= secs:
            break
    print('%d %.3f %.1f' % (calls, now - start, calls / (now - start)))
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv))
