#!/usr/bin/env bash
# Installs what Arbor's tests need on a fresh Debian machine (run as root).
# Idempotent: apt runs only when a package is missing, pip only when the pins change.
#   - Debian: pebble lego bind9 bind9-dnsutils openssl curl python3-venv
#   - ./.venv: certbot and pkilint, pinned exactly (see PINS below)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.venv"

# Exact pins: newest certbot 5.x and pkilint as of 2026-11 (`pip index versions ...`).
PINS=(certbot==5.8.0 pkilint==0.13.3)
APT_PACKAGES=(pebble lego bind9 bind9-dnsutils openssl curl python3-venv)

die() { echo "setup.sh: error: $*" >&2; exit 1; }
log() { echo "setup.sh: $*"; }

# --- Debian packages -------------------------------------------------------
missing=()
for p in "${APT_PACKAGES[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
        missing+=("$p")
    fi
done
if ((${#missing[@]})); then
    [[ $(id -u) -eq 0 ]] || die "missing Debian packages (${missing[*]}); run as root"
    log "installing Debian packages: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt_log="$(mktemp)"
    if ! { timeout 600 apt-get update -q && timeout 900 apt-get install -y -q --no-install-recommends "${missing[@]}"; } >"$apt_log" 2>&1 </dev/null; then
        tail -n 30 "$apt_log" >&2
        rm -f "$apt_log"
        die "apt-get failed for: ${missing[*]}"
    fi
    rm -f "$apt_log"
fi
# Debian starts named as a service on install; tests run their own instance.
if command -v systemctl >/dev/null 2>&1 && systemctl is-active --quiet named 2>/dev/null; then
    systemctl stop named >/dev/null 2>&1 || true
fi
for b in pebble pebble-challtestsrv lego openssl curl nsupdate; do
    command -v "$b" >/dev/null || die "$b not found on PATH after install"
done
[[ -x /usr/sbin/named ]] || die "/usr/sbin/named not found after install"

# --- Python venv with pinned peers ----------------------------------------
stamp="$VENV/.arbor-pins"
want="${PINS[*]}"
if [[ -x "$VENV/bin/python" && -f "$stamp" && "$(cat "$stamp")" == "$want" ]]; then
    :
else
    log "creating $VENV with ${PINS[*]}"
    rm -rf "$VENV"
    python3 -m venv "$VENV" || die "python3 -m venv failed (is python3-venv installed?)"
    pip_log="$(mktemp)"
    if ! timeout 900 "$VENV/bin/pip" install --disable-pip-version-check -q "${PINS[@]}" >"$pip_log" 2>&1 </dev/null; then
        tail -n 30 "$pip_log" >&2
        rm -f "$pip_log"
        die "pip install ${PINS[*]} failed"
    fi
    rm -f "$pip_log"
    echo "$want" >"$stamp"
fi
[[ -x "$VENV/bin/certbot" ]] || die "$VENV/bin/certbot missing"
[[ -x "$VENV/bin/lint_cabf_serverauth_cert" ]] || die "$VENV/bin/lint_cabf_serverauth_cert missing"
log "ok (pebble $(dpkg-query -W -f='${Version}' pebble), lego $(dpkg-query -W -f='${Version}' lego), ${PINS[*]})"
