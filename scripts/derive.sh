#!/usr/bin/env bash
# Regenerates every derived file that is committed, from the guest source (see
# tests/all/derived.rs for why they are committed, and which test checks each):
#   host/component/realsig.wasm, realsig_core.wasm   the crate outside the repository
#   bindings/go/realsig_core.wasm                     the guest as the Go module needs it (go-core.sh)
#   bindings/go/internal/core/core.go                 that module translated to Go by wasm2go
#   bindings/node/generated/                          jco's glue (npm run build)
#   */LICENSE                                         each package's copy of LICENSE
#   bindings/ruby/ext/realsig/Cargo.lock               the gem's lock: the workspace's versions
#   bindings/python/native/Cargo.lock                  the Python extension's lock: the same
set -euo pipefail
cd "$(dirname "$0")/.."
realsig() { cargo run --locked --quiet -p realsig-cli -- "$@"; }
realsig component --out host/component/realsig.wasm
realsig component --core --out host/component/realsig_core.wasm
scripts/go-core.sh bindings/go/realsig_core.wasm
# The wasm2go version is pinned here and in bindings/go/derived_test.go (which checks the
# output); it is not a requirement of the Go module, whose users never run it.
(cd bindings/go && go run github.com/ncruces/wasm2go@v0.4.22 -unsafe -pkg core -o internal/core/core.go realsig_core.wasm)
for package in host cli bindings/node bindings/python bindings/ruby bindings/go; do cp LICENSE "$package/LICENSE"; done
(cd bindings/node && { [ -d node_modules ] || npm ci --no-audit --no-fund --loglevel=error; } && npm run --silent build)
# The gem's and the Python package's extensions are workspaces of their own, with their own
# locks: each crate one shares with this workspace is moved to this workspace's version (their
# Ruby- or Python-only crates keep theirs).
(cd bindings/ruby && rake -s vendor)
for manifest in bindings/ruby/ext/realsig/Cargo.toml bindings/python/native/Cargo.toml; do
python3 - Cargo.lock "${manifest%.toml}.lock" <<'PY' | while read -r spec version; do
import sys, tomllib
def series(v):  # cargo's compatibility: 1.2.3 ~ 1.x, 0.2.3 ~ 0.2.x, 0.0.3 only itself
    parts = v.replace("-", ".").replace("+", ".").split(".")
    return tuple(parts[: 1 if parts[0] != "0" else 2 if parts[1] != "0" else 3])
ours = [(p["name"], p["version"]) for p in tomllib.load(open(sys.argv[1], "rb"))["package"]]
for p in tomllib.load(open(sys.argv[2], "rb"))["package"]:
    for name, version in ours:
        if name == p["name"] and series(version) == series(p["version"]) and version != p["version"]:
            print(f"{name}@{p['version']}", version)
PY
  cargo update --quiet --manifest-path "$manifest" -p "$spec" --precise "$version"
done
done
git status --short -- */LICENSE bindings/*/LICENSE host/component bindings/ruby/ext/realsig/Cargo.lock bindings/python/native/Cargo.lock bindings/go/realsig_core.wasm bindings/go/internal/core bindings/node/generated
