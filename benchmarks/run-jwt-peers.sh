#!/usr/bin/env bash
# JWT sign and verify per algorithm: authkit's auth-jwt against jsonwebtoken 11 (aws-lc-rs
# backend, RustCrypto backend) and jwt-simple, one process per library, back to back. Each
# process measures the ring floor again beside its library, and the table reports every
# library as a ratio to the floor of its own process, with the absolute mean beside it.
#
#   benchmarks/run-jwt-peers.sh                      # short settings: about 9-10 minutes once built
#   CRITERION_ARGS="--warm-up-time 3 --measurement-time 5" benchmarks/run-jwt-peers.sh
#
# Environment:
#   CARGO_TARGET_DIR  one target dir for all four builds (default: target/ and benchmarks/target/)
#   CRITERION_ARGS    criterion's arguments (default below)
#   RESULTS_DIR       where each process's criterion output and the table go
#                     (default: benchmarks/target/jwt-peers)
#   ONLY              space-separated subset of: ours aws-lc rust-crypto jwt-simple
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(dirname "$here")"
results="${RESULTS_DIR:-$here/target/jwt-peers}"
criterion_args="${CRITERION_ARGS:---warm-up-time 0.5 --measurement-time 1.5 --sample-size 30 --noplot}"
only="${ONLY:-ours aws-lc rust-crypto jwt-simple}"

# Peers build in one shared target dir of their own unless the caller chose one for all.
peers_target="${CARGO_TARGET_DIR:-$here/target}"

run() { # name, then the cargo command
    local name="$1"
    shift
    case " $only " in *" $name "*) ;; *) return 0 ;; esac
    rm -rf "${results:?}/$name"
    mkdir -p "$results/$name"
    echo "=== $name: $*" >&2
    local started=$SECONDS
    # CRITERION_HOME keeps each process's estimates apart: every one has a `floor`.
    # shellcheck disable=SC2086 # criterion_args is a list of words.
    CRITERION_HOME="$results/$name" "$@" -- $criterion_args >"$results/$name.log" 2>&1 || {
        echo "$name failed; last lines of $results/$name.log:" >&2
        tail -n 30 "$results/$name.log" >&2
        exit 1
    }
    echo "=== $name: $((SECONDS - started)) s" >&2
}

(cd "$root" && run ours cargo bench -p auth-jwt --bench jwt)
for peer in aws-lc rust-crypto; do
    CARGO_TARGET_DIR="$peers_target" run "$peer" \
        cargo bench --manifest-path "$here/jwt-$peer/Cargo.toml" --bench jwt
done
CARGO_TARGET_DIR="$peers_target" run jwt-simple \
    cargo bench --manifest-path "$here/jwt-simple/Cargo.toml" --bench jwt

python3 "$here/jwt_table.py" "$results" | tee "$results/table.md"
