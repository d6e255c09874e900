#!/usr/bin/env bash
# Runs every peer-interop step against one running CA and prints `peers: N passed, M failed`.
#   ACME_DIR=https://127.0.0.1:14000/dir ACME_ROOT_PEM=arbor-data/root.pem tests/peers/run-all.sh
# Optional: ACME_CHAIN_ROOT_PEM, ACME_ROOT_ALT_PEM, PEER_WORK (kept), PEER_STEPS
# (default "certbot certbot-ip certbot-ari lego verify crl pkilint", with certbot-eab and
# certbot-mtc after certbot-ari when ARBOR_BIN is set (an arbor CA: EAB keys from its admin
# tool, the `mtc` profile checked with `arbor verify`) and lego-dns after lego when
# RFC2136_NAMESERVER is set, i.e. the CA resolves from scripts/bind.sh). Contract details:
# lib.sh.
# Exit status: 0 when every step passed.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

[[ -n "${ACME_DIR:-}" && -n "${ACME_ROOT_PEM:-}" ]] || {
    echo "run-all.sh: set ACME_DIR and ACME_ROOT_PEM (for Pebble: eval \"\$(scripts/pebble.sh start)\")" >&2
    exit 2
}
if [[ -z "${PEER_WORK:-}" ]]; then
    PEER_WORK="$(mktemp -d /tmp/arbor-peers.XXXXXX)"
fi
mkdir -p "$PEER_WORK"
export PEER_WORK ACME_DIR ACME_ROOT_PEM
[[ -n "${ACME_CHAIN_ROOT_PEM:-}" ]] && export ACME_CHAIN_ROOT_PEM
[[ -n "${ACME_ROOT_ALT_PEM:-}" ]] && export ACME_ROOT_ALT_PEM
echo "run-all.sh: CA $ACME_DIR, work dir $PEER_WORK"

# The client steps issue; verify and pkilint check what they issued.
default_steps="certbot certbot-ip certbot-ari"
[[ -n "${ARBOR_BIN:-}" ]] && default_steps+=" certbot-eab certbot-mtc"
default_steps+=" lego"
[[ -n "${RFC2136_NAMESERVER:-}" ]] && default_steps+=" lego-dns"
default_steps+=" verify crl pkilint"
read -r -a steps <<<"${PEER_STEPS:-$default_steps}"
passed=0
failed=0
failed_names=()
for s in "${steps[@]}"; do
    [[ -x "$here/$s.sh" ]] || { echo "run-all.sh: no step $here/$s.sh" >&2; failed=$((failed + 1)); failed_names+=("$s"); continue; }
    start=$SECONDS
    rc=0
    timeout --kill-after=10 "${PEER_STEP_TIMEOUT:-900}" "$here/$s.sh" </dev/null || rc=$?
    if ((rc == 0)); then
        passed=$((passed + 1))
        echo "PASS $s ($((SECONDS - start)) s)"
    else
        failed=$((failed + 1))
        failed_names+=("$s")
        echo "FAIL $s (exit $rc, $((SECONDS - start)) s)"
    fi
done
((failed == 0)) || echo "run-all.sh: failed steps: ${failed_names[*]} (logs in $PEER_WORK/logs)"
echo "peers: $passed passed, $failed failed"
((failed == 0))
