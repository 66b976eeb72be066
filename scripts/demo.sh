#!/usr/bin/env bash
# Sets up what is missing, builds the station GUI and opens it on a demo station:
# embedded defaults, a throwaway data directory and CA, and a simulated board in
# slot SIM-A (a second board, SIM-B, has a bad CSR signature). Press Start.
# Without a display, it runs the same demo in the terminal instead.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
if [ -z "${DISPLAY:-}" ] && [ -z "${WAYLAND_DISPLAY:-}" ]; then
    echo "demo: no display; provisioning a simulated board in the terminal instead" >&2
    cargo build --release --quiet -p hallmark-cli
    export HALLMARK_CA_PASSPHRASE="${HALLMARK_CA_PASSPHRASE:-$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')}"
    export HALLMARK_DATA_DIR="${HALLMARK_DATA_DIR:-$(mktemp -d -t hallmark-demo-XXXXXX)}"
    exec ./target/release/hallmark demo "$@"
fi
(cd ui && npm ci --no-audit --no-fund --loglevel=error && npx vite build --logLevel warn)
cargo build --release --quiet -p hallmark-gui
exec ./target/release/hallmark-station --demo --demo-fault bad-csr-signature "$@"
