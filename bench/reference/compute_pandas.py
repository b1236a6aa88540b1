#!/usr/bin/env python3
"""Reference implementation of `cmms compute` with pandas (vectorised, one pass per file).

    /work/venv-bench/bin/python bench/reference/compute_pandas.py --input DIR --output DIR \
        --as-of 2025-06-01T00:00:00Z

Same inputs, outputs and semantics as compute_plain.py (read its docstring for the full list of
rules); this one is written the way a data engineer would do it in pandas, and the two are kept
independent so that each checks the other. Where pandas needs care to give the same numbers:

* CSVs are read with dtype=str and no NA conversion, so validation sees the raw text.
* Timestamps: pd.to_datetime(format="ISO8601", utc=True) (naive = UTC, bare date = midnight UTC),
  then integer microseconds since the epoch. It accepts the same forms as datetime.fromisoformat
  for the generator's data; exotic forms (ISO basic format, hour-only times) may differ.
* Strings: with pyarrow installed pandas 3 stores them Arrow-backed and .str methods run
  vectorised; SKU normalisation still uses Python's str.strip().upper() (on distinct SKUs) for
  full Unicode case mapping.
* Numbers: pd.to_numeric on the trimmed text (same values as float() for decimal text; `_`
  separators and non-ASCII digits are rejected like in the plain version).
* Sums: the consumed quantity per part is an int64 sum of whole micro-units (each quantity rounded
  half away from zero, docs/contract.md#quantities), the MTBF sums use math.fsum per group; a plain
  float groupby().sum() could differ in the last bit and then move a rounded threshold by 0.01 in
  rare ties.
* Rounding: Python's round(x, 2) element by element (numpy's round is not half-to-even on the
  exact binary value).
* PLANNED downtime: union of the intervals per asset (sort, running max of the end, new block when
  a start is after it), then the downtime before an instant t, D(t), from merge_asof; the downtime
  inside a span [a, b) is D(b) - D(a). All in int64 microseconds, so exact.
* Due dates: wall clock = completion in the site zone, naive, + the interval as Python's
  timedelta(days=x) holds it (whole days + the fraction in microseconds rounded half-to-even);
  tz_localize(ambiguous="NaT", nonexistent="NaT"), and the wall times in a gap or fold take the
  offset in force before the transition (the offset of the wall time one day earlier), which is
  Python's fold=0: a gap moves forward by the gap, a fold takes the earlier instant.
"""

import argparse
import math
import os
import sys
from collections import Counter

import numpy as np
import pandas as pd

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

US_PER_DAY = 86_400_000_000
US_PER_HOUR = 3_600_000_000
NO_TIME = np.iinfo(np.int64).min  # stands for "no timestamp" in int64 columns
EVENT_TYPES = ["UNPLANNED", "CORRECTIVE", "PLANNED", "SENSOR_RESET"]

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

REPORT = Counter()


def read(input_dir, kind):
    """The file's columns as str (missing file -> no rows, missing column -> "")."""
    path = os.path.join(input_dir, kind + ".csv")
    cols = COLUMNS[kind]
    if not os.path.exists(path):
        return pd.DataFrame({c: pd.Series([], dtype=str) for c in cols})
    df = pd.read_csv(path, dtype=str, keep_default_na=False, na_filter=False, encoding="utf-8-sig")
    for c in cols:
        if c not in df.columns:
            df[c] = ""
    return df[cols]


# ---------------------------------------------------------------------------------------------
# Vectorised field rules (each returns a boolean mask and/or parsed values)
# ---------------------------------------------------------------------------------------------

def ident_ok(s):
    return s.str.fullmatch(r"[A-Za-z0-9._-]{1,64}") & ~s.str.fullmatch(r"\.+")


def sku_ok(s):
    n = s.str.strip().str.len()
    return (n >= 1) & (n <= 64) & ~s.str.contains(r"[\x00-\x1f\x7f-\x9f]", regex=True)


def text_ok(s, required):
    t = s.str.strip()
    ok = (t.str.len() <= MAX_TEXT_LEN) & ~t.str.contains(r"[\x00-\x1f\x7f-\x9f]", regex=True)
    return ok & (t.str.len() > 0) if required else ok


def numbers(s):
    """Finite float values; NaN where the text is not a finite decimal number."""
    t = s.str.strip()
    plain = t.str.fullmatch(r"[\x00-\x7f]*") & ~t.str.contains("_", regex=False)
    v = pd.to_numeric(t.where(plain, "x"), errors="coerce").astype("float64")
    return v.where(np.isfinite(v)) + 0.0  # -0.0 -> 0.0


