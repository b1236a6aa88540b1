#!/usr/bin/env bash
# HTTP API load benchmark on loopback, SQLite store (see BENCHMARKS.md, "B4. HTTP load").
#
#   bench/http/run.sh                 # build release, generate data, run every phase
#   PHASES="put" DURATION=10s bench/http/run.sh
#
# Phases (PHASES, default "ingest put durability"):
#   ingest      wrk: POST /api/v1/ingest/consumption, BATCH records per request, unique event ids
#   put         wrk: PUT /api/v1/inventory/thresholds/{part}, distinct parts, increasing sequences
#   durability  clients push both while the server is killed with SIGKILL; every acknowledged
#               record and PUT must be in the database afterwards
# Each phase runs on a fresh copy of a database holding PARTS parts (one SKU and one stock
# snapshot each) and an ingest-scope token. Settings: PARTS (10000), BATCH (1000), DURATION (30s),
# THREADS (2), INGEST_CONNS (4), PUT_CONNS (16), PORT (18080), WORK (/tmp/cmms-http-bench),
# CMMS_LOG (server log filter, default info), BIN (a prebuilt cmms to run instead of building
# this checkout). Needs wrk (apt-get install wrk) and python3.
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
PARTS="${PARTS:-10000}"
BATCH="${BATCH:-1000}"
DURATION="${DURATION:-30s}"
THREADS="${THREADS:-2}"
INGEST_CONNS="${INGEST_CONNS:-4}"
PUT_CONNS="${PUT_CONNS:-16}"
PORT="${PORT:-18080}"
WORK="${WORK:-/tmp/cmms-http-bench}"
PHASES="${PHASES:-ingest put durability}"
export CMMS_LOG="${CMMS_LOG:-info}"

command -v wrk >/dev/null || { echo "wrk is missing: apt-get install wrk" >&2; exit 1; }
if (( PARTS % THREADS != 0 )); then
  echo "PARTS must be a multiple of THREADS (each part's updates go through one wrk thread)" >&2
  exit 1
fi

if [[ -n "${BIN:-}" ]]; then
  bin="$BIN"   # a prebuilt binary, e.g. of another commit, to compare
else
  (cd "$repo" && cargo build --release -p cmms-cli)
  bin="${CARGO_TARGET_DIR:-$repo/target}/release/cmms"
fi
mkdir -p "$WORK"
cd "$WORK"

if [[ ! -f puts.txt || "$(cat .parts 2>/dev/null)" != "$PARTS" ]]; then
  python3 "$here/gen.py" "$WORK" "$PARTS" 400000
  echo "$PARTS" > .parts
fi
rm -f master.db master.db-wal master.db-shm
for kind in sites parts sku_map inventory; do
  "$bin" --database-url master.db --log warn import "$kind" "$kind.csv" >/dev/null
done
TOKEN="$("$bin" --database-url master.db --log warn token create --scope ingest --name load 2>/dev/null)"
export TOKEN

server_pid=""
start_server() {
  rm -f run.db run.db-wal run.db-shm
  cp master.db run.db
  # A WAL left by an unclean close holds committed pages: it travels with the file.
  if [[ -e master.db-wal ]]; then cp master.db-wal run.db-wal; fi
  "$bin" --database-url run.db serve --listen "127.0.0.1:$PORT" 2> "server-$1.log" &
  server_pid=$!
  for _ in $(seq 100); do
    if python3 -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:$PORT/healthz', timeout=1)" 2>/dev/null; then
      return 0
    fi
    sleep 0.1
  done
  echo "server did not come up; see $WORK/server-$1.log" >&2
  exit 1
}
stop_server() {
  # Peak resident memory of the server over the phase (read before it exits).
  echo "peak memory $1: $(awk '/^VmHWM/ {print $2}' "/proc/$server_pid/status" 2>/dev/null) KiB"
  kill -TERM "$server_pid" 2>/dev/null || true
  wait "$server_pid" 2>/dev/null || true
  server_pid=""
}
trap 'if [[ -n "$server_pid" ]]; then kill -KILL "$server_pid" 2>/dev/null || true; fi' EXIT

db_count() {
  python3 -c "import sqlite3,sys; print(sqlite3.connect('run.db').execute(sys.argv[1]).fetchone()[0])" "$1"
}

for phase in $PHASES; do
  case "$phase" in
    ingest)
      start_server ingest
      echo "== ingest: $BATCH records per POST, $INGEST_CONNS connections, $DURATION"
      BATCH="$BATCH" PARTS="$PARTS" RUN="w$(date +%s)" wrk -t"$THREADS" -c"$INGEST_CONNS" -d"$DURATION" \
        --latency --timeout 10s -s "$here/ingest.lua" "http://127.0.0.1:$PORT" | tee wrk-ingest.txt
      stop_server ingest
      echo "consumption rows stored: $(db_count 'SELECT COUNT(*) FROM consumption')"
      ;;
    put)
      start_server put
      echo "== put: $PUT_CONNS connections, $DURATION"
      PUTS="$WORK/puts.txt" THREADS="$THREADS" wrk -t"$THREADS" -c"$PUT_CONNS" -d"$DURATION" \
        --latency --timeout 10s -s "$here/put.lua" "http://127.0.0.1:$PORT" | tee wrk-put.txt
      stop_server put
      echo "received thresholds stored: $(db_count 'SELECT COUNT(*) FROM received_thresholds')"
      ;;
    durability)
      start_server durability
      echo "== durability: clients push, server killed with SIGKILL after 3 s"
      python3 "$here/durability.py" --url "http://127.0.0.1:$PORT" --token "$TOKEN" --pid "$server_pid" \
        --db "$WORK/run.db" --puts "$WORK/puts.txt" --after 3 --clients 4 --batch "$BATCH"
      wait "$server_pid" 2>/dev/null || true
      server_pid=""
      ;;
    *) echo "unknown phase $phase" >&2; exit 2 ;;
  esac
done
