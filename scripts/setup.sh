#!/usr/bin/env bash
# Installs what the tests need and a fresh machine lacks, and only that: every step first
# checks, so a second run installs nothing (and prints what it found). Called by ../test.sh;
# safe to run alone. Needs root (or sudo) only when a Debian package is missing.
#
#   Debian packages   chrony, libfaketime (time-source tests); ruby-dev, libclang-dev, rake,
#                     rake-compiler, ruby-minitest, ruby-aws-sigv4 (the gem); python3-venv; gcc;
#                     the AWS tools the drop-in adapters are tested with: awscli (the AWS CLI v2,
#                     2.9.19), python3-botocore (1.29, before get_current_datetime),
#                     ruby-aws-sdk-s3 and ruby-aws-sdk-core (3.168)
#   rustup            the wasm32-unknown-unknown target (the guest), rustfmt and clippy
#   cargo install     s3s-fs 0.14.1, the loopback S3 server that verifies signatures
#   go install        versitygw 1.8.0, the second one (it canonicalises S3 keys as AWS does)
#   PyPI              moto[server] 5.2.1 (the STS the credential tests assume roles with), in
#                     a venv of its own: ~/.local/share/realsig/moto
#   Go, npm, PyPI     each suite's pinned dependencies (go.sum, package-lock.json,
#                     requirements-test.txt) into the tool chains' own caches
set -euo pipefail
cd "$(dirname "$0")/.."

say() { echo "== setup: $*"; }

# -- Debian packages: one apt-get update, only when something is missing.
# A tool the machine already has from elsewhere (its own Python, Go, Node or C compiler) is
# not asked of Debian.
want_debs=(chrony libfaketime ruby-dev libclang-dev rake rake-compiler ruby-minitest ruby-aws-sigv4
  awscli python3-botocore ruby-aws-sdk-s3 ruby-aws-sdk-core)
command -v cc >/dev/null || want_debs+=(gcc)
python3 -c 'import ensurepip, venv' 2>/dev/null || want_debs+=(python3-venv)
command -v go >/dev/null || [ -x /usr/local/go/bin/go ] || want_debs+=(golang-go)
command -v npm >/dev/null || want_debs+=(nodejs npm)
command -v curl >/dev/null || want_debs+=(curl) # tests/all/s3.rs runs `--format curl` commands
command -v openssl >/dev/null || want_debs+=(openssl) # tests/all/proxy.rs makes a test CA for an https upstream
missing=()
for pkg in "${want_debs[@]}"; do dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg"); done
if [ ${#missing[@]} -gt 0 ]; then
  say "Debian packages: ${missing[*]}"
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
  # Installing chrony may start its daemon where an init system runs; the tests start their own.
else
  say "Debian packages: all present"
fi

# -- Rust: the guest's target and the linters.
rustup target list --installed | grep -qx wasm32-unknown-unknown || rustup target add wasm32-unknown-unknown
for c in rustfmt clippy; do
  rustup component list --installed | grep -q "^$c" || rustup component add "$c"
done

# -- s3s-fs (0.17 needs a newer rustc than ours).
cargo_bin="${CARGO_HOME:-$HOME/.cargo}/bin"
if command -v s3s-fs >/dev/null || [ -x "$cargo_bin/s3s-fs" ]; then
  say "s3s-fs: present"
else
  say "s3s-fs 0.14.1 (cargo install, a few minutes)"
  cargo install s3s-fs@0.14.1 --locked --features binary
fi

# -- Go: the module's dependencies (go.mod's toolchain line fetches a newer Go if needed).
command -v go >/dev/null || export PATH="/usr/local/go/bin:$PATH"
(cd bindings/go && GOTOOLCHAIN=auto go mod download)
# wasm2go, which bindings/go/derived_test.go runs (pinned there and in scripts/derive.sh).
(cd bindings/go && go run github.com/ncruces/wasm2go@v0.4.22 -version >/dev/null)

# -- versitygw, into Go's own bin directory (the tests look there and on PATH).
gobin="$(go env GOPATH)/bin"
if command -v versitygw >/dev/null || [ -x "$gobin/versitygw" ]; then
  say "versitygw: present"
else
  say "versitygw 1.8.0 (go install, a few minutes)"
  GOBIN="$gobin" GOFLAGS=-mod=mod go install github.com/versity/versitygw/cmd/versitygw@v1.8.0
fi

# -- Node: the locked dev dependencies (jco, the cross-check signers).
(cd bindings/node && { [ -d node_modules ] && npm ls --depth=0 >/dev/null 2>&1; } ||
  npm ci --no-audit --no-fund --loglevel=error)

# -- Python: the test venv with the pinned packages (bindings/python/test.sh uses it).
(cd bindings/python && { [ -x .venv/bin/python ] || python3 -m venv .venv; } &&
  .venv/bin/pip install -q --disable-pip-version-check -r requirements-test.txt)

# -- moto's server, the STS for the assume-role and web identity tests, in its own venv.
moto_venv="$HOME/.local/share/realsig/moto"
if [ -x "$moto_venv/bin/moto_server" ]; then
  say "moto: present"
else
  say "moto[server] 5.2.1 (PyPI, into $moto_venv)"
  python3 -m venv "$moto_venv"
  "$moto_venv/bin/pip" install -q --disable-pip-version-check 'moto[server]==5.2.1'
fi
say "done"
