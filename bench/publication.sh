#!/usr/bin/env bash
# Publication benchmark: (1) the outbox write's overhead on the recompute path — the same first
# recompute on two copies of one store, without and with a [[targets]] entry; (2) publication
# throughput — `cmms publish --once` delivering every change to a local `cmms serve` (its own
# SQLite store) over loopback HTTP.
#
# usage: bench/publication.sh [PARTS] [EVENTS]      (defaults: 10000 parts, 900000 events)
# Needs python3; builds `cmms` with --release into ${CARGO_TARGET_DIR:-target}.
set -euo pipefail
cd "$(dirname "$0")/.."
PARTS=${1:-10000}
EVENTS=${2:-900000}
if [ -n "${CMMS_BIN:-}" ]; then
  CMMS="$CMMS_BIN"   # a prebuilt binary (bench/suite.sh)
else
  cargo build --release -q -p cmms-cli
  CMMS="${CARGO_TARGET_DIR:-target}/release/cmms"
fi
W=$(mktemp -d)
trap 'kill $SERVE_PID 2>/dev/null || true; rm -rf "$W"' EXIT
SERVE_PID=
python3 bench/gen_inventory.py "$W/data" "$PARTS" "$EVENTS" >/dev/null
for k in sites parts sku_map consumption; do
  "$CMMS" --database-url "$W/a.db" import "$k" "$W/data/$k.csv" >/dev/null
done
for k in sites parts; do "$CMMS" --database-url "$W/target.db" import "$k" "$W/data/$k.csv" >/dev/null; done
for ext in "" -wal; do if [ -f "$W/a.db$ext" ]; then cp "$W/a.db$ext" "$W/b.db$ext"; fi; done
TOKEN=$("$CMMS" --database-url "$W/target.db" token create --scope ingest --name bench 2>/dev/null)
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
cat > "$W/b.toml" <<TOML
database_url = "$W/b.db"
[publication]
concurrency = 16
[[targets]]
name = "bench"
base_url = "http://127.0.0.1:$PORT"
token_env = "BENCH_TARGET_TOKEN"
TOML
export BENCH_TARGET_TOKEN=$TOKEN
now() { date +%s.%N; }
t0=$(now); "$CMMS" --database-url "$W/a.db" recompute --as-of 2026-10-31T00:00:00Z >/dev/null; t1=$(now)
"$CMMS" --config "$W/b.toml" recompute --as-of 2026-10-31T00:00:00Z >/dev/null; t2=$(now)
CMMS_LOG=warn "$CMMS" --database-url "$W/target.db" serve --listen "127.0.0.1:$PORT" 2>/dev/null &
SERVE_PID=$!
for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$PORT/healthz" >/dev/null 2>&1 && break; sleep 0.1; done
t3=$(now); OUT=$(/usr/bin/time -f %M -o "$W/publish.kib" "$CMMS" --config "$W/b.toml" publish --once); t4=$(now)
echo "$OUT"
echo "peak memory publish: $(cat "$W/publish.kib") KiB"
python3 - "$PARTS" "$EVENTS" "$t0" "$t1" "$t2" "$t3" "$t4" "$OUT" <<'PY'
import re, sys
parts, events, t0, t1, t2, t3, t4, out = sys.argv[1], sys.argv[2], *map(float, sys.argv[3:8]), sys.argv[8]
delivered = int(re.search(r"(\d+) delivered", out).group(1))
print(f"data: {parts} parts, {events} consumption events")
print(f"recompute without targets: {t1 - t0:.2f} s")
print(f"recompute with one target: {t2 - t1:.2f} s  (outbox overhead {100 * ((t2 - t1) / (t1 - t0) - 1):+.1f}%)")
print(f"publish --once: {delivered} changes in {t4 - t3:.2f} s = {delivered / (t4 - t3):.0f} changes/s")
PY