# The latest plausible input instant (docs/contract.md#timestamps: 1970-01-01 ... now + 24 h, "now"
# the later of the clock and --as-of), microseconds; set by main() once --as-of is read.
LATEST_US = None


def instants(s):
    """int64 microseconds since the epoch; NO_TIME where the text is not a timestamp or the
    instant lies outside the plausible window."""
    t = pd.to_datetime(s.str.strip(), format="ISO8601", utc=True, errors="coerce").dt.as_unit("us")
    v = t.astype("int64").where(t.notna(), NO_TIME).astype("int64")
    if LATEST_US is not None:
        v = v.where((v == NO_TIME) | ((v >= 0) & (v <= LATEST_US)), NO_TIME)
    return v


def count_rejected(kind, mask_ok, reasons):
    """Counts rejected rows by the first failing rule (reasons: list of (code, ok mask))."""
    left = ~mask_ok
    for code, ok in reasons:
        hit = left & ~ok
        if hit.any():
            REPORT[f"{kind}: {code}"] += int(hit.sum())
        left &= ok
    if left.any():
        REPORT[f"{kind}: OTHER"] += int(left.sum())


def first_wins(df, key, values, kind):
    """Keeps the first row of each key; later copies are ignored when their values equal the
    first's, else counted as DUPLICATE_CONFLICT. Returns the first rows."""
    dup = df.duplicated(key, keep="first")
    firsts = df[~dup]
    later = df[dup]
    if len(later) and not values:
        REPORT[f"{kind}: DUPLICATE_KEY"] += len(later)
    elif len(later):
        m = later[key + values].merge(firsts[key + values], on=key, suffixes=("", "_first"))
        same = np.ones(len(m), dtype=bool)
        for v in values:
            same &= (m[v] == m[v + "_first"]).to_numpy()
        REPORT[f"{kind}: DUPLICATE_IDENTICAL (ignored)"] += int(same.sum())
        REPORT[f"{kind}: DUPLICATE_CONFLICT"] += int((~same).sum())
    return firsts


# ---------------------------------------------------------------------------------------------
# Master data
# ---------------------------------------------------------------------------------------------

def load_sites(input_dir):
    """site_id -> IANA name (the zones must be known to zoneinfo, as pandas uses it)."""
    from zoneinfo import ZoneInfo

    df = read(input_dir, "sites")
    df = df.assign(timezone=df["timezone"].str.strip())

    def zone_ok(name):
        try:
            ZoneInfo(name)
            return True
        except Exception:
            return False

    ok_id = ident_ok(df["site_id"])
    ok_tz = df["timezone"].map(zone_ok).astype(bool)
    ok = ok_id & ok_tz
    count_rejected("sites", ok, [("BAD_ID", ok_id), ("UNKNOWN_ZONE", ok_tz)])
    df = first_wins(df[ok], ["site_id"], [], "sites")
    return dict(zip(df["site_id"], df["timezone"]))


def load_parts(input_dir, sites):
    """DataFrame part_id, lead (float), sorted by part_id."""
    df = read(input_dir, "parts")
    lead = numbers(df["lead_time_days"])
    b = {c: numbers(df[c]) for c in ("baseline_min", "baseline_reorder", "baseline_max")}
    empty = {c: df[c].str.strip() == "" for c in b}
    base_ok = pd.Series(True, index=df.index)
    for c in b:
        base_ok &= empty[c] | (b[c] >= 0)
    order_ok = ~((b["baseline_reorder"] < b["baseline_min"]) | (b["baseline_max"] < b["baseline_reorder"]))
    rules = [
        ("BAD_ID", ident_ok(df["part_id"]) & ident_ok(df["site_id"]) & ident_ok(df["part_class"])),
        ("BAD_TEXT", text_ok(df["description"], False) & text_ok(df["unit"], True)),
        ("LEAD_TIME", lead.between(0, MAX_LEAD_TIME_DAYS)),
        ("BASELINE", base_ok & order_ok),
        ("UNKNOWN_SITE", df["site_id"].isin(list(sites))),
    ]
    ok = np.logical_and.reduce([r for _, r in rules])
    count_rejected("parts", ok, rules)
    parts = first_wins(df.assign(lead=lead)[ok], ["part_id"], [], "parts")
    return parts[["part_id", "lead"]].sort_values("part_id").reset_index(drop=True)


