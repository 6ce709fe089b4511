#!/usr/bin/env python3
"""A burst of concurrent logins against a running demo, and what it costs the process.

Usage: login_burst.py PID HOST:PORT [CONCURRENCY] [MODE]

MODE `one-user` sends every login for `bob` with a wrong password (the throttle's case);
`many-users` sends each for a different unknown name, so up to the per-address limit
reach the password hash (the hashing bound's case). While the burst runs, a second
client polls `GET /api/health` and the process's resident memory is sampled from
/proc/PID/status. Prints the statuses, the peak resident memory (VmHWM) and the slowest
health answer; exits 1 if the process passed 600 MiB or a health answer took 1 s or more.
"""
import http.client
import json
import sys
import threading
import time
from collections import Counter


def vm_kib(pid, field):
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


def login(host, port, username, statuses, lock, start):
    start.wait()
    body = json.dumps({"username": username, "password": "wrong"})
    try:
        conn = http.client.HTTPConnection(host, port, timeout=30)
        conn.request("POST", "/api/token", body, {"content-type": "application/json"})
        status = conn.getresponse().status
    except OSError as error:
        status = type(error).__name__
    with lock:
        statuses[status] += 1


def main():
    pid, address = int(sys.argv[1]), sys.argv[2]
    concurrency = int(sys.argv[3]) if len(sys.argv) > 3 else 200
    mode = sys.argv[4] if len(sys.argv) > 4 else "one-user"
    host, port = address.rsplit(":", 1)
    statuses, lock, start, done = Counter(), threading.Lock(), threading.Event(), threading.Event()
    health = []

    def poll():
        conn = http.client.HTTPConnection(host, port, timeout=30)
        while not done.is_set():
            began = time.monotonic()
            conn.request("GET", "/api/health")
            conn.getresponse().read()
            health.append(time.monotonic() - began)
            time.sleep(0.01)

    threads = [
        threading.Thread(
            target=login,
            args=(host, port, "bob" if mode == "one-user" else f"user{i}", statuses, lock, start),
        )
        for i in range(concurrency)
    ]
    for thread in threads:
        thread.start()
    poller = threading.Thread(target=poll)
    poller.start()
    rss_before = vm_kib(pid, "VmRSS")
    began = time.monotonic()
    start.set()
    while any(t.is_alive() for t in threads):
        time.sleep(0.02)
    elapsed = time.monotonic() - began
    done.set()
    poller.join()
    peak = vm_kib(pid, "VmHWM")
    slowest = max(health) if health else float("nan")
    print(f"mode {mode}, {concurrency} concurrent logins in {elapsed:.2f} s: {dict(statuses)}")
    print(f"resident memory: {rss_before / 1024:.0f} MiB before, peak {peak / 1024:.0f} MiB")
    print(f"GET /api/health during the burst: {len(health)} answers, slowest {slowest * 1000:.0f} ms")
    sys.exit(0 if peak < 600 * 1024 and slowest < 1.0 else 1)


if __name__ == "__main__":
    main()
