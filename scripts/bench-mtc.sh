#!/usr/bin/env bash
# MTC benchmarks in one command (numbers, not pass/fail):
#   1. arbor-mtclog seq_bench: durable sequencing (filesystem backend, fsync) entries/s for
#      one round over 1k / 10k / 100k pending entries, then submit->answer p50/p99 at a
#      steady rate (default 1000/s for 5 s, 100 ms sequencing interval).
#   2. arbor-mtc verify_bench: verifications/s for each certificate kind and the sizes
#      next to the draft's estimates (uses ../shared/vectors/mtc-plants-07).
#   scripts/bench-mtc.sh [rate/s] [seconds]
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
rate="${1:-1000}"
secs="${2:-5}"
[[ "$rate" =~ ^[0-9]+$ && "$secs" =~ ^[0-9]+$ ]] || { echo "usage: $0 [rate/s] [seconds]" >&2; exit 2; }
cargo build --release --locked -p arbor-mtclog --example seq_bench -p arbor-mtc --example verify_bench >&2
echo "== sequencer (arbor-mtclog seq_bench $rate/s for ${secs}s) =="
target/release/examples/seq_bench "$rate" "$secs"
echo
echo "== verifier (arbor-mtc verify_bench) =="
target/release/examples/verify_bench