def load_sku_map(input_dir, part_ids):
    df = read(input_dir, "sku_map")
    rules = [
        ("BAD_ID", ident_ok(df["source"]) & ident_ok(df["part_id"])),
        ("BAD_SKU", sku_ok(df["external_sku"])),
        ("UNKNOWN_PART", df["part_id"].isin(part_ids)),
    ]
    ok = np.logical_and.reduce([r for _, r in rules])
    count_rejected("sku_map", ok, rules)
    df = first_wins(df[ok], ["source", "external_sku"], [], "sku_map")
    return df.assign(norm=df["external_sku"].map(normalise_sku))


def normalise_sku(sku):
    """Trimmed and upper-cased with Python's str methods (full Unicode case mapping, "ß" -> "SS",
    like Rust's to_uppercase; pyarrow's vectorised upper maps "ß" to "ẞ"). Applied to distinct
    SKUs only, so it costs little."""
    return sku.strip().upper()


# ---------------------------------------------------------------------------------------------
# Thresholds
# ---------------------------------------------------------------------------------------------

def mapped_consumption(input_dir, sku_map):
    """Valid, de-duplicated, mapped consumption: columns part_id, q, t (int64 us)."""
    df = read(input_dir, "consumption")
    q = numbers(df["quantity"])
    t = instants(df["consumed_at"])
    rules = [
        ("BAD_ID", ident_ok(df["event_id"]) & ident_ok(df["source"])),
        ("BAD_SKU", sku_ok(df["external_sku"])),
        ("BAD_QUANTITY", q.notna() & (q >= 0)),
        ("BAD_TIMESTAMP", t != NO_TIME),
    ]
    ok = np.logical_and.reduce([r for _, r in rules])
    count_rejected("consumption", ok, rules)
    df = pd.DataFrame({"source": df["source"], "event_id": df["event_id"],
                       "external_sku": df["external_sku"], "q": q, "t": t})[ok]
    df = first_wins(df, ["source", "event_id"], ["external_sku", "q", "t"], "consumption")

    # 1. exact (source, external_sku)
    exact = sku_map[["source", "external_sku", "part_id"]]
    df = df.merge(exact, on=["source", "external_sku"], how="left")
    # 2. trimmed, upper-cased SKU against the same source's normalised SKUs
    rest = df["part_id"].isna()
    norm = (sku_map.groupby(["source", "norm"])["part_id"]
            .agg(n_parts="nunique", only_part="first").reset_index())
    cand = df.loc[rest, ["source", "external_sku"]].drop_duplicates()
    cand = cand.assign(norm=cand["external_sku"].map(normalise_sku)).merge(
        norm, on=["source", "norm"], how="left")
    df = df.merge(cand[["source", "external_sku", "n_parts", "only_part"]],
                  on=["source", "external_sku"], how="left")
    n_parts = df["n_parts"].fillna(0)
    unique = rest.to_numpy() & (n_parts == 1).to_numpy()
    df.loc[unique, "part_id"] = df.loc[unique, "only_part"]
    REPORT["consumption: UNMAPPED (quarantined)"] += int((rest & (n_parts == 0)).sum())
    REPORT["consumption: AMBIGUOUS (quarantined)"] += int((rest & (n_parts > 1)).sum())
    return df.loc[df["part_id"].notna(), ["part_id", "q", "t"]]


def exact_group_sums(keys, values):
    """math.fsum of values per key: Series indexed by key."""
    order = np.argsort(keys, kind="stable")
    k = keys[order]
    v = values[order].tolist()
    if len(k) == 0:
        return pd.Series(dtype="float64")
    starts = np.flatnonzero(np.r_[True, k[1:] != k[:-1]])
    ends = np.r_[starts[1:], len(k)]
    sums = [math.fsum(v[a:b]) for a, b in zip(starts.tolist(), ends.tolist())]
    return pd.Series(sums, index=k[starts])


