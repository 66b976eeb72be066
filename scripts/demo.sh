#!/usr/bin/env bash
# Sets up what is missing, then starts a fresh simulated board on a real
# pseudo-terminal and provisions it end to end with the embedded defaults
# (data in the platform's app-data directory, or $HALLMARK_DATA_DIR).
# The CA passphrase comes from $HALLMARK_CA_PASSPHRASE or is asked for.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
cargo build --release --quiet -p hallmark-cli
exec ./target/release/hallmark demo "$@"
