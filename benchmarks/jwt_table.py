"""Prints the JWT peer table from the criterion output of run-jwt-peers.sh.

Usage: python3 jwt_table.py RESULTS_DIR

RESULTS_DIR holds one criterion home per process (ours, aws-lc, rust-crypto, jwt-simple).
Each has groups `verify/<alg>` and `sign/<alg>` with a function named after the library
(`ours` for auth-jwt) and one named `floor`. Every library is reported as the mean of its
own function divided by the mean of the `floor` measured in the same process.
"""

import json
import sys
from pathlib import Path

PROCESSES = ["ours", "aws-lc", "rust-crypto", "jwt-simple"]
ALGS = ["HS256", "HS384", "HS512", "RS256", "RS384", "RS512",
        "PS256", "PS384", "PS512", "ES256", "ES384", "EdDSA"]


def load(home: Path) -> dict:
    """(group, function) -> mean in nanoseconds, for one criterion home."""
    means = {}
    for bench in home.glob("**/new/benchmark.json"):
        meta = json.loads(bench.read_text())
        estimates = json.loads((bench.parent / "estimates.json").read_text())
        means[(meta["group_id"], meta["function_id"])] = estimates["mean"]["point_estimate"]
    return means


def human(ns: float) -> str:
    for unit, scale in (("s", 1e9), ("ms", 1e6), ("µs", 1e3)):
        if ns >= scale:
            return f"{ns / scale:.3g} {unit}"
    return f"{ns:.3g} ns"


def main() -> int:
    results = Path(sys.argv[1])
    data = {p: load(results / p) for p in PROCESSES if (results / p).is_dir()}
    if not data:
        print(f"no criterion output under {results}", file=sys.stderr)
        return 1
    names = [p for p in PROCESSES if p in data]
    for op in ("verify", "sign"):
        print(f"\n### {op}: mean / floor of the same process (mean)\n")
        print("| alg | " + " | ".join(names) + " |")
        print("|---|" + "---|" * len(names))
        for alg in ALGS:
            cells = []
            for p in names:
                function = "ours" if p == "ours" else p
                mine = data[p].get((f"{op}/{alg}", function))
                floor = data[p].get((f"{op}/{alg}", "floor"))
                if mine is None or floor is None:
                    cells.append("–")
                else:
                    cells.append(f"{mine / floor:.2f}x ({human(mine)})")
            print(f"| {alg} | " + " | ".join(cells) + " |")
        print(f"\n{op} floor as measured by each process:\n")
        print("| alg | " + " | ".join(names) + " |")
        print("|---|" + "---|" * len(names))
        for alg in ALGS:
            cells = [human(data[p][(f"{op}/{alg}", "floor")])
                     if (f"{op}/{alg}", "floor") in data[p] else "–" for p in names]
            print(f"| {alg} | " + " | ".join(cells) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
