#!/usr/bin/env bash
# MTC over ACME benchmark (issue 7; numbers, not pass/fail), against one `arbor serve` on
# loopback (temp data dir, [mtc] with a short landmark interval, rate limits off):
#   1. order -> certificate latency, classic X.509 vs MTC standalone, in ONE run: orders
#      alternate between profiles `classic` and `mtc` (full http-01 cycle each); prints
#      throughput, p50 and p99 per profile (`arbor bench --profiles classic,mtc`).
#   2. landmark-relative certificates served per second right after a landmark: per
#      design (A: POST-as-GET <cert>/landmark; B: newRelativeCertificate), issue N MTCs,
#      wait until a landmark covers them, fire M requests with C workers; prints served/s,
#      p50/p99 and the stampede guard's 503s (waited out per Retry-After and resent, not
#      failures; any other error is a failure and printed) (`arbor bench --landmark-relative`).
#
#   scripts/bench-mtc-acme.sh [--orders 1000] [--concurrency 4] [--certs 200]
#       [--requests 2000] [--herd-concurrency 32] [--landmark-interval 5s]
#       [--sequence-interval 100ms] [--port 14900] [--http-port 5012]
set -euo pipefail

die() { echo "bench-mtc-acme.sh: error: $*" >&2; exit 1; }

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
orders=1000
conc=4
certs=200
requests=2000
herd_conc=32
landmark_interval=5s
sequence_interval=100ms
port=14900
http_port=5012
while (($#)); do
    case "$1" in
        --orders) orders="${2:?}"; shift 2 ;;
        --concurrency) conc="${2:?}"; shift 2 ;;
        --certs) certs="${2:?}"; shift 2 ;;
        --requests) requests="${2:?}"; shift 2 ;;
        --herd-concurrency) herd_conc="${2:?}"; shift 2 ;;
        --landmark-interval) landmark_interval="${2:?}"; shift 2 ;;
        --sequence-interval) sequence_interval="${2:?}"; shift 2 ;;
        --port) port="${2:?}"; shift 2 ;;
        --http-port) http_port="${2:?}"; shift 2 ;;
        -h|--help) sed -n '2,15p' "$0"; exit 0 ;;
        *) die "unknown argument: $1" ;;
    esac
done
for v in "$orders" "$conc" "$certs" "$requests" "$herd_conc" "$port" "$http_port"; do
    [[ "$v" =~ ^[0-9]+$ ]] || die "numeric option expected, got: $v"
done
for v in "$landmark_interval" "$sequence_interval"; do
    [[ "$v" =~ ^[0-9]+(ms|s|m)$ ]] || die "duration like 5s or 100ms expected, got: $v"
done
((orders <= 100000 && certs <= 10000 && requests <= 100000 && conc <= 256 && herd_conc <= 256)) \
    || die "counts too large (orders/requests <= 100000, certs <= 10000, concurrency <= 256)"

echo "bench-mtc-acme.sh: building release binary (cargo build --release -p arbor)" >&2
(cd "$repo" && cargo build --release --locked -p arbor) >&2
arbor="$repo/target/release/arbor"
[[ -x "$arbor" ]] || die "$arbor was not built"

work="$(mktemp -d /tmp/arbor-bench-mtc.XXXXXX)"
arbor_pid=""
cleanup() {
    if [[ -n "$arbor_pid" ]]; then
        kill "$arbor_pid" 2>/dev/null || true
        wait "$arbor_pid" 2>/dev/null || true
    fi
    rm -rf "$work"
}
trap cleanup EXIT

data="$work/data"
mkdir -p "$data"
cat >"$work/arbor.toml" <<EOF
data_dir = "$data"
listen = "127.0.0.1:$port"
public_http_listen = "127.0.0.1:$((port + 80))"
public_http_base = "http://127.0.0.1:$((port + 80))"
resolve_all_to = "127.0.0.1"
http_port = $http_port

[mtc]
enabled = true
landmark_interval = "$landmark_interval"
sequence_interval = "$sequence_interval"

[rate_limits]
new_accounts_per_ip = "off"
new_orders_per_account = "off"
certs_per_registered_domain = "off"
failed_validations = "off"
duplicate_certificates = "off"
EOF

ARBOR_LOG="${ARBOR_LOG:-warn}" "$arbor" serve --config "$work/arbor.toml" \
    </dev/null >"$work/arbor.log" 2>&1 &
arbor_pid=$!
url="https://127.0.0.1:$port/dir"
for ((i = 0; i < 150; i++)); do
    kill -0 "$arbor_pid" 2>/dev/null || { tail -n 20 "$work/arbor.log" >&2; die "arbor serve exited"; }
    if [[ -f "$data/root.pem" ]] && curl -fsS --max-time 2 --cacert "$data/root.pem" "$url" >/dev/null 2>&1; then
        break
    fi
    sleep 0.2
done
curl -fsS --max-time 2 --cacert "$data/root.pem" "$url" >/dev/null 2>&1 \
    || { tail -n 20 "$work/arbor.log" >&2; die "arbor serve did not answer $url within 30 s"; }

common=(--directory "$url" --root "$data/root.pem" --http-port "$http_port" --no-progress
    --order-timeout-secs 60)

echo
echo "== 1. order -> certificate: classic vs mtc, alternating in one run" \
    "($orders orders, concurrency $conc, sequence interval $sequence_interval) =="
timeout 900 "$arbor" bench "${common[@]}" --orders "$orders" --concurrency "$conc" \
    --label arbor --profiles classic,mtc --server-pid "$arbor_pid" | tee "$work/profiles.out"

echo
echo "== 2. landmark-relative certificates right after a landmark" \
    "(N=$certs, M=$requests, C=$herd_conc, landmark interval $landmark_interval) =="
timeout 900 "$arbor" bench "${common[@]}" --concurrency "$herd_conc" \
    --landmark-relative "$certs" --landmark-requests "$requests" --landmark-designs a,b \
    | tee "$work/landmark.out"

echo
echo "== summary =="
grep -E '^bench(-landmark)? ' "$work/profiles.out" "$work/landmark.out" | cut -d: -f2-
errors="$(grep -c 'ERROR' "$work/arbor.log" || true)"
echo "server log: ${errors:-0} ERROR lines"
if [[ "${errors:-0}" != 0 ]]; then
    grep 'ERROR' "$work/arbor.log" | head -n 5
fi
