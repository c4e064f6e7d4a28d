#!/usr/bin/env bash
# Builds podiumd for 64-bit Raspberry Pi OS (aarch64-unknown-linux-gnu) on a Debian x86-64
# machine, with the Rust target and Debian's cross compiler (for the C parts: SQLite, ring).
# Usage: deploy/cross-build.sh [--debug]      → target/aarch64-unknown-linux-gnu/{release,debug}/{podiumd,podium-bridge}
# Then the Debian package (deploy/README.md):  cargo deb -p podium-host --target aarch64-unknown-linux-gnu --no-build
# Then, without a Pi:  qemu-aarch64 -L /usr/aarch64-linux-gnu target/aarch64-unknown-linux-gnu/release/podiumd --version
set -euo pipefail
cd "$(dirname "$0")/.."
target=aarch64-unknown-linux-gnu
profile=(--release)
[[ "${1:-}" == "--debug" ]] && profile=()

if ! command -v aarch64-linux-gnu-gcc >/dev/null 2>&1; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq && apt-get install -y -qq --no-install-recommends gcc-aarch64-linux-gnu libc6-dev-arm64-cross
fi
rustup target list --installed | grep -qx "$target" || rustup target add "$target"

export CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_LINKER=aarch64-linux-gnu-gcc
export CC_aarch64_unknown_linux_gnu=aarch64-linux-gnu-gcc
export AR_aarch64_unknown_linux_gnu=aarch64-linux-gnu-ar
cargo build --locked --target "$target" -p podium-host --bin podiumd --bin podium-bridge "${profile[@]}"
