#!/usr/bin/env bash
# The test command (README.md): installs what a fresh machine lacks (scripts/setup.sh; only what
# is missing), then runs every suite and the package consumer tests. Arguments: none.
#
#   cargo test       the Rust crates: unit tests, tests/all (one binary, a module per concern),
#                    tests/vectors (every suite folder)
#   npm test         the Node package (bindings/node)
#   go test -race    the Go module (bindings/go)
#   pytest           the Python package (bindings/python/test.sh)
#   minitest         the gem (bindings/ruby/test.sh)
#   packages         each package built, installed outside the checkout and used
#                    (scripts/test-packages.sh)
set -euo pipefail
cd "$(dirname "$0")"
scripts/setup.sh
command -v go >/dev/null || export PATH="/usr/local/go/bin:$PATH"

step() { echo "== test: $*"; }
step "Rust"
cargo test --workspace --locked
step "Node"
(cd bindings/node && npm test)
step "Go"
(cd bindings/go && go test -race -count=1 ./...)
step "Python"
bindings/python/test.sh -q   # pytest exits 5 (failing this script) if it collects no tests
step "Ruby"
bindings/ruby/test.sh        # test/test_helper.rb fails the run if no test ran
step "packages"
scripts/test-packages.sh
