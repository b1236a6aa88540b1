#!/usr/bin/env bash
# `cmms recompute --all` on a store holding a whole data shape (issue 25: over 300,000 parts with
# their history, at most 10 s and 1 GiB on SQLite).
#
#   bench/recompute_all.sh [DATA_DIR]
#
# DATA_DIR holds a shape of bench/gen/generate.py (sites, parts, sku_map, assets, consumption,
# failures, mtbf_readings); without it the many-parts shape is generated into
# $WORK/data-many-clean (300,000 parts, 100,000 assets, 6,000,000 consumption and 5,000,000
# failure events, --seed 42 --clean; about 650 MB). Every file is imported once into a fresh
# SQLite store ($WORK/store.db, untimed: several minutes), then `cmms recompute --all --as-of
# 2025-06-01T00:00:00Z` runs $RUNS times under /usr/bin/time (the first run stores every
# threshold and interval; the later ones find them unchanged but compute every part and asset
# again, which is what `--all` promises; exit 4, some parts or assets not computable from their own
# data, is expected on generated data). Prints each run's wall time, CPU (user + sys) and peak
# memory, and the store's row counts.
#
# Settings: WORK (/tmp/cmms-recompute-all), RUNS (3), BIN (a prebuilt cmms; default: build this
# checkout with --release), KEEP (1: reuse $WORK/store.db when it exists).
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/.." && pwd)"
WORK="${WORK:-/tmp/cmms-recompute-all}"
RUNS="${RUNS:-3}"
KEEP="${KEEP:-1}"
AS_OF="2025-06-01T00:00:00Z"
mkdir -p "$WORK"

# shellcheck source=bench/common.sh
source "$here/common.sh"
bin="$(cmms_binary)"

data="${1:-$WORK/data-many-clean}"
[[ -n "${1:-}" ]] || generate_shape "$data" many --clean

store="$WORK/store.db"
if [[ "$KEEP" != 1 || ! -f "$WORK/.imported" ]]; then
  rm -f "$store" "$store"-* "$WORK/.imported"
  for kind in sites parts sku_map assets consumption failures mtbf_readings; do
    echo "recompute_all: importing $kind (untimed)"
    "$bin" --database-url "$store" --log warn import "$kind" "$data/$kind.csv" > "$WORK/import-$kind.log" 2>&1 \
      || [[ $? == 3 ]] || { echo "recompute_all: import $kind failed; see $WORK/import-$kind.log" >&2; exit 1; }
  done
  touch "$WORK/.imported"
fi

for i in $(seq 1 "$RUNS"); do
  /usr/bin/time -f "%e %U %S %M" -o "$WORK/time.txt" \
    "$bin" --database-url "$store" --log warn recompute --all --as-of "$AS_OF" > "$WORK/recompute-$i.log" 2>&1 \
    || [[ $? == 4 ]] || { echo "recompute_all: run $i failed; see $WORK/recompute-$i.log" >&2; exit 1; }
  read -r wall user sys kib < <(tail -1 "$WORK/time.txt")
  printf 'recompute --all run %d: wall %s s, CPU %.2f s, peak %s KB\n' "$i" "$wall" "$(echo "$user + $sys" | bc)" "$kib"
done
sqlite3 "$store" "SELECT 'parts', count(*) FROM parts UNION ALL SELECT 'assets', count(*) FROM assets \
  UNION ALL SELECT 'consumption', count(*) FROM consumption UNION ALL SELECT 'failure_events', count(*) FROM failure_events \
  UNION ALL SELECT 'current_thresholds', count(*) FROM current_thresholds UNION ALL SELECT 'pm_intervals', count(*) FROM pm_intervals" \
  | tr '|' ' ' | sed 's/^/  /'
