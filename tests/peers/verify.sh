#!/usr/bin/env bash
# Independent chain check with openssl for every chain the earlier steps saved in
# PEER_WORK/issued/ (env contract: see lib.sh):
#   openssl verify -CAfile ACME_CHAIN_ROOT_PEM -untrusted chain.pem -purpose sslserver
#     -x509_strict -verify_hostname NAME cert.pem       (for each requested NAME;
#     -verify_ip for an IP address)
# With ACME_ROOT_ALT_PEM set, certbot also asks for the alternate chain (RFC 8555 7.4.2,
# Link rel="alternate") with --preferred-chain "<CN of the alternate root>" (override:
# ACME_ALT_ROOT_NAME) and that chain must verify against the alternate root alone.
set -euo pipefail
# shellcheck source=tests/peers/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
require_env

verify_one() { # $1 = issued dir, $2 = trust anchor
    local d="$1" root="$2" name out untrusted=() check
    [[ -s "$d/chain.pem" ]] && untrusted=(-untrusted "$d/chain.pem")
    while read -r name; do
        [[ -n "$name" ]] || continue
        check=(-verify_hostname "$name")
        is_ip "$name" && check=(-verify_ip "$name")
        if ! out="$(openssl verify -CAfile "$root" "${untrusted[@]}" -purpose sslserver -x509_strict \
            "${check[@]}" "$d/cert.pem" 2>&1)"; then
            echo "$STEP: $(basename "$d") ($name) does not verify against $root:" >&2
            sed 's/^/    /' <<<"$out" >&2
            return 1
        fi
    done <"$d/names"
}

failed=0
count=0
shopt -s nullglob
for d in "$PEER_WORK"/issued/*/; do
    d="${d%/}"
    [[ "$(basename "$d")" == *-alt ]] && continue
    count=$((count + 1))
    if verify_one "$d" "$ACME_CHAIN_ROOT_PEM"; then
        note "$(basename "$d"): chain verifies ($(tr '\n' ' ' <"$d/names"| sed 's/ $//'))"
    else
        failed=$((failed + 1))
    fi
done
((count > 0)) || fail "no issued certificates in $PEER_WORK/issued (run certbot.sh / lego.sh first)"

if [[ -n "${ACME_ROOT_ALT_PEM:-}" ]]; then
    [[ -s "$ACME_ROOT_ALT_PEM" ]] || fail "ACME_ROOT_ALT_PEM ($ACME_ROOT_ALT_PEM) is not readable"
    require_venv_tool certbot
    port_free "$PEER_HTTP_PORT" || fail "127.0.0.1:$PEER_HTTP_PORT is busy; certbot must bind it for http-01"
    alt_name="${ACME_ALT_ROOT_NAME:-$(openssl x509 -in "$ACME_ROOT_ALT_PEM" -noout -subject -nameopt multiline \
        | sed -n 's/^ *commonName *= *//p')}"
    [[ -n "$alt_name" ]] || fail "cannot read the commonName of $ACME_ROOT_ALT_PEM"
    A="$PEER_WORK/certbot-alt"
    run_logged alt-certonly env REQUESTS_CA_BUNDLE="$ACME_ROOT_PEM" "$ARBOR_VENV/bin/certbot" -c /dev/null \
        --config-dir "$A/config" --work-dir "$A/work" --logs-dir "$A/logs" --server "$ACME_DIR" \
        --non-interactive --agree-tos --register-unsafely-without-email certonly --standalone \
        --http-01-port "$PEER_HTTP_PORT" --http-01-address 127.0.0.1 --cert-name f.example.com \
        -d f.example.com --preferred-chain "$alt_name" || fail "certonly --preferred-chain failed"
    if grep -q 'no chain from the CA matched\|but no chain' "$A/logs/letsencrypt.log"; then
        fail "the CA offered no chain to \"$alt_name\" (see $A/logs/letsencrypt.log)"
    fi
    save_issued certbot-alt "$A/config/live/f.example.com/fullchain.pem" f.example.com
    if verify_one "$PEER_WORK/issued/certbot-alt" "$ACME_ROOT_ALT_PEM"; then
        note "certbot-alt: alternate chain verifies against \"$alt_name\" alone"
    else
        failed=$((failed + 1))
    fi
else
    note "ACME_ROOT_ALT_PEM not set: alternate chain not checked"
fi

((failed == 0)) || fail "$failed chain(s) did not verify"
note "ok"
