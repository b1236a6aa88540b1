#!/usr/bin/env bash
# `cmms import consumption` against the storage engine's own bulk load of the same rows into the
# same schema (issue 25: at least 80 % of the rate of the `sqlite3` shell's `.import`, and of
# PostgreSQL's `COPY`; peak memory at most 256 MB).
#
#   bench/import_vs_engine.sh [DATA_DIR]
#
# DATA_DIR holds the many-parts shape of bench/gen/generate.py (sites.csv, parts.csv, sku_map.csv,
# consumption.csv); without it the shape is generated into $WORK/data-many-clean (300,000 parts,
# 100,000 assets, --seed 42 --clean; about 650 MB). The first $ROWS consumption rows are the input.
#
# Per backend, a database holding the master data (sites, parts, SKU map) is prepared once; every
# timed run starts from a fresh copy of it (SQLite: a file copy outside the timing; PostgreSQL: the
# consumption table and the threshold marks emptied outside the timing). The engine loads the
# rows `cmms import consumption` stored, read back from a first untimed import in file order:
# "pre-mapped" (the part of each SKU already resolved, received_at set), so the engine does only
# the insert — every index, trigger and foreign key of the schema, same pragmas as cmms
# (SQLite: WAL, synchronous NORMAL, foreign keys on, the page cache cmms uses for a bulk batch).
# The shell's `.import` cannot write NULL, so for SQLite the few unmapped events (part_id NULL) are
# left out of the engine's file; rates are each program's own rows per second.
#
# Runs alternate (cmms, engine, cmms, engine …), $RUNS of each, every one under /usr/bin/time;
# prints per backend the median wall time, CPU (user + sys), peak memory and rate of each, and the
# ratio of the medians.
#
# Settings: WORK (/tmp/cmms-import-vs-engine), ROWS (1000000), RUNS (3), BACKENDS ("sqlite
# postgres"), BIN (a prebuilt cmms; default: build this checkout), PG (postgres://postgres@127.0.0.1:5432),
# PG_DB (cmms_import_bench: created if missing, and emptied).
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/.." && pwd)"
WORK="${WORK:-/tmp/cmms-import-vs-engine}"
ROWS="${ROWS:-1000000}"
RUNS="${RUNS:-3}"
BACKENDS="${BACKENDS:-sqlite postgres}"
PG="${PG:-postgres://postgres@127.0.0.1:5432}"
PG_DB="${PG_DB:-cmms_import_bench}"
AS_OF="2025-06-01T00:00:00Z"
# The page cache cmms gives a bulk batch (crates/store/src/rows.rs, BULK_CACHE_KIB).
CACHE_KIB="${CACHE_KIB:-65536}"
mkdir -p "$WORK"

# shellcheck source=bench/common.sh
source "$here/common.sh"
bin="$(cmms_binary)"
command -v sqlite3 > /dev/null || { echo "import_vs_engine: needs the sqlite3 shell (apt-get install sqlite3)" >&2; exit 2; }

data="${1:-$WORK/data-many-clean}"
[[ -n "${1:-}" ]] || generate_shape "$data" many --clean
input="$WORK/consumption.csv"
head -n "$((ROWS + 1))" "$data/consumption.csv" > "$input"
results="$WORK/results.txt"
: > "$results"

# timed NAME ROWS CMD...: runs CMD under /usr/bin/time; records "NAME rows wall cpu max_rss_kib".
timed() {
  local name="$1" rows="$2"
  shift 2
  local t="$WORK/time.txt" rc=0
  /usr/bin/time -f "%e %U %S %M" -o "$t" "$@" > "$WORK/$name.log" 2>&1 || rc=$?
  # cmms exits 3 when rows were rejected (the generated feed holds a few conflicting re-deliveries).
  if (( rc != 0 && rc != 3 )); then
    echo "import_vs_engine: $name failed (exit $rc); see $WORK/$name.log" >&2
    exit 1
  fi
  read -r wall user sys rss < <(tail -1 "$t")
  echo "$name $rows $wall $(awk "BEGIN { print $user + $sys }") $rss" >> "$results"
  echo "import_vs_engine: $name: $wall s wall, $rss KiB peak"
}

master() {
  local url="$1"
  for kind in sites parts sku_map; do
    # Exit 3: some rows were rejected (the generated SKU map repeats a few keys on purpose).
    local rc=0
    "$bin" --log error --database-url "$url" import "$kind" "$data/$kind.csv" > /dev/null 2>&1 || rc=$?
    (( rc == 0 || rc == 3 )) || { echo "import_vs_engine: import $kind failed (exit $rc)" >&2; exit 1; }
  done
}

