#!/usr/bin/env bash
# The benchmark suite: one command, one table (BENCHMARKS.md, "B6. The suite").
#
#   bench/suite.sh                     # default sizes, SQLite and PostgreSQL
#   PG_URL= bench/suite.sh             # SQLite only
#
# Generates one data set with bench/gen/generate.py (PARTS parts, ASSETS assets, EVENTS consumption
# events, FAILURES failure events), then per store: imports it (consumption and failures timed),
# runs `cmms recompute --all` (thresholds + MTBF/PM intervals + routing, timed); on the files alone:
# `cmms compute` (both stages, no store); on SQLite: the HTTP load phases of bench/http/run.sh
# (batched ingestion, threshold PUT) and the publication throughput of bench/publication.sh.
# Every timed step reports its rate and the peak memory (max RSS) of the cmms process.
#
# Settings: PARTS (20000), ASSETS (5000), EVENTS (1000000), FAILURES (500000), HTTP_DURATION (10s),
# PG_URL (postgres://postgres@127.0.0.1:5432/test; empty skips PostgreSQL), WORK
# (/tmp/cmms-suite), BIN (a prebuilt cmms; default: build this checkout with --release).
# Needs python3, wrk (bench/http) and, for PostgreSQL, psql.
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/.." && pwd)"
PARTS="${PARTS:-20000}"
ASSETS="${ASSETS:-5000}"
EVENTS="${EVENTS:-1000000}"
FAILURES="${FAILURES:-500000}"
HTTP_DURATION="${HTTP_DURATION:-10s}"
PG_URL="${PG_URL-postgres://postgres@127.0.0.1:5432/test}"
WORK="${WORK:-/tmp/cmms-suite}"
AS_OF="2025-06-01T00:00:00Z"
started=$(date +%s)

if [[ -n "${BIN:-}" ]]; then
  bin="$BIN"
else
  (cd "$repo" && cargo build --release -q -p cmms-cli)
  bin="${CARGO_TARGET_DIR:-$repo/target}/release/cmms"
fi
mkdir -p "$WORK"
results="$WORK/results.tsv"
: > "$results"
data="$WORK/data"
stamp="$PARTS-$ASSETS-$EVENTS-$FAILURES"
if [[ "$(cat "$data/.stamp" 2>/dev/null)" != "$stamp" ]]; then
  echo "suite: generating data ($PARTS parts, $ASSETS assets, $EVENTS consumption and $FAILURES failure events)"
  rm -rf "$data"
  python3 "$here/gen/generate.py" --out "$data" --parts "$PARTS" --assets "$ASSETS" \
    --consumption-events "$EVENTS" --failure-events "$FAILURES" --seed 42 --as-of "$AS_OF" >/dev/null
  echo "$stamp" > "$data/.stamp"
fi

# measure STORE STEP COUNT UNIT CMD...: runs CMD under /usr/bin/time, appends a result row.
# Exit code 3 (some rows rejected: the data set has deliberately bad rows) counts as success.
measure() {
  local store="$1" step="$2" count="$3" unit="$4"
  shift 4
  local rc=0
  /usr/bin/time -f "%e %M" -o "$WORK/time.txt" "$@" > "$WORK/last.out" 2> "$WORK/last.err" || rc=$?
  if (( rc != 0 && rc != 3 )); then
    echo "suite: $step on $store failed (exit $rc); see $WORK/last.err" >&2
    cat "$WORK/last.err" >&2
    exit 1
  fi
  read -r secs kib < <(tail -1 "$WORK/time.txt")
  printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$store" "$step" "$count" "$unit" "$secs" "$kib" >> "$results"
  printf 'suite: %-10s %-44s %8.2f s\n' "$store" "$step" "$secs"
}

# run_store NAME DATABASE_URL: the persisted pipeline on one store.
run_store() {
  local store="$1" url="$2"
  for kind in sites parts sku_map assets; do
    "$bin" --database-url "$url" --log warn import "$kind" "$data/$kind.csv" >/dev/null 2>&1 || [[ $? == 3 ]]
  done
  measure "$store" "import consumption (CSV)" "$EVENTS" rows "$bin" --database-url "$url" --log warn import consumption "$data/consumption.csv"
  measure "$store" "import failures (CSV)" "$FAILURES" rows "$bin" --database-url "$url" --log warn import failures "$data/failures.csv"
  measure "$store" "recompute --all: thresholds of every part" "$PARTS" parts "$bin" --database-url "$url" --log warn recompute --all --as-of "$AS_OF"
  # The same run computed the MTBF/PM intervals of every asset; reported per asset as well.
  tail -1 "$results" | awk -F'\t' -v a="$ASSETS" 'BEGIN{OFS="\t"} {$2="recompute --all: MTBF/PM interval of every asset"; $3=a; $4="assets"; print}' >> "$results"
}

