#!/usr/bin/env bash
# `realsig proxy` against going straight to the upstream and against a stand-in for
# awslabs/aws-sigv4-proxy, in one run on one machine, the same upstream per table: small GETs
# at 64 connections and at 1 (s3s-fs, and versitygw), and a 1 GiB upload (s3s-fs). BENCHMARKS.md, "The signing proxy", has the numbers.
#
#   scripts/bench-proxy.sh [SECONDS]    each GET row runs SECONDS (default 10)
#
# Everything listens on 127.0.0.1 and is stopped by its PID at exit. Needs s3s-fs, versitygw
# and Go (scripts/setup.sh installs them). RUNS=N repeats each row (default 3, median kept).
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-10}"
command -v go >/dev/null || export PATH="/usr/local/go/bin:$PATH"
s3s_fs="$(command -v s3s-fs || echo "$HOME/.cargo/bin/s3s-fs")"

tmp="$(mktemp -d)"
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$tmp"
}
trap cleanup EXIT

echo "== building: realsig (release) and the Go load generator / stand-in"
cargo build --release --locked -q -p realsig-cli
(cd scripts/bench-proxy && go build -o "$tmp/bench-proxy" .)
realsig="$PWD/target/release/realsig"
bench="$tmp/bench-proxy"

export AWS_ACCESS_KEY_ID=AKIDBENCHEXAMPLE AWS_SECRET_ACCESS_KEY=benchSecretKeyEXAMPLE/0123456789abcdef
export AWS_EC2_METADATA_DISABLED=true AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null
unset AWS_SESSION_TOKEN AWS_PROFILE AWS_CONTAINER_CREDENTIALS_RELATIVE_URI REALSIG_CLOCK

