#!/usr/bin/env bash
# Package consumer tests: every package is built the ecosystem's way, its contents listed and
# checked, then installed outside the checkout into a fresh project and used as a user would
# (`import`/`require` and sign). Each consumer signs the AWS suite's get-vanilla request at
# its timestamp and must print the suite's signature (../shared/vectors, not computed here).
#
#   npm pack -> npm install ./realsig-*.tgz -> import { Signer } from 'realsig'
#   pip wheel (maturin) -> pip install the wheel into a fresh venv -> import realsig
#   rake build (vendor + gem build) -> gem install --local into a fresh GEM_HOME -> require "realsig"
#   a fresh Go module requiring the binding by its module path (replace -> the checkout) -> go run
#   cargo package --list (realsig, realsig-cli); cargo install --path cli -> realsig --version, sign
#
# To reuse what the suites built (CI has 90 minutes on two cores), cargo and the gem's
# extension build into the repository's target dir with the dev profile, and npm, pip and Go
# use their ordinary caches. Prints "N passed, N failed" and exits 1 if any check failed.
set -euo pipefail
shopt -s inherit_errexit # a failing $(...) fails the step that uses it
repo="$(cd "$(dirname "$0")/.." && pwd)"
work="$(mktemp -d /tmp/realsig-packages.XXXXXX)"
trap 'rm -rf "$work"' EXIT
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$repo/target}"
command -v go >/dev/null || export PATH="/usr/local/go/bin:$PATH"
vectors="${REALSIG_VECTORS:-$repo/../shared/vectors}"
vanilla="$vectors/aws-signing-test-suite/v4/get-vanilla"
expected="$(tr -d '[:space:]' < "$vanilla/header-signature.txt")"
# The suite's credentials, region, service and time, for every consumer.
eval "$(python3 - "$vanilla/context.json" <<'PY'
import json, shlex, sys
c = json.load(open(sys.argv[1]))
for k, v in [("AWS_ACCESS_KEY_ID", c["credentials"]["access_key_id"]),
             ("AWS_SECRET_ACCESS_KEY", c["credentials"]["secret_access_key"]),
             ("VANILLA_REGION", c["region"]), ("VANILLA_SERVICE", c["service"]),
             ("VANILLA_TIME", c["timestamp"])]:
    print(f"export {k}={shlex.quote(v)}")
PY
)"
export VANILLA_URL="https://example.amazonaws.com/"

passed=0
failed=0
check() { # check NAME COMMAND...: runs it, counts it, shows its output on failure
  local name="$1" log
  shift
  log="$work/check-$((passed + failed)).log"
  # In the background and waited for, not run inside an `if`: bash ignores `set -e` within a
  # condition, and every failing step of a check must fail it.
  ("$@") > "$log" 2>&1 &
  if wait $!; then
    passed=$((passed + 1))
    echo "ok   $name"
  else
    failed=$((failed + 1))
    echo "FAIL $name"
    tail -40 "$log" | sed 's/^/     /'
  fi
}
signs_vanilla() { # signs_vanilla COMMAND...: the command prints the suite's signature
  local got
  got="$("$@")" || return 1
  [ "$got" = "$expected" ] || { echo "signed $got, the suite says $expected"; return 1; }
}
lists() { # lists LISTING_FILE PATH...: each path is in the listing
  local listing="$1" missing=0
  shift
  for p in "$@"; do grep -qxF "$p" "$listing" || { echo "missing from the package: $p"; missing=1; }; done
  [ "$missing" = 0 ] || { echo "the package holds:"; cat "$listing"; return 1; }
}

# -- npm
node_pack() {
  (cd "$repo/bindings/node" && npm pack --silent --pack-destination "$work" >/dev/null)
  tar -tzf "$work"/realsig-*.tgz | sed 's|^package/||' > "$work/npm.list"
  lists "$work/npm.list" package.json LICENSE README.md src/index.js src/index.d.ts src/clocks.js src/realtime-reader.cjs \
    src/aws-sdk.js src/aws-sdk.d.ts src/credentials.js src/credentials.d.ts generated/realsig.js generated/realsig.d.ts generated/realsig.core.wasm
}
node_consumer() {
  mkdir -p "$work/node-app" && cd "$work/node-app"
  printf '{ "name": "consumer", "private": true, "type": "module" }\n' > package.json
  npm install --silent --no-audit --no-fund "$work"/realsig-*.tgz
  cat > main.js <<'JS'
import { Signer, fixedClock } from 'realsig';
const e = process.env;
const signer = new Signer({ clock: fixedClock(new Date(e.VANILLA_TIME)) });
const out = signer.sign({ method: 'GET', url: e.VANILLA_URL, region: e.VANILLA_REGION, service: e.VANILLA_SERVICE },
  { accessKeyId: e.AWS_ACCESS_KEY_ID, secretAccessKey: e.AWS_SECRET_ACCESS_KEY });
console.log(out.signature);
JS
  signs_vanilla node main.js
  # The subpath export resolves from an installed copy; with no AWS SDK in this project,
  # awsSdkConfig() must say what is missing rather than fail later inside a client.
  cat > sdk.mjs <<'JS'
import { awsSdkConfig } from 'realsig/aws-sdk';
try { awsSdkConfig(); console.log('no error'); } catch (e) { console.log(e.message); }
JS
  node sdk.mjs | grep -q 'found neither @aws-sdk/signature-v4-multi-region nor @smithy/signature-v4' \
    || { echo "realsig/aws-sdk without an SDK: $(node sdk.mjs 2>&1)"; return 1; }
  cat > creds.mjs <<'JS'
import { defaultCredentials } from 'realsig/credentials';
try { await defaultCredentials(); console.log('no error'); } catch (e) { console.log(e.message); }
JS
  node creds.mjs | grep -q 'defaultCredentials needs @aws-sdk/credential-provider-node installed' \
    || { echo "realsig/credentials without an SDK: $(node creds.mjs 2>&1)"; return 1; }
}
check "npm pack: the tarball holds the glue, the core module and the license" node_pack
check "npm install ./realsig-*.tgz into a fresh project: import { Signer } from 'realsig' signs" node_consumer

