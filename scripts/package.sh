#!/usr/bin/env bash
# Builds the station's Debian package into target/debian/hallmark_<version>_<arch>.deb:
# the window (hallmark-station) with its desktop entry and icon, the `hallmark` CLI,
# the label templates and the example configuration in /usr/share/hallmark, a systemd
# user unit for a headless `hallmark run` station, and the station's own SBOMs
# (CycloneDX JSON for each program's Rust dependencies and for the window's npm
# packages) with their SHA256SUMS, which `hallmark --version --json` hashes.
#
# Assembled with dpkg-deb from a staging tree (no packaging tool to compile), the
# runtime dependencies computed by dpkg-shlibdeps from the binaries themselves.
#
#   scripts/package.sh                    release build, then package
#   scripts/package.sh --bin-dir DIR      package the binaries already in DIR (tests)
#   --compression xz|gzip|none            xz by default
set -euo pipefail
cd "$(dirname "$0")/.."

bin_dir=""
compression=xz
while (($#)); do
    case "$1" in
        --bin-dir) bin_dir="$2"; shift 2 ;;
        --compression) compression="$2"; shift 2 ;;
        *) echo "package.sh: unknown argument $1 (use --bin-dir DIR, --compression xz|gzip|none)" >&2; exit 2 ;;
    esac
done

for tool in dpkg-deb dpkg-shlibdeps cargo-cyclonedx; do
    if ! command -v "$tool" >/dev/null 2>&1; then
        echo "package.sh: $tool is missing: run scripts/setup.sh --dev" >&2
        exit 2
    fi
done
if [ ! -x ui/node_modules/.bin/cyclonedx-npm ]; then
    echo "package.sh: the UI's packages are not installed: run (cd ui && npm ci)" >&2
    exit 2
fi

if [ -z "$bin_dir" ]; then
    (cd ui && npm ci --no-audit --no-fund --loglevel=error && npx vite build --logLevel warn)
    cargo build --release -p hallmark-cli -p hallmark-gui
    bin_dir="${CARGO_TARGET_DIR:-target}/release"
fi
for bin in hallmark hallmark-station; do
    if [ ! -x "$bin_dir/$bin" ]; then
        echo "package.sh: $bin_dir/$bin is missing: build it first (cargo build -p hallmark-cli -p hallmark-gui)" >&2
        exit 2
    fi
done

version=$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -1)
arch=$(dpkg --print-architecture)
out=$(realpath -m "${CARGO_TARGET_DIR:-target}/debian")
stage="$out/hallmark_${version}_${arch}"
rm -rf "$stage"
mkdir -p "$stage/DEBIAN"

install -Dm755 "$bin_dir/hallmark" "$stage/usr/bin/hallmark"
install -Dm755 "$bin_dir/hallmark-station" "$stage/usr/bin/hallmark-station"
install -Dm644 -t "$stage/usr/share/hallmark/label-templates" label-templates/*.toml
install -Dm644 config/station.example.toml "$stage/usr/share/hallmark/station.example.toml"
install -Dm644 src-tauri/icons/icon.png "$stage/usr/share/icons/hicolor/64x64/apps/hallmark-station.png"
install -Dm644 README.md "$stage/usr/share/doc/hallmark/README.md"
install -Dm644 -t "$stage/usr/share/doc/hallmark" docs/*.md

install -Dm644 /dev/stdin "$stage/usr/share/applications/hallmark-station.desktop" <<'EOF'
[Desktop Entry]
Type=Application
Name=Hallmark Station
Comment=Provision device identities: key, certificate, self-test, label
Exec=hallmark-station
Icon=hallmark-station
Terminal=false
Categories=Development;Electronics;
EOF

install -Dm644 /dev/stdin "$stage/usr/lib/systemd/user/hallmark-run.service" <<'EOF'
[Unit]
Description=Hallmark provisioning station, headless (every slot of the station configuration)
Documentation=file:///usr/share/doc/hallmark/README.md
After=network-online.target

[Service]
Type=simple
# HALLMARK_CA_PASSPHRASE (or the token PIN) and HALLMARK_CONFIG, in a file only this
# user can read (chmod 600); the log and CA stay in ~/.local/share/hallmark.
EnvironmentFile=-%h/.config/hallmark/station.env
ExecStart=/usr/bin/hallmark run
Restart=on-failure
RestartSec=5

[Install]
WantedBy=default.target
EOF

cat > "$stage/usr/share/doc/hallmark/copyright" <<EOF
Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/
Upstream-Name: hallmark
Files: *
License: Apache-2.0 OR MIT
Comment: third-party components and their licences are listed in
 /usr/share/hallmark/sbom/*.cdx.json
EOF

# The SBOMs: cargo-cyclonedx writes one per binary beside its crate's Cargo.toml.
sbom="$stage/usr/share/hallmark/sbom"
mkdir -p "$sbom"
trap 'rm -f crates/hallmark-cli/hallmark_bin.cdx.json src-tauri/hallmark-station_bin.cdx.json' EXIT
cargo-cyclonedx cyclonedx --manifest-path crates/hallmark-cli/Cargo.toml --format json --spec-version 1.5 \
    --describe binaries --no-build-deps --quiet
mv crates/hallmark-cli/hallmark_bin.cdx.json "$sbom/hallmark.cdx.json"
mv src-tauri/hallmark-station_bin.cdx.json "$sbom/hallmark-station.cdx.json"
(cd ui && npx cyclonedx-npm --omit dev --output-format JSON --spec-version 1.5 \
    --output-file "$sbom/hallmark-ui.cdx.json" >/dev/null)
(cd "$sbom" && sha256sum -- *.cdx.json > SHA256SUMS)

# Runtime dependencies from the binaries' own shared-library needs.
shlib_dir=$(mktemp -d)
trap 'rm -rf "$shlib_dir"; rm -f crates/hallmark-cli/hallmark_bin.cdx.json src-tauri/hallmark-station_bin.cdx.json' EXIT
mkdir -p "$shlib_dir/debian"
printf 'Source: hallmark\n\nPackage: hallmark\nArchitecture: any\n' > "$shlib_dir/debian/control"
depends=$(cd "$shlib_dir" && dpkg-shlibdeps -O "$stage/usr/bin/hallmark" "$stage/usr/bin/hallmark-station" \
    2>/dev/null | sed -n 's/^shlibs:Depends=//p')
installed_size=$(du -sk --exclude=DEBIAN "$stage" | cut -f1)

cat > "$stage/DEBIAN/control" <<EOF
Package: hallmark
Version: $version
Architecture: $arch
Maintainer: Hallmark <hallmark@example.invalid>
Installed-Size: $installed_size
Depends: $depends
Recommends: openssl, cups-client
Suggests: mosquitto, softhsm2
Section: electronics
Priority: optional
Homepage: https://example.invalid/hallmark
Description: factory provisioning station for device identities
 Hallmark gives every board on the bench its own key pair, a client certificate
 signed by the station's CA, a connection self-test and a scannable label, and
 logs every step in a tamper-evident log. hallmark-station is the window,
 hallmark the command line; hallmark-run.service runs a headless station as a
 systemd user unit. SBOMs: /usr/share/hallmark/sbom.
EOF

deb="$out/hallmark_${version}_${arch}.deb"
dpkg-deb --root-owner-group "-Z$compression" --build "$stage" "$deb" >/dev/null
echo "$deb"
