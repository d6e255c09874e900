#!/usr/bin/env bash
# External account binding (RFC 8555 §7.3.4) with certbot 5.x against a second, EAB-only
# `arbor serve` this step starts and stops itself (env contract: see lib.sh, plus
# ARBOR_BIN; ARBOR_EAB_LISTEN, default 127.0.0.1:14100):
#   1. config `external_account_required = true`: the directory says
#      meta.externalAccountRequired = true;
#   2. a newAccount without EAB (sent with certbot's own `acme` library, which does not
#      check the directory first) is refused with externalAccountRequired;
#   3. `arbor admin eab add` prints a kid and an HMAC key; `certbot register` with the
#      right kid and a wrong HMAC key is refused;
#   4. `certbot register --eab-kid K --eab-hmac-key H` succeeds, then `certonly` (http-01)
#      issues a certificate for i.example.com.
set -euo pipefail
# shellcheck source=tests/peers/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
require_env
require_venv_tool certbot
[[ -n "${ARBOR_BIN:-}" && -x "$ARBOR_BIN" ]] || fail "ARBOR_BIN (the arbor binary) is not set or not executable"
LISTEN="${ARBOR_EAB_LISTEN:-127.0.0.1:14100}"
[[ "$LISTEN" == 127.0.0.1:* ]] || fail "ARBOR_EAB_LISTEN must be on 127.0.0.1, got $LISTEN"
port_free "${LISTEN##*:}" || fail "$LISTEN is busy"
port_free "$PEER_HTTP_PORT" || fail "127.0.0.1:$PEER_HTTP_PORT is busy; certbot must bind it for http-01"

NAME=i.example.com
D="$PEER_WORK/certbot-eab"
data="$D/arbor-data"
mkdir -p "$D"
printf '%s\n' 'external_account_required = true' >"$D/arbor.toml"

pid=""
stop_arbor() {
    [[ -n "$pid" ]] || return 0
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 25); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
    kill -9 "$pid" 2>/dev/null || true
    pid=""
}
trap stop_arbor EXIT

# Its own data dir and listeners; every name resolves to 127.0.0.1, http-01 on PEER_HTTP_PORT.
"$ARBOR_BIN" serve --config "$D/arbor.toml" --data-dir "$data" --listen "$LISTEN" \
    --public-http-listen 127.0.0.1:0 --resolve-all-to 127.0.0.1 --http-port "$PEER_HTTP_PORT" \
    --tls-port "$PEER_TLS_PORT" </dev/null >"$D/arbor.log" 2>&1 &
pid=$!
dir="https://$LISTEN/dir"
root="$data/root.pem"
up=0
for _ in $(seq 150); do # up to ~30 s: the first start generates the hierarchy
    kill -0 "$pid" 2>/dev/null || break
    if [[ -s "$root" ]] && curl -fsS --max-time 2 --cacert "$root" "$dir" -o "$D/directory.json" 2>/dev/null; then
        up=1
        break
    fi
    sleep 0.2
done
((up)) || { tail -n 20 "$D/arbor.log" | sed 's/^/    /' >&2; fail "the EAB arbor did not answer $dir within 30 s"; }
note "EAB-only arbor serve on $LISTEN (pid $pid)"

# 1. the directory announces it
grep -q '"externalAccountRequired":[[:space:]]*true' "$D/directory.json" \
    || fail "directory meta lacks externalAccountRequired: true: $(cat "$D/directory.json")"

# 2. newAccount without EAB, straight to the server
cat >"$D/no_eab.py" <<'PY'
import sys
import josepy as jose
from cryptography.hazmat.primitives.asymmetric import ec
from acme import client, messages
key = jose.JWKEC(key=ec.generate_private_key(ec.SECP256R1()))
net = client.ClientNetwork(key, alg=jose.ES256, user_agent="arbor-peer-test")
acme = client.ClientV2(client.ClientV2.get_directory(sys.argv[1], net), net)
try:
    acme.new_account(messages.NewRegistration.from_data(terms_of_service_agreed=True))
except messages.Error as e:
    print("REFUSED", e.typ, e.detail)
    sys.exit(0)
print("ACCEPTED an account without EAB")
sys.exit(1)
PY
run_logged no-eab env REQUESTS_CA_BUNDLE="$root" "$ARBOR_VENV/bin/python" "$D/no_eab.py" "$dir" || true
grep -q '^REFUSED urn:ietf:params:acme:error:externalAccountRequired' "$PEER_WORK/logs/$STEP-no-eab.log" \
    || fail "newAccount without EAB was not refused with externalAccountRequired: $(tail -n 3 "$PEER_WORK/logs/$STEP-no-eab.log")"
note "newAccount without EAB refused: externalAccountRequired"

# 3. a key from the operator tool; a wrong HMAC key is refused
run_logged eab-add timeout 30 "$ARBOR_BIN" admin eab add --data-dir "$data" || fail "arbor admin eab add failed"
kid="$(sed -n 's/^kid:[[:space:]]*//p' "$PEER_WORK/logs/$STEP-eab-add.log" | head -n 1)"
hmac="$(sed -n 's/^hmac_key:[[:space:]]*//p' "$PEER_WORK/logs/$STEP-eab-add.log" | head -n 1)"
[[ -n "$kid" && -n "$hmac" ]] || fail "arbor admin eab add printed no kid/hmac_key: $(cat "$PEER_WORK/logs/$STEP-eab-add.log")"
CERTBOT=(env REQUESTS_CA_BUNDLE="$root" "$ARBOR_VENV/bin/certbot" -c /dev/null
    --config-dir "$D/config" --work-dir "$D/work" --logs-dir "$D/logs"
    --server "$dir" --non-interactive)
wrong="$(openssl rand 32 | basenc --base64url | tr -d '=\n')"
if run_logged register-wrong-hmac "${CERTBOT[@]}" register --agree-tos --register-unsafely-without-email \
    --eab-kid="$kid" --eab-hmac-key="$wrong" 2>/dev/null; then
    fail "certbot registered with a wrong EAB HMAC key"
fi
problem="$(grep -o 'urn:ietf:params:acme:error:[A-Za-z]*' "$D/logs/letsencrypt.log" | tail -n 1)"
[[ -n "$problem" ]] || fail "wrong HMAC key: certbot failed without a problem document (see $D/logs/letsencrypt.log)"
note "wrong HMAC key refused: $problem"

# 4. the right key registers, and the account gets a certificate
run_logged register "${CERTBOT[@]}" register --agree-tos --register-unsafely-without-email \
    --eab-kid="$kid" --eab-hmac-key="$hmac" || fail "certbot register with EAB failed"
run_logged certonly "${CERTBOT[@]}" certonly --standalone --http-01-port "$PEER_HTTP_PORT" \
    --http-01-address 127.0.0.1 --cert-name "$NAME" -d "$NAME" || fail "certonly with the EAB account failed"
cert="$D/config/live/$NAME/cert.pem"
[[ -s "$cert" ]] || fail "certonly wrote no $cert"
cert_has_names "$cert" "$NAME" || fail "certificate lacks $NAME"
openssl verify -CAfile "$root" -untrusted "$D/config/live/$NAME/chain.pem" -purpose sslserver \
    -verify_hostname "$NAME" "$cert" >/dev/null 2>&1 || fail "the EAB CA's chain does not verify against its root"
note "issued serial $(cert_serial "$cert") for $NAME to the EAB-bound account (kid $kid)"
note "ok"
