#!/usr/bin/env python3
"""Three demo nodes on one Redis (or one Redis Cluster) as one service: started by run.sh,
measured here.

Usage: measure.py NODES REDIS_CLI_ARGS... -- RESULTS_MD
  NODES: comma-separated host:port of the running demo nodes (all with --local-cache).
  REDIS_CLI_ARGS: how to reach each Redis server for INFO/CONFIG (redis-cli arguments, one
  group per server separated by '+', e.g. "-p 7001+-p 7002+-p 7003").

Prints and writes to RESULTS_MD:
  1. a logout on one node until the first 401 on each other node, p50 and p99 over TRIALS
     trials, for a session cookie (POST /logout) and for a bearer token (POST /api/logout);
  2. Redis commands per 1000 warm requests (INFO commandstats over a run of warm requests
     spread over the nodes, heartbeats and touches included);
  3. cross-node checks: a token minted on one node works on the others, a refresh token
     reused on another node is caught, and every node publishes the same JWKS.
Exits 1 when a check fails (a target missed is reported, not a failure).
"""
import http.client
import json
import os
import statistics
import subprocess
import sys
import threading
import time
import urllib.parse

TRIALS = int(os.environ.get("TRIALS", "100"))
WARM_REQUESTS = int(os.environ.get("WARM_REQUESTS", "6000"))


class Node:
    def __init__(self, address):
        self.address = address
        self.host, port = address.rsplit(":", 1)
        self.port = int(port)

    def connection(self):
        return http.client.HTTPConnection(self.host, self.port, timeout=10)

    def request(self, method, path, body=None, headers=None, conn=None):
        own = conn is None
        conn = conn or self.connection()
        conn.request(method, path, body=body, headers=headers or {})
        response = conn.getresponse()
        data = response.read()
        result = (response.status, dict(response.getheaders()), data)
        if own:
            conn.close()
        return result

    def login_cookie(self, user="alice", password="wonderland"):
        body = urllib.parse.urlencode({"username": user, "password": password})
        status, headers, _ = self.request(
            "POST", "/login", body,
            {"content-type": "application/x-www-form-urlencoded",
             "origin": f"http://{self.address}"})
        assert status == 303, f"login on {self.address}: {status}"
        set_cookie = next(v for k, v in headers.items() if k.lower() == "set-cookie")
        return set_cookie.split(";")[0]

    def token(self, user="alice", password="wonderland"):
        status, _, data = self.request(
            "POST", "/api/token", json.dumps({"username": user, "password": password}),
            {"content-type": "application/json"})
        assert status == 200, f"token on {self.address}: {status} {data!r}"
        return json.loads(data)


def first_401(node, headers, started, stop, out, index):
    """Polls GET /api/me on one keep-alive connection until it is refused."""
    conn = node.connection()
    started.set()
    while not stop.is_set():
        conn.request("GET", "/api/me", headers=headers)
        response = conn.getresponse()
        response.read()
        if response.status == 401:
            out[index] = time.monotonic()
            return
        if response.status != 200:
            out[index] = ("status", response.status)
            return


def propagation(nodes, kind):
    """Latencies (ms) from a logout acknowledged on node 0 to the first 401 on the others."""
    latencies = []
    for _ in range(TRIALS):
        if kind == "cookie":
            credential = nodes[0].login_cookie()
            headers = {"cookie": credential}
        else:
            credential = nodes[0].token()["access_token"]
            headers = {"authorization": f"Bearer {credential}"}
        for node in nodes[1:]:  # warm: each other node has it cached
            status, _, _ = node.request("GET", "/api/me", headers=headers)
            assert status == 200, f"warm request on {node.address}: {status}"
        stop = threading.Event()
        out = [None] * (len(nodes) - 1)
        ready = []
        threads = []
        for i, node in enumerate(nodes[1:]):
            started = threading.Event()
            ready.append(started)
            thread = threading.Thread(target=first_401, args=(node, headers, started, stop, out, i))
            thread.start()
            threads.append(thread)
        for started in ready:
            started.wait()
        if kind == "cookie":
            status, _, _ = nodes[0].request(
                "POST", "/logout", "", {"cookie": credential, "origin": f"http://{nodes[0].address}",
                                        "content-type": "application/x-www-form-urlencoded"})
            assert status == 303, f"logout: {status}"
        else:
            status, _, _ = nodes[0].request("POST", "/api/logout", "", headers)
            assert status == 204, f"api logout: {status}"
        done = time.monotonic()
        for thread in threads:
            thread.join(timeout=5)
        stop.set()
        for value in out:
            assert isinstance(value, float), f"a node never refused the {kind}: {value}"
            latencies.append(max(0.0, (value - done) * 1000))
    return latencies


def percentile(values, p):
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]


def redis_cli(args, *command):
    return subprocess.run(["redis-cli", *args.split(), *command], capture_output=True,
                          text=True, check=True).stdout


