#!/usr/bin/env bash
# Seeds the corpora (seed.sh), builds the targets, and fuzzes each for SECONDS (default 30;
# the closing notes' full runs used 600). Needs nightly and cargo-fuzz (see README.md).
# Prints each target's last libFuzzer status line; any crash fails the run and leaves its
# input in fuzz/artifacts/<target>/. The seed is fixed (FUZZ_SEED, default 1) so a CI run
# explores the same inputs each time: a red run is a change's doing, not luck's.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
seconds=${1:-30}
cd "$here"
./seed.sh
cargo +nightly fuzz build --release
for target in core_sign differential http_text component_sign realtime_file ntp_reply; do
  log="$here/target/$target.log"
  echo "== fuzz $target for ${seconds}s"
  if ! cargo +nightly fuzz run --release "$target" "corpus/$target" -- \
      -max_total_time="$seconds" -seed="${FUZZ_SEED:-1}" -print_final_stats=1 >"$log" 2>&1; then
    tail -40 "$log" >&2
    echo "fuzz $target: FAILED (input saved under fuzz/artifacts/$target/)" >&2
    exit 1
  fi
  grep -E '^(#[0-9]+.*(DONE|pulse)|stat::number_of_executed_units|stat::average_exec_per_sec)' "$log" | tail -3
done
