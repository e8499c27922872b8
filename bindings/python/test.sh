#!/usr/bin/env bash
# The Python binding's tests: install the package (editable; its realsig.wasm is committed and
# checked by tests/all/derived.rs) and the pinned test dependencies into .venv, run pytest.
# pytest exits 5 when it collects no tests, so an empty run fails here too.
set -euo pipefail
cd "$(dirname "$0")"
[ -x .venv/bin/python ] || python3 -m venv .venv
.venv/bin/pip install -q --disable-pip-version-check -r requirements-test.txt -e .
exec .venv/bin/python -m pytest "$@"
