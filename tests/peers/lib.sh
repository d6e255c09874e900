# shellcheck shell=bash
# Shared helpers for the peer-interop scripts in tests/peers/ (sourced, not run).
#
# Environment (the contract every peer script reads; run-all.sh passes it on):
#   ACME_DIR             directory URL of the CA under test (https://127.0.0.1:PORT/dir)
#   ACME_ROOT_PEM        CA that signs the ACME HTTPS listener (clients trust it)
#   ACME_CHAIN_ROOT_PEM  root that issued chains must verify to (default: ACME_ROOT_PEM)
#   ACME_ROOT_ALT_PEM    optional alternate root (verify.sh asks for its chain)
#   PEER_WORK            directory shared by the steps (issued/ holds every issued chain)
#   PEER_HTTP_PORT       port the CA validates http-01 on (default 5002)
#   PEER_TLS_PORT        port the CA validates tls-alpn-01 on (default 5001)
#   ARBOR_BIN            arbor binary (certbot-eab.sh starts a second `arbor serve` with it)
#   PEER_TIMEOUT         seconds allowed for one client command (default 120)
#   ARBOR_VENV           Python venv with certbot and pkilint (default REPO/.venv)
# Traffic goes only to 127.0.0.1: every name used here resolves there on the CA side.

PEERS_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(cd "$PEERS_DIR/../.." && pwd)"
ARBOR_VENV="${ARBOR_VENV:-$REPO_ROOT/.venv}"
PEER_HTTP_PORT="${PEER_HTTP_PORT:-5002}"
PEER_TLS_PORT="${PEER_TLS_PORT:-5001}"
PEER_TIMEOUT="${PEER_TIMEOUT:-120}"
STEP="$(basename "${BASH_SOURCE[1]:-$0}" .sh)"

fail() { echo "$STEP: FAIL: $*" >&2; exit 1; }
note() { echo "$STEP: $*"; }

require_env() {
    [[ -n "${ACME_DIR:-}" ]] || fail "ACME_DIR is not set"
    [[ "$ACME_DIR" == https://127.0.0.1:* || "$ACME_DIR" == https://localhost:* ]] \
        || fail "ACME_DIR must point at loopback, got $ACME_DIR"
    [[ -n "${ACME_ROOT_PEM:-}" && -s "$ACME_ROOT_PEM" ]] || fail "ACME_ROOT_PEM is not a readable file"
    ACME_CHAIN_ROOT_PEM="${ACME_CHAIN_ROOT_PEM:-$ACME_ROOT_PEM}"
    [[ -s "$ACME_CHAIN_ROOT_PEM" ]] || fail "ACME_CHAIN_ROOT_PEM ($ACME_CHAIN_ROOT_PEM) is not readable"
    [[ -n "${PEER_WORK:-}" ]] || fail "PEER_WORK is not set (run via tests/peers/run-all.sh)"
    mkdir -p "$PEER_WORK/issued" "$PEER_WORK/logs"
    export ACME_DIR ACME_ROOT_PEM ACME_CHAIN_ROOT_PEM PEER_WORK
}

require_venv_tool() { # $1 = executable name in the venv
    [[ -x "$ARBOR_VENV/bin/$1" ]] || fail "$ARBOR_VENV/bin/$1 missing (run scripts/setup.sh)"
}

# run_logged LABEL CMD...: runs CMD under timeout with output to PEER_WORK/logs/STEP-LABEL.log;
# on failure prints the log's tail and returns the command's status.
run_logged() {
    local label="$1" log rc=0
    shift
    log="$PEER_WORK/logs/$STEP-$label.log"
    timeout --kill-after=5 "$PEER_TIMEOUT" "$@" </dev/null >"$log" 2>&1 || rc=$?
    if ((rc != 0)); then
        echo "$STEP: '$label' exited $rc$( ((rc == 124)) && echo " (timed out after ${PEER_TIMEOUT}s)"); last lines of $log:" >&2
        tail -n 25 "$log" | sed 's/^/    /' >&2
    fi
    return "$rc"
}

# save_issued LABEL FULLCHAIN NAMES...: records an issued chain as PEER_WORK/issued/LABEL/
# {fullchain,cert,chain}.pem + names, for verify.sh and pkilint.sh.
save_issued() {
    local label="$1" full="$2" d
    shift 2
    d="$PEER_WORK/issued/$label"
    mkdir -p "$d"
    split_chain "$full" "$d" || fail "$full has no certificate"
    printf '%s\n' "$@" >"$d/names"
}

# split_chain FULLCHAIN DIR: leaf -> DIR/cert.pem, the rest -> DIR/chain.pem.
split_chain() {
    local full="$1" d="$2"
    cp "$full" "$d/fullchain.pem"
    awk -v leaf="$d/cert.pem" -v rest="$d/chain.pem" '
        /-----BEGIN CERTIFICATE-----/ { n++ }
        n == 1 { print > leaf }
        n > 1  { print > rest }
        END    { if (n == 0) exit 1 }' "$full" || return 1
    [[ -f "$d/chain.pem" ]] || : >"$d/chain.pem"
    openssl x509 -in "$d/cert.pem" -noout 2>/dev/null
}

cert_serial() { openssl x509 -in "$1" -noout -serial | cut -d= -f2; }

# cert_has_names CERT NAMES...: every NAME is a dNSName in the certificate's SAN.
cert_has_names() {
    local cert="$1" san n
    shift
    san="$(openssl x509 -in "$cert" -noout -ext subjectAltName 2>/dev/null)" || return 1
    for n in "$@"; do
        grep -qE "DNS:$n(,|\$)" <<<"$san" || { echo "$STEP: $n not in SAN of $cert: $san" >&2; return 1; }
    done
}

# cert_has_ips CERT IPS...: every IP is an iPAddress in the certificate's SAN.
cert_has_ips() {
    local cert="$1" san ip
    shift
    san="$(openssl x509 -in "$cert" -noout -ext subjectAltName 2>/dev/null)" || return 1
    for ip in "$@"; do
        grep -qE "IP Address:${ip//./\\.}(,|\$|[[:space:]])" <<<"$san" \
            || { echo "$STEP: IP $ip not in SAN of $cert: $san" >&2; return 1; }
    done
}

# cert_lifetime CERT: notAfter - notBefore in seconds (RFC 5280: both ends inclusive, so a
# "160h" certificate prints 575999).
cert_lifetime() {
    local nb na
    nb="$(openssl x509 -in "$1" -noout -startdate | cut -d= -f2)" || return 1
    na="$(openssl x509 -in "$1" -noout -enddate | cut -d= -f2)" || return 1
    echo $(($(date -u -d "$na" +%s) - $(date -u -d "$nb" +%s)))
}

# is_ip NAME: NAME is an IPv4 or IPv6 address literal.
is_ip() { [[ "$1" =~ ^[0-9]+(\.[0-9]+){3}$ || "$1" == *:* ]]; }

# port_free PORT: nothing listens on 127.0.0.1:PORT (the client must bind it for http-01).
port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
