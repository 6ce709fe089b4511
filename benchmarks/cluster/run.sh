#!/usr/bin/env bash
# Three demo processes behind no balancer at all, on one Redis and then on a three-master
# Redis Cluster, sharing one key file: do they behave as one service, and what does the
# shared store cost? See README.md beside this file for what each number means.
#
#   benchmarks/cluster/run.sh            # build, then about three minutes of measuring
#
# Environment: TRIALS (logout propagation trials, 100), WARM_REQUESTS (6000), DURATION
# (s of wrk per row and round, 3), ROUNDS (interleaved wrk rounds, 3), SKIP_BUILD (1: use
# the binaries already built), SKIP_CLUSTER (1: one Redis only), OUT (results file,
# benchmarks/cluster/results.md).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
DURATION="${DURATION:-3}"
ROUNDS="${ROUNDS:-3}"
OUT="${OUT:-$here/results.md}"
target_dir="${CARGO_TARGET_DIR:-$repo/target}"
demo="$target_dir/release/demo"
authctl="$target_dir/release/authctl"

die() { printf '\nrun.sh: FAILED: %s\n' "$*" >&2; exit 1; }
command -v redis-server >/dev/null || die "redis-server is missing"
command -v wrk >/dev/null || die "wrk is missing (apt-get install -y wrk)"

if [[ "${SKIP_BUILD:-0}" != 1 ]]; then
    echo "building the demo and authctl (release) ..."
    (cd "$repo" && cargo build --quiet --release -p authkit-examples --bin demo -p auth-cli --bin authctl)
fi

