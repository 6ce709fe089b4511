#!/usr/bin/env bash
# HTTP under load (issue #9): starts the release demo on a free loopback port with the
# memory store, logs in as alice for a session cookie and a bearer token, and drives wrk
# against the unauthenticated GET /api/health and the authenticated GET /api/me (cookie,
# and bearer for each --jwt-alg). Prints requests/s and p99 side by side, writes the same
# table to results.md, and fails if any response was not 2xx. Each demo's rows are
# measured in interleaved rounds (baseline, then each authenticated row, again and
# again), so that a ratio compares stretches of load seconds apart, not a drifting
# machine's first and last minute. The peer, axum with tower-sessions' layer and
# MemoryStore (benchmarks/examples/tower_sessions_server.rs), serves the same two routes in
# the session cookie's rounds, so the table also says how the two compare on one request.
#
#   benchmarks/load/run.sh                              # build, then about 95 s of load
#   ROUNDS=1 DURATION=2 WARMUP=1 benchmarks/load/run.sh # a quick smoke run
#
# Environment: ROUNDS (interleaved rounds per demo, 9), DURATION (whole s measured per row
# and round, 1), WARMUP (s of unmeasured load per row before the first round, 1),
# CONNECTIONS (16), THREADS (wrk threads, 2), ALGS ("hs256 eddsa es256"),
# PIN (1: server on CPU 0, wrk on CPU 1; default 0, both float), PEER (0: without the
# tower-sessions peer; default 1), OUT (results file,
# benchmarks/load/results.md), SKIP_BUILD (1: use the binary already built),
# CARGO_TARGET_DIR (as cargo reads it). See README.md beside this file for the caveats.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"

ROUNDS="${ROUNDS:-9}"
DURATION="${DURATION:-1}"
WARMUP="${WARMUP:-1}"
CONNECTIONS="${CONNECTIONS:-16}"
THREADS="${THREADS:-2}"
ALGS="${ALGS:-hs256 eddsa es256}"
PIN="${PIN:-0}"
PEER="${PEER:-1}"
OUT="${OUT:-$here/results.md}"
SKIP_BUILD="${SKIP_BUILD:-0}"
TARGET_RATIO="0.85"

die() {
    printf '\nrun.sh: FAILED: %s\n' "$*" >&2
    exit 1
}

# ---------------------------------------------------------------------------- tools
command -v curl >/dev/null || die "curl is missing (apt-get install -y curl)"
if ! command -v wrk >/dev/null; then
    echo "wrk is missing: installing Debian's package"
    if [[ $(id -u) -eq 0 ]]; then
        apt-get install -y wrk >/dev/null || { apt-get update >/dev/null && apt-get install -y wrk >/dev/null; }
    else
        sudo apt-get install -y wrk >/dev/null
    fi
    command -v wrk >/dev/null || die "could not install wrk"
fi
server_cpu=() client_cpu=()
if [[ $PIN == 1 ]]; then
    command -v taskset >/dev/null || die "PIN=1 needs taskset (util-linux)"
    server_cpu=(taskset -c 0) client_cpu=(taskset -c 1)
fi