sqlite_bench() {
  local base="$WORK/base.db" run="$WORK/run.db"
  rm -f "$base"* "$run"*
  master "sqlite://$base"
  sqlite3 "$base" "PRAGMA wal_checkpoint(TRUNCATE);" > /dev/null
  fresh() { rm -f "$run"*; cp "$base" "$run"; }
  # The rows as cmms stores them, in file order, for the engine.
  fresh
  "$bin" --log error --database-url "sqlite://$run" import consumption "$input" > /dev/null 2>&1 || true
  local premapped="$WORK/premapped.csv"
  sqlite3 -csv "$run" "SELECT * FROM consumption WHERE part_id IS NOT NULL ORDER BY rowid" > "$premapped"
  local shell_rows
  shell_rows=$(wc -l < "$premapped")
  local script="$WORK/import.sql"
  cat > "$script" <<SQL
PRAGMA journal_mode = WAL;
PRAGMA synchronous = NORMAL;
PRAGMA foreign_keys = ON;
PRAGMA temp_store = MEMORY;
PRAGMA cache_size = -$CACHE_KIB;
.import --csv $premapped consumption
SQL
  for _ in $(seq "$RUNS"); do
    fresh
    timed sqlite-cmms "$ROWS" "$bin" --log error --database-url "sqlite://$run" import consumption "$input"
    fresh
    timed sqlite-shell "$shell_rows" sqlite3 "$run" ".read $script"
    local stored
    stored=$(sqlite3 "$run" "SELECT count(*) FROM consumption")
    [[ "$stored" == "$shell_rows" ]] || { echo "import_vs_engine: the shell stored $stored of $shell_rows rows" >&2; exit 1; }
  done
}

postgres_bench() {
  local url="$PG/$PG_DB"
  psql -q "$PG/postgres" -c "DROP DATABASE IF EXISTS $PG_DB" > /dev/null
  psql -q "$PG/postgres" -c "CREATE DATABASE $PG_DB" > /dev/null
  master "$url"
  empty() { psql -q "$url" -c "TRUNCATE consumption, threshold_marks" -c "VACUUM ANALYZE consumption" > /dev/null; }
  empty
  "$bin" --log error --database-url "$url" import consumption "$input" > /dev/null 2>&1 || true
  local premapped="$WORK/premapped-pg.csv" cols
  cols=$(psql -At "$url" -c "SELECT string_agg(column_name, ',' ORDER BY ordinal_position) FROM information_schema.columns WHERE table_name = 'consumption'")
  psql -q "$url" -c "\\copy (SELECT $cols FROM consumption ORDER BY ctid) TO '$premapped' CSV"
  local copy_rows
  copy_rows=$(wc -l < "$premapped")
  for _ in $(seq "$RUNS"); do
    empty
    timed postgres-cmms "$ROWS" "$bin" --log error --database-url "$url" import consumption "$input"
    empty
    timed postgres-copy "$copy_rows" psql -q "$url" -c "\\copy consumption ($cols) FROM '$premapped' CSV"
  done
}

for backend in $BACKENDS; do
  case "$backend" in
    sqlite) sqlite_bench ;;
    postgres) postgres_bench ;;
    *) echo "import_vs_engine: unknown backend $backend (sqlite, postgres)" >&2; exit 2 ;;
  esac
done

python3 - "$results" "$ROWS" "$(nproc)" "$(cut -d' ' -f1-3 /proc/loadavg)" <<'PY'
import statistics, sys
rows = {}
for line in open(sys.argv[1]):
    name, n, wall, cpu, rss = line.split()
    rows.setdefault(name, []).append((int(n), float(wall), float(cpu), int(rss)))
print()
print(f"{sys.argv[2]} consumption rows, {sys.argv[3]} cores, load average {sys.argv[4]} at the end.")
print()
print("| program | runs | rows | wall (median, range) | CPU user+sys (median) | peak memory (max) | rows/s (median) |")
print("|---|---:|---:|---:|---:|---:|---:|")
rate = {}
for name, runs in rows.items():
    n = runs[0][0]
    walls = [r[1] for r in runs]
    w = statistics.median(walls)
    rate[name] = n / w
    print(f"| {name} | {len(runs)} | {n:,} | {w:.2f} s ({min(walls):.2f}-{max(walls):.2f}) "
          f"| {statistics.median(r[2] for r in runs):.2f} s | {max(r[3] for r in runs) / 1024:.0f} MB "
          f"| {rate[name]:,.0f} |")
print()
for backend, engine in (("sqlite", "shell"), ("postgres", "copy")):
    a, b = rate.get(f"{backend}-cmms"), rate.get(f"{backend}-{engine}")
    if a and b:
        print(f"{backend}: cmms reaches {100 * a / b:.0f} % of the engine's rate (target 80 %).")
PY
