#!/usr/bin/env python3
"""Hand-checked cases for the reference implementations (expected values worked out by hand from
the contract (docs/contract.md), and the due dates of crates/core/src/pm.rs's tests).

    /work/venv-bench/bin/python bench/reference/selftest.py   # plain + pandas
    python3 bench/reference/selftest.py                        # plain only (no pandas installed)

Writes a tiny input folder to a temporary directory, runs each implementation on it and checks
selected output cells. Exits 1 on the first failing implementation.
"""

import csv
import importlib.util
import os
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
AS_OF = "2024-12-01T00:00:00Z"

FILES = {
    "sites.csv": """site_id,timezone
NY,America/New_York
BER,Europe/Berlin
SYD,Australia/Sydney
BAD,Mars/Olympus
""",
    "parts.csv": """part_id,description,unit,site_id,part_class,lead_time_days,baseline_min,baseline_reorder,baseline_max
P-OK,Bearing,EA,NY,BEARING,10,1,2,3
P-OLD,Filter,EA,NY,FILTER,5,,,
P-ZERO,Belt,EA,BER,BELT,0,,,
P-NONE,Seal,EA,BER,SEAL,3,,,
P-LATE,Seal,EA,BER,SEAL,3,,,
P-NEG,Seal,EA,BER,SEAL,-3,,,
P-MARS,Seal,EA,BAD,SEAL,3,,,
P-AMB1,Valve,EA,SYD,VALVE,4,,,
P-AMB2,Valve,EA,SYD,VALVE,4,,,
""",
    "sku_map.csv": """source,external_sku,part_id
ERP,BRG-1,P-OK
ERP,FLT-1,P-OLD
ERP,BLT-1,P-ZERO
ERP,LATE-1,P-LATE
ERP,VLV-9,P-AMB1
ERP,vlv-9,P-AMB2
""",
    # P-OK: 4 + 5 in the window (one exactly on its start), 100 exactly at as_of (not used),
    # a lower-case spelling (normalised -> P-OK), a negative row (rejected), an identical
    # re-delivery (ignored) and a conflicting one (rejected). Window start = 2024-09-02T00:00:00Z.
    "consumption.csv": """event_id,source,external_sku,quantity,consumed_at
E1,ERP,BRG-1,4,2024-09-02T00:00:00Z
E2,ERP, brg-1 ,5,2024-11-30 23:59:59
E3,ERP,BRG-1,100,2024-12-01T00:00:00Z
E4,ERP,BRG-1,-7,2024-11-01T00:00:00Z
E1,ERP,BRG-1,4,2024-09-02T02:00:00+02:00
E2,ERP, brg-1 ,6,2024-11-30 23:59:59
E5,ERP,BRG-1,3,2024-09-01T23:59:59Z
E6,ERP,FLT-1,8,2024-01-01
E7,ERP,LATE-1,8,2024-12-02T00:00:00Z
E8,ERP,Vlv-9,8,2024-11-02T00:00:00Z
E9,ERP,VLV-9,9,2024-11-02T00:00:00Z
E10,WMS,BRG-1,50,2024-11-02T00:00:00Z
""",
    "assets.csv": """asset_id,asset_group,site_id,fallback_interval_days,last_completion_at
D-NY-SPRING,G,NY,7,2024-03-03T13:00:00Z
D-NY-FALL,G,NY,7,2024-10-31T12:00:00Z
D-BER-SPRING,G,BER,7,2024-03-28T07:00:00Z
D-SYD-SPRING,G,SYD,7,2024-09-30T22:00:00Z
D-NY-GAP,G,NY,7,2024-03-03T07:30:00Z
D-NY-FOLD,G,NY,7,2024-10-27T05:30:00Z
D-BER-GAP,G,BER,7,2024-03-24T01:30:00Z
D-SYD-GAP,G,SYD,7,2024-09-28T16:30:00Z
D-FRACTION,G,NY,8.5,2024-03-09T13:00:00Z
D-OFFSET,G,NY,7,2024-03-09T08:00:00-05:00
D-NOTMONO,G,NY,0.003472222222222222,2024-11-03T06:50:00Z
D-NONE,G,NY,30,
M-SPANS,G,BER,90,2024-06-01T00:00:00Z
M-READ,G,BER,90,2024-06-01T00:00:00Z
M-VAR,G,BER,90,2024-06-01T00:00:00Z
M-BAD,G,BER,0,2024-06-01T00:00:00Z
""",
    # M-SPANS: UNPLANNED at 0 h, 100 h, 300 h (from 2024-01-01T00:00Z); PLANNED [50,60) and [55,70)
    # (union 20 h) and [290,310) (10 h inside the second span); PLANNED without end; CORRECTIVE and
    # SENSOR_RESET ignored -> samples 80, 190. M-VAR: UNPLANNED at 0, 1, 2, 3, 1003 h -> 1, 1, 1, 1000.
    "failures.csv": """event_id,asset_id,event_type,started_at,ended_at
F1,M-SPANS,UNPLANNED,2024-01-01T00:00:00Z,2024-01-01T05:00:00Z
F2,M-SPANS,planned ,2024-01-03T02:00:00Z,2024-01-03T12:00:00Z
F3,M-SPANS,PLANNED,2024-01-03T07:00:00Z,2024-01-03T22:00:00Z
F4,M-SPANS,UNPLANNED,2024-01-05T04:00:00Z,
F5,M-SPANS,PLANNED,2024-01-06T00:00:00Z,
F6,M-SPANS,CORRECTIVE,2024-01-05T06:00:00Z,2024-01-07T06:00:00Z
F7,M-SPANS,SENSOR_RESET,2024-01-08T00:00:00Z,
F8,M-SPANS,PLANNED,2024-01-13T02:00:00Z,2024-01-13T22:00:00Z
F9,M-SPANS,UNPLANNED,2024-01-13T12:00:00Z,
F1,M-SPANS,CORRECTIVE,2024-01-01T00:00:00Z,
F10,NOBODY,UNPLANNED,2024-01-01T00:00:00Z,
F11,M-VAR,UNPLANNED,2024-01-01T00:00:00Z,
F12,M-VAR,UNPLANNED,2024-01-01T01:00:00Z,
F13,M-VAR,UNPLANNED,2024-01-01T02:00:00Z,
F14,M-VAR,UNPLANNED,2024-01-01T03:00:00Z,
F15,M-VAR,UNPLANNED,2024-02-11T19:00:00Z,
""",
    "mtbf_readings.csv": """asset_id,mtbf_hours,observed_at
M-READ,-5,2024-01-01T00:00:00Z
M-READ,0,2024-01-01T00:00:00Z
M-READ,480,2024-01-01T00:00:00Z
NOBODY,100,2024-01-01T00:00:00Z
""",
}