port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_port() {
  for _ in $(seq 200); do (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0; sleep 0.05; done
  echo "nothing listens on $1" >&2; exit 1
}
peak_mib() { awk '/VmHWM/ {printf "%.1f", $2/1024}' "/proc/$1/status"; }

upstream_port="$(port)"
mkdir "$tmp/data"
"$s3s_fs" --host 127.0.0.1 --port "$upstream_port" --access-key "$AWS_ACCESS_KEY_ID" \
  --secret-key "$AWS_SECRET_ACCESS_KEY" "$tmp/data" >/dev/null 2>&1 &
pids+=($!)
wait_port "$upstream_port"
upstream="http://127.0.0.1:$upstream_port"
# versitygw too, for the GET rows: s3s-fs answers each small GET about 40 ms late, with one
# connection as with 64 (consistent with Nagle's algorithm meeting delayed ACKs), which hides
# what a proxy adds; versitygw (Go, TCP_NODELAY) does not.
versitygw="$(command -v versitygw || echo "$(go env GOPATH)/bin/versitygw")"
vgw_port="$(port)"
mkdir "$tmp/vgw"
ROOT_ACCESS_KEY="$AWS_ACCESS_KEY_ID" ROOT_SECRET_KEY="$AWS_SECRET_ACCESS_KEY" \
  "$versitygw" --port "127.0.0.1:$vgw_port" posix "$tmp/vgw" >/dev/null 2>&1 &
pids+=($!)
wait_port "$vgw_port"
vgw="http://127.0.0.1:$vgw_port"

# Starts `realsig proxy` to UPSTREAM ($1; extra arguments: the rest), prints "PID PORT".
start_realsig() {
  local p to="$1"; p="$(port)"; shift
  "$realsig" proxy --listen "127.0.0.1:$p" --upstream "$to" --service s3 --region us-east-1 "$@" \
    2>"$tmp/realsig-$p.log" &
  echo "$! $p"
}
start_standin() {
  local p; p="$(port)"
  "$bench" standin -listen "127.0.0.1:$p" -upstream "$1" 2>"$tmp/standin-$p.log" &
  echo "$! $p"
}

head -c 1024 /dev/urandom >"$tmp/small"
for to in "$upstream" "$vgw"; do
  "$realsig" request -X PUT --service s3 --region us-east-1 "$to/bench" >/dev/null
  "$realsig" request -X PUT --service s3 --region us-east-1 --data "@$tmp/small" "$to/bench/small" >/dev/null
done

# Each row is run RUNS times and the median (by its first number) is kept: on 2 cores shared
# by the load generator, the proxy and the server, single runs vary by a third.
runs="${RUNS:-3}"
median() { sort -t= -k2 -g | sed -n "$(( (runs + 1) / 2 ))p"; }
repeat() { for _ in $(seq "$runs"); do "$@"; done | median; }

echo "== small GETs (1 KiB object), ${seconds} s each, median of $runs"
get_row() { "$bench" get -duration "${seconds}s" "$@"; }
declare -A get
for server in s3s-fs versitygw; do
  to="$upstream"; [ "$server" = versitygw ] && to="$vgw"
  read -r rs_pid rs_port < <(start_realsig "$to"); pids+=("$rs_pid")
  read -r si_pid si_port < <(start_standin "$to"); pids+=("$si_pid")
  wait_port "$rs_port"; wait_port "$si_port"
  get_row -conns 64 -url "http://127.0.0.1:$rs_port/bench/small" >/dev/null # warm the pools
  get_row -conns 64 -url "http://127.0.0.1:$si_port/bench/small" >/dev/null
  for conns in 64 1; do
    get[$server-direct-$conns]="$(repeat get_row -conns "$conns" -sign -url "$to/bench/small")"
    get[$server-realsig-$conns]="$(repeat get_row -conns "$conns" -url "http://127.0.0.1:$rs_port/bench/small")"
    get[$server-standin-$conns]="$(repeat get_row -conns "$conns" -url "http://127.0.0.1:$si_port/bench/small")"
  done
  kill "$rs_pid" "$si_pid"
done

echo "== 1 GiB upload from the page cache, one connection, median of $runs (fresh proxy processes: peak RSS is the uploads')"
head -c $((1 << 30)) /dev/urandom >"$tmp/gib"
cat "$tmp/gib" >/dev/null
read -r rs_pid rs_port < <(start_realsig "$upstream"); pids+=("$rs_pid")
read -r ru_pid ru_port < <(start_realsig "$upstream" --unsigned-payload); pids+=("$ru_pid")
read -r si_pid si_port < <(start_standin "$upstream"); pids+=("$si_pid")
wait_port "$rs_port"; wait_port "$ru_port"; wait_port "$si_port"
cpu_s() { awk '{printf "%.2f", ($14 + $15) / 100}' "/proc/$1/stat"; }
# realsig's own client frames and signs aws-chunked itself: the direct row for the same upload.
direct_chunked() {
  local start end
  start="$(date +%s.%N)"
  "$realsig" request -X PUT --chunked --service s3 --region us-east-1 --data "@$tmp/gib" "$upstream/bench/gib-direct-chunked" >/dev/null
  end="$(date +%s.%N)"
  awk -v s="$start" -v e="$end" 'BEGIN { printf "mib_per_s=%.1f seconds=%.2f\n", 1024 / (e - s), e - s }'
}
s3s_pid="${pids[0]}"
put() { "$bench" put -file "$tmp/gib" "$@"; }
direct_put="$(repeat put -sign -url "$upstream/bench/gib-direct")"
direct_chunked_put="$(repeat direct_chunked)"
s3s_before="$(cpu_s "$s3s_pid")"; before="$(cpu_s "$rs_pid")"
realsig_put="$(repeat put -url "http://127.0.0.1:$rs_port/bench/gib-chunked")"
realsig_cpu="$(awk -v a="$before" -v b="$(cpu_s "$rs_pid")" -v n="$runs" 'BEGIN { printf "%.2f", (b - a) / n }')"
s3s_cpu="$(awk -v a="$s3s_before" -v b="$(cpu_s "$s3s_pid")" -v n="$runs" 'BEGIN { printf "%.2f", (b - a) / n }')"
realsig_rss="$(peak_mib "$rs_pid")"
unsigned_put="$(repeat put -url "http://127.0.0.1:$ru_port/bench/gib-unsigned")"
unsigned_rss="$(peak_mib "$ru_pid")"
standin_put="$(repeat put -url "http://127.0.0.1:$si_port/bench/gib-standin")"
standin_rss="$(peak_mib "$si_pid")"

field() { sed -n "s/.*$1=\([^ ]*\).*/\1/p" <<<"$2"; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
small_ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.4f", a / b }'; }
added() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%+.3f", a - b }'; }
for key in s3s-fs-64 s3s-fs-1 versitygw-64 versitygw-1; do
  server="${key%-*}"; conns="${key##*-}"
  d="${get[$server-direct-$conns]}"
  echo
  echo "| small GETs from $server, $conns connection(s) | requests/s | ratio to direct | p50 ms | p99 ms | added p50 / p99 ms | errors |"
  echo "|---|---|---|---|---|---|---|"
  for who in direct realsig standin; do
    r="${get[$server-$who-$conns]}"
    case "$who" in
      direct) name="direct (the client signs: aws-sdk-go-v2)" ;;
      realsig) name="realsig proxy" ;;
      standin) name="stand-in for aws-sigv4-proxy" ;;
    esac
    echo "| $name | $(field requests_per_s "$r") | $(ratio "$(field requests_per_s "$r")" "$(field requests_per_s "$d")") | $(field p50_ms "$r") | $(field p99_ms "$r") | $(added "$(field p50_ms "$r")" "$(field p50_ms "$d")") / $(added "$(field p99_ms "$r")" "$(field p99_ms "$d")") | $(field errors "$r") |"
  done
done
echo
echo "| 1 GiB upload | MiB/s | ratio to direct UNSIGNED-PAYLOAD | ratio to direct aws-chunked | peak RSS MiB | RSS ratio to the stand-in |"
echo "|---|---|---|---|---|---|"
d="$(field mib_per_s "$direct_put")"; dc="$(field mib_per_s "$direct_chunked_put")"
row() { echo "| $1 | $2 | $(ratio "$2" "$d") | $(ratio "$2" "$dc") | $3 | $4 |"; }
row "direct, UNSIGNED-PAYLOAD (the client signs: aws-sdk-go-v2)" "$d" "" ""
row "direct, aws-chunked (the client signs each chunk: realsig request --chunked)" "$dc" "" ""
row "realsig proxy, aws-chunked (default)" "$(field mib_per_s "$realsig_put")" "$realsig_rss" "$(small_ratio "$realsig_rss" "$standin_rss")"
row "realsig proxy --unsigned-payload" "$(field mib_per_s "$unsigned_put")" "$unsigned_rss" "$(small_ratio "$unsigned_rss" "$standin_rss")"
row "stand-in for aws-sigv4-proxy (buffers the body, hashes it)" "$(field mib_per_s "$standin_put")" "$standin_rss" "1.00"
echo
echo "CPU seconds per GiB in the aws-chunked proxy row: realsig proxy $realsig_cpu, s3s-fs $s3s_cpu"
