#!/bin/sh
# run_fanout.sh BUILD_DIR [bench_fanout options...]: starts a fresh parleyd
# pinned to CPU 0 (no flood limits, warn logging), runs bench_fanout pinned
# to CPU 1 against it, then stops the server. Example:
#   tests/bench/run_fanout.sh build-perf -n 1000 -m 3000 -w 16 -j
# Environment: TLS=1 (the server speaks TLS; pass bench_fanout -T),
# MAX_CLIENTS (default 6000; raise it for -n 10000 and more),
# PARLEYD (another parleyd binary, e.g. a saved "before" build).
set -eu
build=$1
shift
dir=$(mktemp -d /tmp/parley-bench.XXXXXX)
bin=${PARLEYD:-$build/src/server/parleyd}
# Every bench client comes from 127.0.0.1 and registers, 256 at a time:
# lift the per-address, pre-login and password-queue limits (only for a
# parleyd that has them, so that an older "before" build still runs).
limits=""
if "$bin" --help | grep -q -- --max-per-ip; then
  limits="--max-per-ip 0 --register-rate 0 --login-failures 0
    --max-unauthenticated ${MAX_CLIENTS:-6000} --auth-queue 100000
    --fanout-rate 1000000 --fanout-burst 1000000"
fi
# bench_fanout speaks plain TCP unless TLS=1 (its -T): a parleyd that
# speaks TLS by default is told --insecure-plaintext for the plain runs.
if [ "${TLS:-0}" != 1 ] && "$bin" --help | grep -q -- --insecure-plaintext; then
  limits="$limits --insecure-plaintext"
fi
# shellcheck disable=SC2086 # $limits is a list of words
taskset -c 0 "$bin" --listen 127.0.0.1:0 \
  --db "$dir/db" --pwhash min --no-discovery \
  --max-clients "${MAX_CLIENTS:-6000}" \
  --flood-rate 1000000 --flood-burst 1000000 --log-level warn $limits \
  </dev/null >"$dir/out" 2>"$dir/err" &
pid=$!
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null; cat "$dir/err" >&2; rm -rf "$dir"' EXIT
# A signal (timeout(1), ^C) exits through the EXIT trap: no server is left.
trap 'exit 1' INT TERM
for _ in $(seq 100); do
  grep -q 'listening on' "$dir/out" 2>/dev/null && break
  sleep 0.05
done
port=$(sed -n 's/^listening on .*:\([0-9]*\)$/\1/p' "$dir/out")
"$build/tests/bench/bench_fanout" -p "$pid" -c 1 "$@" "$port"
