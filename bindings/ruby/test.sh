#!/usr/bin/env bash
# Builds the gem's native extension (`rake compile`: ext/realsig/extconf.rb, then cargo) and
# runs the minitest suite. Needs Debian's ruby-dev, libclang-dev, rake, rake-compiler,
# ruby-minitest and ruby-aws-sigv4 (.ci/run installs them). Arguments go to minitest,
# e.g. `bindings/ruby/test.sh -n /vanilla/`.
#
# The tests build the extension with cargo's dev profile, sharing `cargo test --workspace`'s
# build instead of compiling wasmtime a second time in release (minutes on two cores);
# REALSIG_CARGO_PROFILE=release tests what `rake compile` gives users. bench.rb needs release.
set -euo pipefail
cd "$(dirname "$0")"
export REALSIG_CARGO_PROFILE="${REALSIG_CARGO_PROFILE:-dev}"
exec rake test TESTOPTS="$*"