rm -f "$WORK"/suite.db*
run_store SQLite "$WORK/suite.db"
if [[ -n "$PG_URL" ]]; then
  schema="cmms_suite"
  PGOPTIONS="--client-min-messages=warning" psql "$PG_URL" -v ON_ERROR_STOP=1 -qc "DROP SCHEMA IF EXISTS $schema CASCADE" -c "CREATE SCHEMA $schema" >/dev/null
  run_store PostgreSQL "$PG_URL?options=-c%20search_path%3D$schema"
  PGOPTIONS="--client-min-messages=warning" psql "$PG_URL" -v ON_ERROR_STOP=1 -qc "DROP SCHEMA IF EXISTS $schema CASCADE" >/dev/null
fi

rm -rf "$WORK/compute-out"
measure "files" "cmms compute (validation + calculation)" "$((EVENTS + FAILURES))" events "$bin" --log warn compute --input "$data" --output "$WORK/compute-out" --as-of "$AS_OF"

echo "suite: HTTP load (SQLite), $HTTP_DURATION per phase"
BIN="$bin" PARTS=10000 PHASES="ingest put" DURATION="$HTTP_DURATION" WORK="$WORK/http" CMMS_LOG=warn \
  "$here/http/run.sh" > "$WORK/http.out" 2>&1 || { cat "$WORK/http.out" >&2; exit 1; }
python3 - "$WORK/http.out" "$results" <<'PY'
import re, sys
text = open(sys.argv[1]).read()
out = open(sys.argv[2], "a")
def ms(v, u):
    return float(v) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[u]
for phase, unit in (("ingest", "records"), ("put", "requests")):
    block = text.split(f"== {phase}:")[1].split("\n== ")[0]
    p50 = re.search(r"50%\s+([\d.]+)(us|ms|s)", block)
    p99 = re.search(r"99%\s+([\d.]+)(us|ms|s)", block)
    secs = float(re.search(r"requests in ([\d.]+)s", block).group(1))
    if phase == "ingest":
        count = int(re.search(r"acknowledged records/s: \d+ \((\d+) acknowledged requests x (\d+)", block).group(1)) * \
            int(re.search(r"x (\d+) records", block).group(1))
    else:
        count = int(re.search(r"(\d+) requests in", block).group(1))
    peak = re.search(rf"peak memory {phase}: (\d+)", text)
    step = "HTTP batched ingestion (1,000 per POST)" if phase == "ingest" else "HTTP threshold PUT (16 connections)"
    lat = f"p50 {ms(*p50.groups()):.1f} ms / p99 {ms(*p99.groups()):.1f} ms"
    out.write(f"SQLite\t{step}\t{count}\t{unit}\t{secs}\t{peak.group(1) if peak else ''}\t{lat}\n")
PY

echo "suite: publication (SQLite)"
CMMS_BIN="$bin" "$here/publication.sh" 10000 300000 > "$WORK/publication.out" 2>&1 || { cat "$WORK/publication.out" >&2; exit 1; }
python3 - "$WORK/publication.out" "$results" <<'PY'
import re, sys
m = re.search(r"publish --once: (\d+) changes in ([\d.]+) s", open(sys.argv[1]).read())
peak = re.search(r"peak memory publish: (\d+)", open(sys.argv[1]).read())
with open(sys.argv[2], "a") as out:
    out.write(f"SQLite\tpublication to a loopback cmms (publish --once)\t{m.group(1)}\tchanges\t{m.group(2)}\t{peak.group(1) if peak else ''}\n")
PY

python3 - "$results" "$PARTS" "$ASSETS" "$EVENTS" "$FAILURES" "$(( $(date +%s) - started ))" <<'PY'
import sys
rows = [l.rstrip("\n").split("\t") for l in open(sys.argv[1]) if l.strip()]
parts, assets, events, failures, took = sys.argv[2:7]
print()
print(f"Data: {int(parts):,} parts, {int(assets):,} assets, {int(events):,} consumption events, "
      f"{int(failures):,} failure events (bench/gen/generate.py --seed 42). Suite run time: {took} s.")
print()
print("| store | step | work | time | rate | peak memory | latency |")
print("|---|---|---:|---:|---:|---:|---|")
for r in rows:
    store, step, count, unit, secs, kib = r[:6]
    lat = r[6] if len(r) > 6 else ""
    rate = int(count) / float(secs) if float(secs) > 0 else 0
    mem = f"{int(kib) / 1024:.0f} MB" if kib else "-"
    print(f"| {store} | {step} | {int(count):,} {unit} | {float(secs):.2f} s | {rate:,.0f} {unit}/s | {mem} | {lat} |")
PY
