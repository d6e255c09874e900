#!/usr/bin/env bash
# certbot 5.x, a client that knows only RFC 8555, orders from the `mtc` profile: a standalone
# Merkle Tree Certificate (draft-ietf-plants-merkle-tree-certs §6.2, §9; env contract: see
# lib.sh, plus ARBOR_BIN for `arbor verify`):
#   certonly --standalone --http-01-port PEER_HTTP_PORT --required-profile mtc -d mtc.example.com
# What the CA must do, checked on the response certbot received (its debug log holds the
# exact HTTP exchange) and on the lineage certbot saves:
#   - the download is `application/pem-certificate-chain` (certbot does not ask for
#     `...-with-properties`): the MTC, then the MTC CA certificate from <CA>/mtc/ca.der in
#     the place of an issuer (certbot 5.x refuses a download of fewer than two
#     certificates: "less than 2 certificates in chain"); it links the landmark-relative
#     certificate with rel="acme-optional-alternate";
#   - openssl parses it: SAN is exactly dNSName mtc.example.com, the signature algorithm
#     (TBS and outer) is id-alg-mtcProof 1.3.6.1.5.5.7.6.67, the lifetime is 7 days;
#   - `arbor verify` accepts it against the MTC CA certificate (the CA cosigner's
#     signature over the subtree, §8.2);
#   - certbot exits 0 and saves cert.pem (the MTC), chain.pem (the CA certificate),
#     fullchain.pem and a privkey.pem whose key the MTC certifies (the key of its CSR).
# Nothing goes to PEER_WORK/issued/ (verify.sh and pkilint.sh check X.509 chains to a root).
set -euo pipefail
# shellcheck source=tests/peers/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
require_env
require_venv_tool certbot
[[ -n "${ARBOR_BIN:-}" && -x "$ARBOR_BIN" ]] || fail "ARBOR_BIN (the arbor binary, for arbor verify) is not set or not executable"
port_free "$PEER_HTTP_PORT" || fail "127.0.0.1:$PEER_HTTP_PORT is busy; certbot must bind it for http-01"

NAME=mtc.example.com
PROFILE=mtc
LIFETIME_SECS=$((7 * 86400))
# id-alg-mtcProof (-07, IANA; arbor_mtc::version::DraftVersion::mtc_proof_alg).
MTC_PROOF_OID=1.3.6.1.5.5.7.6.67
D="$PEER_WORK/certbot-mtc"
mkdir -p "$D"
CERTBOT=(env REQUESTS_CA_BUNDLE="$ACME_ROOT_PEM" "$ARBOR_VENV/bin/certbot" -c /dev/null
    --config-dir "$D/config" --work-dir "$D/work" --logs-dir "$D/logs"
    --server "$ACME_DIR" --non-interactive)
origin="$(sed -E 's#^(https://[^/]+).*#\1#' <<<"$ACME_DIR")"

curl -fsS --max-time 5 --cacert "$ACME_ROOT_PEM" "$ACME_DIR" -o "$D/directory.json" \
    || fail "cannot fetch the directory $ACME_DIR"
grep -q "\"$PROFILE\"[[:space:]]*:" "$D/directory.json" \
    || fail "the directory offers no profile $PROFILE in meta.profiles (is [mtc] enabled?)"
# The MTC CA certificate a relying party configures (RFC 9925 unsigned certificate).
curl -fsS --max-time 5 --cacert "$ACME_ROOT_PEM" "$origin/mtc/ca.der" -o "$D/ca.der" \
    || fail "cannot fetch the MTC CA certificate $origin/mtc/ca.der"

# 1. certbot orders and downloads
rc=0
run_logged certonly "${CERTBOT[@]}" certonly --standalone --http-01-port "$PEER_HTTP_PORT" \
    --http-01-address 127.0.0.1 --agree-tos --register-unsafely-without-email \
    --cert-name "$NAME" -d "$NAME" --required-profile "$PROFILE" 2>/dev/null || rc=$?
log="$D/logs/letsencrypt.log"
[[ -s "$log" ]] || fail "certbot wrote no debug log $log"

