#!/usr/bin/env python3
"""Reference implementation of `cmms compute` in DuckDB SQL (the tool a data engineer reaches for).

    /work/venv-bench/bin/python bench/reference/compute_duckdb.py --input DIR --output DIR \
        --as-of 2025-06-01T00:00:00Z [--threads N]

Same inputs, outputs and rules as compute_plain.py (its docstring is the list of rules; the registry
defaults only), written as SQL over DuckDB tables:

  thresholds  one statement: first delivery wins by file order (the table's insertion order),
              exact (source, SKU) map else the unique part of the trimmed upper-cased spelling, the
              90-day window, the exact sum of whole micro-units (docs/contract.md#quantities), the seed multipliers with half-even rounding.
  intervals   samples from consecutive UNPLANNED starts minus the union of PLANNED downtime
              (islands of overlapping intervals; downtime before an instant by an ASOF join on
              the islands' running total), plus readings; mean, population cv, basis and clamped
              interval in SQL. The next due date (wall-clock arithmetic in the site's zone, gap
              and fold rules) is the one step SQL does not express cleanly: it is computed in
              Python with zoneinfo exactly as compute_plain.py does, from the SQL results.

Validation is the SQL counterpart of compute_plain.py's field rules (identifiers, numbers,
timestamps, references, duplicates) written with DuckDB's casts; it is meant for data without
deliberately odd spellings (`bench/gen/generate.py --clean`). On the generator's dirty variant
the threshold half still agrees; timestamp spellings DuckDB's cast reads differently from
Python's `fromisoformat` are the known difference. Prints the row counts and the time of each
half to stderr.
"""

import argparse
import csv
import os
import sys
import time
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import duckdb

UTC = timezone.utc
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

# Registry defaults (docs/contract.md#formula-registry), as in compute_plain.py.
WINDOW_DAYS = 90
SAFETY_MULTIPLIER = 1.5
REORDER_FACTOR = 1.25
MAX_FACTOR = 1.5
FORMULA_VERSION = "default"
PM_SAFETY_FACTOR = 0.85
PM_MIN_DAYS = 7.0
PM_MAX_DAYS = 365.0
CV_LIMIT = 1.0

COLUMNS = {
    "sites": ["site_id", "timezone"],
    "parts": ["part_id", "description", "unit", "site_id", "part_class", "lead_time_days",
              "baseline_min", "baseline_reorder", "baseline_max"],
    "sku_map": ["source", "external_sku", "part_id"],
    "consumption": ["event_id", "source", "external_sku", "quantity", "consumed_at"],
    "assets": ["asset_id", "asset_group", "site_id", "fallback_interval_days", "last_completion_at"],
    "failures": ["event_id", "asset_id", "event_type", "started_at", "ended_at"],
    "mtbf_readings": ["asset_id", "mtbf_hours", "observed_at"],
}

# SQL macros for the field rules of compute_plain.py.
MACROS = r"""
CREATE MACRO is_ident(s) AS s IS NOT NULL AND regexp_full_match(s, '[A-Za-z0-9._-]{1,64}')
    AND trim(s, '.') <> '';
CREATE MACRO num(s) AS CASE WHEN isfinite(TRY_CAST(trim(s) AS DOUBLE))
    THEN TRY_CAST(trim(s) AS DOUBLE) + 0.0 END;
CREATE MACRO ts_us(s) AS epoch_us(TRY_CAST(trim(s) AS TIMESTAMPTZ));
"""


def load(con, input_dir):
    """Each CSV as an all-text table in file order (rowid = line order); missing files are empty."""
    for name, cols in COLUMNS.items():
        path = os.path.join(input_dir, name + ".csv")
        if os.path.exists(path):
            con.execute(
                f"CREATE TABLE raw_{name} AS SELECT {', '.join(cols)} FROM read_csv(?, header = true, "
                "all_varchar = true, delim = ',', quote = '\"', escape = '\"', "
                "null_padding = true, strict_mode = false)",
                [path])
        else:
            con.execute(f"CREATE TABLE raw_{name} ({', '.join(c + ' VARCHAR' for c in cols)})")


