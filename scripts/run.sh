#!/usr/bin/env bash
# Builds Arbor (release) and starts the CA in the foreground with ./arbor-data as its data
# directory: ACME directory https://127.0.0.1:14000/dir, trust anchor arbor-data/root.pem.
# Extra arguments go to `arbor serve` (e.g. --resolve-all-to 127.0.0.1, --listen ADDR:PORT).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
cargo build --release --locked -p arbor
exec "${CARGO_TARGET_DIR:-target}/release/arbor" serve "$@"
