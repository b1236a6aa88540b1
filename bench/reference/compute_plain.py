#!/usr/bin/env python3
"""Reference implementation of `cmms compute` in plain Python (standard library only).

    python3 bench/reference/compute_plain.py --input DIR --output DIR --as-of 2025-06-01T00:00:00Z

Reads the import files of DIR (CSV with header, docs/contract.md#import-file-formats; any file may be
missing and is then empty), validates them, and writes OUTPUT/thresholds.csv and
OUTPUT/intervals.csv. Counts of rejected / ignored rows go to stderr.

It implements docs/contract.md#thresholds, #pm-intervals and #due-dates with the formula registry's defaults and nothing else (no seasonal windows, no part-class
overrides, no MTBF look-back):

  thresholds  window_days 90, safety_multiplier 1.5, reorder_factor 1.25, max_factor 1.5, 2 decimals
  PM          safety_factor 0.85, interval clamped to [7, 365] days, cv_limit 1.0

Validation (a row failing any rule is skipped and counted, it never aborts the run):
  * identifiers: 1-64 characters of A-Z a-z 0-9 . _ -, not only dots; taken exactly (no trimming).
  * external SKUs: 1-64 characters once trimmed, no control characters; kept as delivered.
  * numbers: decimal text (blanks around allowed), finite; NaN / inf / garbage reject the row.
  * timestamps: ISO 8601 / RFC 3339 as Python's datetime.fromisoformat reads them, with `T` or a
    blank; without an offset = UTC; a bare date = midnight UTC.
  * sites: IANA zone must load. parts: site must exist, lead_time_days in [0, 3650] (0 is kept and
    reported LEAD_TIME_NOT_POSITIVE), optional baselines >= 0 with min <= reorder <= max.
    sku_map: the part must exist. assets: site must exist, fallback_interval_days in (0, 3650],
    last_completion_at optional. Master files: the first valid row of a key wins, later rows with
    the same key are rejected as duplicates.
  * consumption: quantity finite and >= 0. Dedup by (source, event_id) among valid rows: the first
    wins, a later copy with the same parsed values (SKU as delivered, quantity, instant) is ignored,
    one with different values is rejected (DUPLICATE_CONFLICT).
  * failures: event_type UNPLANNED / CORRECTIVE / PLANNED / SENSOR_RESET (trimmed, ASCII case
    ignored); the asset must exist; dedup by event_id like consumption (values compared: asset,
    type, started_at, ended_at). mtbf_readings: the asset must exist, mtbf_hours finite.

SKU mapping: an exact (source, external_sku) row of sku_map wins; otherwise the SKU trimmed and
upper-cased is compared with the trimmed, upper-cased SKUs of sku_map rows of the same source:
exactly one distinct part -> that part; none -> UNMAPPED; two or more -> AMBIGUOUS. Unmapped and
ambiguous events are not counted anywhere.

Thresholds (one row per valid part): window = [as_of - 90 x 24 h, as_of) in UTC;
consumed = the exact sum of the quantities in whole micro-units (each rounded half away from zero,
docs/contract.md#quantities) of mapped accepted events in the window; avg = consumed / 90.
Status: lead time <= 0 -> LEAD_TIME_NOT_POSITIVE (first); no mapped accepted event before as_of ->
NO_HISTORY; else OK with min = round(avg * lead * 1.5, 2), reorder = round(min * 1.25, 2),
max = round(reorder * 1.5, 2) (Python's round: half-to-even on the exact binary value).

Intervals (one row per valid asset): samples = for each pair of consecutive UNPLANNED starts, the span
in hours minus the length of the union of PLANNED [started_at, ended_at) intervals clipped to the
span (PLANNED without ended_at, or ending at/before its start, subtracts nothing; CORRECTIVE and
SENSOR_RESET are ignored), plus every MTBF reading. Samples <= 0 are discarded. mean = fsum / n,
population sd = sqrt(fsum((x - mean)^2) / n), cv = sd / mean. No samples -> FALLBACK /
NO_VALID_SAMPLES; cv > 1.0 -> FALLBACK / HIGH_VARIABILITY (both use fallback_interval_days as
given); else MTBF with interval = clamp(mean * 0.85 / 24, 7, 365). Spans are computed in integer
microseconds. All failure events and readings count (no as_of cut-off: docs/contract.md#pm-intervals).

Due date: no last_completion_at -> NO_LAST_COMPLETION (interval fields filled, due empty). Else the
completion converted to the site's zone (zoneinfo), plus timedelta(days=interval_days) as wall-clock
time (aware datetime + timedelta, result has fold=0), resolved with .astimezone(UTC): a wall time in
a DST gap moves forward by the gap, in a fold the earlier instant is taken. due <= completion (as
instants) -> NOT_MONOTONIC with empty due fields (the design says it is not stored); a date beyond
year 9999 -> OUT_OF_RANGE. next_due_at = the due instant in the site zone, isoformat with offset
(e.g. 2025-03-30T03:30:00+02:00); next_due_at_utc = isoformat in UTC with a `Z` suffix.

Outputs are sorted by id; floats are written with repr (shortest round-trip form).
"""

