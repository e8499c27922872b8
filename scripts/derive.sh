#!/usr/bin/env bash
# Regenerates every derived file that is committed, from the guest source (see
# tests/all/derived.rs for why they are committed, and which test checks each):
#   host/component/realsig.wasm, realsig_core.wasm   the crate outside the repository
#   bindings/python/src/realsig/realsig.wasm          the wheel
#   bindings/go/realsig_core.wasm                     the Go module (go:embed)
#   bindings/node/generated/                          jco's glue (npm run build)
#   */LICENSE                                         each package's copy of LICENSE
set -euo pipefail
cd "$(dirname "$0")/.."
realsig() { cargo run --locked --quiet -p realsig-cli -- "$@"; }
realsig component --out host/component/realsig.wasm
realsig component --core --out host/component/realsig_core.wasm
cp host/component/realsig.wasm bindings/python/src/realsig/realsig.wasm
cp host/component/realsig_core.wasm bindings/go/realsig_core.wasm
for package in host cli bindings/node bindings/python bindings/ruby bindings/go; do cp LICENSE "$package/LICENSE"; done
(cd bindings/node && { [ -d node_modules ] || npm ci --no-audit --no-fund --loglevel=error; } && npm run --silent build)
git status --short -- */LICENSE bindings/*/LICENSE host/component bindings/python/src/realsig/realsig.wasm bindings/go/realsig_core.wasm bindings/node/generated