# (file, id, column) -> expected text ("" = empty); numbers compared as floats.
EXPECT = {
    ("thresholds", "P-OK", "status"): "OK",
    ("thresholds", "P-OK", "avg_daily_usage"): 0.1,  # (4 + 5) / 90
    ("thresholds", "P-OK", "min"): 1.5,
    ("thresholds", "P-OK", "reorder"): 1.88,  # 1.875 is a tie -> half-to-even on 1.875 exactly
    ("thresholds", "P-OK", "max"): 2.82,
    ("thresholds", "P-OLD", "status"): "OK",
    ("thresholds", "P-OLD", "min"): 0.0,
    ("thresholds", "P-OLD", "max"): 0.0,
    ("thresholds", "P-ZERO", "status"): "LEAD_TIME_NOT_POSITIVE",
    ("thresholds", "P-ZERO", "min"): "",
    ("thresholds", "P-NONE", "status"): "NO_HISTORY",
    ("thresholds", "P-LATE", "status"): "NO_HISTORY",
    ("thresholds", "P-AMB1", "status"): "OK",  # only the exact VLV-9 row; Vlv-9 is AMBIGUOUS
    ("thresholds", "P-AMB1", "avg_daily_usage"): 0.1,
    ("thresholds", "P-AMB2", "status"): "NO_HISTORY",
    ("intervals", "D-NY-SPRING", "next_due_at"): "2024-03-10T08:00:00-04:00",
    ("intervals", "D-NY-SPRING", "next_due_at_utc"): "2024-03-10T12:00:00Z",
    ("intervals", "D-NY-FALL", "next_due_at"): "2024-11-07T08:00:00-05:00",
    ("intervals", "D-BER-SPRING", "next_due_at"): "2024-04-04T08:00:00+02:00",
    ("intervals", "D-SYD-SPRING", "next_due_at"): "2024-10-08T08:00:00+11:00",
    ("intervals", "D-NY-GAP", "next_due_at"): "2024-03-10T03:30:00-04:00",
    ("intervals", "D-NY-FOLD", "next_due_at"): "2024-11-03T01:30:00-04:00",
    ("intervals", "D-BER-GAP", "next_due_at"): "2024-03-31T03:30:00+02:00",
    ("intervals", "D-SYD-GAP", "next_due_at"): "2024-10-06T03:30:00+11:00",
    ("intervals", "D-FRACTION", "next_due_at"): "2024-03-17T20:00:00-04:00",
    ("intervals", "D-OFFSET", "next_due_at"): "2024-03-16T08:00:00-04:00",
    ("intervals", "D-NOTMONO", "status"): "NOT_MONOTONIC",
    ("intervals", "D-NOTMONO", "next_due_at"): "",
    ("intervals", "D-NONE", "status"): "NO_LAST_COMPLETION",
    ("intervals", "D-NONE", "interval_days"): 30.0,
    ("intervals", "D-NONE", "reason"): "NO_VALID_SAMPLES",
    ("intervals", "M-SPANS", "n_samples"): "2",
    ("intervals", "M-SPANS", "mean_mtbf_hours"): 135.0,
    ("intervals", "M-SPANS", "cv"): 55.0 / 135.0,
    ("intervals", "M-SPANS", "basis"): "MTBF",
    ("intervals", "M-SPANS", "interval_days"): 7.0,  # 135 * 0.85 / 24 = 4.78 -> clamp
    ("intervals", "M-READ", "n_samples"): "1",
    ("intervals", "M-READ", "cv"): 0.0,
    ("intervals", "M-READ", "interval_days"): 17.0,  # 480 * 0.85 / 24
    ("intervals", "M-VAR", "basis"): "FALLBACK",
    ("intervals", "M-VAR", "reason"): "HIGH_VARIABILITY",
    ("intervals", "M-VAR", "n_samples"): "4",
    ("intervals", "M-VAR", "interval_days"): 90.0,
}
ABSENT = {("thresholds", "P-NEG"), ("thresholds", "P-MARS"), ("intervals", "M-BAD")}