import argparse
import csv
import math
import os
import re
import sys
from collections import Counter, defaultdict
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

# Registry defaults (docs/contract.md#formula-registry).
WINDOW_DAYS = 90
SAFETY_MULTIPLIER = 1.5
REORDER_FACTOR = 1.25
MAX_FACTOR = 1.5
DECIMALS = 2
FORMULA_VERSION = "default"
PM_SAFETY_FACTOR = 0.85
PM_MIN_DAYS = 7.0
PM_MAX_DAYS = 365.0
CV_LIMIT = 1.0
MAX_LEAD_TIME_DAYS = 3650.0
MAX_FALLBACK_DAYS = 3650.0
MAX_TEXT_LEN = 500

UTC = timezone.utc
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
US_PER_HOUR = 3_600_000_000
EVENT_TYPES = ("UNPLANNED", "CORRECTIVE", "PLANNED", "SENSOR_RESET")

ID_RE = re.compile(r"[A-Za-z0-9._-]{1,64}")
CONTROL_RE = re.compile(r"[\x00-\x1f\x7f-\x9f]")

# Rejected / ignored rows, "file: reason" -> count; printed at the end.
REPORT = Counter()


class Invalid(Exception):
    """A field failed its rule; the message is the reason code used in the report."""


# ---------------------------------------------------------------------------------------------
# Field parsers
# ---------------------------------------------------------------------------------------------

def ident(s):
    """An identifier: exact text (no trimming), 1-64 of [A-Za-z0-9._-], not only dots."""
    if ID_RE.fullmatch(s) is None or s.strip(".") == "":
        raise Invalid("BAD_ID")
    return s


def external_sku(s):
    """An external SKU: 1-64 characters once trimmed, no control characters; kept as delivered."""
    t = s.strip()
    if not t or len(t) > 64 or CONTROL_RE.search(s):
        raise Invalid("BAD_SKU")
    return s


def text(s, required):
    """A free-text field: trimmed, no control characters, at most 500 characters."""
    t = s.strip()
    if (required and not t) or CONTROL_RE.search(t) or len(t) > MAX_TEXT_LEN:
        raise Invalid("BAD_TEXT")
    return t


def number(s):
    """A finite decimal number (Python's float(), minus its extensions: no `_` digit separators)."""
    t = s.strip()
    if "_" in t or not t.isascii():  # float() also takes "1_000" and non-ASCII digits
        raise Invalid("NOT_A_NUMBER")
    try:
        v = float(t)
    except ValueError:
        raise Invalid("NOT_A_NUMBER") from None
    if not math.isfinite(v):
        raise Invalid("NOT_FINITE")
    return v + 0.0  # -0.0 -> 0.0


