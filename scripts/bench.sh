#!/usr/bin/env bash
# Load benchmark: the same `arbor bench` run (N complete http-01 orders by C workers, one
# fresh name each) against Debian's Pebble and against `arbor serve`, one after the other
# on loopback. Prints each report and, at the end, both machine-readable summary lines.
#
#   scripts/bench.sh [--orders 1000] [--concurrency 4] [--poll-ms 2]
#                    [--pebble-port 14600] [--arbor-port 14700] [--http-port 5002]
#                    [--skip-pebble] [--skip-arbor]
#
# Fairness notes:
# - Pebble runs with PEBBLE_WFE_NONCEREJECT=0 (its default rejects 5 % of nonces to test
#   client retries; that would add retries to its numbers only), PEBBLE_VA_NOSLEEP=1 and
#   PEBBLE_AUTHZREUSE=0. Arbor rejects no valid nonce.
# - Server CPU for Pebble is pebble + pebble-challtestsrv (its DNS); Arbor resolves in
#   process (--resolve-all-to 127.0.0.1), so both include name resolution.
# - Client, servers and validation share the machine: numbers are for comparison only.
set -euo pipefail

die() { echo "bench.sh: error: $*" >&2; exit 1; }

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
orders=1000
conc=4
poll_ms=2
pebble_port=14600
arbor_port=14700
http_port=5002
run_pebble=1
run_arbor=1
while (($#)); do
    case "$1" in
        --orders) orders="${2:?}"; shift 2 ;;
        --concurrency) conc="${2:?}"; shift 2 ;;
        --poll-ms) poll_ms="${2:?}"; shift 2 ;;
        --pebble-port) pebble_port="${2:?}"; shift 2 ;;
        --arbor-port) arbor_port="${2:?}"; shift 2 ;;
        --http-port) http_port="${2:?}"; shift 2 ;;
        --skip-pebble) run_pebble=0; shift ;;
        --skip-arbor) run_arbor=0; shift ;;
        -h|--help) sed -n '2,16p' "$0"; exit 0 ;;
        *) die "unknown argument: $1" ;;
    esac
done
for v in "$orders" "$conc" "$poll_ms" "$pebble_port" "$arbor_port" "$http_port"; do
    [[ "$v" =~ ^[0-9]+$ ]] || die "numeric option expected, got: $v"
done

echo "bench.sh: building release binary (cargo build --release -p arbor)" >&2
(cd "$repo" && cargo build --release -p arbor) >&2
arbor="$repo/target/release/arbor"
[[ -x "$arbor" ]] || die "$arbor was not built"

work="$(mktemp -d /tmp/arbor-bench.XXXXXX)"
pebble_state=""
arbor_pid=""
cleanup() {
    if [[ -n "$pebble_state" ]]; then
        "$repo/scripts/pebble.sh" stop --state "$pebble_state" || true
    fi
    if [[ -n "$arbor_pid" ]]; then
        kill "$arbor_pid" 2>/dev/null || true
        wait "$arbor_pid" 2>/dev/null || true
    fi
    rm -rf "$work"
}
trap cleanup EXIT

summaries=()

bench() { # $1 label, $2 directory URL, $3 trust root PEM, rest: --server-pid flags
    local label="$1" dir="$2" root="$3" out="$work/$1.out"
    shift 3
    echo "bench.sh: measuring $label ($orders orders, concurrency $conc, poll ${poll_ms} ms)" >&2
    "$arbor" bench --directory "$dir" --root "$root" --orders "$orders" \
        --concurrency "$conc" --poll-ms "$poll_ms" --http-port "$http_port" \
        --label "$label" "$@" | tee "$out"
    summaries+=("$(grep '^bench ' "$out" | tail -n 1)")
}

if ((run_pebble)); then
    command -v pebble >/dev/null || die "pebble not installed (scripts/setup.sh installs it)"
    pebble_state="$work/pebble"
    env_lines="$(PEBBLE_WFE_NONCEREJECT=0 PEBBLE_VA_NOSLEEP=1 PEBBLE_AUTHZREUSE=0 \
        "$repo/scripts/pebble.sh" start --port "$pebble_port" --state "$pebble_state")"
    eval "$env_lines"
    pid_flags=()
    while read -r p; do
        [[ -n "$p" ]] && pid_flags+=(--server-pid "$p")
    done <"$pebble_state/pids"
    bench pebble "$ACME_DIR" "$ACME_ROOT_PEM" "${pid_flags[@]}"
    "$repo/scripts/pebble.sh" stop --state "$pebble_state"
    pebble_state=""
fi

if ((run_arbor)); then
    data="$work/arbor-data"
    mkdir -p "$data"
    "$arbor" serve --data-dir "$data" --listen "127.0.0.1:$arbor_port" \
        --public-http-listen "127.0.0.1:$((arbor_port + 80))" \
        --resolve-all-to 127.0.0.1 --http-port "$http_port" \
        </dev/null >"$work/arbor.log" 2>&1 &
    arbor_pid=$!
    url="https://127.0.0.1:$arbor_port/dir"
    for ((i = 0; i < 150; i++)); do
        kill -0 "$arbor_pid" 2>/dev/null || { tail -n 20 "$work/arbor.log" >&2; die "arbor serve exited"; }
        if [[ -f "$data/root.pem" ]] && curl -fsS --max-time 2 --cacert "$data/root.pem" "$url" >/dev/null 2>&1; then
            break
        fi
        sleep 0.2
    done
    curl -fsS --max-time 2 --cacert "$data/root.pem" "$url" >/dev/null 2>&1 \
        || { tail -n 20 "$work/arbor.log" >&2; die "arbor serve did not answer $url within 30 s"; }
    bench arbor "$url" "$data/root.pem" --server-pid "$arbor_pid"
fi

echo
echo "== summary (PEBBLE_WFE_NONCEREJECT=0; same client settings for both) =="
printf '%s\n' "${summaries[@]}"
