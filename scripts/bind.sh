#!/usr/bin/env bash
# Runs BIND 9 (Debian `named`) on loopback as the authoritative server of example.com for
# dns-01 tests: every name under example.com has A 127.0.0.1 (wildcard), and TSIG-signed
# RFC 2136 UPDATEs are allowed, so a client can publish _acme-challenge TXT records and a
# CA can resolve both the A and the TXT records from it. An empty root zone answers every
# other name (NXDOMAIN rather than REFUSED), e.g. the CAA climb from example.com to com.
#
#   scripts/bind.sh start [--port 5353] [--state DIR]   # background; prints env lines
#   scripts/bind.sh stop  --state DIR
#
# `start` prints shell assignments to eval:
#   DNS_SERVER=127.0.0.1:PORT        give it to the CA (arbor --dns-server, pebble -dnsserver)
#   RFC2136_NAMESERVER=127.0.0.1:PORT RFC2136_TSIG_KEY=NAME RFC2136_TSIG_SECRET=BASE64
#   RFC2136_TSIG_ALGORITHM=hmac-sha256.   (the names lego reads)
#   BIND_STATE=DIR
set -euo pipefail

die() { echo "bind.sh: error: $*" >&2; exit 1; }

cmd="${1:-}"
[[ -n "$cmd" ]] && shift
port=5353
state=""
while (($#)); do
    case "$1" in
        --port) port="${2:?--port needs a value}"; shift 2 ;;
        --state) state="${2:?--state needs a value}"; shift 2 ;;
        *) die "unknown argument: $1" ;;
    esac
done
[[ "$port" =~ ^[0-9]+$ && "$port" -gt 1024 && "$port" -lt 65000 ]] || die "--port must be 1025..64999"
ctl_port=$((port + 1))
KEY_NAME=arbor-test-key
ZONE=example.com

stop_state() { # $1 = state dir
    local d="$1" p
    [[ -f "$d/pid" ]] || return 0
    p="$(cat "$d/pid")"
    kill "$p" 2>/dev/null || true
    for _ in $(seq 25); do kill -0 "$p" 2>/dev/null || break; sleep 0.2; done
    kill -9 "$p" 2>/dev/null || true
    rm -f "$d/pid"
}

start() { # $1 = state dir
    local d="$1" secret
    [[ -x /usr/sbin/named ]] || die "named not installed (run scripts/setup.sh)"
    for p in "$port" "$ctl_port"; do
        ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null || die "127.0.0.1:$p is already in use"
    done
    secret="$(openssl rand -base64 32)"
    echo "$secret" >"$d/tsig.secret"
    cat >"$d/named.conf" <<EOF
options {
    directory "$d";
    pid-file "$d/named.pid";
    listen-on port $port { 127.0.0.1; };
    listen-on-v6 { none; };
    recursion no;
    dnssec-validation no;
    notify no;
};
controls { };
key "$KEY_NAME" { algorithm hmac-sha256; secret "$secret"; };
zone "$ZONE" {
    type primary;
    file "$d/$ZONE.zone";
    journal "$d/$ZONE.zone.jnl";
    allow-update { key "$KEY_NAME"; };
};
zone "." {
    type primary;
    file "$d/root.zone";
};
EOF
    # The root zone (no delegations) makes every name outside example.com an authoritative
    # NXDOMAIN: a CA climbing the tree for CAA (RFC 8659 §3) reaches `com` and gets an
    # answer instead of REFUSED, which it must treat as a failed lookup (§4).
    cat >"$d/root.zone" <<EOF
\$TTL 5
@         IN SOA localhost. hostmaster.localhost. 1 60 60 600 5
@         IN NS  localhost.
localhost IN A   127.0.0.1
EOF
    cat >"$d/$ZONE.zone" <<EOF
\$TTL 5
@   IN SOA ns.$ZONE. hostmaster.$ZONE. 1 60 60 600 5
@   IN NS  ns.$ZONE.
ns  IN A   127.0.0.1
@   IN A   127.0.0.1
*   IN A   127.0.0.1
EOF
    named-checkconf "$d/named.conf" >"$d/checkconf.log" 2>&1 || { cat "$d/checkconf.log" >&2; die "bad named.conf"; }
    /usr/sbin/named -g -c "$d/named.conf" -u root -p "$port" </dev/null >"$d/named.log" 2>&1 &
    echo $! >"$d/pid"
    for _ in $(seq 100); do
        if [[ "$(dig +time=1 +tries=1 +short @127.0.0.1 -p "$port" "probe.$ZONE" A 2>/dev/null)" == 127.0.0.1 ]]; then
            return 0
        fi
        kill -0 "$(cat "$d/pid")" 2>/dev/null || { tail -n 20 "$d/named.log" >&2; die "named exited early"; }
        sleep 0.2
    done
    tail -n 20 "$d/named.log" >&2
    die "named did not answer on 127.0.0.1:$port within 20 s"
}

case "$cmd" in
    start)
        [[ -n "$state" ]] || state="$(mktemp -d /tmp/arbor-bind.XXXXXX)"
        mkdir -p "$state"
        state="$(cd "$state" && pwd)"
        trap 'stop_state "$state"' ERR
        start "$state"
        trap - ERR
        echo "DNS_SERVER=127.0.0.1:$port"
        echo "RFC2136_NAMESERVER=127.0.0.1:$port"
        echo "RFC2136_TSIG_KEY=$KEY_NAME"
        echo "RFC2136_TSIG_SECRET=$(cat "$state/tsig.secret")"
        echo "RFC2136_TSIG_ALGORITHM=hmac-sha256."
        echo "BIND_STATE=$state"
        ;;
    stop)
        [[ -n "$state" ]] || state="${BIND_STATE:-}"
        [[ -n "$state" ]] || die "stop needs --state DIR (or BIND_STATE)"
        stop_state "$state"
        ;;
    *)
        sed -n '2,15p' "$0" >&2
        exit 2
        ;;
esac