def thresholds(parts, usage, as_of_us):
    start_us = as_of_us - WINDOW_DAYS * US_PER_DAY
    before = usage[usage["t"] < as_of_us]
    has_history = parts["part_id"].isin(before["part_id"].unique())
    win = before[before["t"] >= start_us]
    x = win["q"].to_numpy() * 1_000_000
    f = np.floor(x)
    micros = (f + (x - f >= 0.5)).astype(np.int64)
    consumed = pd.Series(micros, index=win["part_id"].to_numpy()).groupby(level=0).sum()
    consumed = parts["part_id"].map(consumed).fillna(0).to_numpy(dtype=np.float64) / 1_000_000

    lead = parts["lead"].to_numpy()
    status = np.where(~(lead > 0), "LEAD_TIME_NOT_POSITIVE",
                      np.where(~has_history.to_numpy(), "NO_HISTORY", "OK"))
    avg = consumed / WINDOW_DAYS
    raw_min = avg * lead * SAFETY_MULTIPLIER
    ok = status == "OK"
    rows = []
    for pid, st, a, m, good in zip(parts["part_id"].tolist(), status.tolist(), avg.tolist(),
                                   raw_min.tolist(), ok.tolist()):
        if not good:
            rows.append((pid, st, "", "", "", "", FORMULA_VERSION))
            continue
        mn = round(m, DECIMALS)
        reorder = round(mn * REORDER_FACTOR, DECIMALS)
        mx = round(reorder * MAX_FACTOR, DECIMALS)
        rows.append((pid, st, repr(a), repr(mn), repr(reorder), repr(mx), FORMULA_VERSION))
    return pd.DataFrame(rows, columns=["part_id", "status", "avg_daily_usage", "min", "reorder", "max",
                                       "formula_version"])


# ---------------------------------------------------------------------------------------------
# MTBF and PM intervals
# ---------------------------------------------------------------------------------------------

def load_assets(input_dir, sites):
    df = read(input_dir, "assets")
    fallback = numbers(df["fallback_interval_days"])
    raw_done = df["last_completion_at"].str.strip()
    done = instants(df["last_completion_at"])
    rules = [
        ("BAD_ID", ident_ok(df["asset_id"]) & ident_ok(df["asset_group"]) & ident_ok(df["site_id"])),
        ("FALLBACK_INTERVAL", (fallback > 0) & (fallback <= MAX_FALLBACK_DAYS)),
        ("BAD_TIMESTAMP", (raw_done == "") | (done != NO_TIME)),
        ("UNKNOWN_SITE", df["site_id"].isin(list(sites))),
    ]
    ok = np.logical_and.reduce([r for _, r in rules])
    count_rejected("assets", ok, rules)
    df = pd.DataFrame({"asset_id": df["asset_id"], "zone": df["site_id"].map(sites),
                       "fallback": fallback, "done": done})[ok]
    df = first_wins(df, ["asset_id"], [], "assets")
    return df.sort_values("asset_id").reset_index(drop=True)


def load_failures(input_dir, asset_ids):
    df = read(input_dir, "failures")
    kind = df["event_type"].str.strip()
    kind = kind.where(~kind.str.fullmatch(r"[\x00-\x7f]*"), kind.str.upper())  # ASCII case only
    start = instants(df["started_at"])
    end = instants(df["ended_at"])
    rules = [
        ("BAD_ID", ident_ok(df["event_id"]) & ident_ok(df["asset_id"])),
        ("UNKNOWN_EVENT_TYPE", kind.isin(EVENT_TYPES)),
        ("BAD_TIMESTAMP", (start != NO_TIME) & ((df["ended_at"].str.strip() == "") | (end != NO_TIME))),
        ("UNKNOWN_ASSET", df["asset_id"].isin(asset_ids)),
    ]
    ok = np.logical_and.reduce([r for _, r in rules])
    count_rejected("failures", ok, rules)
    df = pd.DataFrame({"event_id": df["event_id"], "asset_id": df["asset_id"], "kind": kind,
                       "s": start, "e": end})[ok]
    return first_wins(df, ["event_id"], ["asset_id", "kind", "s", "e"], "failures")


