#!/usr/bin/env bash
# CA/Browser Forum Baseline Requirements lint (pkilint) of every leaf the earlier steps
# saved in PEER_WORK/issued/ (env contract: see lib.sh). For each leaf,
#   lint_cabf_serverauth_cert lint -t DV-FINAL-CERTIFICATE -s ERROR cert.pem
# must print nothing and exit 0. (Pebble's leaves do not pass; Arbor's must.)
# A step may list finding codes it expects in issued/LABEL/lint-allow (one per line), e.g.
# cabf.internal_ip_address for a 127.0.0.1 certificate: the leaf passes when every finding
# has an allowed code; any other finding still fails it.
set -euo pipefail
# shellcheck source=tests/peers/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
require_env
require_venv_tool lint_cabf_serverauth_cert

failed=0
count=0
prev_out=""
prev_label=""
shopt -s nullglob
for d in "$PEER_WORK"/issued/*/; do
    d="${d%/}"
    label="$(basename "$d")"
    count=$((count + 1))
    rc=0
    out="$(timeout 60 "$ARBOR_VENV/bin/lint_cabf_serverauth_cert" lint -t DV-FINAL-CERTIFICATE -s ERROR \
        "$d/cert.pem" 2>&1)" || rc=$?
    # Finding lines look like "    cabf.internal_ip_address (ERROR): ...".
    codes="$(sed -n 's/^[[:space:]]\{1,\}\([A-Za-z0-9_.]\{1,\}\) (\(FATAL\|ERROR\)).*/\1/p' <<<"$out" | sort -u)"
    unexpected=""
    if [[ -n "$codes" && -s "$d/lint-allow" ]]; then
        unexpected="$(grep -vxF -f "$d/lint-allow" <<<"$codes" || true)"
    fi
    if ((rc == 0)) && [[ -z "$out" ]]; then
        note "$label: no findings at ERROR or above"
    elif [[ -n "$codes" && -s "$d/lint-allow" && -z "$unexpected" ]]; then
        note "$label: only expected finding(s): $(tr '\n' ' ' <<<"$codes" | sed 's/ $//')"
    else
        failed=$((failed + 1))
        if [[ -n "$prev_label" && "$out" == "$prev_out" ]]; then
            echo "$STEP: $label: pkilint exit $rc, same findings as $prev_label" >&2
        else
            echo "$STEP: $label: pkilint exit $rc, $(grep -c . <<<"$out") finding line(s):" >&2
            head -n 30 <<<"$out" | sed 's/^/    /' >&2
            prev_out="$out"
            prev_label="$label"
        fi
    fi
done
((count > 0)) || fail "no issued certificates in $PEER_WORK/issued (run certbot.sh / lego.sh first)"
((failed == 0)) || fail "$failed of $count leaf certificate(s) have findings"
note "ok ($count leaves)"
