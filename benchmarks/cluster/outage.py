#!/usr/bin/env python3
"""A Redis outage under load: every node fails closed (503) within a second, never answers
from a cache it cannot keep exact, and serves again once Redis is back, without a restart.

Usage: outage.py NODES KILL_COMMAND START_COMMAND RESULTS_MD
Each node is polled on its own connection with a session cookie (GET /api/me) while
KILL_COMMAND stops Redis; after every node has answered 503, START_COMMAND starts it again
(its data kept on disk), and the polls go on until every node answers 200 again.
"""
import subprocess
import sys
import threading
import time

from measure import Node


def poll(node, cookie, log, stop):
    conn = None
    while not stop.is_set():
        try:
            conn = conn or node.connection()
            conn.request("GET", "/api/me", headers={"cookie": cookie})
            response = conn.getresponse()
            response.read()
            log.append((time.monotonic(), response.status))
        except OSError:
            conn = None
            log.append((time.monotonic(), "error"))
        time.sleep(0.002)


def main():
    nodes = [node for node in map(Node, sys.argv[1].split(","))]
    kill, start, results_md = sys.argv[2], sys.argv[3], sys.argv[4]
    cookie = nodes[0].login_cookie()
    logs = [[] for _ in nodes]
    stop = threading.Event()
    threads = [threading.Thread(target=poll, args=(node, cookie, log, stop)) for node, log in zip(nodes, logs)]
    for thread in threads:
        thread.start()
    time.sleep(0.5)
    assert all(log and log[-1][1] == 200 for log in logs), "every node serves before the outage"
    killed = time.monotonic()
    subprocess.run(kill, shell=True, check=True)
    deadline = killed + 10
    while time.monotonic() < deadline and not all(any(s == 503 and t > killed for t, s in log) for log in logs):
        time.sleep(0.01)
    down = [min((t for t, s in log if s == 503 and t > killed), default=None) for log in logs]
    restarted = time.monotonic()
    subprocess.run(start, shell=True, check=True)
    deadline = restarted + 20
    while time.monotonic() < deadline and not all(any(s == 200 and t > restarted for t, s in log) for log in logs):
        time.sleep(0.01)
    stop.set()
    for thread in threads:
        thread.join()
    back = [min((t for t, s in log if s == 200 and t > restarted), default=None) for log in logs]
    lines = ["| node | first 503 after the kill | 200s after the kill, before that 503 | "
             "other answers while down | serving again after the restart |", "|---|--:|--:|--:|--:|"]
    ok = True
    for node, log, first_down, first_back in zip(nodes, logs, down, back):
        if first_down is None or first_back is None:
            ok = False
        ok_before = sum(1 for t, s in log if killed < t < (first_down or killed) and s == 200)
        odd = sum(1 for t, s in log if first_down and first_down < t < restarted and s not in (503,))
        lines.append(
            f"| {node.address} | {((first_down or 0) - killed) * 1000:.0f} ms | {ok_before} | {odd} | "
            f"{((first_back or 0) - restarted) * 1000:.0f} ms |")
    text = "\n".join(["Redis killed under load (`kill -9`), then restarted with its data:", ""] + lines + [""])
    print(text)
    with open(results_md, "a") as out:
        out.write(text + "\n")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
