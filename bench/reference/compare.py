#!/usr/bin/env python3
"""Compares two `cmms compute` output folders (thresholds.csv and intervals.csv).

    python3 bench/reference/compare.py EXPECTED_DIR ACTUAL_DIR [--examples N]

Standard library only. Rows are matched by id (part_id / asset_id); a row present on one side only
is a mismatch. Columns compared:

  thresholds.csv  status equal; avg_daily_usage, min, reorder, max both empty or both numbers
                  within 0.01 (absolute). formula_version differences are listed as notes only
                  (the Rust side may name its default version differently).
  intervals.csv   status, basis, reason, n_samples equal; mean_mtbf_hours, cv, interval_days both
                  empty or within 1e-6 relative (or 1e-9 absolute, for values near 0);
                  next_due_at_utc both empty or the same instant within 1 s; next_due_at both empty
                  or the same instant within 1 s with the same UTC offset.

Timestamps are parsed with `Z` or a numeric offset (`+00:00`), optional fractional seconds of any
length, and an optional trailing `[Zone/Name]` annotation (as jiff writes zoned times). Numbers
are parsed with float(), so `1e-7` and `0.0000001` are equal. Extra columns are ignored.

Prints a summary (row counts, status counts per side, mismatches per column, the largest
differences seen, the first N mismatching rows) and exits 0 when everything agrees, 1 on any
mismatch, 2 when a file or a required column is missing.
"""

import argparse
import csv
import math
import os
import re
import sys
from collections import Counter
from datetime import datetime

THRESHOLD_COLS = ["part_id", "status", "avg_daily_usage", "min", "reorder", "max", "formula_version"]
INTERVAL_COLS = ["asset_id", "status", "basis", "reason", "n_samples", "mean_mtbf_hours", "cv",
                 "interval_days", "next_due_at", "next_due_at_utc"]

ABS_TOL_THRESHOLD = 0.01
REL_TOL_INTERVAL = 1e-6
ABS_FLOOR_INTERVAL = 1e-9
TIME_TOL_S = 1.0

_TS_RE = re.compile(
    r"^(?P<main>\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(?::\d{2})?)(?:[.,](?P<frac>\d+))?"
    r"(?P<off>[Zz]|[+-]\d{2}:?\d{2})?(?:\[[^\]]*\])?$"
)


class Unreadable(Exception):
    pass


def parse_ts(s):
    """(aware datetime, utc offset in seconds) of an output timestamp."""
    m = _TS_RE.match(s.strip())
    if not m:
        raise ValueError(f"not a timestamp: {s!r}")
    main, frac, off = m.group("main"), m.group("frac") or "", m.group("off")
    if off is None:
        raise ValueError(f"timestamp without offset: {s!r}")
    if off in ("Z", "z"):
        off = "+00:00"
    elif ":" not in off:
        off = off[:3] + ":" + off[3:]
    text = main + ("." + (frac + "000000")[:6] if frac else "") + off
    dt = datetime.fromisoformat(text.replace(" ", "T"))
    return dt, dt.utcoffset().total_seconds()


def load(folder, name, cols):
    path = os.path.join(folder, name)
    if not os.path.exists(path):
        raise Unreadable(f"missing file {path}")
    with open(path, newline="", encoding="utf-8-sig") as f:
        r = csv.DictReader(f)
        missing = [c for c in cols if c not in (r.fieldnames or [])]
        if missing:
            raise Unreadable(f"{path}: missing columns {missing}")
        rows = {}
        dups = 0
        for row in r:
            key = row[cols[0]]
            if key in rows:
                dups += 1
                continue
            rows[key] = {c: (row[c] or "").strip() for c in cols}
    return rows, dups


class Comparison:
    def __init__(self, name, examples):
        self.name = name
        self.examples = examples
        self.mismatch = Counter()  # column -> count
        self.max_diff = {}  # column -> (diff, id)
        self.shown = []
        self.notes = Counter()

    def bad(self, column, key, a, b):
        self.mismatch[column] += 1
        if len(self.shown) < self.examples:
            self.shown.append(f"  {key}: {column}: expected {a!r}, actual {b!r}")

    def track(self, column, diff, key):
        if column not in self.max_diff or diff > self.max_diff[column][0]:
            self.max_diff[column] = (diff, key)

    def equal(self, column, key, a, b):
        if a != b:
            self.bad(column, key, a, b)

    def number(self, column, key, a, b, close):
        if a == "" or b == "":
            if a != b:
                self.bad(column, key, a, b)
            return
        try:
            x, y = float(a), float(b)
        except ValueError:
            self.bad(column, key, a, b)
            return
        if math.isnan(x) or math.isnan(y):
            if not (math.isnan(x) and math.isnan(y)):
                self.bad(column, key, a, b)
            return
        diff = abs(x - y)
        self.track(column, diff, key)
        if not close(x, y, diff):
            self.bad(column, key, a, b)

    def instant(self, column, key, a, b, same_offset):
        if a == "" or b == "":
            if a != b:
                self.bad(column, key, a, b)
            return
        try:
            (x, ox), (y, oy) = parse_ts(a), parse_ts(b)
        except ValueError:
            self.bad(column, key, a, b)
            return
        diff = abs((x - y).total_seconds())
        self.track(column, diff, key)
        if diff > TIME_TOL_S or (same_offset and ox != oy):
            self.bad(column, key, a, b)