# 2. the download as certbot received it: the last POST-as-GET of the order's certificate URL
cert_url="$(grep -oE '"certificate": ?"[^"]+"' "$log" | tail -n 1 | cut -d'"' -f4)" || true
[[ -n "$cert_url" ]] || fail "no valid order with a certificate URL in $log (exit $rc; see $PEER_WORK/logs/$STEP-certonly.log)"
cert_path="/${cert_url#https://*/}"
awk -v req="\"POST $cert_path HTTP/1.1\" 200" '
    index($0, req) { found = 1; body = 0; seen = 0; n = 0; next }
    found && /^[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9] [0-9:,]+:[A-Z]+:/ { if (seen) found = 0 }
    found && /:Received response:$/ { seen = 1; next }
    found && seen { lines[++n] = $0 }
    END { for (i = 1; i <= n; i++) print lines[i] }' "$log" >"$D/response.txt"
[[ -s "$D/response.txt" ]] || fail "no response to POST $cert_path in $log"
grep -qi '^content-type: application/pem-certificate-chain[[:space:]]*$' "$D/response.txt" \
    || fail "download content type is not application/pem-certificate-chain: $(grep -i '^content-type' "$D/response.txt")"
grep -qiE '^link: .*rel="acme-optional-alternate"' "$D/response.txt" \
    || fail "download links no acme-optional-alternate (landmark-relative) certificate"
count="$(grep -c -- '-----BEGIN CERTIFICATE-----' "$D/response.txt" || true)"
((count == 2)) || fail "the MTC download holds $count certificates, expected 2 (the MTC, then the MTC CA certificate)"
sed -n '/-----BEGIN CERTIFICATE-----/,/-----END CERTIFICATE-----/p' "$D/response.txt" \
    | awk '/-----BEGIN CERTIFICATE-----/{n++} n==1' >"$D/served.pem"
sed -n '/-----BEGIN CERTIFICATE-----/,/-----END CERTIFICATE-----/p' "$D/response.txt" \
    | awk '/-----BEGIN CERTIFICATE-----/{n++} n==2' >"$D/served-ca.pem"
cmp -s <(openssl x509 -in "$D/served-ca.pem" -outform der) "$D/ca.der" \
    || fail "the second certificate of the download is not the MTC CA certificate $origin/mtc/ca.der"

# check_mtc PEM LABEL: the checks every copy of the certificate must pass.
check_mtc() {
    local pem="$1" label="$2" san algs life out
    openssl x509 -in "$pem" -noout -text >"$D/$label.txt" 2>&1 \
        || fail "$label: openssl cannot parse $pem: $(head -n 3 "$D/$label.txt")"
    san="$(openssl x509 -in "$pem" -noout -ext subjectAltName | sed -n '2,$p' | tr -d ' ')"
    [[ "$san" == "DNS:$NAME" ]] || fail "$label: SAN is '$san', expected exactly DNS:$NAME"
    algs="$(grep -E '^ *Signature Algorithm:' "$D/$label.txt" | sed 's/.*: *//' | sort | uniq -c | sed 's/^ *//')"
    [[ "$algs" == "2 $MTC_PROOF_OID" ]] \
        || fail "$label: signature algorithms are '$algs', expected TBS and outer $MTC_PROOF_OID (id-alg-mtcProof)"
    life="$(cert_lifetime "$pem")"
    # notAfter is inclusive (RFC 5280 §4.1.2.5): 7 days is 7 d - 1 s between the two.
    ((life == LIFETIME_SECS - 1 || life == LIFETIME_SECS)) \
        || fail "$label: lifetime ${life}s, expected 7 days (${LIFETIME_SECS}s)"
    if ! out="$("$ARBOR_BIN" verify --cert "$pem" --ca "$D/ca.der" 2>&1)"; then
        fail "$label: arbor verify against $origin/mtc/ca.der: $out"
    fi
    [[ "$out" == "valid: standalone "* ]] || fail "$label: arbor verify did not call it a standalone certificate: $out"
    note "$label: $out"
}
check_mtc "$D/served.pem" served

# The key it certifies is the one in certbot's CSR (the finalize payload, base64url DER).
csr_b64url="$(grep -oE '"csr": ?"[A-Za-z0-9_-]+"' "$log" | tail -n 1 | cut -d'"' -f4)" || true
[[ -n "$csr_b64url" ]] || fail "no finalize CSR in $log"
b64="$(tr '_-' '/+' <<<"$csr_b64url")"
while ((${#b64} % 4)); do b64+="="; done
base64 -d <<<"$b64" >"$D/csr.der" || fail "certbot's CSR is not base64url"
openssl req -inform der -in "$D/csr.der" -noout -pubkey >"$D/csr-pub.pem" || fail "openssl cannot read certbot's CSR"
openssl x509 -in "$D/served.pem" -noout -pubkey >"$D/served-pub.pem"
cmp -s "$D/csr-pub.pem" "$D/served-pub.pem" || fail "the MTC certifies a key other than the one in certbot's CSR"
note "served: certifies the key of certbot's CSR"

# 3. what certbot made of it
live="$D/config/live/$NAME"
if ((rc != 0)); then
    tail -n 25 "$PEER_WORK/logs/$STEP-certonly.log" | sed 's/^/    /' >&2
    fail "certbot exited $rc (see $PEER_WORK/logs/$STEP-certonly.log)"
fi
for f in cert.pem chain.pem fullchain.pem privkey.pem; do
    [[ -s "$live/$f" ]] || fail "certbot exited 0 but wrote no $live/$f"
done
check_mtc "$live/cert.pem" cert.pem
cmp -s <(openssl x509 -in "$live/cert.pem" -outform der) <(openssl x509 -in "$D/served.pem" -outform der) \
    || fail "cert.pem is not the certificate the CA served"
cmp -s <(openssl x509 -in "$live/chain.pem" -outform der) "$D/ca.der" \
    || fail "chain.pem is not the MTC CA certificate"
n="$(grep -c -- '-----BEGIN CERTIFICATE-----' "$live/fullchain.pem" || true)"
((n == 2)) || fail "fullchain.pem holds $n certificates, expected the MTC and the CA certificate"
cmp -s <(openssl pkey -in "$live/privkey.pem" -pubout) "$D/served-pub.pem" \
    || fail "privkey.pem does not match the certificate's public key"
note "certbot saved the MTC: cert.pem, chain.pem (MTC CA certificate), fullchain.pem and a matching privkey.pem"
note "ok"
