#!/usr/bin/env bash
# The Python binding's tests: install the pinned test dependencies and the package into .venv, run
# pytest. The package is installed as a wheel, not editable, because that is what users get: the
# realsig_botocore.pth hook only exists in a real install (realsig.wasm is committed and checked
# by tests/all/derived.rs).
# pytest exits 5 when it collects no tests, so an empty run fails here too.
set -euo pipefail
cd "$(dirname "$0")"
[ -x .venv/bin/python ] || python3 -m venv .venv
.venv/bin/pip install -q --disable-pip-version-check -r requirements-test.txt
.venv/bin/pip install -q --disable-pip-version-check --no-deps --force-reinstall .
exec .venv/bin/python -m pytest "$@"
