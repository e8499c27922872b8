#!/usr/bin/env bash
# The Python binding's tests: build the component into the package (a derived file, not in
# git), install the package and the pinned test dependencies into .venv, run pytest.
# pytest exits 5 when it collects no tests, so an empty run fails here too.
set -euo pipefail
cd "$(dirname "$0")"
cargo run -q -p realsig -- component --out src/realsig/realsig.wasm
[ -x .venv/bin/python ] || python3 -m venv .venv
.venv/bin/pip install -q --disable-pip-version-check -r requirements-test.txt -e .
exec .venv/bin/python -m pytest "$@"
