#!/usr/bin/env bash
# The project's one test command (README, .ci/run):
#   1. scripts/setup.sh                      peers and tools (apt + ./.venv)
#   2. cargo fmt --check, clippy -D warnings, cargo test (workspace, --locked)
#   3. the debug arbor binary, as built by the test stage (cargo test --no-run)
#   4. BIND on 127.0.0.1:5353 (scripts/bind.sh: example.com, wildcard A 127.0.0.1, RFC 2136
#      updates) and a fresh `arbor serve` in a temp data dir resolving through it
#      (--dns-server 127.0.0.1:5353), then tests/peers/run-all.sh against it; both are
#      stopped on exit. certbot-eab.sh starts and stops a second, EAB-only arbor itself.
# The last line is the peer summary `peers: N passed, M failed`; exit status is non-zero
# if any stage failed.
#
# Options: --peers-only (skip stage 2), --no-peers (skip stages 3-4),
#          --pebble (run the peer steps against Debian's Pebble instead of arbor).
# Env: ARBOR_TEST_LISTEN (default 127.0.0.1:14000), PEER_HTTP_PORT (default 5002),
#      PEER_TLS_PORT (default 5001), ARBOR_EAB_LISTEN (default 127.0.0.1:14100),
#      ARBOR_TEST_DNS01=0 (no BIND: arbor uses --resolve-all-to 127.0.0.1, no lego-dns step).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

cargo_stages=1
peers=1
against=arbor
for a in "$@"; do
    case "$a" in
        --peers-only) cargo_stages=0 ;;
        --no-peers) peers=0 ;;
        --pebble) against=pebble ;;
        *) echo "test.sh: unknown option $a" >&2; exit 2 ;;
    esac
done

LISTEN="${ARBOR_TEST_LISTEN:-127.0.0.1:14000}"
ARBOR_PUBLIC_HTTP_BASE="http://ca.arbor-test.example.com:14080"
export PEER_HTTP_PORT="${PEER_HTTP_PORT:-5002}" PEER_TLS_PORT="${PEER_TLS_PORT:-5001}"
export ARBOR_EAB_LISTEN="${ARBOR_EAB_LISTEN:-127.0.0.1:14100}"
failed_stages=()
stage() { echo; echo "==> $*"; }
# A clean CI clone gains nothing from incremental compilation; its cache was ~40% of target/.
if [[ "${CI:-}" == true ]]; then export CARGO_INCREMENTAL=0; fi

scripts/setup.sh

if ((cargo_stages)); then
    df -h "$ROOT" | tail -n 1 | awk '{print "test.sh: disk free before the build: " $4}'
    stage "cargo fmt --check"
    cargo fmt --all --check || failed_stages+=(fmt)
    stage "cargo clippy"
    cargo clippy --workspace --all-targets --locked -- -D warnings || failed_stages+=(clippy)
    stage "cargo test"
    cargo test --workspace --locked || failed_stages+=(test)
fi