# The plausible window of input instants (docs/contract.md#timestamps): 1970-01-01 ... now + 24 h,
# "now" the later of the clock and --as-of; set by main() once --as-of is read.
WINDOW = None


def timestamp(s):
    """An instant as an aware datetime; naive text is UTC, a bare date is midnight UTC; outside the
    plausible window (once set) the row is rejected."""
    t = s.strip()
    if not t:
        raise Invalid("BAD_TIMESTAMP")
    try:
        dt = datetime.fromisoformat(t)
    except ValueError:
        raise Invalid("BAD_TIMESTAMP") from None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    try:
        dt.astimezone(UTC)
    except OverflowError:  # e.g. 0001-01-01T00:00:00+05:00 is before year 1 in UTC
        raise Invalid("BAD_TIMESTAMP") from None
    if WINDOW is not None and not (WINDOW[0] <= dt <= WINDOW[1]):
        raise Invalid("TIMESTAMP_OUT_OF_RANGE")
    return dt


def micros(dt):
    """Microseconds since the Unix epoch of an aware datetime (exact integer)."""
    d = dt - EPOCH
    return (d.days * 86_400 + d.seconds) * 1_000_000 + d.microseconds


def event_type(s):
    """UNPLANNED / CORRECTIVE / PLANNED / SENSOR_RESET, trimmed, ASCII letter case ignored."""
    t = s.strip()
    u = t.upper() if t.isascii() else t
    if u not in EVENT_TYPES:
        raise Invalid("UNKNOWN_EVENT_TYPE")
    return u


def read_rows(input_dir, name):
    """Yields the rows of NAME.csv as dicts (missing columns read as ""); nothing if absent."""
    path = os.path.join(input_dir, name + ".csv")
    if not os.path.exists(path):
        return
    with open(path, newline="", encoding="utf-8-sig") as f:
        for row in csv.DictReader(f):
            yield {k: (v if v is not None else "") for k, v in row.items()}


def col(row, name):
    v = row.get(name)
    return v if v is not None else ""


# ---------------------------------------------------------------------------------------------
# Master data
# ---------------------------------------------------------------------------------------------

def load_sites(input_dir):
    """site_id -> ZoneInfo."""
    sites = {}
    for row in read_rows(input_dir, "sites"):
        try:
            sid = ident(col(row, "site_id"))
            name = col(row, "timezone").strip()
            try:
                tz = ZoneInfo(name)
            except Exception:
                raise Invalid("UNKNOWN_ZONE") from None
            if sid in sites:
                raise Invalid("DUPLICATE_KEY")
            sites[sid] = tz
        except Invalid as e:
            REPORT[f"sites: {e}"] += 1
    return sites


def load_parts(input_dir, sites):
    """part_id -> lead_time_days."""
    parts = {}
    for row in read_rows(input_dir, "parts"):
        try:
            pid = ident(col(row, "part_id"))
            text(col(row, "description"), False)
            text(col(row, "unit"), True)
            sid = ident(col(row, "site_id"))
            ident(col(row, "part_class"))
            lead = number(col(row, "lead_time_days"))
            if lead < 0 or lead > MAX_LEAD_TIME_DAYS:
                raise Invalid("LEAD_TIME_OUT_OF_RANGE")
            base = []
            for c in ("baseline_min", "baseline_reorder", "baseline_max"):
                raw = col(row, c)
                v = number(raw) if raw.strip() else None
                if v is not None and v < 0:
                    raise Invalid("NEGATIVE_BASELINE")
                base.append(v)
            bmin, breo, bmax = base
            if (bmin is not None and breo is not None and breo < bmin) or (
                breo is not None and bmax is not None and bmax < breo
            ):
                raise Invalid("BASELINE_ORDER")
            if pid in parts:
                raise Invalid("DUPLICATE_KEY")
            if sid not in sites:
                raise Invalid("UNKNOWN_SITE")
            parts[pid] = lead
        except Invalid as e:
            REPORT[f"parts: {e}"] += 1
    return parts