# -- Python
python_wheel() {
  python3 -m venv "$work/venv"
  "$work/venv/bin/pip" install -q --disable-pip-version-check --upgrade pip >/dev/null
  # maturin builds the extension: the dev profile and the repository's target dir (see above).
  MATURIN_PEP517_ARGS="--profile dev" \
    "$work/venv/bin/pip" wheel -q --disable-pip-version-check --no-deps -w "$work/wheel" "$repo/bindings/python"
  python3 -c 'import sys, zipfile; print("\n".join(zipfile.ZipFile(sys.argv[1]).namelist()))' \
    "$work"/wheel/realsig-*.whl > "$work/wheel.list"
  lists "$work/wheel.list" realsig/__init__.py realsig/signer.py realsig/botocore.py realsig/awscli.py \
    realsig/_autopatch.py realsig_botocore.pth realsig/_native.abi3.so
  grep -q '^realsig-[^/]*\.dist-info/\(licenses/\)\?LICENSE$' "$work/wheel.list" || { echo "no LICENSE in the wheel"; return 1; }
}
python_consumer() {
  "$work/venv/bin/pip" install -q --disable-pip-version-check "$work"/wheel/realsig-*.whl
  cd "$work" # not the checkout: the import must come from the installed wheel
  signs_vanilla "$work/venv/bin/python" - <<'PY'
import datetime, os, realsig
assert "site-packages" in realsig.__file__, realsig.__file__
e = os.environ
when = datetime.datetime.fromisoformat(e["VANILLA_TIME"].replace("Z", "+00:00"))
signer = realsig.Signer(realsig.fixed(when))
out = signer.sign(url=e["VANILLA_URL"], region=e["VANILLA_REGION"], service=e["VANILLA_SERVICE"],
                  credentials=realsig.Credentials(e["AWS_ACCESS_KEY_ID"], e["AWS_SECRET_ACCESS_KEY"]))
print(out.signature)
PY
  # The zero-code switch from the installed wheel: the hook runs at start-up, patches when
  # botocore is imported and loads no extension until botocore first asks for the time. (The
  # venv has no botocore: a stand-in package of that name is what the hook waits for.)
  mkdir -p "$work/fake/botocore" && : > "$work/fake/botocore/__init__.py"
  REALSIG_BOTOCORE=1 PYTHONPATH="$work/fake" "$work/venv/bin/python" -c '
import sys
assert "realsig._autopatch" in sys.modules and "realsig.botocore" not in sys.modules, sorted(sys.modules)
import botocore
assert sys.modules["realsig.botocore"].is_patched() and "realsig._native" not in sys.modules, sorted(sys.modules)'
}
check "pip wheel: the wheel holds the package, the native extension (with the component) and the license" python_wheel
check "pip install the wheel into a fresh venv: import realsig signs" python_consumer