def commands(servers):
    total = 0
    by_command = {}
    for args in servers:
        for line in redis_cli(args, "INFO", "commandstats").splitlines():
            if line.startswith("cmdstat_"):
                name, rest = line.split(":", 1)
                calls = int(rest.split("calls=")[1].split(",")[0])
                name = name[len("cmdstat_"):]
                # Redis 7 names subcommands "config|resetstat": the harness's own calls.
                if name.split("|")[0] in ("info", "config"):
                    continue
                by_command[name] = by_command.get(name, 0) + calls
                total += calls
    return total, by_command


def warm_load(nodes, servers):
    """Redis commands per 1000 warm requests: cookie and bearer requests spread over nodes."""
    cookies = [node.login_cookie() for node in nodes]
    tokens = [nodes[0].token()["access_token"] for _ in nodes]
    credentials = [{"cookie": c} for c in cookies] + [{"authorization": f"Bearer {t}"} for t in tokens]
    for node in nodes:  # warm every cache with every credential
        for headers in credentials:
            assert node.request("GET", "/api/me", headers=headers)[0] == 200
    for args in servers:
        redis_cli(args, "CONFIG", "RESETSTAT")
    per_thread = WARM_REQUESTS // len(nodes)
    failures = []

    def drive(node):
        conn = node.connection()
        for i in range(per_thread):
            conn.request("GET", "/api/me", headers=credentials[i % len(credentials)])
            response = conn.getresponse()
            response.read()
            if response.status != 200:
                failures.append(response.status)

    began = time.monotonic()
    threads = [threading.Thread(target=drive, args=(node,)) for node in nodes]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.monotonic() - began
    total, by_command = commands(servers)
    assert not failures, f"non-2xx during the warm run: {failures[:5]}"
    requests = per_thread * len(nodes)
    return requests, elapsed, total, by_command


def cross_node(nodes):
    checks = []
    pair = nodes[0].token()
    for node in nodes[1:]:
        status, _, _ = node.request("GET", "/api/me", headers={"authorization": f"Bearer {pair['access_token']}"})
        checks.append((f"a token from {nodes[0].address} on {node.address}", status == 200, status))
    cookie = nodes[1].login_cookie()
    status, _, _ = nodes[2].request("GET", "/api/me", headers={"cookie": cookie})
    checks.append((f"a cookie from {nodes[1].address} on {nodes[2].address}", status == 200, status))
    body = json.dumps({"refresh_token": pair["refresh_token"]})
    hdr = {"content-type": "application/json"}
    status, _, _ = nodes[1].request("POST", "/api/token/refresh", body, hdr)
    checks.append(("a refresh on another node", status == 200, status))
    status, _, data = nodes[2].request("POST", "/api/token/refresh", body, hdr)
    checks.append(("the same refresh token reused on a third node is refused", status == 401, status))
    jwks = {node.request("GET", "/.well-known/jwks.json")[2] for node in nodes}
    checks.append(("every node publishes the same JWKS", len(jwks) == 1, len(jwks)))
    return checks


def main():
    split = sys.argv.index("--")
    nodes = [Node(a) for a in sys.argv[1].split(",")]
    servers = " ".join(sys.argv[2:split]).split("+")
    results_md = sys.argv[split + 1]
    label = os.environ.get("LABEL", "one Redis")
    lines = [f"### {label}: {len(nodes)} demo nodes with --local-cache", ""]
    ok = True

    checks = cross_node(nodes)
    for what, passed, detail in checks:
        ok &= passed
        lines.append(f"- {'ok' if passed else 'FAILED'}: {what} ({detail})")
    lines.append("")

    lines.append(f"| revoked on node 1, refused on the others | trials | p50 | p99 | max |")
    lines.append("|---|--:|--:|--:|--:|")
    for kind, what in (("cookie", "session cookie, `POST /logout`"), ("bearer", "bearer token, `POST /api/logout`")):
        latencies = propagation(nodes, kind)
        lines.append(f"| {what} | {TRIALS} x {len(nodes) - 1} nodes | {percentile(latencies, 50):.2f} ms | "
                     f"{percentile(latencies, 99):.2f} ms | {max(latencies):.2f} ms |")
    lines.append("")

    requests, elapsed, total, by_command = warm_load(nodes, servers)
    per_thousand = total * 1000 / requests
    top = ", ".join(f"{name} {calls}" for name, calls in sorted(by_command.items(), key=lambda kv: -kv[1])[:6])
    lines.append(f"Redis commands per 1000 warm requests: **{per_thousand:.1f}** "
                 f"({total} commands for {requests} requests in {elapsed:.1f} s over {len(nodes)} nodes; {top})")
    lines.append("")
    text = "\n".join(lines)
    print(text)
    with open(results_md, "a") as out:
        out.write(text + "\n")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
