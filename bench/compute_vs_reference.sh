#!/usr/bin/env bash
# `cmms compute` against the three references of bench/reference/ (plain Python, pandas, DuckDB) on
# the same files, in one run, on one or more data shapes (issue 25: at least 25x plain Python, 5x
# pandas and 2x DuckDB, peak memory at most 1 GiB, on every shape).
#
#   bench/compute_vs_reference.sh [DATA_DIR]
#
# Without DATA_DIR it generates each shape of SHAPES once into $WORK/data-SHAPE
# (bench/gen/generate.py --seed 42, 6,000,000 consumption and 5,000,000 failure events each):
#   suite   20,000 parts,   5,000 assets (the shape the suite was tuned on)
#   many   300,000 parts, 100,000 assets (many distinct SKUs and assets: nothing fits in cache)
# clean data (`--clean`) unless DIRTY=1. Runs, one after the other on a quiet machine: cmms compute,
# compute_plain.py, compute_pandas.py, compute_duckdb.py, each under /usr/bin/time; checks that every
# reference agrees with cmms (bench/reference/compare.py: thresholds within 0.01, due dates within
# 1 s); prints per shape a table of wall times, peak memory and the speed-up of cmms over each.
#
# Settings: WORK (/tmp/cmms-vs-ref), SHAPES ("suite many"), DIRTY (0), REFS ("plain pandas duckdb"),
# BIN (a prebuilt cmms; default: build this checkout), PANDAS_PY (/work/venv-bench/bin/python: the
# venv of bench/reference/README.md, which has pandas and duckdb).
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/.." && pwd)"
WORK="${WORK:-/tmp/cmms-vs-ref}"
PANDAS_PY="${PANDAS_PY:-/work/venv-bench/bin/python}"
SHAPES="${SHAPES:-suite many}"
REFS="${REFS:-plain pandas duckdb}"
DIRTY="${DIRTY:-0}"
AS_OF="2025-06-01T00:00:00Z"
mkdir -p "$WORK"

# shellcheck source=bench/common.sh
source "$here/common.sh"
bin="$(cmms_binary)"
if [[ ! -x "$PANDAS_PY" ]]; then
  echo "compute_vs_reference: no pandas environment at $PANDAS_PY (see bench/reference/README.md)" >&2
  exit 2
fi

# run NAME CMD...: runs CMD under /usr/bin/time; records "NAME wall_s max_rss_kib" in $times.
run() {
  local name="$1"
  shift
  rm -rf "$out/$name"
  echo "compute_vs_reference: $label: $name"
  local rc=0
  /usr/bin/time -f "%e %M" -o "$out/time-$name.txt" "$@" > "$out/$name.log" 2>&1 || rc=$?
  # cmms exits 3 when rows were rejected (the dirty data has deliberately bad rows).
  if (( rc != 0 && rc != 3 )); then
    echo "compute_vs_reference: $name failed (exit $rc); see $out/$name.log" >&2
    exit 1
  fi
  echo "$name $(tail -1 "$out/time-$name.txt")" >> "$times"
}

# compare_shape LABEL DATA: runs cmms and the references on DATA and prints the table.
compare_shape() {
  label="$1"
  local data="$2"
  out="$WORK/out-$label"
  times="$out/times.txt"
  mkdir -p "$out"
  : > "$times"
  # Warm the page cache so that no contender pays for the first read from disk.
  cat "$data"/*.csv > /dev/null
  local formulas="$here/reference/formulas-continuous.toml"
  run cmms "$bin" --log warn compute --input "$data" --output "$out/cmms" --as-of "$AS_OF" --formulas "$formulas"
  # The threshold half alone, for DuckDB: the same files without assets, failures and readings.
  local half="$out/threshold-inputs"
  mkdir -p "$half"
  for f in sites parts sku_map consumption; do ln -sf "$data/$f.csv" "$half/$f.csv"; done
  for ref in $REFS; do
    case "$ref" in
      plain) run plain python3 "$here/reference/compute_plain.py" --input "$data" --output "$out/plain" --as-of "$AS_OF" ;;
      pandas) run pandas "$PANDAS_PY" "$here/reference/compute_pandas.py" --input "$data" --output "$out/pandas" --as-of "$AS_OF" ;;
      duckdb)
        run cmms-thresholds "$bin" --log warn compute --input "$half" --output "$out/cmms-thresholds" --as-of "$AS_OF" --formulas "$formulas"
        run duckdb "$PANDAS_PY" "$here/reference/compute_duckdb.py" --input "$half" --output "$out/duckdb" --as-of "$AS_OF" ;;
      *) echo "compute_vs_reference: unknown reference $ref" >&2; exit 2 ;;
    esac
  done
  local agree=yes
  for ref in $REFS; do
    local mine="$out/cmms"
    [[ "$ref" == duckdb ]] && mine="$out/cmms-thresholds"
    if ! python3 "$here/reference/compare.py" "$out/$ref" "$mine" > "$out/compare-$ref.txt"; then
      agree=no
      echo "compute_vs_reference: $ref and cmms disagree; see $out/compare-$ref.txt" >&2
    fi
  done
  python3 - "$times" "$data" "$agree" "$(nproc)" "$label" <<'PY'
import os, sys
times = {n: (float(s), int(k)) for n, s, k in (l.split() for l in open(sys.argv[1]) if l.strip())}
data, agree, cores, label = sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5]
size = sum(os.path.getsize(os.path.join(data, f)) for f in os.listdir(data) if f.endswith(".csv"))
print()
print(f"Shape {label}: {data} ({size / 1e6:.0f} MB of CSV), {cores} cores. Outputs agree: {agree}.")
print()
print("| implementation | wall time | peak memory | cmms speed-up |")
print("|---|---:|---:|---:|")
labels = {"cmms": "`cmms compute`", "plain": "plain Python (`compute_plain.py`)",
          "pandas": "pandas (`compute_pandas.py`)", "cmms-thresholds": "`cmms compute`, threshold half",
          "duckdb": "DuckDB (`compute_duckdb.py`), threshold half"}
for name, (secs, kib) in times.items():
    base = times["cmms-thresholds" if name == "duckdb" else "cmms"][0]
    ratio = "-" if name.startswith("cmms") else f"{secs / base:.1f}x"
    print(f"| {labels[name]} | {secs:.2f} s | {kib / 1024:.0f} MB | {ratio} |")
PY
  [[ "$agree" == yes ]]
}

if [[ $# -gt 0 ]]; then
  compare_shape "$(basename "$1")" "$1"
  exit
fi
status=0
for shape in $SHAPES; do
  variant=$([[ "$DIRTY" == 1 ]] && echo dirty || echo clean)
  data="$WORK/data-$shape-$variant"
  generate_shape "$data" "$shape" "$([[ "$DIRTY" == 1 ]] || echo --clean)" || exit 2
  compare_shape "$shape-$variant" "$data" || status=1
done
exit $status
