#!/usr/bin/env bash
# lego (Debian 4.9.1) against the CA under test (env contract: see lib.sh):
#   1. run (http-01) with a P-256 key for one name
#   2. run (http-01) with an RSA-2048 key for two names
#   3. renew the first certificate (forced with --days) -> new serial
#   4. revoke the renewed certificate (reason 4, superseded); a second revoke is refused
#   5. run (tls-alpn-01 only, RFC 8737: --tls --tls.port 127.0.0.1:PEER_TLS_PORT) for one name
# Issued chains land in PEER_WORK/issued/lego-{ec,rsa,renewed,tlsalpn}/.
set -euo pipefail
# shellcheck source=tests/peers/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
require_env
command -v lego >/dev/null || fail "lego not installed (run scripts/setup.sh)"
port_free "$PEER_HTTP_PORT" || fail "127.0.0.1:$PEER_HTTP_PORT is busy; lego must bind it for http-01"
port_free "$PEER_TLS_PORT" || fail "127.0.0.1:$PEER_TLS_PORT is busy; lego must bind it for tls-alpn-01"

D="$PEER_WORK/lego"
mkdir -p "$D"
LEGO_BASE=(env LEGO_CA_CERTIFICATES="$ACME_ROOT_PEM" lego --server "$ACME_DIR" --accept-tos
    --email arbor-peer-test@example.com --path "$D" --cert.timeout 60)
LEGO=("${LEGO_BASE[@]}" --http --http.port "127.0.0.1:$PEER_HTTP_PORT")
crt() { echo "$D/certificates/$1.crt"; } # lego's .crt is leaf + chain

# 1. P-256
run_logged run-ec "${LEGO[@]}" --key-type ec256 -d c.example.com run || fail "lego run (ec256) failed"
[[ -s "$(crt c.example.com)" ]] || fail "lego wrote no $(crt c.example.com)"
cert_has_names "$(crt c.example.com)" c.example.com || fail "ec256 certificate lacks its name"
openssl x509 -in "$(crt c.example.com)" -noout -text | grep -q 'id-ecPublicKey' \
    || fail "ec256 certificate does not carry an EC key"
first_serial="$(cert_serial "$(crt c.example.com)")"
save_issued lego-ec "$(crt c.example.com)" c.example.com
note "issued serial $first_serial for c.example.com (P-256)"

# 2. RSA-2048, two names
run_logged run-rsa "${LEGO[@]}" --key-type rsa2048 -d d.example.com -d e.example.com run \
    || fail "lego run (rsa2048) failed"
cert_has_names "$(crt d.example.com)" d.example.com e.example.com || fail "rsa certificate lacks a name"
openssl x509 -in "$(crt d.example.com)" -noout -text | grep -q 'rsaEncryption' \
    || fail "rsa2048 certificate does not carry an RSA key"
save_issued lego-rsa "$(crt d.example.com)" d.example.com e.example.com
note "issued serial $(cert_serial "$(crt d.example.com)") for d.example.com e.example.com (RSA-2048)"

# 3. renew (the certificate is far from expiry: --days forces it)
run_logged renew "${LEGO[@]}" -d c.example.com renew --days 100000 --no-random-sleep \
    || fail "lego renew failed"
renewed_serial="$(cert_serial "$(crt c.example.com)")"
[[ "$renewed_serial" != "$first_serial" ]] || fail "renew kept the same certificate (serial $first_serial)"
save_issued lego-renewed "$(crt c.example.com)" c.example.com
note "renewed: serial $renewed_serial"

# 4. revoke, then revoke again (must be refused)
run_logged revoke "${LEGO[@]}" -d c.example.com revoke --reason 4 --keep || fail "lego revoke failed"
echo Superseded >"$PEER_WORK/issued/lego-renewed/revoked" # for crl.sh
note "revoked $renewed_serial (superseded)"
if run_logged revoke-again "${LEGO[@]}" -d c.example.com revoke --reason 4 --keep 2>/dev/null; then
    fail "the CA accepted revoking an already revoked certificate"
fi
grep -q 'alreadyRevoked' "$PEER_WORK/logs/lego-revoke-again.log" \
    || fail "second revocation failed, but not with alreadyRevoked (see logs/lego-revoke-again.log)"
note "second revocation refused: alreadyRevoked"

# 5. tls-alpn-01: lego offers no other solver, so the CA must use this one
run_logged run-tlsalpn "${LEGO_BASE[@]}" --tls --tls.port "127.0.0.1:$PEER_TLS_PORT" -d g.example.com run \
    || fail "lego run (tls-alpn-01) failed"
cert_has_names "$(crt g.example.com)" g.example.com || fail "tls-alpn-01 certificate lacks its name"
grep -q 'use tls-alpn-01 solver' "$PEER_WORK/logs/lego-run-tlsalpn.log" \
    || fail "lego did not solve with tls-alpn-01 (see logs/lego-run-tlsalpn.log)"
save_issued lego-tlsalpn "$(crt g.example.com)" g.example.com
note "issued serial $(cert_serial "$(crt g.example.com)") for g.example.com (tls-alpn-01)"
note "ok"
