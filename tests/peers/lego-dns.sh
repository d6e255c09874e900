#!/usr/bin/env bash
# lego dns-01 through RFC 2136 UPDATE (TSIG) to BIND (scripts/bind.sh), against the CA
# under test, which must resolve TXT records from that same server (env contract: see
# lib.sh, plus RFC2136_NAMESERVER, RFC2136_TSIG_KEY, RFC2136_TSIG_SECRET,
# RFC2136_TSIG_ALGORITHM as printed by `scripts/bind.sh start`):
#   1. one certificate for wild.example.com and the wildcard *.wild.example.com (dns-01 only)
#   2. the _acme-challenge TXT records are gone from BIND afterwards (lego cleaned up)
# The chain lands in PEER_WORK/issued/lego-dns/ (checked for wild.example.com and
# x.wild.example.com, a name only the wildcard covers).
set -euo pipefail
# shellcheck source=tests/peers/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
require_env
command -v lego >/dev/null || fail "lego not installed (run scripts/setup.sh)"
for v in RFC2136_NAMESERVER RFC2136_TSIG_KEY RFC2136_TSIG_SECRET RFC2136_TSIG_ALGORITHM; do
    [[ -n "${!v:-}" ]] || fail "$v is not set (eval \"\$(scripts/bind.sh start)\")"
done
export RFC2136_NAMESERVER RFC2136_TSIG_KEY RFC2136_TSIG_SECRET RFC2136_TSIG_ALGORITHM
ns_host="${RFC2136_NAMESERVER%:*}"
ns_port="${RFC2136_NAMESERVER##*:}"

D="$PEER_WORK/lego-dns"
mkdir -p "$D"
run_logged run env LEGO_CA_CERTIFICATES="$ACME_ROOT_PEM" RFC2136_TTL=5 RFC2136_SEQUENCE_INTERVAL=1 \
    RFC2136_PROPAGATION_TIMEOUT=30 RFC2136_POLLING_INTERVAL=1 \
    lego --server "$ACME_DIR" --accept-tos --email arbor-peer-test@example.com --path "$D" \
    --dns rfc2136 --dns.resolvers "$RFC2136_NAMESERVER" --dns.disable-cp --cert.timeout 60 \
    -d wild.example.com -d '*.wild.example.com' run || fail "lego dns-01 run failed"
crt="$D/certificates/wild.example.com.crt"
[[ -s "$crt" ]] || fail "lego wrote no $crt"
cert_has_names "$crt" wild.example.com '\*\.wild\.example\.com' || fail "certificate lacks a requested name"
save_issued lego-dns "$crt" wild.example.com x.wild.example.com
note "issued serial $(cert_serial "$crt") for wild.example.com *.wild.example.com (dns-01 via RFC 2136)"

left="$(dig +time=2 +tries=1 +short @"$ns_host" -p "$ns_port" _acme-challenge.wild.example.com TXT)" \
    || fail "dig could not query $RFC2136_NAMESERVER"
[[ -z "$left" ]] || fail "TXT records left behind after issuance: $left"
note "challenge TXT records removed"
note "ok"