def load_sku_map(input_dir, parts):
    """(exact, normalised): (source, sku) -> part and (source, SKU) -> sorted list of parts."""
    exact = {}
    normalised = defaultdict(set)
    for row in read_rows(input_dir, "sku_map"):
        try:
            src = ident(col(row, "source"))
            sku = external_sku(col(row, "external_sku"))
            pid = ident(col(row, "part_id"))
            if (src, sku) in exact:
                raise Invalid("DUPLICATE_KEY")
            if pid not in parts:
                raise Invalid("UNKNOWN_PART")
            exact[(src, sku)] = pid
            normalised[(src, sku.strip().upper())].add(pid)
        except Invalid as e:
            REPORT[f"sku_map: {e}"] += 1
    return exact, normalised


def load_assets(input_dir, sites):
    """asset_id -> (site zone, fallback_interval_days, last completion as aware datetime or None)."""
    assets = {}
    for row in read_rows(input_dir, "assets"):
        try:
            aid = ident(col(row, "asset_id"))
            ident(col(row, "asset_group"))
            sid = ident(col(row, "site_id"))
            fallback = number(col(row, "fallback_interval_days"))
            if not (0 < fallback <= MAX_FALLBACK_DAYS):
                raise Invalid("FALLBACK_INTERVAL_OUT_OF_RANGE")
            raw = col(row, "last_completion_at")
            completed = timestamp(raw) if raw.strip() else None
            if aid in assets:
                raise Invalid("DUPLICATE_KEY")
            if sid not in sites:
                raise Invalid("UNKNOWN_SITE")
            assets[aid] = (sites[sid], fallback, completed)
        except Invalid as e:
            REPORT[f"assets: {e}"] += 1
    return assets


# ---------------------------------------------------------------------------------------------
# Thresholds
# ---------------------------------------------------------------------------------------------

def map_sku(exact, normalised, source, sku):
    """(part_id, None) for a mapped SKU, else (None, "UNMAPPED" | "AMBIGUOUS")."""
    pid = exact.get((source, sku))
    if pid is not None:
        return pid, None
    candidates = normalised.get((source, sku.strip().upper()))
    if not candidates:
        return None, "UNMAPPED"
    if len(candidates) > 1:
        return None, "AMBIGUOUS"
    return next(iter(candidates)), None


def consumption_usage(input_dir, exact, normalised, as_of_us):
    """Streams consumption.csv once: (quantities in the window per part, parts with history)."""
    start_us = as_of_us - WINDOW_DAYS * 86_400 * 1_000_000
    seen = {}  # (source, event_id) -> (sku, quantity, instant) of the first accepted delivery
    mapping_cache = {}
    in_window = defaultdict(list)
    has_history = set()
    for row in read_rows(input_dir, "consumption"):
        try:
            eid = ident(col(row, "event_id"))
            src = ident(col(row, "source"))
            sku = external_sku(col(row, "external_sku"))
            qty = number(col(row, "quantity"))
            if qty < 0:
                raise Invalid("NEGATIVE_QUANTITY")
            at = micros(timestamp(col(row, "consumed_at")))
        except Invalid as e:
            REPORT[f"consumption: {e}"] += 1
            continue
        key = (src, eid)
        value = (sku, qty, at)
        first = seen.get(key)
        if first is not None:
            REPORT["consumption: DUPLICATE_IDENTICAL (ignored)" if first == value else "consumption: DUPLICATE_CONFLICT"] += 1
            continue
        seen[key] = value
        mk = (src, sku)
        mapped = mapping_cache.get(mk)
        if mapped is None:
            mapped = mapping_cache[mk] = map_sku(exact, normalised, src, sku)
        pid, quarantine = mapped
        if pid is None:
            REPORT[f"consumption: {quarantine} (quarantined)"] += 1
            continue
        if at < as_of_us:
            has_history.add(pid)
            if at >= start_us:
                in_window[pid].append(micro_units(qty))
    return in_window, has_history


