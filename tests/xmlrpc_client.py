#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""supervisord's XML-RPC interface through Python's xmlrpc.client.

usage: xmlrpc_client.py SOCKET

Run by tests/test_supervisorctl.c against `tend daemon` (or, with
TEND_PEER=supervisord, against /usr/bin/supervisord: that run is how the
values pinned here were checked) on a config with these programs:

    a      sleep 1000, running
    b      sleep 1001, autostart=false
    quick  sh -c 'exit 3', autostart=false, startsecs=1, startretries=0
    nf     /nonexistent/cmd, autostart=false

It checks system.listMethods (the 41 names), system.methodSignature and
system.methodHelp, system.multicall (bare values and fault structs, in
order) and the faults' exact codes and strings; prints each failure and
exits 1 if there was one.
"""

import http.client
import socket
import sys
import xmlrpc.client

METHODS = [
    'supervisor.addProcessGroup', 'supervisor.clearAllProcessLogs', 'supervisor.clearLog',
    'supervisor.clearProcessLog', 'supervisor.clearProcessLogs', 'supervisor.getAPIVersion',
    'supervisor.getAllConfigInfo', 'supervisor.getAllProcessInfo',
    'supervisor.getIdentification', 'supervisor.getPID', 'supervisor.getProcessInfo',
    'supervisor.getState', 'supervisor.getSupervisorVersion', 'supervisor.getVersion',
    'supervisor.readLog', 'supervisor.readMainLog', 'supervisor.readProcessLog',
    'supervisor.readProcessStderrLog', 'supervisor.readProcessStdoutLog',
    'supervisor.reloadConfig', 'supervisor.removeProcessGroup', 'supervisor.restart',
    'supervisor.sendProcessStdin', 'supervisor.sendRemoteCommEvent', 'supervisor.shutdown',
    'supervisor.signalAllProcesses', 'supervisor.signalProcess',
    'supervisor.signalProcessGroup', 'supervisor.startAllProcesses',
    'supervisor.startProcess', 'supervisor.startProcessGroup',
    'supervisor.stopAllProcesses', 'supervisor.stopProcess', 'supervisor.stopProcessGroup',
    'supervisor.tailProcessLog', 'supervisor.tailProcessStderrLog',
    'supervisor.tailProcessStdoutLog', 'system.listMethods', 'system.methodHelp',
    'system.methodSignature', 'system.multicall',
]

INFO_KEYS = ['description', 'exitstatus', 'group', 'logfile', 'name', 'now', 'pid',
             'spawnerr', 'start', 'state', 'statename', 'stderr_logfile', 'stdout_logfile',
             'stop']


class UnixConnection(http.client.HTTPConnection):
    def __init__(self, path):
        super().__init__('localhost', timeout=30)
        self.path = path

    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(30)
        self.sock.connect(self.path)


class UnixTransport(xmlrpc.client.Transport):
    def __init__(self, path):
        super().__init__()
        self.path = path

    def make_connection(self, host):
        return UnixConnection(self.path)


failures = []


def check(what, got, want):
    if got != want:
        failures.append('%s: got %r, expected %r' % (what, got, want))


def fault(what, call, code, text):
    """call() must raise Fault(code, text)."""
    try:
        got = call()
    except xmlrpc.client.Fault as e:
        check(what, (e.faultCode, e.faultString), (code, text))
    else:
        failures.append('%s: returned %r, expected fault %d %r' % (what, got, code, text))


def main():
    server = xmlrpc.client.ServerProxy('http://localhost/RPC2',
                                       transport=UnixTransport(sys.argv[1]))
    system, sv = server.system, server.supervisor

    # system.*
    methods = system.listMethods()
    check('listMethods', methods, METHODS)
    check('listMethods count', len(methods), 41)
    check('methodSignature getProcessInfo', system.methodSignature('supervisor.getProcessInfo'),
          ['struct', 'string'])
    check('methodSignature startProcess', system.methodSignature('supervisor.startProcess'),
          ['boolean', 'string', 'boolean'])
    check('methodSignature multicall', system.methodSignature('system.multicall'),
          ['array', 'array'])
    check('methodHelp getPID', system.methodHelp('supervisor.getPID'),
          ' Return the PID of supervisord\n\n        @return int PID\n        ')
    fault('methodSignature nope', lambda: system.methodSignature('nope'), 4,
          'SIGNATURE_UNSUPPORTED')
    fault('methodHelp nope', lambda: system.methodHelp('nope'), 4, 'SIGNATURE_UNSUPPORTED')

    # supervisor.* answers and faults
    check('getAPIVersion', sv.getAPIVersion(), '3.0')
    check('getVersion', sv.getVersion(), '3.0')
    check('getSupervisorVersion', sv.getSupervisorVersion(), '4.2.5')
    check('getIdentification', sv.getIdentification(), 'supervisor')
    check('getState', sv.getState(), {'statecode': 1, 'statename': 'RUNNING'})
    info = sv.getProcessInfo('a')
    check('getProcessInfo keys', sorted(info), INFO_KEYS)
    check('getProcessInfo a', (info['name'], info['group'], info['statename'], info['state']),
          ('a', 'a', 'RUNNING', 20))
    infos = sv.getAllProcessInfo()
    check('getAllProcessInfo', [(i['name'], i['statename']) for i in infos],
          [('a', 'RUNNING'), ('b', 'STOPPED'), ('nf', 'STOPPED'), ('quick', 'STOPPED')])

    fault('unknown method', lambda: sv.nope(), 1, 'UNKNOWN_METHOD')
    fault('unknown namespace', lambda: server.nope.getPID(), 1, 'UNKNOWN_METHOD')
    fault('getProcessInfo()', lambda: sv.getProcessInfo(), 2, 'INCORRECT_PARAMETERS')
    fault('getPID(1)', lambda: sv.getPID(1), 2, 'INCORRECT_PARAMETERS')
    fault('getProcessInfo nope', lambda: sv.getProcessInfo('nope'), 10, 'BAD_NAME: nope')
    fault('getProcessInfo a:nope', lambda: sv.getProcessInfo('a:nope'), 10, 'BAD_NAME: a:nope')
    fault('startProcess nope', lambda: sv.startProcess('nope'), 10, 'BAD_NAME: nope')
    fault('startProcessGroup nope', lambda: sv.startProcessGroup('nope'), 10, 'BAD_NAME: nope')
    fault('startProcess a', lambda: sv.startProcess('a'), 60, 'ALREADY_STARTED: a')
    fault('stopProcess b', lambda: sv.stopProcess('b'), 70, 'NOT_RUNNING: b')
    fault('signalProcess b', lambda: sv.signalProcess('b', 'HUP'), 70, 'NOT_RUNNING: b')
    fault('signalProcess a NOPE', lambda: sv.signalProcess('a', 'NOPE'), 11, 'BAD_SIGNAL: NOPE')
    fault('sendProcessStdin b', lambda: sv.sendProcessStdin('b', 'x'), 70, 'NOT_RUNNING: b')
    fault('readProcessStdoutLog nope', lambda: sv.readProcessStdoutLog('nope', 0, 10), 10,
          'BAD_NAME: nope')
    fault('addProcessGroup a', lambda: sv.addProcessGroup('a'), 90, 'ALREADY_ADDED: a')
    fault('removeProcessGroup a', lambda: sv.removeProcessGroup('a'), 91, 'STILL_RUNNING: a')
    fault('removeProcessGroup nope', lambda: sv.removeProcessGroup('nope'), 10, 'BAD_NAME: nope')

    # A command that is not there: refused before a spawn.
    fault('startProcess nf', lambda: sv.startProcess('nf'), 20,
          "NO_FILE: can't find command '/nonexistent/cmd'")
    check('nf not started', sv.getProcessInfo('nf')['statename'], 'STOPPED')

    # A start that exits before startsecs, waited for: SPAWN_ERROR.
    fault('startProcess quick', lambda: sv.startProcess('quick'), 50, 'SPAWN_ERROR: quick')
    quick = sv.getProcessInfo('quick')
    check('quick after its failed start', (quick['statename'], quick['spawnerr'],
                                           quick['description']),
          ('FATAL', 'Exited too quickly (process log may have details)',
           'Exited too quickly (process log may have details)'))

    # system.multicall: bare values and fault structs, in order.
    got = system.multicall([
        {'methodName': 'supervisor.getAPIVersion', 'params': []},
        {'methodName': 'supervisor.getProcessInfo', 'params': ['nope']},
        {'params': []},
        {'methodName': 'system.multicall', 'params': [[]]},
        {'methodName': 'supervisor.nope', 'params': []},
        {'methodName': 'supervisor.getProcessInfo', 'params': []},
        {'methodName': 'supervisor.stopProcess', 'params': ['b']},
        {'methodName': 'supervisor.startProcess', 'params': ['b']},
        {'methodName': 'supervisor.stopProcess', 'params': ['b']},
        {'methodName': 'system.listMethods', 'params': []},
    ])
    check('multicall', got, [
        '3.0',
        {'faultCode': 10, 'faultString': 'BAD_NAME: nope'},
        {'faultCode': 2, 'faultString': 'INCORRECT_PARAMETERS: No methodName'},
        {'faultCode': 2, 'faultString': 'INCORRECT_PARAMETERS: Recursive system.multicall '
                                        'forbidden'},
        {'faultCode': 1, 'faultString': 'UNKNOWN_METHOD'},
        {'faultCode': 2, 'faultString': 'INCORRECT_PARAMETERS'},
        {'faultCode': 70, 'faultString': 'NOT_RUNNING: b'},
        True,
        True,
        METHODS,
    ])
    check('multicall of nothing', system.multicall([]), [])
    got = system.multicall([{'methodName': 'supervisor.getProcessInfo', 'params': ['a']}])
    check('multicall getProcessInfo', isinstance(got[0], dict) and got[0].get('name'), 'a')

    for f in failures:
        print(f)
    return 1 if failures else 0


if __name__ == '__main__':
    sys.exit(main())