((peers)) || {
    ((${#failed_stages[@]} == 0)) || { echo "test.sh: failed: ${failed_stages[*]}" >&2; exit 1; }
    echo "test.sh: ok (peer steps skipped)"
    exit 0
}

WORK="$(mktemp -d /tmp/arbor-test.XXXXXX)"
server_pid=""
all_ok=0
pebble_state=""
bind_state=""
cleanup() {
    if [[ -n "$server_pid" ]]; then
        kill "$server_pid" 2>/dev/null || true
        for _ in $(seq 25); do kill -0 "$server_pid" 2>/dev/null || break; sleep 0.2; done
        kill -9 "$server_pid" 2>/dev/null || true
    fi
    if [[ -n "$pebble_state" ]]; then scripts/pebble.sh stop --state "$pebble_state" || true; fi
    if [[ -n "$bind_state" ]]; then scripts/bind.sh stop --state "$bind_state" || true; fi
    # Keep the logs of a failed run; drop a green one.
    if ((all_ok)); then rm -rf "$WORK"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
dns01="${ARBOR_TEST_DNS01:-1}"
[[ "$against" == pebble ]] && dns01=1
# The peer steps, in order (tests/peers/STEP.sh). Pebble 2.4 copies an IP identifier into
# the subject CN, which certbot 5.8 then reads as a DNS name and rejects after issuance; it
# has no ARI, no keys from arbor's EAB tool and no `mtc` profile: certbot-ip/-ari/-eab/-mtc
# run against arbor only (arbor serve enables [mtc] by default, so the profile is offered).
steps=(certbot)
[[ "$against" == arbor ]] && steps+=(certbot-ip certbot-ari certbot-eab certbot-mtc)
steps+=(lego)
[[ "$dns01" == 1 ]] && steps+=(lego-dns)
steps+=(verify crl pkilint)
export PEER_STEPS="${steps[*]}"
PEER_STEP_COUNT=${#steps[@]}
no_peers() { # $1 = reason: count every peer step as failed
    echo "test.sh: $1; peer steps not run" >&2
    echo "test.sh: failed: ${failed_stages[*]} (logs kept in $WORK)" >&2
    echo "peers: 0 passed, $PEER_STEP_COUNT failed"
    exit 1
}
busy_check=("${LISTEN##*:}" "$PEER_HTTP_PORT" "$PEER_TLS_PORT")
[[ "$against" == arbor ]] && busy_check+=("${ARBOR_PUBLIC_HTTP_BASE##*:}" "${ARBOR_EAB_LISTEN##*:}") # AIA/CRL, EAB CA
for p in "${busy_check[@]}"; do
    port_free "$p" || { failed_stages+=(ports); no_peers "127.0.0.1:$p is already in use (another CA or client running?)"; }
done

# BIND is the CA's DNS (A for http-01/tls-alpn-01, TXT for dns-01, CAA) and the target of
# lego's RFC 2136 updates. Without it (ARBOR_TEST_DNS01=0, or BIND failed) arbor resolves
# every name to 127.0.0.1 instead; lego-dns then fails (BIND failed) or is not run.
dns_args=()
resolve_args=(--resolve-all-to 127.0.0.1)
if [[ "$dns01" == 1 ]]; then
    stage "bind (scripts/bind.sh)"
    if out="$(scripts/bind.sh start --state "$WORK/bind")"; then
        bind_state="$WORK/bind"
        eval "$out"
        export RFC2136_NAMESERVER RFC2136_TSIG_KEY RFC2136_TSIG_SECRET RFC2136_TSIG_ALGORITHM
        dns_args=(--dns-server "$DNS_SERVER")
        resolve_args=() # arbor prefers --resolve-all-to over --dns-server: give only one
        echo "named is up on $DNS_SERVER"
    else
        failed_stages+=(bind)
        echo "test.sh: BIND did not start: lego-dns skipped" >&2
    fi
else
    echo "test.sh: ARBOR_TEST_DNS01=0: no BIND, lego-dns (dns-01) not run"
fi

if [[ "$against" == pebble ]]; then
    stage "pebble (scripts/pebble.sh, PEBBLE_ALTERNATE_ROOTS=1)"
    out="$(PEBBLE_ALTERNATE_ROOTS=1 scripts/pebble.sh start --port "${LISTEN##*:}" --state "$WORK/pebble" "${dns_args[@]}")" \
        || { failed_stages+=(pebble); no_peers "pebble did not start"; }
    pebble_state="$WORK/pebble"
    eval "$out"
    export ACME_DIR ACME_ROOT_PEM ACME_CHAIN_ROOT_PEM ACME_ROOT_ALT_PEM
else
    # `cargo test --no-run` resolves features exactly as the test stage did, so after it this
    # is a no-op that reuses target/debug/arbor (a plain `cargo build -p arbor` resolves
    # features without dev-dependencies and rebuilds ~40 crates, doubling the disk used).
    stage "cargo test --workspace --no-run (the arbor binary)"
    cargo test --workspace --locked --no-run || { failed_stages+=(build); no_peers "arbor did not build"; }
    bin="${CARGO_TARGET_DIR:-$ROOT/target}/debug/arbor"
    data="$WORK/arbor-data"
    stage "arbor serve ($LISTEN, data dir $data)"
    # AIA/CRL URLs name a public-suffix host, as a deployed CA's would (an IP there is a
    # BR "internal name" for pkilint); the peer steps map that host to 127.0.0.1.
    printf 'public_http_base = "%s"\n' "$ARBOR_PUBLIC_HTTP_BASE" >"$WORK/arbor.toml"
    "$bin" serve --config "$WORK/arbor.toml" --data-dir "$data" --listen "$LISTEN" \
        "${resolve_args[@]}" "${dns_args[@]}" --http-port "$PEER_HTTP_PORT" --tls-port "$PEER_TLS_PORT" \
        </dev/null >"$WORK/arbor.log" 2>&1 &
    server_pid=$!
    export ARBOR_BIN="$bin" # certbot-eab.sh starts a second arbor serve with it
    export ACME_DIR="https://$LISTEN/dir" ACME_ROOT_PEM="$data/root.pem"
    up=0
    for _ in $(seq 150); do # up to ~30 s (first start generates keys)
        kill -0 "$server_pid" 2>/dev/null || break
        if [[ -s "$ACME_ROOT_PEM" ]] && curl -fsS --max-time 2 --cacert "$ACME_ROOT_PEM" "$ACME_DIR" >/dev/null 2>&1; then
            up=1
            break
        fi
        sleep 0.2
    done
    if ((!up)); then
        tail -n 30 "$WORK/arbor.log" | sed 's/^/    /' >&2
        failed_stages+=(serve)
        no_peers "arbor serve did not answer $ACME_DIR with $ACME_ROOT_PEM within 30 s"
    fi
    [[ -s "$data/root-alt.pem" ]] && export ACME_ROOT_ALT_PEM="$data/root-alt.pem"
    export PEER_REQUIRE_CRL=1 # arbor's leaves must name a CRL (crl.sh)
    echo "arbor serve is up (pid $server_pid, log $WORK/arbor.log)"
fi

stage "peer interop (tests/peers/run-all.sh)"
export PEER_WORK="$WORK/peers"
set +e
tests/peers/run-all.sh 2>&1 | tee "$WORK/run-all.out" | grep -v '^peers: '
rc="${PIPESTATUS[0]}"
set -e
# The summary goes last, after any note about earlier stages.
summary="$(grep '^peers: ' "$WORK/run-all.out" | tail -n 1)"
[[ -n "$summary" ]] || summary="peers: 0 passed, $PEER_STEP_COUNT failed"
((rc == 0)) || failed_stages+=(peers)
if [[ "$against" == arbor && " ${failed_stages[*]} " == *" peers "* ]]; then
    echo "test.sh: arbor log: $WORK/arbor.log"
fi
if ((${#failed_stages[@]} == 0)); then
    all_ok=1
else
    echo "test.sh: failed: ${failed_stages[*]} (logs kept in $WORK)"
fi
echo "$summary"
((all_ok))
