#!/usr/bin/env bash
# ARI-driven renewal (RFC 9773) with certbot 5.x, on the IP lineage certbot-ip.sh made
# (env contract: see lib.sh):
#   1. `renew` (no --force-renewal) asks the directory's renewalInfo and, the window being
#      two thirds into the lifetime, leaves the certificate alone;
#   2. the certificate is revoked (reason superseded) through the CA;
#   3. `renew` again must renew at once: a revoked certificate's window is "now"
#      (RFC 9773 §4.2: the client picks a random time inside the window and renews when it
#      is past, so the window must not reach into the future) -> a new serial.
# Between 1 and 3 certbot's cached Retry-After (ari_retry_after, 6 h) is dropped from the
# lineage's renewal config: the test cannot wait for it.
# The renewed chain lands in PEER_WORK/issued/certbot-ip-renewed/; certbot-ip/ is marked
# revoked for crl.sh.
set -euo pipefail
# shellcheck source=tests/peers/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
require_env
require_venv_tool certbot

D="$PEER_WORK/certbot-ip"
conf="$D/config/renewal/ip.conf"
cert="$D/config/live/ip/cert.pem"
[[ -s "$conf" && -s "$cert" ]] || fail "no certbot lineage in $D (run certbot-ip.sh first)"
port_free "$PEER_HTTP_PORT" || fail "127.0.0.1:$PEER_HTTP_PORT is busy; certbot must bind it for http-01"
CERTBOT=(env REQUESTS_CA_BUNDLE="$ACME_ROOT_PEM" "$ARBOR_VENV/bin/certbot" -c /dev/null
    --config-dir "$D/config" --work-dir "$D/work" --logs-dir "$D/logs"
    --server "$ACME_DIR" --non-interactive)
log="$D/logs/letsencrypt.log" # certbot's debug log of its latest run

curl -fsS --max-time 5 --cacert "$ACME_ROOT_PEM" "$ACME_DIR" | grep -q '"renewalInfo"' \
    || fail "the directory at $ACME_DIR has no renewalInfo (RFC 9773 §3)"

# The window certbot was given in its latest run (its debug log has the response body).
last_window() { grep -o '{"suggestedWindow":{[^}]*}}' "$log" | tail -n 1; }
drop_retry_after() { sed -i '/^\[acme_renewal_info\]/,$d' "$conf"; }

# 1. not due yet
first_serial="$(cert_serial "$cert")"
drop_retry_after
run_logged renew-early "${CERTBOT[@]}" renew --no-random-sleep-on-renew --cert-name ip \
    || fail "renew (not due) failed"
grep -q '/renewal-info/' "$log" || fail "certbot did not ask renewalInfo (see $log)"
[[ "$(cert_serial "$cert")" == "$first_serial" ]] \
    || fail "certbot renewed a fresh certificate: ARI window was $(last_window)"
note "fresh certificate not renewed (window $(last_window))"

# 2. revoke through the CA
run_logged revoke "${CERTBOT[@]}" revoke --cert-name ip --reason superseded --no-delete-after-revoke \
    || fail "revoke failed"
echo Superseded >"$PEER_WORK/issued/certbot-ip/revoked" # for crl.sh
note "revoked $first_serial (superseded)"

# 3. ARI says renew now
drop_retry_after
before="$(date -u +%Y-%m-%dT%H:%M:%SZ)"
run_logged renew-revoked "${CERTBOT[@]}" renew --no-random-sleep-on-renew --cert-name ip \
    || fail "renew after revocation failed"
window="$(last_window)"
renewed_serial="$(cert_serial "$cert")"
if [[ "$renewed_serial" == "$first_serial" ]]; then
    fail "revoked certificate not renewed: at $before the CA's renewalInfo answered $window;" \
        "a window reaching into the future lets the client wait until a random time inside it" \
        "(RFC 9773 §4.2); for 'renew now' it must lie in the past"
fi
grep -q 'certificate is revoked' "$log" \
    && fail "certbot renewed because OCSP said revoked, not because of ARI (see $log)"
cert_has_ips "$cert" 127.0.0.1 || fail "renewed certificate lacks iPAddress 127.0.0.1"
save_issued certbot-ip-renewed "$D/config/live/ip/fullchain.pem" 127.0.0.1
echo cabf.internal_ip_address >"$PEER_WORK/issued/certbot-ip-renewed/lint-allow"
note "renewed on ARI: serial $renewed_serial (window $window)"
note "ok"
