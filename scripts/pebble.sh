#!/usr/bin/env bash
# Runs Debian's Pebble (ACME test CA) on loopback as a reference server for client
# tests and benchmarks, with pebble-challtestsrv as its DNS (every name -> 127.0.0.1).
#
#   scripts/pebble.sh start [--port 14000] [--state DIR] [--dns-server ADDR:PORT]
#                                                           # background; prints env lines
#   scripts/pebble.sh stop  --state DIR                     # stops what `start` began
#   scripts/pebble.sh run   [--port 14000]                  # foreground until Ctrl-C
#
# `start` prints shell assignments to eval:
#   ACME_DIR=https://127.0.0.1:PORT/dir   directory URL
#   ACME_ROOT_PEM=STATE/listener-ca.pem   trust anchor for the HTTPS listener (clients)
#   ACME_CHAIN_ROOT_PEM=STATE/root.pem    root that issued certificates chain to
#   ACME_ROOT_ALT_PEM=STATE/root-alt.pem  (only with PEBBLE_ALTERNATE_ROOTS>=1)
#   PEBBLE_STATE=STATE                    pass to `stop`
# Ports: ACME PORT, management PORT+1000, challtestsrv DNS PORT-5947 (8053 for 14000) and
# management PORT-5945 (8055); --dns-server (e.g. scripts/bind.sh) replaces challtestsrv
# so dns-01 TXT records come from a real server. Pebble validates http-01 on 5002 and tls-alpn-01 on 5001.
# Env passed through to pebble: PEBBLE_VA_NOSLEEP (default 1), PEBBLE_WFE_NONCEREJECT,
# PEBBLE_AUTHZREUSE, PEBBLE_VA_ALWAYS_VALID, PEBBLE_ALTERNATE_ROOTS, PEBBLE_CHAIN_LENGTH.
set -euo pipefail

die() { echo "pebble.sh: error: $*" >&2; exit 1; }

cmd="${1:-}"
[[ -n "$cmd" ]] && shift
port=14000
state=""
dns_server=""
while (($#)); do
    case "$1" in
        --dns-server) dns_server="${2:?--dns-server needs ADDR:PORT}"; shift 2 ;;
        --port) port="${2:?--port needs a value}"; shift 2 ;;
        --state) state="${2:?--state needs a value}"; shift 2 ;;
        *) die "unknown argument: $1" ;;
    esac
done
[[ "$port" =~ ^[0-9]+$ && "$port" -gt 6000 && "$port" -lt 64000 ]] || die "--port must be 6001..63999"
mgmt_port=$((port + 1000))
dns_port=$((port - 5947))
dns_mgmt_port=$((port - 5945))

make_listener_cert() { # $1 = state dir: CA + leaf (CA:FALSE, SAN localhost/127.0.0.1)
    local d="$1"
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 30 \
        -subj "/CN=Pebble Listener Test CA" -keyout "$d/listener-ca.key" -out "$d/listener-ca.pem" \
        -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
        >/dev/null 2>&1 || die "openssl: listener CA generation failed"
    openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=localhost" \
        -keyout "$d/listener.key" -out "$d/listener.csr" >/dev/null 2>&1 \
        || die "openssl: listener CSR generation failed"
    printf '%s\n' "basicConstraints=critical,CA:FALSE" "keyUsage=critical,digitalSignature" \
        "extendedKeyUsage=serverAuth" "subjectAltName=DNS:localhost,IP:127.0.0.1" >"$d/listener.ext"
    openssl x509 -req -in "$d/listener.csr" -CA "$d/listener-ca.pem" -CAkey "$d/listener-ca.key" \
        -CAcreateserial -days 30 -extfile "$d/listener.ext" -out "$d/listener.pem" >/dev/null 2>&1 \
        || die "openssl: listener certificate signing failed"
}

write_config() { # $1 = state dir
    cat >"$1/pebble-config.json" <<EOF
{
  "pebble": {
    "listenAddress": "127.0.0.1:$port",
    "managementListenAddress": "127.0.0.1:$mgmt_port",
    "certificate": "$1/listener.pem",
    "privateKey": "$1/listener.key",
    "httpPort": 5002,
    "tlsPort": 5001,
    "ocspResponderURL": "",
    "externalAccountBindingRequired": false
  }
}
EOF
}

port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