def failure_samples(events):
    """DataFrame asset_id, h: one row per pair of consecutive UNPLANNED starts."""
    u = events.loc[events["kind"] == "UNPLANNED", ["asset_id", "s"]].sort_values(["asset_id", "s"])
    u = u.assign(a=u.groupby("asset_id")["s"].shift()).dropna(subset=["a"])
    spans = pd.DataFrame({"asset_id": u["asset_id"].astype(str).to_numpy(),
                          "a": u["a"].astype("int64").to_numpy(), "b": u["s"].to_numpy()})
    if spans.empty:
        return pd.DataFrame({"asset_id": pd.Series([], dtype=str), "h": pd.Series([], dtype="float64")})

    # Union of PLANNED [s, e) intervals with a known end after the start.
    p = events.loc[(events["kind"] == "PLANNED") & (events["e"] != NO_TIME) & (events["e"] > events["s"]),
                   ["asset_id", "s", "e"]].sort_values(["asset_id", "s"])
    reach = p.groupby("asset_id")["e"].cummax()
    prev_reach = reach.groupby(p["asset_id"]).shift()
    block = (prev_reach.isna() | (p["s"] > prev_reach)).cumsum()
    union = p.groupby(block).agg(asset_id=("asset_id", "first"), us=("s", "min"), ue=("e", "max"))
    union = union.sort_values(["asset_id", "us"])
    union["ulen"] = union["ue"] - union["us"]
    union["before"] = union.groupby("asset_id")["ulen"].cumsum() - union["ulen"]

    def downtime_before(times):
        """D(t): total union length before each instant t of `times` (asset_id, t)."""
        q = times.reset_index(names="row").sort_values("t")
        m = pd.merge_asof(q, union.sort_values("us"), left_on="t", right_on="us", by="asset_id",
                          direction="backward")
        inside = np.minimum(m["t"] - m["us"], m["ulen"])
        d = (m["before"] + inside).fillna(0).astype("int64")
        return pd.Series(d.to_numpy(), index=m["row"].to_numpy()).sort_index().to_numpy()

    if union.empty:
        d_a = d_b = np.zeros(len(spans), dtype="int64")
    else:
        union["asset_id"] = union["asset_id"].astype(spans["asset_id"].dtype)
        d_a = downtime_before(spans[["asset_id"]].assign(t=spans["a"]))
        d_b = downtime_before(spans[["asset_id"]].assign(t=spans["b"]))
    hours = (spans["b"].to_numpy() - spans["a"].to_numpy() - (d_b - d_a)) / US_PER_HOUR
    return pd.DataFrame({"asset_id": spans["asset_id"], "h": hours})


def load_readings(input_dir, asset_ids):
    df = read(input_dir, "mtbf_readings")
    h = numbers(df["mtbf_hours"])
    rules = [
        ("BAD_ID", ident_ok(df["asset_id"])),
        ("BAD_NUMBER", h.notna()),
        ("BAD_TIMESTAMP", instants(df["observed_at"]) != NO_TIME),
        ("UNKNOWN_ASSET", df["asset_id"].isin(asset_ids)),
    ]
    ok = np.logical_and.reduce([r for _, r in rules])
    count_rejected("mtbf_readings", ok, rules)
    return pd.DataFrame({"asset_id": df["asset_id"], "h": h})[ok]


def wall_clock_us(days):
    """Python's timedelta(days=x) in microseconds: whole days + the fraction rounded half-even."""
    whole = np.trunc(days)
    return whole.astype("int64") * US_PER_DAY + np.rint((days - whole) * US_PER_DAY).astype("int64")


def due_dates(assets, days):
    """(due_us or NO_TIME, next_due_at text, next_due_at_utc text) arrays, per asset row."""
    n = len(assets)
    due_us = np.full(n, NO_TIME, dtype="int64")
    local_text = np.full(n, "", dtype=object)
    done = assets["done"].to_numpy()
    has = done != NO_TIME
    step = wall_clock_us(days)
    for zone, idx in assets[has].groupby("zone").groups.items():
        rows = assets.index.get_indexer(idx)
        completed = pd.DatetimeIndex(pd.to_datetime(done[rows], unit="us", utc=True))
        wall = completed.tz_convert(zone).tz_localize(None) + pd.to_timedelta(step[rows], unit="us")
        wall = wall.as_unit("us")
        local = wall.tz_localize(zone, ambiguous="NaT", nonexistent="NaT")
        inst = local.tz_convert("UTC").tz_localize(None)
        odd = np.asarray(local.isna())
        if odd.any():
            # Gap or fold: the offset in force before the transition (Python's fold=0).
            prev = (wall[odd] - pd.Timedelta(days=1)).tz_localize(zone, ambiguous="NaT", nonexistent="NaT")
            offset = prev.tz_localize(None) - prev.tz_convert("UTC").tz_localize(None)
            fixed = inst.to_numpy().copy()
            fixed[odd] = (wall[odd] - offset).to_numpy()
            inst = pd.DatetimeIndex(fixed)
        inst_us = inst.as_unit("us").asi8
        due_us[rows] = inst_us
        local_text[rows] = [t.isoformat() for t in pd.DatetimeIndex(inst).tz_localize("UTC").tz_convert(zone)]
    return due_us, local_text


