#!/usr/bin/env bash
# Installs what Hallmark needs on a Debian/Ubuntu machine that already has Rust
# (rustup). Safe to run again: it only installs what is missing.
set -euo pipefail

apt_packages=()
need() { command -v "$1" >/dev/null 2>&1 || apt_packages+=("$2"); }
need cc build-essential        # rusqlite builds its bundled SQLite
need dpkg-shlibdeps dpkg-dev    # scripts/package.sh: the .deb's runtime dependencies
need pdftoppm poppler-utils    # tests: render label PDFs
need zbarimg zbar-tools        # tests: scan the barcodes we print
need openssl openssl           # tests: verify the certificates we issue
need sqlite3 sqlite3           # tests: tamper with the log the way a forger would
need softhsm2-util softhsm2    # tests: the issuing CA key in a PKCS#11 token
[ -x /usr/sbin/mosquitto ] || apt_packages+=(mosquitto)    # tests: the broker self-test
need dmtxread dmtx-utils       # tests: read the Data Matrix labels we print
need qemu-system-arm qemu-system-arm    # tests: the agent as Cortex-M4 firmware (mps2-an386)
compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null || apt_packages+=(postgresql)    # tests: throwaway fleet servers (run as its `postgres` user)
need lp cups-client            # printing to a CUPS queue
[ -x /usr/sbin/cupsd ] || apt_packages+=(cups)    # tests: a real CUPS scheduler
[ -x /usr/lib/cups/backend/cups-pdf ] || apt_packages+=(printer-driver-cups-pdf)    # tests: its PDF printer
# The GUI (Tauri v2 on WebKitGTK) and its real-window tests.
for pkg in pkg-config libssl-dev file libwebkit2gtk-4.1-dev libgtk-3-dev librsvg2-dev \
    libayatana-appindicator3-dev libxdo-dev libsoup-3.0-dev libjavascriptcoregtk-4.1-dev; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "ok installed" || apt_packages+=("$pkg")
done
need xvfb-run xvfb
need xauth xauth
need WebKitWebDriver webkit2gtk-driver
need dbus-run-session dbus
need dbus-launch dbus-x11
[ -d /usr/share/fonts/truetype/dejavu ] || apt_packages+=(fonts-dejavu-core)
need node nodejs
need npm npm
# The e2e test that lets Nordic's own tools drive the simulated nRF91 modem runs them
# from a venv (Debian's Python refuses system-wide pip installs; ensurepip comes with
# python3-venv there).
python3 -c 'import ensurepip, venv' >/dev/null 2>&1 || apt_packages+=(python3-venv)

if ((${#apt_packages[@]})); then
    sudo=""
    if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
    echo "setup: installing ${apt_packages[*]}" >&2
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${apt_packages[@]}" >/dev/null
fi

if ! command -v cargo >/dev/null 2>&1; then
    echo "setup: Rust is missing; install it with rustup (https://rustup.rs) and run this again" >&2
    exit 1
fi

if [ "${1:-}" = "--dev" ]; then
    installed="$(rustup component list --installed 2>/dev/null || true)"
    for c in rustfmt clippy; do
        grep -q "^$c" <<<"$installed" || rustup component add "$c"
    done
    # The device-side crates are built for a real MCU target to prove they are no_std.
    rustup target list --installed | grep -q '^thumbv7em-none-eabihf$' || rustup target add thumbv7em-none-eabihf

    # The station's own SBOM (scripts/package.sh, tests/e2e/package.rs), built from source.
    if ! command -v cargo-cyclonedx >/dev/null 2>&1; then
        echo "setup: installing cargo-cyclonedx 0.5.9" >&2
        cargo install --quiet --locked cargo-cyclonedx --version 0.5.9
    fi

    # Licences and duplicate versions of every dependency (deny.toml), checked offline.
    if ! cargo deny --version 2>/dev/null | grep -q '^cargo-deny 0.20.2$'; then
        echo "setup: installing cargo-deny 0.20.2" >&2
        cargo install --quiet --locked cargo-deny --version 0.20.2 --no-default-features
    fi

    # Nordic's nrfcredstore and device_credentials_installer, for tests/e2e/nordic.rs.
    # `python3` from PATH: Debian's on a fresh machine, a pyenv one on some images.
    nordic_venv="$(cd "$(dirname "$0")/.." && pwd)/target/nordic-venv"
    nordic_pins=(nrfcredstore==2.1.0 nrfcloud-utils==3.3.1)
    [ -x "$nordic_venv/bin/python" ] || python3 -m venv "$nordic_venv"
    frozen="$("$nordic_venv/bin/python" -m pip freeze 2>/dev/null || true)"
    for pin in "${nordic_pins[@]}"; do
        if ! grep -qixF -e "$pin" <<<"$frozen"; then
            echo "setup: installing ${nordic_pins[*]} into $nordic_venv" >&2
            "$nordic_venv/bin/python" -m pip install --quiet "${nordic_pins[@]}"
            break
        fi
    done
fi