work="$(mktemp -d)"
pids=()
cleanup() {
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
# A cluster node also listens on its port + 10000, so it must be at most 55535.
free_cluster_port() {
    python3 - <<'PY'
import random, socket
while True:
    port = random.randint(20000, 45000)
    try:
        for p in (port, port + 10000):
            s = socket.socket(); s.bind(("127.0.0.1", p)); s.close()
        print(port); break
    except OSError:
        continue
PY
}
wait_port() { for _ in $(seq 1 200); do (exec 3<>/dev/tcp/127.0.0.1/"$1") 2>/dev/null && return 0; sleep 0.05; done; die "nothing listens on $1"; }

"$authctl" keys add "$work/keys.json" --create --alg ES256 --kid cluster-1 >/dev/null 2>&1
issuer="http://authkit-cluster.test"

start_redis() { # start_redis PORT [extra args]: a server of our own, its data on disk
    local port=$1; shift
    mkdir -p "$work/redis-$port"
    redis-server --port "$port" --bind 127.0.0.1 --dir "$work/redis-$port" --save "" \
        --appendonly yes --appendfsync everysec --daemonize no "$@" >"$work/redis-$port.log" 2>&1 &
    echo $! >"$work/redis-$port.pid"
    pids+=($!)
    wait_port "$port"
}

start_demos() { # start_demos STORE_URL [flags]: three nodes; prints their addresses
    local store=$1; shift
    local addresses=()
    for n in 1 2 3; do
        local port; port=$(free_port)
        RUST_LOG=warn "$demo" --addr "127.0.0.1:$port" --store "$store" --key-prefix cluster_bench \
            --keys "$work/keys.json" --issuer "$issuer" "$@" >>"$work/demo.log" 2>&1 &
        pids+=($!)
        echo $! >"$work/demo-$port.pid"
        wait_port "$port"
        addresses+=("127.0.0.1:$port")
    done
    local IFS=,; echo "${addresses[*]}"
}

stop_demos() { for address in ${1//,/ }; do kill "$(cat "$work/demo-${address##*:}.pid")"; done; sleep 0.3; }

rps() { # rps URL [header]: requests/s of wrk -t2 -c16 for DURATION s
    local args=(-t2 -c16 -d"${DURATION}s" --latency)
    [[ $# -gt 1 ]] && args+=(-H "$2")
    wrk "${args[@]}" "$1" | awk '/Requests\/sec/ {print int($2)} /Non-2xx/ {print "NON2XX " $0 > "/dev/stderr"}'
}

throughput() { # throughput ADDRESS LABEL: one node's routes under wrk, as ratios
    local node=$1 label=$2
    local cookie token
    cookie=$(curl -s -i -X POST "http://$node/login" -H "origin: http://$node" \
        --data 'username=alice&password=wonderland' | awk -F'[: ;]+' 'tolower($1)=="set-cookie" {print $2; exit}')
    token=$(curl -s -X POST "http://$node/api/token" -H 'content-type: application/json' \
        -d '{"username":"alice","password":"wonderland"}' | python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')
    # Interleaved rounds: each ratio compares stretches of load seconds apart, not a
    # drifting machine's first and last minute.
    local health=0 jwks=0 session=0 bearer=0 round
    for ((round = 1; round <= ROUNDS; round++)); do
        health=$((health + $(rps "http://$node/api/health")))
        jwks=$((jwks + $(rps "http://$node/.well-known/jwks.json")))
        session=$((session + $(rps "http://$node/api/me" "Cookie: $cookie")))
        bearer=$((bearer + $(rps "http://$node/api/me" "Authorization: Bearer $token")))
    done
    python3 - "$label" "$ROUNDS" "$health" "$jwks" "$session" "$bearer" >>"$OUT" <<'PY'
import sys
label, rounds, *sums = sys.argv[1], *map(int, sys.argv[2:])
health, jwks, session, bearer = (total // rounds for total in sums)
def row(rate):
    return f"{rate} ({rate / health:.2f}x / {rate / jwks:.2f}x)"
print(f"| {label} | {health} | {jwks} | {row(session)} | {row(bearer)} |")
PY
}

header() {
    echo "| node | GET /api/health | GET /.well-known/jwks.json | /api/me, session cookie | /api/me, bearer token |"
    echo "|---|--:|--:|--:|--:|"
}

{
    echo "# Cluster run of $(date -u +%Y-%m-%d), $(nproc) CPUs: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
    echo
} >"$OUT"

# ------------------------------------------------------------------ one Redis
rport=$(free_port)
start_redis "$rport"
nodes=$(start_demos "redis://127.0.0.1:$rport" --local-cache)
echo "nodes on one Redis (:$rport): $nodes"
LABEL="One Redis" python3 "$here/measure.py" "$nodes" "-p $rport" -- "$OUT"

{
    echo "One node under wrk (-t2 -c16), mean requests/s of $ROUNDS interleaved rounds of ${DURATION} s, and the"
    echo "ratios to its two unauthenticated routes (/api/health / the JWKS):"
    echo
    header
} >>"$OUT"
throughput "${nodes%%,*}" "--local-cache"
stop_demos "$nodes"
plain=$(start_demos "redis://127.0.0.1:$rport")
throughput "${plain%%,*}" "no local cache"
stop_demos "$plain"
# The same node on the in-process memory store: what no network store can beat.
memory=$(start_demos memory)
throughput "${memory%%,*}" "memory store (one node alone)"
stop_demos "$memory"
echo >>"$OUT"

nodes=$(start_demos "redis://127.0.0.1:$rport" --local-cache)
redis_pid=$(cat "$work/redis-$rport.pid")
python3 "$here/outage.py" "$nodes" "kill -9 $redis_pid" \
    "redis-server --port $rport --bind 127.0.0.1 --dir $work/redis-$rport --save '' --appendonly yes --daemonize yes --logfile $work/redis-$rport.log" \
    "$OUT"
stop_demos "$nodes"
redis-cli -p "$rport" shutdown nosave >/dev/null 2>&1 || true

# ------------------------------------------------------------------ a Redis Cluster
if [[ "${SKIP_CLUSTER:-0}" != 1 ]]; then
    ports=()
    for _ in 1 2 3; do
        port=$(free_cluster_port)
        start_redis "$port" --cluster-enabled yes --cluster-config-file "$work/nodes-$port.conf"
        ports+=("$port")
    done
    redis-cli --cluster create "${ports[@]/#/127.0.0.1:}" --cluster-replicas 0 --cluster-yes >/dev/null
    for _ in $(seq 1 100); do
        [[ $(redis-cli -p "${ports[0]}" cluster info | grep -c 'cluster_state:ok') == 1 ]] && break
        sleep 0.1
    done
    url="redis+cluster://$(IFS=,; echo "${ports[*]/#/127.0.0.1:}")"
    nodes=$(start_demos "$url" --local-cache)
    echo "nodes on a Redis Cluster (${ports[*]}): $nodes"
    servers=$(printf -- "-p %s+" "${ports[@]}"); servers=${servers%+}
    LABEL="A three-master Redis Cluster" python3 "$here/measure.py" "$nodes" "$servers" -- "$OUT"
    header >>"$OUT"
    throughput "${nodes%%,*}" "--local-cache, cluster"
    stop_demos "$nodes"
    for port in "${ports[@]}"; do redis-cli -p "$port" shutdown nosave >/dev/null 2>&1 || true; done
fi

echo
cat "$OUT"
