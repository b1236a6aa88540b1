#!/usr/bin/env bash
# Overload benchmark (RELIABILITY.md, "Limits and bad input"): CLIENTS concurrent clients GET a
# list page for DURATION seconds against `cmms serve` on a SQLite store of PARTS parts, while a
# prober asks /healthz every 50 ms. Passes when no answer is a 5xx other than 503, every 503
# carries Retry-After and /healthz always answers 200; prints the status counts and the /healthz
# p50/p99/max during saturation.
#
#   bench/http/overload.sh                         # build release, 10,000 parts, 500 clients, 20 s
#   CLIENTS=200 DURATION=10 BIN=target/release/cmms bench/http/overload.sh
#
# Settings: PARTS (10000), CLIENTS (500), DURATION (20, seconds), LIST_PATH (/api/v1/parts: pages
# of the default 1,000 parts, ~330 KB), PORT (18081), WORK (/tmp/cmms-overload), BIN (a prebuilt
# cmms; default: build this checkout with --release), CMMS_LOG (server log filter, default warn).
# Needs python3 only (bench/http/overload.py is standard library). The server runs with its
# default [http] limits unless CMMS_CONFIG names a file that sets them.
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
PARTS="${PARTS:-10000}"
CLIENTS="${CLIENTS:-500}"
DURATION="${DURATION:-20}"
LIST_PATH="${LIST_PATH:-/api/v1/parts}"
PORT="${PORT:-18081}"
WORK="${WORK:-/tmp/cmms-overload}"
export CMMS_LOG="${CMMS_LOG:-warn}"

if [[ -n "${BIN:-}" ]]; then
  bin="$BIN"
else
  (cd "$repo" && cargo build --release -q -p cmms-cli)
  bin="${CARGO_TARGET_DIR:-$repo/target}/release/cmms"
fi
mkdir -p "$WORK"
cd "$WORK"
if [[ ! -f parts.csv || "$(cat .parts 2>/dev/null)" != "$PARTS" ]]; then
  python3 "$here/gen.py" "$WORK" "$PARTS" 1
  echo "$PARTS" > .parts
fi
rm -f run.db run.db-wal run.db-shm
for kind in sites parts sku_map inventory; do
  "$bin" --database-url run.db --log warn import "$kind" "$kind.csv" >/dev/null
done
token="$("$bin" --database-url run.db --log warn token create --scope read --name overload 2>/dev/null)"

# The client needs a file descriptor per connection.
ulimit -n 4096 2>/dev/null || true
"$bin" --database-url run.db serve --listen "127.0.0.1:$PORT" 2> server.log &
server_pid=$!
trap 'kill -KILL "$server_pid" 2>/dev/null || true' EXIT
for _ in $(seq 100); do
  if python3 -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:$PORT/healthz', timeout=1)" 2>/dev/null; then
    break
  fi
  sleep 0.1
done

echo "== overload: $CLIENTS clients x GET $LIST_PATH for ${DURATION}s, $PARTS parts, $(date -u +%FT%TZ)"
rc=0
python3 "$here/overload.py" --url "http://127.0.0.1:$PORT" --token "$token" --clients "$CLIENTS" \
  --duration "$DURATION" --path "$LIST_PATH" || rc=$?
echo "server peak memory: $(awk '/^VmHWM/ {print $2}' "/proc/$server_pid/status" 2>/dev/null) KiB"
echo "server log lines at warn or above: $(grep -c . server.log || true)"
kill -TERM "$server_pid" 2>/dev/null || true
wait "$server_pid" 2>/dev/null || true
trap - EXIT
exit "$rc"