def compare_rows(cmp, exp, act, check):
    for key in sorted(set(exp) | set(act)):
        if key not in act:
            cmp.bad("row", key, "present", "missing")
            continue
        if key not in exp:
            cmp.bad("row", key, "missing", "present")
            continue
        check(cmp, key, exp[key], act[key])


def check_threshold(cmp, key, a, b):
    cmp.equal("status", key, a["status"], b["status"])
    for c in ("avg_daily_usage", "min", "reorder", "max"):
        cmp.number(c, key, a[c], b[c], lambda x, y, d: d <= ABS_TOL_THRESHOLD + 1e-9)
    if a["formula_version"] != b["formula_version"]:
        cmp.notes[f"formula_version {a['formula_version']!r} vs {b['formula_version']!r}"] += 1


def rel_close(x, y, d):
    return d <= REL_TOL_INTERVAL * max(abs(x), abs(y)) or d <= ABS_FLOOR_INTERVAL


def check_interval(cmp, key, a, b):
    for c in ("status", "basis", "reason"):
        cmp.equal(c, key, a[c], b[c])
    try:
        same_n = int(a["n_samples"] or 0) == int(b["n_samples"] or 0)
    except ValueError:
        same_n = a["n_samples"] == b["n_samples"]
    if not same_n:
        cmp.bad("n_samples", key, a["n_samples"], b["n_samples"])
    for c in ("mean_mtbf_hours", "cv", "interval_days"):
        cmp.number(c, key, a[c], b[c], rel_close)
    cmp.instant("next_due_at_utc", key, a["next_due_at_utc"], b["next_due_at_utc"], same_offset=False)
    cmp.instant("next_due_at", key, a["next_due_at"], b["next_due_at"], same_offset=True)


def report(cmp, exp, act, exp_dups, act_dups):
    print(f"{cmp.name}: expected {len(exp)} rows, actual {len(act)} rows")
    if exp_dups or act_dups:
        print(f"  duplicate ids ignored: expected {exp_dups}, actual {act_dups}")
    se = Counter(r["status"] for r in exp.values())
    sa = Counter(r["status"] for r in act.values())
    for s in sorted(set(se) | set(sa)):
        flag = "" if se[s] == sa[s] else "   <-- differs"
        print(f"  status {s:<24} {se[s]:>9} {sa[s]:>9}{flag}")
    for column, (diff, key) in sorted(cmp.max_diff.items()):
        unit = " s" if column.startswith("next_due") else ""
        print(f"  max |diff| {column:<18} {diff:.3g}{unit} (at {key})")
    for note, n in cmp.notes.items():
        print(f"  note: {note}: {n} rows")
    if cmp.mismatch:
        print("  MISMATCHES: " + ", ".join(f"{c} {n}" for c, n in sorted(cmp.mismatch.items())))
        for line in cmp.shown:
            print(line)
    else:
        print("  all rows agree")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("expected", help="output folder taken as the reference")
    ap.add_argument("actual", help="output folder under test")
    ap.add_argument("--examples", type=int, default=10, help="mismatching rows shown per file")
    args = ap.parse_args(argv)
    try:
        te, ted = load(args.expected, "thresholds.csv", THRESHOLD_COLS)
        ta, tad = load(args.actual, "thresholds.csv", THRESHOLD_COLS)
        ie, ied = load(args.expected, "intervals.csv", INTERVAL_COLS)
        ia, iad = load(args.actual, "intervals.csv", INTERVAL_COLS)
    except Unreadable as e:
        print(f"compare: {e}", file=sys.stderr)
        return 2
    t = Comparison("thresholds.csv", args.examples)
    compare_rows(t, te, ta, check_threshold)
    i = Comparison("intervals.csv", args.examples)
    compare_rows(i, ie, ia, check_interval)
    report(t, te, ta, ted, tad)
    report(i, ie, ia, ied, iad)
    failed = bool(t.mismatch or i.mismatch or ted or tad or ied or iad)
    print("RESULT: " + ("MISMATCH" if failed else "AGREE") + f" ({args.expected} vs {args.actual})")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
