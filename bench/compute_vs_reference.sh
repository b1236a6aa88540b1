#!/usr/bin/env bash
# `cmms compute` against the Python references of bench/reference/ on the same files, in one run
# (issue 8: at least 50x the plain-Python reference and 5x the pandas one, parsing included).
#
#   bench/compute_vs_reference.sh [DATA_DIR]
#
# Without DATA_DIR it generates the issue's data set once into $WORK/data (100,000 parts, 20,000
# assets, 6,000,000 consumption and 5,000,000 failure events; bench/gen/generate.py --seed 42).
# Runs, one after the other on a quiet machine: cmms compute, compute_plain.py, compute_pandas.py,
# each under /usr/bin/time; checks that both references agree with cmms (bench/reference/compare.py:
# thresholds within 0.01, due dates within 1 s); prints a table of wall times, peak memory and the
# speed-up of cmms over each reference.
#
# Settings: WORK (/tmp/cmms-vs-ref), BIN (a prebuilt cmms; default: build this checkout),
# PANDAS_PY (/work/venv-bench/bin/python: see bench/reference/README.md for the venv).
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/.." && pwd)"
WORK="${WORK:-/tmp/cmms-vs-ref}"
PANDAS_PY="${PANDAS_PY:-/work/venv-bench/bin/python}"
AS_OF="2025-06-01T00:00:00Z"
mkdir -p "$WORK"

if [[ -n "${BIN:-}" ]]; then
  bin="$BIN"
else
  (cd "$repo" && cargo build --release -q -p cmms-cli)
  bin="${CARGO_TARGET_DIR:-$repo/target}/release/cmms"
fi
if [[ ! -x "$PANDAS_PY" ]]; then
  echo "compute_vs_reference: no pandas environment at $PANDAS_PY (see bench/reference/README.md)" >&2
  exit 2
fi

data="${1:-$WORK/data}"
if [[ $# -eq 0 && ! -f "$data/.complete" ]]; then
  echo "compute_vs_reference: generating $data (about 650 MB)"
  rm -rf "$data"
  python3 "$here/gen/generate.py" --out "$data" --parts 100000 --assets 20000 \
    --consumption-events 6000000 --failure-events 5000000 --seed 42 --as-of "$AS_OF" >/dev/null
  touch "$data/.complete"
fi
# Warm the page cache so that no contender pays for the first read from disk.
cat "$data"/*.csv > /dev/null

# run NAME CMD...: runs CMD under /usr/bin/time; records "NAME wall_s max_rss_kib".
: > "$WORK/times.txt"
run() {
  local name="$1"
  shift
  rm -rf "$WORK/out-$name"
  echo "compute_vs_reference: $name"
  local rc=0
  /usr/bin/time -f "%e %M" -o "$WORK/time-$name.txt" "$@" > "$WORK/$name.log" 2>&1 || rc=$?
  # cmms exits 3 when rows were rejected (the data has deliberately bad rows).
  if (( rc != 0 && rc != 3 )); then
    echo "compute_vs_reference: $name failed (exit $rc); see $WORK/$name.log" >&2
    exit 1
  fi
  echo "$name $(tail -1 "$WORK/time-$name.txt")" >> "$WORK/times.txt"
}

run cmms "$bin" --log warn compute --input "$data" --output "$WORK/out-cmms" --as-of "$AS_OF"
run plain python3 "$here/reference/compute_plain.py" --input "$data" --output "$WORK/out-plain" --as-of "$AS_OF"
run pandas "$PANDAS_PY" "$here/reference/compute_pandas.py" --input "$data" --output "$WORK/out-pandas" --as-of "$AS_OF"

agree=yes
for ref in plain pandas; do
  if ! python3 "$here/reference/compare.py" "$WORK/out-$ref" "$WORK/out-cmms" > "$WORK/compare-$ref.txt"; then
    agree=no
    echo "compute_vs_reference: $ref and cmms disagree; see $WORK/compare-$ref.txt" >&2
  fi
done

python3 - "$WORK/times.txt" "$data" "$agree" "$(nproc)" <<'PY'
import os, sys
times = {n: (float(s), int(k)) for n, s, k in (l.split() for l in open(sys.argv[1]) if l.strip())}
data, agree, cores = sys.argv[2], sys.argv[3], sys.argv[4]
size = sum(os.path.getsize(os.path.join(data, f)) for f in os.listdir(data) if f.endswith(".csv"))
print()
print(f"Input: {data} ({size / 1e6:.0f} MB of CSV), {cores} cores. Outputs agree: {agree}.")
print()
print("| implementation | wall time | peak memory | cmms speed-up |")
print("|---|---:|---:|---:|")
base = times["cmms"][0]
labels = {"cmms": "`cmms compute`", "plain": "plain Python (`compute_plain.py`)", "pandas": "pandas (`compute_pandas.py`)"}
for name in ("cmms", "plain", "pandas"):
    secs, kib = times[name]
    ratio = "-" if name == "cmms" else f"{secs / base:.1f}x"
    print(f"| {labels[name]} | {secs:.2f} s | {kib / 1024:.0f} MB | {ratio} |")
PY
[[ "$agree" == yes ]]
