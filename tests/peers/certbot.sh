#!/usr/bin/env bash
# certbot 5.x against the CA under test (env contract: see lib.sh):
#   1. certonly --standalone (http-01) for two names in one certificate
#   2. renew --force-renewal -> a new certificate (new serial) for the same names
#   3. revoke the first certificate with the account key (reason superseded)
#   4. revoke the renewed one signed by the certificate's own key (reason keycompromise)
#   5. revoking it again must be refused (RFC 8555 7.6: alreadyRevoked)
# Issued chains land in PEER_WORK/issued/certbot-{first,renewed}/.
set -euo pipefail
# shellcheck source=tests/peers/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
require_env
require_venv_tool certbot

NAMES=(a.example.com b.example.com)
D="$PEER_WORK/certbot"
mkdir -p "$D"
port_free "$PEER_HTTP_PORT" || fail "127.0.0.1:$PEER_HTTP_PORT is busy; certbot must bind it for http-01"

CERTBOT=(env REQUESTS_CA_BUNDLE="$ACME_ROOT_PEM" "$ARBOR_VENV/bin/certbot" -c /dev/null
    --config-dir "$D/config" --work-dir "$D/work" --logs-dir "$D/logs"
    --server "$ACME_DIR" --non-interactive)

# 1. issue
domain_args=()
for n in "${NAMES[@]}"; do domain_args+=(-d "$n"); done
run_logged certonly "${CERTBOT[@]}" certonly --standalone --http-01-port "$PEER_HTTP_PORT" \
    --http-01-address 127.0.0.1 --agree-tos --register-unsafely-without-email \
    --cert-name "${NAMES[0]}" "${domain_args[@]}" || fail "certonly failed"
live="$D/config/live/${NAMES[0]}"
[[ -s "$live/fullchain.pem" && -s "$live/privkey.pem" ]] || fail "certonly wrote no $live/fullchain.pem"
cert_has_names "$live/cert.pem" "${NAMES[@]}" || fail "first certificate lacks a requested name"
first_serial="$(cert_serial "$live/cert.pem")"
cp "$live/cert.pem" "$D/first.pem"
save_issued certbot-first "$live/fullchain.pem" "${NAMES[@]}"
note "issued serial $first_serial for ${NAMES[*]}"

# 2. renew
run_logged renew "${CERTBOT[@]}" renew --force-renewal --no-random-sleep-on-renew --cert-name "${NAMES[0]}" || fail "renew failed"
renewed_serial="$(cert_serial "$live/cert.pem")"
[[ "$renewed_serial" != "$first_serial" ]] || fail "renew kept the same certificate (serial $first_serial)"
cert_has_names "$live/cert.pem" "${NAMES[@]}" || fail "renewed certificate lacks a requested name"
save_issued certbot-renewed "$live/fullchain.pem" "${NAMES[@]}"
note "renewed: serial $renewed_serial"

# 3. revoke the first certificate, authorised by the account key
run_logged revoke-account "${CERTBOT[@]}" revoke --cert-path "$D/first.pem" --reason superseded \
    --no-delete-after-revoke || fail "revoke (account key, superseded) failed"
echo Superseded >"$PEER_WORK/issued/certbot-first/revoked" # for crl.sh
note "revoked $first_serial with the account key"

# 4. revoke the renewed certificate, signed by the certificate key
run_logged revoke-certkey "${CERTBOT[@]}" revoke --cert-path "$live/cert.pem" --key-path "$live/privkey.pem" \
    --reason keycompromise --no-delete-after-revoke || fail "revoke (certificate key, keycompromise) failed"
echo "Key Compromise" >"$PEER_WORK/issued/certbot-renewed/revoked"
note "revoked $renewed_serial with its own key (keyCompromise)"

# 5. a second revocation of the same certificate must be refused
if run_logged revoke-again "${CERTBOT[@]}" revoke --cert-path "$live/cert.pem" --reason keycompromise \
    --no-delete-after-revoke 2>/dev/null; then
    fail "the CA accepted revoking an already revoked certificate"
fi
# certbot's debug log (latest run = letsencrypt.log) holds the problem document.
grep -q 'urn:ietf:params:acme:error:alreadyRevoked' "$D/logs/letsencrypt.log" \
    || fail "second revocation failed, but not with alreadyRevoked (see $D/logs/letsencrypt.log)"
note "second revocation refused: alreadyRevoked"
note "ok"
