#!/usr/bin/env bash
# Builds the gem's native extension (`rake compile`: `rake vendor`, ext/realsig/extconf.rb,
# then cargo) and runs the minitest suite. Needs Debian's ruby-dev, libclang-dev, rake,
# rake-compiler, ruby-minitest and ruby-aws-sigv4 (scripts/setup.sh installs them). Arguments go to minitest,
# e.g. `bindings/ruby/test.sh -n /vanilla/`.
#
# The tests build the extension with cargo's dev profile and the repository's target dir
# (the extension is a workspace of its own, so it would have its own), sharing `cargo test
# --workspace`'s build instead of compiling wasmtime a second time in release (minutes on two
# cores); REALSIG_CARGO_PROFILE=release tests what `gem install` gives users. bench.rb needs
# release.
set -euo pipefail
cd "$(dirname "$0")"
export REALSIG_CARGO_PROFILE="${REALSIG_CARGO_PROFILE:-dev}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$(cd ../.. && pwd)/target}"
exec rake test TESTOPTS="$*"
