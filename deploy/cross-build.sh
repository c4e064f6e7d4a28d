#!/usr/bin/env bash
# Builds podiumd for Raspberry Pi OS on a Debian x86-64 machine, with the Rust target and
# Debian's cross compiler (for the C parts: SQLite, ring):
#   aarch64 (default): 64-bit Raspberry Pi OS, aarch64-unknown-linux-gnu, gcc-aarch64-linux-gnu
#   armv7:             32-bit Raspberry Pi OS, armv7-unknown-linux-gnueabihf, gcc-arm-linux-gnueabihf
# Usage: deploy/cross-build.sh [--debug] [--target aarch64|armv7]
#   → target/TRIPLE/{release,debug}/{podiumd,podium-bridge}
# Then the Debian package (deploy/README.md):  cargo deb -p podium-host --target TRIPLE --no-build
# Then, without a Pi:  qemu-aarch64 -L /usr/aarch64-linux-gnu target/aarch64-unknown-linux-gnu/release/podiumd --version
#                      qemu-arm -L /usr/arm-linux-gnueabihf target/armv7-unknown-linux-gnueabihf/release/podiumd --version
set -euo pipefail
cd "$(dirname "$0")/.."
arch=aarch64
profile=(--release)
while (($#)); do
    case "$1" in
        --debug) profile=() ;;
        --target) arch="${2:-}"; shift ;;
        --target=*) arch="${1#--target=}" ;;
        *) echo "usage: $0 [--debug] [--target aarch64|armv7]" >&2; exit 2 ;;
    esac
    shift
done
case "$arch" in
    aarch64) target=aarch64-unknown-linux-gnu gnu=aarch64-linux-gnu debs=(gcc-aarch64-linux-gnu libc6-dev-arm64-cross) ;;
    armv7) target=armv7-unknown-linux-gnueabihf gnu=arm-linux-gnueabihf debs=(gcc-arm-linux-gnueabihf libc6-dev-armhf-cross) ;;
    *) echo "$0: unknown target '$arch' (aarch64 or armv7)" >&2; exit 2 ;;
esac

if ! command -v "$gnu-gcc" >/dev/null 2>&1 || [[ ! -d "/usr/$gnu/lib" ]]; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq && apt-get install -y -qq --no-install-recommends "${debs[@]}"
fi
rustup target list --installed | grep -qx "$target" || rustup target add "$target"

triple_env=$(tr 'a-z-' 'A-Z_' <<<"$target")   # AARCH64_UNKNOWN_LINUX_GNU, ARMV7_UNKNOWN_LINUX_GNUEABIHF
export "CARGO_TARGET_${triple_env}_LINKER=$gnu-gcc"
export "CC_${target//-/_}=$gnu-gcc"
export "AR_${target//-/_}=$gnu-ar"
cargo build --locked --target "$target" -p podium-host --bin podiumd --bin podium-bridge "${profile[@]}"
