#!/usr/bin/env bash
# Sets up what is missing, then runs every check CI runs: formatting, lints, the
# no_std device build, and the whole test suite (unit, integration, end-to-end).
set -euo pipefail
cd "$(dirname "$0")/.."
# Incremental caches only pay off on the next edit; a one-shot run would write gigabytes.
export CARGO_INCREMENTAL="${CARGO_INCREMENTAL:-0}"
df -h . >&2 || true
./scripts/setup.sh --dev

echo "== ui: install (npm ci), type-check, unit tests (Vitest), build" >&2
(cd ui && npm ci --no-audit --no-fund --loglevel=error && npm run typecheck && npm test && npx vite build --logLevel warn)

echo "== cargo fmt --check" >&2
cargo fmt --all -- --check

echo "== cargo clippy -D warnings" >&2
cargo clippy --workspace --all-targets --all-features --quiet -- -D warnings

echo "== cargo deny: licences allowed, duplicate versions only with a stated reason (deny.toml)" >&2
# cargo deny reads metadata for every platform: fetch the crates the build did not need
# (Windows, Android, …) first, so --offline finds them on a fresh machine too.
cargo fetch --locked --quiet
cargo deny --offline check licenses bans

echo "== a station built without probe support or the simulator links neither" >&2
cargo clippy -p hallmark-cli -p hallmark-station -p hallmark-device --no-default-features --quiet -- -D warnings
if cargo tree -p hallmark-cli --no-default-features -e normal --prefix none | grep -E '^(probe-rs|hallmark-sim) '; then
    echo "hallmark-cli --no-default-features still links the crates above" >&2
    exit 1
fi
cargo test --quiet -p hallmark-device --no-default-features --lib probe::

echo "== device crates build for thumbv7em-none-eabihf (no_std)" >&2
cargo build --quiet -p hallmark-protocol -p hallmark-agent --features hallmark-agent/software-keys \
    --target thumbv7em-none-eabihf

echo "== the agent as Cortex-M4 firmware for QEMU mps2-an386 (64 KiB flash, 16 KiB RAM)" >&2
(cd firmware/qemu-mps2 && cargo fmt -- --check && cargo clippy --release --quiet -- -D warnings \
    && cargo build --release --quiet)

echo "== cargo test (the GUI's real-window test under Xvfb)" >&2
HALLMARK_REQUIRE_GUI_TEST=1 HALLMARK_REQUIRE_NORDIC_TOOLS=1 HALLMARK_REQUIRE_QEMU=1 HALLMARK_REQUIRE_POSTGRES=1 xvfb-run -a -s "-screen 0 1280x800x24" \
    dbus-run-session -- cargo test --workspace --all-features
