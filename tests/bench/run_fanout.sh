#!/bin/sh
# run_fanout.sh BUILD_DIR [bench_fanout options...]: starts a fresh parleyd
# pinned to CPU 0 (no flood limits, warn logging), runs bench_fanout pinned
# to CPU 1 against it, then stops the server. Example:
#   tests/bench/run_fanout.sh build-perf -n 1000 -m 3000 -w 16 -j
# Environment: TLS=1 (the server speaks TLS and bench_fanout gets -T),
# RESTART=1 (reconnect storm: bench_fanout -R restarts parleyd on the same
# port and database once everyone is logged in, see below),
# MAX_CLIENTS (default 6000; raise it for -n 10000 and more),
# PARLEYD (another parleyd binary, e.g. a saved "before" build).
set -eu

# Waits (at most 10 s) for the server started into $1 to say where it
# listens; prints its port.
listening() {
  for _ in $(seq 200); do
    grep -q 'listening on' "$1/out" 2>/dev/null && break
    sleep 0.05
  done
  p=$(sed -n 's/^listening on .*:\([0-9]*\)$/\1/p' "$1/out")
  if [ -z "$p" ]; then
    echo "parleyd did not listen within 10 s:" >&2
    cat "$1/err" >&2
    return 1
  fi
  echo "$p"
}

# run_fanout.sh --restart DIR: bench_fanout's -R command. Stops the server
# of DIR (SIGTERM; it must be gone within 10 s), starts it again on the
# same port and database and prints its pid once it listens.
if [ "${1:-}" = --restart ]; then
  dir=$2
  old=$(cat "$dir/pid")
  port=$(cat "$dir/port")
  kill "$old"
  # The old server is the first script's child: gone means no /proc
  # entry or a zombie (it holds no socket then).
  for _ in $(seq 200); do
    state=$(sed -n 's/^[0-9]* ([^)]*) \(.\).*/\1/p' "/proc/$old/stat" \
      2>/dev/null || true)
    if [ -z "$state" ] || [ "$state" = Z ]; then
      break
    fi
    sleep 0.05
  done
  if [ -n "$state" ] && [ "$state" != Z ]; then
    echo "old parleyd $old did not exit within 10 s" >&2
    exit 1
  fi
  : >"$dir/out"
  sh "$dir/start" "$port"
  listening "$dir" >/dev/null
  cat "$dir/pid"
  exit 0
fi

build=$1
shift
dir=$(mktemp -d /tmp/parley-bench.XXXXXX)
bin=${PARLEYD:-$build/src/server/parleyd}
# Every bench client comes from 127.0.0.1 and registers, 256 at a time:
# lift the per-address, pre-login and password-queue limits (only for a
# parleyd that has them, so that an older "before" build still runs).
limits=""
if "$bin" --help | grep -q -- --max-per-ip; then
  limits="--max-per-ip 0 --register-rate 0 --login-failures 0"
  limits="$limits --max-unauthenticated ${MAX_CLIENTS:-6000}"
  limits="$limits --auth-queue 100000 --fanout-rate 1000000"
  limits="$limits --fanout-burst 1000000"
fi
# bench_fanout speaks plain TCP unless TLS=1 (its -T): a parleyd that
# speaks TLS by default is told --insecure-plaintext for the plain runs.
bench=""
if [ "${TLS:-0}" = 1 ]; then
  bench="-T"
elif "$bin" --help | grep -q -- --insecure-plaintext; then
  limits="$limits --insecure-plaintext"
fi
# The server's command line, for the first start and for --restart (the
# same port, database and identity): writes its pid to $dir/pid.
cat >"$dir/start" <<END
taskset -c 0 '$bin' --listen 127.0.0.1:\$1 --db '$dir/db' --pwhash min \
  --no-discovery --max-clients ${MAX_CLIENTS:-6000} --flood-rate 1000000 \
  --flood-burst 1000000 --log-level warn $limits \
  </dev/null >'$dir/out' 2>>'$dir/err' &
echo \$! >'$dir/pid'
END
sh "$dir/start" 0
# Stops the server (bounded: 10 s) and removes its files. The pid is read
# then: after a restart it is the new server's.
stop() {
  pid=$(cat "$dir/pid")
  kill "$pid" 2>/dev/null || true
  for _ in $(seq 100); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  cat "$dir/err" >&2
  rm -rf "$dir"
}
trap stop EXIT
# A signal (timeout(1), ^C) exits through the EXIT trap: no server is left.
trap 'exit 1' INT TERM
port=$(listening "$dir")
echo "$port" >"$dir/port"
if [ "${RESTART:-0}" = 1 ]; then
  set -- -R "sh $0 --restart $dir" "$@"
fi
# shellcheck disable=SC2086 # $bench is a list of words
"$build/tests/bench/bench_fanout" -p "$(cat "$dir/pid")" -c 1 $bench "$@" \
  "$port"