# -- Ruby
ruby_gem() {
  (cd "$repo/bindings/ruby" && rake -s build >/dev/null && mv realsig-*.gem "$work/")
  tar -xOf "$work"/realsig-*.gem data.tar.gz | tar -tz > "$work/gem.list"
  lists "$work/gem.list" lib/realsig.rb lib/realsig/aws-sdk.rb LICENSE ext/realsig/extconf.rb ext/realsig/Cargo.toml \
    ext/realsig/Cargo.lock ext/realsig/src/lib.rs ext/realsig/vendor/realsig/Cargo.toml \
    ext/realsig/vendor/realsig/build.rs ext/realsig/vendor/realsig/src/lib.rs \
    ext/realsig/vendor/realsig/component/realsig.wasm ext/realsig/vendor/realsig/component/realsig_core.wasm \
    ext/realsig/vendor/realsig/wit/realsig.wit
}
ruby_consumer() {
  # The dev profile and the repository's target dir: the suites' build of wasmtime is reused
  # (a release build of the extension takes ~10 minutes on two cores; users get release).
  GEM_HOME="$work/gems" REALSIG_CARGO_PROFILE=dev gem install --local --no-document --silent "$work"/realsig-*.gem
  cd "$work"
  signs_vanilla env GEM_HOME="$work/gems" GEM_PATH="$work/gems" ruby -rtime -e '
    require "realsig"
    raise "loaded from #{$LOADED_FEATURES.grep(/realsig\.rb/)}" unless $LOADED_FEATURES.grep(/realsig\.rb\z/).all? { |f| f.start_with?(ENV["GEM_HOME"]) }
    signer = Realsig::Signer.new(clock: Realsig::Clock.fixed(Time.iso8601(ENV["VANILLA_TIME"])))
    out = signer.sign_details(url: ENV["VANILLA_URL"], region: ENV["VANILLA_REGION"], service: ENV["VANILLA_SERVICE"],
                              credentials: Realsig::Credentials.new(access_key_id: ENV["AWS_ACCESS_KEY_ID"],
                                                                     secret_access_key: ENV["AWS_SECRET_ACCESS_KEY"]))
    puts out.signature'
}
check "gem build: the gem holds the extension, its lock file and the vendored host crate" ruby_gem
check "gem install --local into a fresh GEM_HOME: require \"realsig\" signs" ruby_consumer

# -- Go
go_consumer() {
  local module
  module="$(cd "$repo/bindings/go" && go list -m)"
  mkdir -p "$work/go-app" && cd "$work/go-app"
  cat > go.mod <<EOF
module consumer

go $(cd "$repo/bindings/go" && go list -m -f '{{.GoVersion}}')

require $module v0.0.0

replace $module => $repo/bindings/go
EOF
  cat > main.go <<EOF
package main

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"strings"
	"time"

	realsig "$module"
)

func main() {
	when, err := time.Parse(time.RFC3339, os.Getenv("VANILLA_TIME"))
	if err != nil {
		panic(err)
	}
	signer, err := realsig.NewSigner(realsig.WithRealNow(realsig.FixedClock(when)))
	if err != nil {
		panic(err)
	}
	defer signer.Close()
	req, _ := http.NewRequest("GET", os.Getenv("VANILLA_URL"), nil)
	creds := realsig.Credentials{AccessKeyID: os.Getenv("AWS_ACCESS_KEY_ID"), SecretAccessKey: os.Getenv("AWS_SECRET_ACCESS_KEY")}
	if err := signer.Sign(context.Background(), req, creds, os.Getenv("VANILLA_REGION"), os.Getenv("VANILLA_SERVICE")); err != nil {
		panic(err)
	}
	_, sig, _ := strings.Cut(req.Header.Get("Authorization"), "Signature=")
	fmt.Println(sig)
}
EOF
  GOFLAGS=-mod=mod go mod tidy
  signs_vanilla go run .
}
check "a fresh Go module requiring the binding by its module path: go run signs" go_consumer

# -- Rust
cargo_package() {
  (cd "$repo" && cargo package --locked --list --allow-dirty -p realsig) > "$work/crate.list"
  lists "$work/crate.list" Cargo.toml LICENSE build.rs src/lib.rs src/signer.rs \
    component/realsig.wasm component/realsig_core.wasm wit/realsig.wit
  if grep -q '^src/bin/\|http_text' "$work/crate.list"; then echo "the library crate carries CLI code"; return 1; fi
  (cd "$repo" && cargo package --locked --list --allow-dirty -p realsig-cli) > "$work/cli.list"
  lists "$work/cli.list" Cargo.toml LICENSE src/main.rs src/lib.rs src/http_text.rs
}
cargo_consumer() {
  cargo install --quiet --locked --debug --path "$repo/cli" --root "$work/cargo"
  local version sha
  version="$("$work/cargo/bin/realsig" --version)"
  sha="$(sha256sum "$repo/host/component/realsig.wasm" | cut -d' ' -f1)"
  [ "$version" = "realsig $(cd "$repo" && cargo pkgid -p realsig-cli | sed 's/.*[#@]//') (component sha256 $sha)" ] ||
    { echo "realsig --version says: $version (component sha256 should be $sha)"; return 1; }
  cd "$work"
  signs_vanilla sh -c '"$0/cargo/bin/realsig" sign --time "$VANILLA_TIME" --region "$VANILLA_REGION" \
    --service "$VANILLA_SERVICE" --format json "$VANILLA_URL" | python3 -c "import json,sys; print(json.load(sys.stdin)[\"signature\"])"' "$work"
}
check "cargo package --list: the library carries the component and no CLI; the CLI crate its sources" cargo_package
check "cargo install --path cli: realsig --version names the component's SHA-256, and it signs" cargo_consumer

echo "packages: $passed passed, $failed failed"
[ "$failed" = 0 ]