def valid_sites(con):
    """Table `sites`: the first row of each site id whose zone loads (an IANA zone SQL cannot check)."""
    con.execute("CREATE TABLE sites (site_id VARCHAR, timezone VARCHAR)")
    seen = set()
    for sid, zone in con.execute("SELECT site_id, trim(timezone) FROM raw_sites WHERE is_ident(site_id) ORDER BY rowid").fetchall():
        if sid in seen:
            continue
        try:
            ZoneInfo(zone or "")
        except Exception:
            continue
        seen.add(sid)
        con.execute("INSERT INTO sites VALUES (?, ?)", [sid, zone])


THRESHOLDS = f"""
WITH
parts_fields AS (
    SELECT rowid AS rn, part_id, site_id, unit, num(lead_time_days) AS lead,
           nullif(trim(coalesce(baseline_min, '')), '') AS tmin,
           nullif(trim(coalesce(baseline_reorder, '')), '') AS treo,
           nullif(trim(coalesce(baseline_max, '')), '') AS tmax
    FROM raw_parts),
parts AS (
    SELECT part_id, lead FROM parts_fields
    WHERE is_ident(part_id) AND site_id IN (SELECT site_id FROM sites) AND trim(coalesce(unit, '')) <> ''
      AND lead BETWEEN 0 AND 3650
      AND (tmin IS NULL OR num(tmin) >= 0) AND (treo IS NULL OR num(treo) >= 0) AND (tmax IS NULL OR num(tmax) >= 0)
      AND NOT coalesce(num(treo) < num(tmin), false) AND NOT coalesce(num(tmax) < num(treo), false)
    QUALIFY row_number() OVER (PARTITION BY part_id ORDER BY rn) = 1),
sku_map AS (
    SELECT source, external_sku, part_id FROM raw_sku_map
    WHERE is_ident(source) AND external_sku IS NOT NULL AND length(trim(external_sku)) BETWEEN 1 AND 64
      AND part_id IN (SELECT part_id FROM parts)
    QUALIFY row_number() OVER (PARTITION BY source, external_sku ORDER BY rowid) = 1),
normalised AS (
    SELECT source, upper(trim(external_sku)) AS norm, any_value(part_id) AS part_id
    FROM sku_map GROUP BY ALL HAVING count(DISTINCT part_id) = 1),
events AS (
    SELECT source, external_sku, CAST(round(num(quantity) * 1000000) AS BIGINT) AS micros, ts_us(consumed_at) AS ts
    FROM raw_consumption
    WHERE is_ident(event_id) AND is_ident(source) AND external_sku IS NOT NULL
      AND length(trim(external_sku)) BETWEEN 1 AND 64 AND num(quantity) >= 0
      AND ts_us(consumed_at) IS NOT NULL
    QUALIFY row_number() OVER (PARTITION BY source, event_id ORDER BY rowid) = 1),
mapped AS (
    SELECT coalesce(x.part_id, n.part_id) AS part_id, e.micros, e.ts
    FROM events e
    LEFT JOIN sku_map x ON x.source = e.source AND x.external_sku = e.external_sku
    LEFT JOIN normalised n ON x.part_id IS NULL AND n.source = e.source AND n.norm = upper(trim(e.external_sku))
    WHERE e.ts < $as_of_us),
usage AS (
    SELECT part_id,
           sum(CASE WHEN ts >= $as_of_us - {WINDOW_DAYS} * 86400000000 THEN micros ELSE 0 END) AS micros
    FROM mapped WHERE part_id IS NOT NULL GROUP BY part_id),
avg AS (
    SELECT p.part_id, p.lead, CAST(u.micros AS DOUBLE) / 1000000 / {WINDOW_DAYS} AS avg, u.part_id IS NOT NULL AS history
    FROM parts p LEFT JOIN usage u USING (part_id)),
mins AS (SELECT *, round_even(avg * lead * {SAFETY_MULTIPLIER}, 2) AS mn FROM avg),
reorders AS (SELECT *, round_even(mn * {REORDER_FACTOR}, 2) AS reorder FROM mins)
SELECT part_id,
       CASE WHEN NOT lead > 0 THEN 'LEAD_TIME_NOT_POSITIVE' WHEN NOT history THEN 'NO_HISTORY' ELSE 'OK' END AS status,
       avg, mn, reorder, round_even(reorder * {MAX_FACTOR}, 2) AS mx
FROM reorders ORDER BY part_id
"""

