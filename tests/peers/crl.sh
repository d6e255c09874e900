#!/usr/bin/env bash
# Revocation as a relying party sees it (RFC 5280 §5, §4.2.1.13): for every chain in
# PEER_WORK/issued/, fetch the CRL named in the leaf's CRL distribution point (the URL's host
# is always mapped to 127.0.0.1 with curl --resolve) and check with openssl:
#   - the CRL verifies against the issuing chain and is current (openssl verify -crl_check);
#   - a leaf the client steps revoked (issued/LABEL/revoked holds the reason) is reported
#     "certificate revoked", with that reason code in the CRL entry;
#   - every other leaf verifies as not revoked.
# Leaves without a CRL distribution point are skipped, unless PEER_REQUIRE_CRL=1 (arbor).
# Every distinct CRL is also linted against the CA/Browser Forum profile:
#   lint_crl lint -t CRL -p BR -s ERROR crl.der      (pkilint; no findings allowed)
set -euo pipefail
# shellcheck source=tests/peers/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
require_env

strip0() { local s="${1^^}"; s="${s#"${s%%[!0]*}"}"; echo "${s:-0}"; }

# crl_reason CRL_PEM SERIAL: prints the reason text of SERIAL's entry ("" if none/absent).
crl_reason() {
    openssl crl -in "$1" -noout -text | awk -v want="$2" '
        /Serial Number:/ { s = toupper($3); sub(/^0+/, "", s); cur = (s == want); next }
        cur && /Reason Code/ { getline; gsub(/^ +| +$/, ""); print; exit }'
}

require_venv_tool lint_crl

failed=0
checked=0
declare -A linted=() # CRL URL -> 1
lint_once() { # $1 = URL, $2 = DER file: pkilint BR profile, once per CRL URL
    local url="$1" der="$2" out rc=0 entries
    [[ -n "${linted[$url]:-}" ]] && return 0
    linted[$url]=1
    out="$(timeout 60 "$ARBOR_VENV/bin/lint_crl" lint -t CRL -p BR -s ERROR "$der" 2>&1)" || rc=$?
    entries="$(openssl crl -inform DER -in "$der" -noout -text | grep -c 'Serial Number:' || true)"
    if ((rc != 0)) || [[ -n "$out" ]]; then
        echo "$STEP: lint_crl (BR) on $url: exit $rc, findings:" >&2
        head -n 30 <<<"$out" | sed 's/^/    /' >&2
        return 1
    fi
    note "lint_crl -p BR: no findings at ERROR or above in $url ($entries revoked entries)"
}
shopt -s nullglob
for d in "$PEER_WORK"/issued/*/; do
    d="${d%/}"
    label="$(basename "$d")"
    root="$ACME_CHAIN_ROOT_PEM"
    [[ "$label" == *-alt ]] && root="${ACME_ROOT_ALT_PEM:-$root}"
    url="$(openssl x509 -in "$d/cert.pem" -noout -ext crlDistributionPoints 2>/dev/null \
        | grep -o 'URI:[^[:space:]]*' | head -n 1 | sed 's/^URI://')" || true
    if [[ -z "$url" ]]; then
        [[ "${PEER_REQUIRE_CRL:-0}" == 1 ]] && { echo "$STEP: $label: leaf has no CRL distribution point" >&2; failed=$((failed + 1)); continue; }
        note "$label: no CRL distribution point (skipped)"
        continue
    fi
    [[ "$url" =~ ^http://([^/:]+)(:([0-9]+))?/ ]] || { echo "$STEP: $label: CDP is not an http:// URL: $url" >&2; failed=$((failed + 1)); continue; }
    host="${BASH_REMATCH[1]}"
    port="${BASH_REMATCH[3]:-80}"
    if ! curl -fsS --max-time 5 --resolve "$host:$port:127.0.0.1" -o "$d/crl.der" "$url" 2>"$d/crl.err"; then
        echo "$STEP: $label: fetching $url (as 127.0.0.1:$port) failed: $(cat "$d/crl.err")" >&2
        failed=$((failed + 1)); continue
    fi
    openssl crl -inform DER -in "$d/crl.der" -out "$d/crl.pem" 2>/dev/null \
        || { echo "$STEP: $label: $url is not a DER CRL" >&2; failed=$((failed + 1)); continue; }
    checked=$((checked + 1))
    lint_once "$url" "$d/crl.der" || failed=$((failed + 1))
    untrusted=()
    [[ -s "$d/chain.pem" ]] && untrusted=(-untrusted "$d/chain.pem")
    rc=0
    out="$(openssl verify -crl_check -CRLfile "$d/crl.pem" -CAfile "$root" "${untrusted[@]}" "$d/cert.pem" 2>&1)" || rc=$?
    serial="$(strip0 "$(cert_serial "$d/cert.pem")")"
    if [[ -f "$d/revoked" ]]; then
        want="$(cat "$d/revoked")"
        if ((rc == 0)) || ! grep -q 'certificate revoked' <<<"$out"; then
            echo "$STEP: $label: revoked ($want) but the CRL check says:" >&2
            sed 's/^/    /' <<<"$out" >&2
            failed=$((failed + 1)); continue
        fi
        got="$(crl_reason "$d/crl.pem" "$serial")"
        if [[ "${got,,}" != "${want,,}" ]]; then
            echo "$STEP: $label: CRL entry for $serial has reason '${got:-none}', expected '$want'" >&2
            failed=$((failed + 1)); continue
        fi
        note "$label: listed as revoked ($got) in $url"
    else
        if ((rc != 0)); then
            echo "$STEP: $label: not revoked, but the CRL check failed:" >&2
            sed 's/^/    /' <<<"$out" >&2
            failed=$((failed + 1)); continue
        fi
        note "$label: not revoked; CRL from $url verifies"
    fi
done
((failed == 0)) || fail "$failed CRL check(s) failed"
note "ok ($checked leaves checked against their CRL, ${#linted[@]} CRL(s) linted)"