wait_ready() { # $1 = state dir; waits for /dir (max ~20 s)
    local i
    for ((i = 0; i < 100; i++)); do
        if curl -fsS --max-time 2 --cacert "$1/listener-ca.pem" "https://127.0.0.1:$port/dir" >/dev/null 2>&1; then
            return 0
        fi
        for p in $(cat "$1/pids" 2>/dev/null); do
            kill -0 "$p" 2>/dev/null || { tail -n 20 "$1"/*.log >&2; die "a pebble process exited early"; }
        done
        sleep 0.2
    done
    tail -n 20 "$1"/*.log >&2
    die "pebble did not answer https://127.0.0.1:$port/dir within 20 s"
}

fetch_roots() { # $1 = state dir: issuing roots from the management interface
    local d="$1" i n
    curl -fsS --max-time 5 --cacert "$d/listener-ca.pem" "https://127.0.0.1:$mgmt_port/roots/0" -o "$d/root.pem" \
        || die "could not fetch /roots/0 from the management port $mgmt_port"
    n="${PEBBLE_ALTERNATE_ROOTS:-0}"
    if [[ "$n" =~ ^[0-9]+$ ]] && ((n >= 1)); then
        curl -fsS --max-time 5 --cacert "$d/listener-ca.pem" "https://127.0.0.1:$mgmt_port/roots/1" -o "$d/root-alt.pem" \
            || die "could not fetch /roots/1 (alternate root)"
    fi
}

stop_state() { # $1 = state dir
    local d="$1" p
    [[ -f "$d/pids" ]] || return 0
    for p in $(cat "$d/pids"); do kill "$p" 2>/dev/null || true; done
    for p in $(cat "$d/pids"); do
        for _ in 1 2 3 4 5 6 7 8 9 10; do kill -0 "$p" 2>/dev/null || break; sleep 0.2; done
        kill -9 "$p" 2>/dev/null || true
    done
    rm -f "$d/pids"
}

start() { # $1 = state dir; starts both processes in the background
    local d="$1"
    local ports=("$port" "$mgmt_port")
    [[ -n "$dns_server" ]] || ports+=("$dns_port" "$dns_mgmt_port")
    for p in "${ports[@]}"; do
        port_free "$p" || die "127.0.0.1:$p is already in use"
    done
    command -v pebble >/dev/null || die "pebble not installed (run scripts/setup.sh)"
    make_listener_cert "$d"
    write_config "$d"
    : >"$d/pids"
    if [[ -z "$dns_server" ]]; then
        pebble-challtestsrv -dns01 "127.0.0.1:$dns_port" -defaultIPv4 127.0.0.1 -defaultIPv6 "" \
            -http01 "" -https01 "" -tlsalpn01 "" -management "127.0.0.1:$dns_mgmt_port" \
            </dev/null >"$d/challtestsrv.log" 2>&1 &
        echo $! >>"$d/pids"
        dns_server="127.0.0.1:$dns_port"
    fi
    PEBBLE_VA_NOSLEEP="${PEBBLE_VA_NOSLEEP:-1}" \
        pebble -config "$d/pebble-config.json" -dnsserver "$dns_server" \
        </dev/null >"$d/pebble.log" 2>&1 &
    echo $! >>"$d/pids"
    wait_ready "$d"
    fetch_roots "$d"
}

print_env() { # $1 = state dir
    echo "ACME_DIR=https://127.0.0.1:$port/dir"
    echo "ACME_ROOT_PEM=$1/listener-ca.pem"
    echo "ACME_CHAIN_ROOT_PEM=$1/root.pem"
    [[ -f "$1/root-alt.pem" ]] && echo "ACME_ROOT_ALT_PEM=$1/root-alt.pem"
    echo "PEBBLE_STATE=$1"
}

case "$cmd" in
    start)
        [[ -n "$state" ]] || state="$(mktemp -d /tmp/arbor-pebble.XXXXXX)"
        mkdir -p "$state"
        state="$(cd "$state" && pwd)"
        trap 'stop_state "$state"' ERR
        start "$state"
        trap - ERR
        print_env "$state"
        ;;
    stop)
        [[ -n "$state" ]] || state="${PEBBLE_STATE:-}"
        [[ -n "$state" ]] || die "stop needs --state DIR (or PEBBLE_STATE)"
        stop_state "$state"
        ;;
    run)
        [[ -n "$state" ]] || state="$(mktemp -d /tmp/arbor-pebble.XXXXXX)"
        mkdir -p "$state"
        state="$(cd "$state" && pwd)"
        tail_pid=""
        trap '[[ -n "$tail_pid" ]] && kill "$tail_pid" 2>/dev/null; stop_state "$state"' EXIT
        trap 'exit 130' INT TERM
        start "$state"
        print_env "$state"
        echo "pebble.sh: running; logs in $state; Ctrl-C to stop" >&2
        tail -n +1 -f "$state/pebble.log" &
        tail_pid=$!
        wait
        ;;
    *)
        sed -n '2,20p' "$0" >&2
        exit 2
        ;;
esac