INTERVALS = f"""
WITH
assets AS (
    SELECT a.asset_id, s.timezone, num(a.fallback_interval_days) AS fallback,
           CASE WHEN coalesce(trim(a.last_completion_at), '') = '' THEN NULL ELSE trim(a.last_completion_at) END AS completed
    FROM raw_assets a JOIN sites s USING (site_id)
    WHERE is_ident(a.asset_id) AND num(a.fallback_interval_days) > 0 AND num(a.fallback_interval_days) <= 3650
      AND (coalesce(trim(a.last_completion_at), '') = '' OR ts_us(a.last_completion_at) IS NOT NULL)
    QUALIFY row_number() OVER (PARTITION BY a.asset_id ORDER BY a.rowid) = 1),
failures AS (
    SELECT asset_id, upper(trim(event_type)) AS kind, ts_us(started_at) AS s,
           CASE WHEN coalesce(trim(ended_at), '') = '' THEN NULL ELSE ts_us(ended_at) END AS e
    FROM raw_failures
    WHERE is_ident(event_id) AND asset_id IN (SELECT asset_id FROM assets)
      AND upper(trim(event_type)) IN ('UNPLANNED', 'CORRECTIVE', 'PLANNED', 'SENSOR_RESET')
      AND ts_us(started_at) IS NOT NULL
      AND (coalesce(trim(ended_at), '') = '' OR ts_us(ended_at) IS NOT NULL)
    QUALIFY row_number() OVER (PARTITION BY event_id ORDER BY rowid) = 1),
planned AS (SELECT asset_id, s, e FROM failures WHERE kind = 'PLANNED' AND e IS NOT NULL AND e > s),
-- islands: an interval starts a new island when it starts after every earlier end of its asset.
marked AS (
    SELECT *, CASE WHEN s <= max(e) OVER (PARTITION BY asset_id ORDER BY s, e ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING)
                   THEN 0 ELSE 1 END AS new_island
    FROM planned),
numbered AS (SELECT *, sum(new_island) OVER (PARTITION BY asset_id ORDER BY s, e ROWS UNBOUNDED PRECEDING) AS island FROM marked),
islands AS (SELECT asset_id, min(s) AS s, max(e) AS e FROM numbered GROUP BY asset_id, island),
-- downtime before each island: the running total of the earlier islands' lengths.
cumulative AS (
    SELECT asset_id, s, e,
           coalesce(sum(e - s) OVER (PARTITION BY asset_id ORDER BY s ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0) AS before
    FROM islands),
starts AS (SELECT asset_id, s AS t FROM failures WHERE kind = 'UNPLANNED'),
-- planned downtime before instant t: before + the part of the last island starting at or before t.
downtime AS (
    SELECT p.asset_id, p.t, coalesce(c.before + least(p.t, c.e) - c.s, 0) AS down
    FROM starts p ASOF LEFT JOIN cumulative c ON p.asset_id = c.asset_id AND p.t >= c.s),
spans AS (
    SELECT asset_id,
           (t - lag(t) OVER w) - (down - lag(down) OVER w) AS us
    FROM downtime WINDOW w AS (PARTITION BY asset_id ORDER BY t)),
samples AS (
    SELECT asset_id, us / 3600000000.0 AS h FROM spans WHERE us IS NOT NULL
    UNION ALL
    SELECT asset_id, num(mtbf_hours) FROM raw_mtbf_readings
    WHERE is_ident(asset_id) AND asset_id IN (SELECT asset_id FROM assets) AND num(mtbf_hours) IS NOT NULL
      AND ts_us(observed_at) IS NOT NULL),
stats AS (
    SELECT asset_id, count(*) AS n, avg(h) AS mean, stddev_pop(h) / avg(h) AS cv
    FROM samples WHERE h > 0 GROUP BY asset_id)
SELECT a.asset_id, a.timezone, a.completed, coalesce(st.n, 0) AS n, st.mean, st.cv,
       CASE WHEN st.n IS NULL THEN 'FALLBACK' WHEN st.cv > {CV_LIMIT} THEN 'FALLBACK' ELSE 'MTBF' END AS basis,
       CASE WHEN st.n IS NULL THEN 'NO_VALID_SAMPLES' WHEN st.cv > {CV_LIMIT} THEN 'HIGH_VARIABILITY' ELSE '' END AS reason,
       CASE WHEN st.n IS NULL OR st.cv > {CV_LIMIT} THEN a.fallback
            ELSE greatest({PM_MIN_DAYS}, least(st.mean * {PM_SAFETY_FACTOR} / 24.0, {PM_MAX_DAYS})) END AS days
FROM assets a LEFT JOIN stats st USING (asset_id)
ORDER BY a.asset_id
"""