# ---------------------------------------------------------------------------- build
target_dir="${CARGO_TARGET_DIR:-$repo/target}"
[[ $target_dir == /* ]] || target_dir="$repo/$target_dir"
demo_bin="$target_dir/release/demo"
peer_bin="$target_dir/release/examples/tower_sessions_server"
if [[ $SKIP_BUILD != 1 ]]; then
    echo "building the demo (release) ..."
    build_start=$SECONDS
    (cd "$repo" && cargo build --quiet --release -p authkit-examples --bin demo)
    if [[ $PEER == 1 ]]; then
        (cd "$repo" && cargo build --quiet --release -p benchmarks --example tower_sessions_server)
    fi
    echo "build took $((SECONDS - build_start)) s"
fi
[[ -x $demo_bin ]] || die "$demo_bin not found (build it, or unset SKIP_BUILD)"
if [[ $PEER == 1 ]]; then
    [[ -x $peer_bin ]] || die "$peer_bin not found (build it, or unset SKIP_BUILD, or PEER=0)"
fi

# ---------------------------------------------------------------------------- the demo
work="$(mktemp -d "${TMPDIR:-/tmp}/authkit-load.XXXXXX")"
demo_pid=""
base=""
peer_pid=""
peer_base=""

# stop PIDVAR: stops the server whose pid the variable named PIDVAR holds, if any.
stop() {
    local -n pid=$1
    if [[ -n $pid ]]; then
        kill "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
        pid=""
    fi
}
cleanup() {
    stop demo_pid
    stop peer_pid
    rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# banner_address LOG PID WHO PREFIX: the http://127.0.0.1:PORT that the server started in
# the background (PID, writing LOG) prints after PREFIX once it listens on the port the
# kernel picked; waits up to 10 s, and fails if the server exits first.
banner_address() {
    local log=$1 pid=$2 who=$3 prefix=$4 address i
    for ((i = 0; i < 100; i++)); do
        address="$(sed -n "s|^$prefix \(http://127\.0\.0\.1:[0-9]*\)/.*|\1|p" "$log")"
        if [[ -n $address ]]; then
            printf '%s' "$address"
            return 0
        fi
        kill -0 "$pid" 2>/dev/null || die "$who exited at start: $(cat "$log")"
        sleep 0.1
    done
    die "$who printed no address within 10 s: $(cat "$log")"
}

# start_demo ALG: the demo on 127.0.0.1:0, then waits for /api/health.
start_demo() {
    local alg=$1 log="$work/demo-$1.log" i
    : >"$log" # exists before the background child opens it, for the first read
    "${server_cpu[@]}" "$demo_bin" --addr 127.0.0.1:0 --store memory --jwt-alg "$alg" >"$log" 2>&1 &
    demo_pid=$!
    base="$(banner_address "$log" "$demo_pid" "the demo" "authkit demo on")"
    for ((i = 0; i < 100; i++)); do
        curl -fsS -o /dev/null "$base/api/health" 2>/dev/null && return 0
        sleep 0.1
    done
    die "$base/api/health did not answer within 10 s"
}

# start_peer: the tower-sessions peer on 127.0.0.1:0 (it answers once it prints).
start_peer() {
    local log="$work/peer.log"
    : >"$log"
    "${server_cpu[@]}" "$peer_bin" 127.0.0.1:0 >"$log" 2>&1 &
    peer_pid=$!
    peer_base="$(banner_address "$log" "$peer_pid" "the peer" "tower-sessions peer on")"
}

# session_cookie BASE [CURL ARGS...]: the cookie (name=value) that POST BASE/login sets,
# checked to be a session identity on BASE/api/me.
session_cookie() {
    local base=$1 headers cookie
    shift
    headers="$(curl -fsS -o /dev/null -D - -X POST "$@" "$base/login")" || die "POST $base/login failed"
    cookie="$(printf '%s\n' "$headers" | tr -d '\r' |
        sed -n 's/^[Ss]et-[Cc]ookie: *\([^;]*\).*/\1/p' | head -n 1)"
    [[ -n $cookie ]] || die "POST $base/login set no cookie: $headers"
    curl -fsS -H "Cookie: $cookie" "$base/api/me" | grep -q '"method":"session"' ||
        die "GET $base/api/me with its cookie is not a session identity"
    printf '%s' "$cookie"
}

# login_cookie: alice's session cookie from the demo's login form (same-origin).
login_cookie() {
    session_cookie "$base" -H "Origin: $base" --data 'username=alice&password=wonderland'
}

# peer_cookie: a session cookie of the peer's.
peer_cookie() {
    session_cookie "$peer_base"
}

# login_token ALG: alice's access token, checked to carry the JOSE name ALG.
login_token() {
    local want=$1 body token header
    body="$(curl -fsS -H 'Content-Type: application/json' \
        -d '{"username":"alice","password":"wonderland"}' "$base/api/token")" ||
        die "POST /api/token failed"
    token="$(printf '%s' "$body" | sed -n 's/.*"access_token":"\([^"]*\)".*/\1/p')"
    [[ -n $token ]] || die "POST /api/token returned no access token: $body"
    header="$(b64url_decode "${token%%.*}")"
    [[ $header == *"\"alg\":\"$want\""* ]] || die "token header is $header, expected alg $want"
    curl -fsS -H "Authorization: Bearer $token" "$base/api/me" | grep -q '"method":"jwt"' ||
        die "GET /api/me with the bearer token is not a JWT identity"
    printf '%s' "$token"
}

b64url_decode() {
    local s=${1//-/+}
    s=${s//_//}
    while ((${#s} % 4)); do s+="="; done
    printf '%s' "$s" | base64 -d
}

# ---------------------------------------------------------------------------- measuring
clk_tck="$(getconf CLK_TCK)"

# cpu_ticks PID: user + system CPU time the process has used so far, in clock ticks.
cpu_ticks() {
    local stat fields
    stat="$(cat "/proc/$1/stat")"
    # The fields after the parenthesised command name start at field 3; utime and stime
    # are fields 14 and 15.
    read -r -a fields <<<"${stat##*) }"
    echo $((fields[11] + fields[12]))
}

rows=()     # demo|route|auth|rps|p99_ms|ratio|non2xx|cpu_us|ratio per round
failures=()
below=()    # authenticated rows under the target ratio
# Sums over the rounds, per "demo|auth".
declare -A requests=() micros=() ticks=() non2xx=() p99_max=() round_ratios=() round_rps=()
round_base="" # requests/s of the unauthenticated row in the current round
versus=""        # our session cookie row's requests/s over the peer's, summed over the rounds
versus_rounds="" # per round: our session cookie row's requests/s over the peer's

# warm_up URL [HEADER VALUE]: unmeasured load, so the first round starts warm.
warm_up() {
    local url=$1 name=${2:-} value=${3:-}
    LOAD_HEADER_NAME=$name LOAD_HEADER_VALUE=$value "${client_cpu[@]}" \
        wrk -t"$THREADS" -c"$CONNECTIONS" -d"${WARMUP}s" -s "$here/wrk.lua" "$url" >/dev/null
}

# measure SERVER BASE PID ROUTE AUTH [HEADER VALUE]: one measured wrk run of one round
# against BASE (the process PID), added to the row SERVER|AUTH's sums.
measure() {
    local demo=$1 url=$2$4 pid=$3 path=$4 auth=$5 name=${6:-} value=${7:-}
    local key="$1|$5" output line ticks_before ticks_after rps ratio errors
    local -A r=()
    ticks_before="$(cpu_ticks "$pid")"
    output="$(LOAD_HEADER_NAME=$name LOAD_HEADER_VALUE=$value "${client_cpu[@]}" \
        wrk -t"$THREADS" -c"$CONNECTIONS" -d"${DURATION}s" --timeout 5s -s "$here/wrk.lua" "$url")"
    ticks_after="$(cpu_ticks "$pid")"
    line="$(grep '^LOAD_RESULT ' <<<"$output")" || die "wrk printed no result: $output"
    for kv in ${line#LOAD_RESULT }; do r[${kv%%=*}]=${kv#*=}; done

    requests[$key]=$((${requests[$key]:-0} + r[requests]))
    micros[$key]=$((${micros[$key]:-0} + r[duration_us]))
    ticks[$key]=$((${ticks[$key]:-0} + ticks_after - ticks_before))
    non2xx[$key]=$((${non2xx[$key]:-0} + r[non2xx]))
    if ((r[p99_us] > ${p99_max[$key]:-0})); then p99_max[$key]=${r[p99_us]}; fi
    rps="$(awk -v n="${r[requests]}" -v us="${r[duration_us]}" 'BEGIN { printf "%.0f", n * 1e6 / us }')"
    round_rps[$key]=$rps
    if [[ $auth == none ]]; then round_base=$rps; fi
    ratio="$(awk -v a="$rps" -v b="$round_base" 'BEGIN { printf "%.2f", a / b }')"
    round_ratios[$key]+="${round_ratios[$key]:+ / }$ratio"
    printf '  %-14s %-11s %-15s %7s req/s  x%s  server CPU %6s us/req  non-2xx %s\n' "$demo" "$path" "$auth" \
        "$rps" "$ratio" "$(cpu_per_request $((ticks_after - ticks_before)) "${r[requests]}")" "${r[non2xx]}"

    errors=$((r[connect] + r[read] + r[write] + r[timeout]))
    if ((r[non2xx] > 0)); then
        failures+=("$path ($auth): ${r[non2xx]} non-2xx responses (first status ${r[first_bad]})")
        printf '%s\n' "$output" >&2
    fi
    if ((errors > 0)); then
        failures+=("$path ($auth): $errors socket errors (connect ${r[connect]}, read ${r[read]}, write ${r[write]}, timeout ${r[timeout]})")
    fi
}

# cpu_per_request TICKS REQUESTS: server CPU per request in µs.
cpu_per_request() {
    awk -v t="$1" -v hz="$clk_tck" -v n="$2" 'BEGIN { printf "%.1f", n ? t * 1e6 / hz / n : 0 }'
}

# row DEMO ROUTE AUTH: the row of a demo's route from its sums over the rounds; the
# ratio divides by the same demo's unauthenticated sums.
row() {
    local demo=$1 path=$2 auth=$3 key="$1|$3" rps base ratio p99 cpu_us
    rps="$(awk -v n="${requests[$key]}" -v us="${micros[$key]}" 'BEGIN { printf "%.0f", n * 1e6 / us }')"
    base="$(awk -v n="${requests[$demo|none]}" -v us="${micros[$demo|none]}" 'BEGIN { printf "%.0f", n * 1e6 / us }')"
    ratio="$(awk -v a="$rps" -v b="$base" 'BEGIN { printf "%.2f", a / b }')"
    if [[ $demo != "$peer_label" ]] && awk -v q="$ratio" -v t="$TARGET_RATIO" 'BEGIN { exit !(q < t) }'; then
        below+=("$auth")
    fi
    p99="$(awk -v us="${p99_max[$key]}" 'BEGIN { printf "%.2f", us / 1000 }')"
    cpu_us="$(cpu_per_request "${ticks[$key]}" "${requests[$key]}")"
    rows+=("$demo|$path|$auth|$rps|$p99|$ratio|${non2xx[$key]}|$cpu_us|${round_ratios[$key]}")
}

jose_name() {
    case $1 in
    hs256) echo HS256 ;;
    es256) echo ES256 ;;
    eddsa) echo EdDSA ;;
    *) die "unknown algorithm $1 in ALGS (hs256, eddsa, es256)" ;;
    esac
}

load_start=$SECONDS
started_at="$(date -u '+%Y-%m-%d %H:%M UTC')"
load_before="$(cut -d' ' -f1-3 /proc/loadavg)"
echo "load: $ROUNDS rounds of ${DURATION} s per row (+${WARMUP} s warm-up), wrk -t$THREADS" \
    "-c$CONNECTIONS, PIN=$PIN; load average before: $load_before"

# One demo per algorithm (its key is generated at start). Each demo's unauthenticated
# route is the baseline of its authenticated ones: every round measures the baseline,
# then each authenticated route, for DURATION seconds each.
# Route entries: SERVER|ROUTE|AUTH|HEADER|VALUE, SERVER being "demo" or "peer".
peer_label="tower-sessions"
session_done=0
for alg in $ALGS; do
    jose="$(jose_name "$alg")"
    start_demo "$alg"
    echo "demo --jwt-alg $alg on $base"
    routes=("demo|/api/health|none||")
    with_peer=0
    if ((!session_done)); then
        cookie="$(login_cookie)"
        routes+=("demo|/api/me|session cookie|Cookie|$cookie")
        session_done=1
        if [[ $PEER == 1 ]]; then
            start_peer
            echo "tower-sessions peer on $peer_base"
            routes+=("peer|/api/health|none||" "peer|/api/me|session cookie|Cookie|$(peer_cookie)")
            with_peer=1
        fi
    fi
    token="$(login_token "$jose")"
    routes+=("demo|/api/me|bearer $jose|Authorization|Bearer $token")
    for route in "${routes[@]}"; do
        IFS='|' read -r server path auth name value <<<"$route"
        if [[ $server == peer ]]; then url=$peer_base$path; else url=$base$path; fi
        warm_up "$url" "$name" "$value"
    done
    for ((round = 1; round <= ROUNDS; round++)); do
        echo " round $round of $ROUNDS"
        for route in "${routes[@]}"; do
            IFS='|' read -r server path auth name value <<<"$route"
            if [[ $server == peer ]]; then
                measure "$peer_label" "$peer_base" "$peer_pid" "$path" "$auth" "$name" "$value"
            else
                measure "$alg" "$base" "$demo_pid" "$path" "$auth" "$name" "$value"
            fi
        done
        if ((with_peer)); then
            versus_rounds+="${versus_rounds:+ / }$(awk -v a="${round_rps[$alg|session cookie]}" \
                -v b="${round_rps[$peer_label|session cookie]}" 'BEGIN { printf "%.2f", a / b }')"
        fi
    done
    for route in "${routes[@]}"; do
        IFS='|' read -r server path auth _ _ <<<"$route"
        if [[ $server == peer ]]; then row "$peer_label" "$path" "$auth"; else row "$alg" "$path" "$auth"; fi
    done
    if grep -q 'panicked' "$work/demo-$alg.log"; then
        failures+=("the demo ($alg) panicked: $(grep -m1 panicked "$work/demo-$alg.log")")
    fi
    if ((with_peer)); then
        versus="$(awk -v a="${requests[$alg|session cookie]}" -v ua="${micros[$alg|session cookie]}" \
            -v b="${requests[$peer_label|session cookie]}" -v ub="${micros[$peer_label|session cookie]}" \
            'BEGIN { printf "%.2f", (a / ua) / (b / ub) }')"
        if grep -q 'panicked' "$work/peer.log"; then
            failures+=("the tower-sessions peer panicked: $(grep -m1 panicked "$work/peer.log")")
        fi
        stop peer_pid
    fi
    stop demo_pid
done
load_seconds=$((SECONDS - load_start))

# ---------------------------------------------------------------------------- report
cpu="$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)"
revision="$(git -C "$repo" rev-parse --short HEAD 2>/dev/null || echo unknown)"
if [[ -n "$(git -C "$repo" status --porcelain 2>/dev/null)" ]]; then revision+=" (with local changes)"; fi

table() {
    echo "| server (demo \`--jwt-alg\`) | route | auth | requests/s | p99 latency (worst round) | vs. unauthenticated | each round | non-2xx | server CPU per request |"
    echo "|---|---|---|--:|--:|--:|--:|--:|--:|"
    local row demo path auth rps p99 ratio non2xx cpu_us rounds
    for row in "${rows[@]}"; do
        IFS='|' read -r demo path auth rps p99 ratio non2xx cpu_us rounds <<<"$row"
        echo "| $demo | GET $path | $auth | $rps | $p99 ms | $ratio | $rounds | $non2xx | $cpu_us µs |"
    done
}

join() {
    local IFS=,
    printf '%s' "$*" | sed 's/,/, /g'
}
if ((${#below[@]})); then
    verdict="below it: $(join "${below[@]}")"
else
    verdict="every authenticated row meets it"
fi
versus_line() {
    echo "session cookie /api/me, authkit's requests/s over tower-sessions': ${versus}x (each round: $versus_rounds)"
}
if [[ $PIN == 1 ]]; then
    placement="server pinned to CPU 0, wrk to CPU 1"
else
    placement="sharing every CPU"
fi

{
    echo "# HTTP load: authkit demo"
    echo
    echo "Written by \`benchmarks/load/run.sh\` (see README.md here): one run; each row sums its $ROUNDS interleaved rounds."
    echo
    echo "- When: $started_at, revision $revision"
    echo "- Machine: $(nproc) CPUs ($cpu), $(uname -sr); load average before the run: $load_before"
    echo "- Load: $(wrk --version 2>&1 | head -n 1 | cut -d' ' -f1-2), $THREADS threads, $CONNECTIONS" \
        "keep-alive connections, ${WARMUP} s warm-up per row, then $ROUNDS rounds of ${DURATION} s per row;" \
        "wrk and the server on the same machine ($placement)"
    echo "- Server: release \`demo --store memory --jwt-alg <alg>\` on 127.0.0.1, a fresh process per" \
        "algorithm; each ratio divides by the unauthenticated row of the same process, over the same rounds"
    echo "- Target: authenticated /api/me at >= ${TARGET_RATIO} of the unauthenticated requests/s; $verdict"
    if [[ -n $versus ]]; then
        echo "- Peer: release \`tower_sessions_server\` (axum, tower-sessions' \`SessionManagerLayer\` and" \
            "\`MemoryStore\`, the same routes) in the session cookie's rounds; $(versus_line)"
    fi
    echo
    table
    echo
    echo "Load phase: ${load_seconds} s (build excluded)."
    if ((${#failures[@]})); then
        echo
        echo "**FAILED:**"
        printf -- '- %s\n' "${failures[@]}"
    fi
} >"$OUT"

echo
table
echo
echo "load phase took ${load_seconds} s; table written to $OUT"
echo "target ${TARGET_RATIO}: $verdict"
if [[ -n $versus ]]; then versus_line; fi
if ((${#failures[@]})); then
    printf '\n' >&2
    printf 'FAILED: %s\n' "${failures[@]}" >&2
    exit 1
fi