def micro_units(q):
    """A quantity in whole micro-units, rounded half away from zero (docs/contract.md#quantities)."""
    x = q * 1_000_000
    f = math.floor(x)
    return int(f) + (1 if x - f >= 0.5 else 0)


def thresholds(parts, in_window, has_history):
    rows = []
    for pid in sorted(parts):
        lead = parts[pid]
        if not lead > 0:
            rows.append([pid, "LEAD_TIME_NOT_POSITIVE", "", "", "", "", FORMULA_VERSION])
            continue
        if pid not in has_history:
            rows.append([pid, "NO_HISTORY", "", "", "", "", FORMULA_VERSION])
            continue
        avg = sum(in_window.get(pid, ())) / 1_000_000 / WINDOW_DAYS
        mn = round(avg * lead * SAFETY_MULTIPLIER, DECIMALS)
        reorder = round(mn * REORDER_FACTOR, DECIMALS)
        mx = round(reorder * MAX_FACTOR, DECIMALS)
        rows.append([pid, "OK", repr(avg), repr(mn), repr(reorder), repr(mx), FORMULA_VERSION])
    return rows


# ---------------------------------------------------------------------------------------------
# MTBF and PM intervals
# ---------------------------------------------------------------------------------------------

def load_failures(input_dir, assets):
    """asset_id -> list of (started_us, type, ended_us or None), deduplicated by event_id."""
    seen = {}
    events = defaultdict(list)
    for row in read_rows(input_dir, "failures"):
        try:
            eid = ident(col(row, "event_id"))
            aid = ident(col(row, "asset_id"))
            kind = event_type(col(row, "event_type"))
            start = micros(timestamp(col(row, "started_at")))
            raw_end = col(row, "ended_at")
            end = micros(timestamp(raw_end)) if raw_end.strip() else None
            if aid not in assets:
                raise Invalid("UNKNOWN_ASSET")
        except Invalid as e:
            REPORT[f"failures: {e}"] += 1
            continue
        value = (aid, kind, start, end)
        first = seen.get(eid)
        if first is not None:
            REPORT["failures: DUPLICATE_IDENTICAL (ignored)" if first == value else "failures: DUPLICATE_CONFLICT"] += 1
            continue
        seen[eid] = value
        events[aid].append((start, kind, end))
    return events


def load_readings(input_dir, assets):
    """asset_id -> list of mtbf_hours."""
    readings = defaultdict(list)
    for row in read_rows(input_dir, "mtbf_readings"):
        try:
            aid = ident(col(row, "asset_id"))
            hours = number(col(row, "mtbf_hours"))
            timestamp(col(row, "observed_at"))
            if aid not in assets:
                raise Invalid("UNKNOWN_ASSET")
        except Invalid as e:
            REPORT[f"mtbf_readings: {e}"] += 1
            continue
        readings[aid].append(hours)
    return readings


def failure_samples(events):
    """MTBF samples in hours from one asset's failure log (any order; sorted here)."""
    events = sorted(events, key=lambda e: e[0])
    starts = [s for s, kind, _ in events if kind == "UNPLANNED"]
    # Union of PLANNED downtime intervals with a known end after their start, as disjoint sorted
    # (start, end) pairs.
    union = []
    for s, kind, e in events:
        if kind != "PLANNED" or e is None or e <= s:
            continue
        if union and s <= union[-1][1]:
            if e > union[-1][1]:
                union[-1][1] = e
        else:
            union.append([s, e])
    samples = []
    j = 0  # first union interval that may still overlap the current span
    for a, b in zip(starts, starts[1:]):
        while j < len(union) and union[j][1] <= a:
            j += 1
        down = 0
        k = j
        while k < len(union) and union[k][0] < b:
            down += min(union[k][1], b) - max(union[k][0], a)
            k += 1
        samples.append((b - a - down) / US_PER_HOUR)
    return samples