def intervals(assets, events, readings):
    samples = pd.concat([failure_samples(events), readings[["asset_id", "h"]]], ignore_index=True)
    samples = samples[(samples["h"] > 0) & np.isfinite(samples["h"])]
    keys = samples["asset_id"].to_numpy(dtype=object)
    h = samples["h"].to_numpy()
    n = pd.Series(keys).value_counts()
    sums = exact_group_sums(keys, h)
    mean_by = sums / n.reindex(sums.index)
    dev = h - mean_by.reindex(keys).to_numpy()
    sd_by = np.sqrt(exact_group_sums(keys, dev * dev) / n.reindex(sums.index))

    ids = assets["asset_id"]
    n_samples = ids.map(n).fillna(0).astype("int64").to_numpy()
    mean = ids.map(mean_by).astype("float64").to_numpy()
    cv = ids.map(sd_by).astype("float64").to_numpy() / mean
    fallback = assets["fallback"].to_numpy()
    no_samples = n_samples == 0
    variable = ~no_samples & (cv > CV_LIMIT)
    basis = np.where(no_samples | variable, "FALLBACK", "MTBF")
    reason = np.where(no_samples, "NO_VALID_SAMPLES", np.where(variable, "HIGH_VARIABILITY", ""))
    mtbf_days = np.maximum(PM_MIN_DAYS, np.minimum(mean * PM_SAFETY_FACTOR / 24.0, PM_MAX_DAYS))
    days = np.where(basis == "FALLBACK", fallback, mtbf_days)

    due_us, local_text = due_dates(assets, days)
    done = assets["done"].to_numpy()
    status = np.where(done == NO_TIME, "NO_LAST_COMPLETION",
                      np.where(due_us <= done, "NOT_MONOTONIC", "OK"))
    ok = status == "OK"
    utc_text = np.full(len(assets), "", dtype=object)
    if ok.any():
        utc_text[ok] = [t.isoformat().replace("+00:00", "Z")
                        for t in pd.to_datetime(due_us[ok], unit="us", utc=True)]
    local_text = np.where(ok, local_text, "")

    def fmt(values, present):
        return [repr(v) if p else "" for v, p in zip(values.tolist(), present.tolist())]

    return pd.DataFrame({
        "asset_id": ids, "status": status, "basis": basis, "reason": reason, "n_samples": n_samples,
        "mean_mtbf_hours": fmt(mean, ~no_samples), "cv": fmt(cv, ~no_samples),
        "interval_days": [repr(v) for v in days.tolist()],
        "next_due_at": local_text, "next_due_at_utc": utc_text,
    })


# ---------------------------------------------------------------------------------------------

def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--input", required=True, help="folder of import CSV files")
    ap.add_argument("--output", required=True, help="folder for thresholds.csv and intervals.csv")
    ap.add_argument("--as-of", help="computation instant (default: now, UTC)")
    args = ap.parse_args(argv)
    as_of = pd.Timestamp(args.as_of) if args.as_of else pd.Timestamp.now(tz="UTC")
    if as_of.tzinfo is None:
        as_of = as_of.tz_localize("UTC")
    as_of_us = (as_of - pd.Timestamp(0, tz="UTC")) // pd.Timedelta(microseconds=1)
    global LATEST_US
    now_us = (pd.Timestamp.now(tz="UTC") - pd.Timestamp(0, tz="UTC")) // pd.Timedelta(microseconds=1)
    LATEST_US = max(now_us, as_of_us) + 24 * 3600 * 1_000_000

    sites = load_sites(args.input)
    parts = load_parts(args.input, sites)
    sku_map = load_sku_map(args.input, parts["part_id"])
    usage = mapped_consumption(args.input, sku_map)
    t_out = thresholds(parts, usage, as_of_us)
    del usage

    assets = load_assets(args.input, sites)
    events = load_failures(args.input, assets["asset_id"])
    readings = load_readings(args.input, assets["asset_id"])
    i_out = intervals(assets, events, readings)

    os.makedirs(args.output, exist_ok=True)
    t_out.to_csv(os.path.join(args.output, "thresholds.csv"), index=False, lineterminator="\n")
    i_out.to_csv(os.path.join(args.output, "intervals.csv"), index=False, lineterminator="\n")

    print(f"compute_pandas: as_of {as_of.tz_convert('UTC').isoformat()}; "
          f"{len(t_out)} thresholds, {len(i_out)} intervals", file=sys.stderr)
    for k in sorted(REPORT):
        if REPORT[k]:
            print(f"  {k}: {REPORT[k]}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
