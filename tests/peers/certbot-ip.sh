#!/usr/bin/env bash
# certbot 5.x: an IP-address certificate (RFC 8738) from a named profile
# (draft-aaron-acme-profiles), env contract: see lib.sh:
#   certonly --standalone --http-01-port PEER_HTTP_PORT --ip-address 127.0.0.1
#            --preferred-profile shortlived
#   - the leaf's SAN is exactly iPAddress 127.0.0.1 (no dNSName);
#   - when the directory offers `shortlived` in meta.profiles, the lifetime is 160 hours
#     (Arbor's shortlived profile), i.e. the CA honoured the profile.
# The lineage (PEER_WORK/certbot-ip) is reused by certbot-ari.sh; the chain lands in
# PEER_WORK/issued/certbot-ip/.
set -euo pipefail
# shellcheck source=tests/peers/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
require_env
require_venv_tool certbot
port_free "$PEER_HTTP_PORT" || fail "127.0.0.1:$PEER_HTTP_PORT is busy; certbot must bind it for http-01"

IP=127.0.0.1
PROFILE=shortlived
PROFILE_SECS=$((160 * 3600))
D="$PEER_WORK/certbot-ip"
mkdir -p "$D"
CERTBOT=(env REQUESTS_CA_BUNDLE="$ACME_ROOT_PEM" "$ARBOR_VENV/bin/certbot" -c /dev/null
    --config-dir "$D/config" --work-dir "$D/work" --logs-dir "$D/logs"
    --server "$ACME_DIR" --non-interactive)

curl -fsS --max-time 5 --cacert "$ACME_ROOT_PEM" "$ACME_DIR" -o "$D/directory.json" \
    || fail "cannot fetch the directory $ACME_DIR"
offered=0
grep -q "\"$PROFILE\"[[:space:]]*:" "$D/directory.json" && offered=1

run_logged certonly "${CERTBOT[@]}" certonly --standalone --http-01-port "$PEER_HTTP_PORT" \
    --http-01-address 127.0.0.1 --agree-tos --register-unsafely-without-email \
    --cert-name ip --ip-address "$IP" --preferred-profile "$PROFILE" || fail "certonly --ip-address failed"
cert="$D/config/live/ip/cert.pem"
[[ -s "$cert" ]] || fail "certonly wrote no $cert"
cert_has_ips "$cert" "$IP" || fail "certificate lacks iPAddress $IP"
san="$(openssl x509 -in "$cert" -noout -ext subjectAltName)"
if grep -q 'DNS:' <<<"$san"; then fail "IP certificate also names a dNSName: $san"; fi
life="$(cert_lifetime "$cert")"
if ((offered)); then
    # notAfter is inclusive (RFC 5280 §4.1.2.5): a 160 h certificate spans 160 h - 1 s or 160 h.
    ((life == PROFILE_SECS - 1 || life == PROFILE_SECS)) \
        || fail "profile $PROFILE: lifetime is ${life}s, expected ${PROFILE_SECS}s (160 h)"
    note "profile $PROFILE honoured: lifetime ${life}s"
else
    note "directory offers no $PROFILE profile: lifetime ${life}s not checked"
fi
save_issued certbot-ip "$D/config/live/ip/fullchain.pem" "$IP"
# 127.0.0.1 is the only address a loopback test can validate; BR calls it internal.
echo cabf.internal_ip_address >"$PEER_WORK/issued/certbot-ip/lint-allow"
note "issued serial $(cert_serial "$cert") for IP $IP"
note "ok"