def intervals(assets, events, readings):
    rows = []
    for aid in sorted(assets):
        tz, fallback, completed = assets[aid]
        raw = failure_samples(events.get(aid, ())) + readings.get(aid, [])
        valid = [h for h in raw if h > 0 and math.isfinite(h)]
        n = len(valid)
        mean = cv = None
        if n:
            mean = math.fsum(valid) / n
            sd = math.sqrt(math.fsum((h - mean) * (h - mean) for h in valid) / n)
            cv = sd / mean
        if n == 0:
            basis, reason, days = "FALLBACK", "NO_VALID_SAMPLES", fallback
        elif cv > CV_LIMIT:
            basis, reason, days = "FALLBACK", "HIGH_VARIABILITY", fallback
        else:
            basis, reason = "MTBF", ""
            days = max(PM_MIN_DAYS, min(mean * PM_SAFETY_FACTOR / 24.0, PM_MAX_DAYS))
        status, due_local, due_utc = next_due(completed, days, tz)
        rows.append([
            aid, status, basis, reason, str(n),
            "" if mean is None else repr(mean),
            "" if cv is None else repr(cv),
            repr(days), due_local, due_utc,
        ])
    return rows


def next_due(completed, days, tz):
    """(status, next_due_at, next_due_at_utc) for a completion (aware datetime or None)."""
    if completed is None:
        return "NO_LAST_COMPLETION", "", ""
    try:
        local = completed.astimezone(tz)
        wall = local + timedelta(days=days)  # wall-clock arithmetic; the result has fold=0
        due = wall.astimezone(UTC)  # fold=0: a gap moves forward, a fold takes the earlier instant
    except OverflowError:
        return "OUT_OF_RANGE", "", ""
    if due <= completed:  # aware datetimes with different tzinfo compare as instants
        return "NOT_MONOTONIC", "", ""
    return "OK", due.astimezone(tz).isoformat(), due.isoformat().replace("+00:00", "Z")


# ---------------------------------------------------------------------------------------------

def write_csv(path, header, rows):
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(header)
        w.writerows(rows)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--input", required=True, help="folder of import CSV files")
    ap.add_argument("--output", required=True, help="folder for thresholds.csv and intervals.csv")
    ap.add_argument("--as-of", help="computation instant (default: now, UTC)")
    args = ap.parse_args(argv)
    try:
        as_of = timestamp(args.as_of) if args.as_of else datetime.now(UTC)
    except Invalid:
        ap.error(f"--as-of: not a timestamp: {args.as_of!r}")
    global WINDOW
    WINDOW = (EPOCH, max(datetime.now(UTC), as_of) + timedelta(hours=24))
    as_of_us = micros(as_of)

    sites = load_sites(args.input)
    parts = load_parts(args.input, sites)
    exact, normalised = load_sku_map(args.input, parts)
    in_window, has_history = consumption_usage(args.input, exact, normalised, as_of_us)
    t_rows = thresholds(parts, in_window, has_history)
    del in_window, has_history

    assets = load_assets(args.input, sites)
    events = load_failures(args.input, assets)
    readings = load_readings(args.input, assets)
    i_rows = intervals(assets, events, readings)

    os.makedirs(args.output, exist_ok=True)
    write_csv(os.path.join(args.output, "thresholds.csv"),
              ["part_id", "status", "avg_daily_usage", "min", "reorder", "max", "formula_version"], t_rows)
    write_csv(os.path.join(args.output, "intervals.csv"),
              ["asset_id", "status", "basis", "reason", "n_samples", "mean_mtbf_hours", "cv",
               "interval_days", "next_due_at", "next_due_at_utc"], i_rows)

    print(f"compute_plain: as_of {as_of.astimezone(UTC).isoformat()}; "
          f"{len(t_rows)} thresholds, {len(i_rows)} intervals", file=sys.stderr)
    for k in sorted(REPORT):
        print(f"  {k}: {REPORT[k]}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
