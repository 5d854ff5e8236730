# SPDX-License-Identifier: MIT
"""Python's side of bench/dist: the tutorial's distributed task queue, done
with multiprocessing.managers as a Python user would (task_master.py and
task_worker.py): a BaseManager serves a task queue and a result queue over
TCP; a worker process connects to it and runs JOBS tasks at once (threads,
each: get a task, subprocess.run it capturing stdout and stderr, put the
result: id, return code, stdout, stderr, duration, worker, host).

The manager and the worker start and connect first; the time is from the
first task put to the last result got, as for tend (submit, then results
--wait).

usage: python3 dist.py COUNT JOBS CMD [ARG...]
       (each task is CMD ARG... plus its number as the last argument)
prints: "python-managers COUNT tasks in SECONDS s"
"""
import os
import queue
import socket
import subprocess
import sys
import threading
import time
from multiprocessing.managers import BaseManager

AUTHKEY = b"tend-bench"

task_queue = queue.Queue()
result_queue = queue.Queue()


def get_task_queue():
    return task_queue


def get_result_queue():
    return result_queue


class QueueManager(BaseManager):
    pass


def worker(address, jobs):
    QueueManager.register("get_task_queue")
    QueueManager.register("get_result_queue")
    m = QueueManager(address=address, authkey=AUTHKEY)
    m.connect()
    host = socket.gethostname()
    name = "%s-%d" % (host, os.getpid())

    def loop():
        tasks, results = m.get_task_queue(), m.get_result_queue()
        while True:
            t = tasks.get()
            if t is None:
                return
            tid, argv = t
            t0 = time.monotonic()
            p = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True)
            results.put({"id": tid, "exit_code": p.returncode, "stdout": p.stdout,
                         "stderr": p.stderr, "duration": time.monotonic() - t0,
                         "worker": name, "host": host, "attempt": 1})

    threads = [threading.Thread(target=loop) for _ in range(jobs)]
    for t in threads:
        t.start()
    m.get_result_queue().put("ready")
    for t in threads:
        t.join()


def main():
    if sys.argv[1] == "--worker":
        host, port, jobs = sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
        worker((host, port), jobs)
        return 0
    count, jobs, cmd = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3:]
    QueueManager.register("get_task_queue", callable=get_task_queue)
    QueueManager.register("get_result_queue", callable=get_result_queue)
    m = QueueManager(address=("127.0.0.1", 0), authkey=AUTHKEY)
    m.start()
    host, port = m.address
    w = subprocess.Popen([sys.executable, __file__, "--worker", host, str(port), str(jobs)])
    tasks, results = m.get_task_queue(), m.get_result_queue()
    assert results.get(timeout=30) == "ready"

    t0 = time.monotonic()
    for i in range(count):
        tasks.put((i, cmd + [str(i + 1)]))
    got, failed = 0, 0
    while got < count:
        r = results.get(timeout=60)
        got += 1
        failed += r["exit_code"] != 0
    elapsed = time.monotonic() - t0

    for _ in range(jobs):
        tasks.put(None)
    w.wait()
    m.shutdown()
    if failed:
        print("python-managers: %d tasks failed" % failed, file=sys.stderr)
        return 1
    print("python-managers %d tasks in %.6f s" % (count, elapsed))
    return 0


if __name__ == "__main__":
    sys.exit(main())