def instant(text):
    """A timestamp as compute_plain.py reads it: naive = UTC, bare date = midnight UTC."""
    dt = datetime.fromisoformat(text)
    return dt if dt.tzinfo is not None else dt.replace(tzinfo=UTC)


def next_due(completed, days, tz):
    """(status, next_due_at, next_due_at_utc), the rule of compute_plain.py's next_due."""
    if completed is None:
        return "NO_LAST_COMPLETION", "", ""
    try:
        due = (completed.astimezone(tz) + timedelta(days=days)).astimezone(UTC)
    except OverflowError:
        return "OUT_OF_RANGE", "", ""
    if due <= completed:
        return "NOT_MONOTONIC", "", ""
    return "OK", due.astimezone(tz).isoformat(), due.isoformat().replace("+00:00", "Z")


def num_text(x):
    return "" if x is None else repr(float(x))


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--input", required=True, help="folder of import CSV files")
    ap.add_argument("--output", required=True, help="folder for thresholds.csv and intervals.csv")
    ap.add_argument("--as-of", required=True, help="computation instant")
    ap.add_argument("--threads", type=int, help="DuckDB threads (default: all cores)")
    args = ap.parse_args(argv)
    as_of = instant(args.as_of)
    as_of_us = int((as_of - EPOCH) / timedelta(microseconds=1))

    t0 = time.perf_counter()
    con = duckdb.connect(config={"preserve_insertion_order": True, "autoload_known_extensions": False, "autoinstall_known_extensions": False})
    if args.threads:
        con.execute(f"SET threads = {args.threads}")
    con.execute(MACROS)
    load(con, args.input)
    valid_sites(con)
    t_load = time.perf_counter()

    t_rows = []
    for pid, status, avg, mn, reorder, mx in con.execute(THRESHOLDS, {"as_of_us": as_of_us}).fetchall():
        if status == "OK":
            t_rows.append([pid, status, repr(avg), repr(mn), repr(reorder), repr(mx), FORMULA_VERSION])
        else:
            t_rows.append([pid, status, "", "", "", "", FORMULA_VERSION])
    t_thresholds = time.perf_counter()

    i_rows = []
    zones = {}
    for aid, zone, completed, n, mean, cv, basis, reason, days in con.execute(INTERVALS).fetchall():
        tz = zones.get(zone) or zones.setdefault(zone, ZoneInfo(zone))
        status, due_local, due_utc = next_due(None if completed is None else instant(completed), days, tz)
        i_rows.append([aid, status, basis, reason, str(n), num_text(mean), num_text(cv), repr(days),
                       due_local, due_utc])
    t_intervals = time.perf_counter()

    os.makedirs(args.output, exist_ok=True)
    for name, header, rows in (
        ("thresholds.csv", ["part_id", "status", "avg_daily_usage", "min", "reorder", "max", "formula_version"], t_rows),
        ("intervals.csv", ["asset_id", "status", "basis", "reason", "n_samples", "mean_mtbf_hours", "cv",
                           "interval_days", "next_due_at", "next_due_at_utc"], i_rows),
    ):
        with open(os.path.join(args.output, name), "w", newline="", encoding="utf-8") as f:
            w = csv.writer(f, lineterminator="\n")
            w.writerow(header)
            w.writerows(rows)
    print(f"compute_duckdb: as_of {as_of.astimezone(UTC).isoformat()}; {len(t_rows)} thresholds, "
          f"{len(i_rows)} intervals; load {t_load - t0:.2f} s, thresholds {t_thresholds - t_load:.2f} s, "
          f"intervals {t_intervals - t_thresholds:.2f} s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
