#!/bin/sh
# run_fanout.sh BUILD_DIR [bench_fanout options...]: starts a fresh parleyd
# pinned to CPU 0 (no flood limits, warn logging), runs bench_fanout pinned
# to CPU 1 against it, then stops the server. Example:
#   tests/bench/run_fanout.sh build-perf -n 1000 -m 3000 -w 16 -j
# Environment: MAX_CLIENTS (default 6000; raise it for -n 10000 and more),
# PARLEYD (another parleyd binary, e.g. a saved "before" build).
set -eu
build=$1
shift
dir=$(mktemp -d /tmp/parley-bench.XXXXXX)
taskset -c 0 "${PARLEYD:-$build/src/server/parleyd}" --listen 127.0.0.1:0 \
  --db "$dir/db" --pwhash min --no-discovery \
  --max-clients "${MAX_CLIENTS:-6000}" \
  --flood-rate 1000000 --flood-burst 1000000 --log-level warn \
  </dev/null >"$dir/out" 2>"$dir/err" &
pid=$!
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null; cat "$dir/err" >&2; rm -rf "$dir"' EXIT
for _ in $(seq 100); do
  grep -q 'listening on' "$dir/out" 2>/dev/null && break
  sleep 0.05
done
port=$(sed -n 's/^listening on .*:\([0-9]*\)$/\1/p' "$dir/out")
"$build/tests/bench/bench_fanout" -p "$pid" -c 1 "$@" "$port"