def load_module(name):
    spec = importlib.util.spec_from_file_location(name, os.path.join(HERE, name + ".py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def check(impl, out):
    failures = []
    tables = {}
    for name in ("thresholds", "intervals"):
        with open(os.path.join(out, name + ".csv"), newline="") as f:
            tables[name] = {r[next(iter(r))]: r for r in csv.DictReader(f)}
    for (name, key, column), want in EXPECT.items():
        row = tables[name].get(key)
        got = None if row is None else row[column]
        if isinstance(want, float):
            ok = got not in (None, "") and abs(float(got) - want) <= 1e-12 * max(1.0, abs(want))
        else:
            ok = got == want
        if not ok:
            failures.append(f"{impl}: {name} {key} {column}: expected {want!r}, got {got!r}")
    for name, key in ABSENT:
        if key in tables[name]:
            failures.append(f"{impl}: {name} {key}: rejected row must have no output row")
    return failures


def main():
    impls = ["compute_plain"]
    if importlib.util.find_spec("pandas") is not None:
        impls.append("compute_pandas")
    else:
        print("selftest: pandas not installed here, checking compute_plain only")
    with tempfile.TemporaryDirectory() as tmp:
        inp = os.path.join(tmp, "in")
        os.makedirs(inp)
        for name, content in FILES.items():
            with open(os.path.join(inp, name), "w") as f:
                f.write(content)
        all_failures = []
        for impl in impls:
            out = os.path.join(tmp, impl)
            load_module(impl).main(["--input", inp, "--output", out, "--as-of", AS_OF])
            fails = check(impl, out)
            all_failures += fails
            print(f"selftest: {impl}: {'OK' if not fails else f'{len(fails)} FAILED'} "
                  f"({len(EXPECT)} cells checked)")
    for line in all_failures:
        print("  " + line)
    return 1 if all_failures else 0


if __name__ == "__main__":
    sys.exit(main())
