#!/usr/bin/env bash
# Builds the core module the Go binding is translated from (bindings/go/realsig_core.wasm,
# then internal/core/core.go by wasm2go; scripts/derive.sh runs both) into $1.
#
# The same guest as host/build.rs builds, with two differences, both for wasm2go:
#   no simd128       wasm2go translates no SIMD instructions (wasm2go v0.4.22: "unsupported
#                    opcode (SIMD)"); Go's compiler is what makes the translated code fast
#   --max-memory     256 MiB: the translated module's memory.grow stops there (wasm2go takes
#                    the limit from the module), the cap the wazero runtime used to set
# Its own target dir, so the host's guest build (with simd128) is not rebuilt each time.
set -euo pipefail
out="$1"
root="$(cd "$(dirname "$0")/.." && pwd)"
target="${CARGO_TARGET_DIR:-$root/target}/guest-go"
env -u RUSTFLAGS -u CARGO_ENCODED_RUSTFLAGS -u CARGO_BUILD_TARGET \
  CARGO_TARGET_DIR="$target" \
  CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUSTFLAGS="-C link-arg=--max-memory=268435456" \
  cargo build --locked --quiet --manifest-path "$root/Cargo.toml" \
  --package realsig-guest --target wasm32-unknown-unknown --profile guest
cp "$target/wasm32-unknown-unknown/guest/realsig_guest.wasm" "$out"
