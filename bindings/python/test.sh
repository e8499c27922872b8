#!/usr/bin/env bash
# The Python binding's tests: install the pinned test dependencies and the package into .venv, run
# pytest. The package is installed as a wheel, not editable, because that is what users get: the
# realsig_botocore.pth hook only exists in a real install. pip builds the wheel with maturin
# (PEP 517), which builds the native extension (native/, the reference host) with cargo.
#
# The tests build the extension with cargo's dev profile and the repository's target dir,
# sharing `cargo test --workspace`'s build instead of compiling wasmtime a second time in
# release (minutes on two cores); REALSIG_CARGO_PROFILE=release tests what `pip install`
# gives users. bench.py needs release.
# pytest exits 5 when it collects no tests, so an empty run fails here too.
set -euo pipefail
cd "$(dirname "$0")"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$(cd ../.. && pwd)/target}"
export MATURIN_PEP517_ARGS="--profile ${REALSIG_CARGO_PROFILE:-dev}"
[ -x .venv/bin/python ] || python3 -m venv .venv
.venv/bin/pip install -q --disable-pip-version-check -r requirements-test.txt
.venv/bin/pip install -q --disable-pip-version-check --no-deps --force-reinstall .
exec .venv/bin/python -m pytest "$@"
