#!/usr/bin/env python3
"""Convert Microsoft's Azure predictive-maintenance sample data into cmms import files.

Reads PdM_machines.csv, PdM_failures.csv, PdM_maint.csv and PdM_errors.csv from the folder
given as DATA_DIR (the data is not in this repository: docs/real-data.md says where to get it)
and writes sites.csv, assets.csv and failures.csv for `cmms import`. Python standard library only.

Mapping (docs/real-data.md describes the data set and its source):
- one site, AZURE-PDM, time zone UTC: the source timestamps carry no zone, and cmms reads a
  timestamp without an offset as UTC anyway;
- an asset per machine (default) or per machine component (--level component), grouped by
  model (or component); or (--level machine-components) an asset per machine whose events name
  their component in the `component` column (COMP1 ...), all machines in one group (PDM-FLEET), so
  that `[pm] method = "weibull_cost"` fits each component pooled across the fleet, as the
  component level does;
- failures -> UNPLANNED (no end time: the data has no repair durations). At machine level,
  components failing at the same hour are one failure of the machine;
- maintenance rows that are not the repair of a failure -> PLANNED (no end time either, so
  they subtract no downtime; cmms counts them), or with --replacements PLANNED_REPLACEMENT: a
  component replacement, which ends a life as a suspension for `[pm] method = "weibull_cost"`
  (use it with --level component);
- errors -> SENSOR_RESET (not failures) at machine level; at component level they are left
  out, since an error names no component;
- the manufacturer interval is not in the data: --fallback-days (default 90) is used for
  every asset, and applies only where MTBF cannot be used;
- the last PM completion of an asset is its last PLANNED maintenance (left empty at
  machine-components level: a PM completion renews every component of a machine, while the
  data's maintenance renews one component, which its PLANNED_REPLACEMENT event already says).

Usage: python3 examples/azure-pdm/convert.py DATA_DIR [--out DIR] [--level machine|component|machine-components]
       [--fallback-days N] [--replacements]
"""

import argparse
import csv
import os
import sys
from collections import defaultdict

SITE = "AZURE-PDM"


# The column names of Microsoft's files. The copies on Kaggle carry them as a header row; the
# original blob files have no header, so a file whose first row is not this header gets it.
COLUMNS = {
    "PdM_machines.csv": ["machineID", "model", "age"],
    "PdM_failures.csv": ["datetime", "machineID", "failure"],
    "PdM_maint.csv": ["datetime", "machineID", "comp"],
    "PdM_errors.csv": ["datetime", "machineID", "errorID"],
}


def read(path):
    columns = COLUMNS[os.path.basename(path)]
    with open(path, newline="", encoding="utf-8-sig") as f:
        rows = list(csv.reader(f))
    if rows and [c.strip() for c in rows[0]] == columns:
        rows = rows[1:]
    return [dict(zip(columns, r)) for r in rows if r]


def iso(ts):
    """'2015-01-05 06:00:00' -> '2015-01-05T06:00:00Z' (the source has no zone: UTC)."""
    return ts.strip().replace(" ", "T") + "Z"


def compact(ts):
    """A timestamp as an identifier fragment: 20150105T0600."""
    t = ts.strip()
    return t[0:4] + t[5:7] + t[8:10] + "T" + t[11:13] + t[14:16]


SOURCE = """The data is not in this repository. It is Microsoft's public predictive-maintenance sample
("Predictive Maintenance Modelling Guide", Azure AI Gallery): download the Kaggle data set
"Microsoft Azure Predictive Maintenance" (microsoft-azure-predictive-maintenance), or the files
from https://azuremlsampleexperiments.blob.core.windows.net/datasets/ ; docs/real-data.md lists
the copies and the commit we measured with. Then run: convert.py YOUR_DOWNLOAD_FOLDER"""


def check_data(folder):
    """Stops with a message naming the data's public source when a needed file is missing."""
    if not os.path.isdir(folder):
        sys.exit(f"convert.py: {folder}: no such folder.\n{SOURCE}")
    missing = [n for n in COLUMNS if not os.path.isfile(os.path.join(folder, n))]
    if missing:
        sys.exit(f"convert.py: {folder} lacks {', '.join(missing)}.\n{SOURCE}")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("data", metavar="DATA_DIR", help="folder with PdM_machines/failures/maint/errors.csv")
    ap.add_argument("--out", default="azure-pdm-import", help="folder to write the import files into")
    ap.add_argument("--level", choices=["machine", "component", "machine-components"], default="machine")
    ap.add_argument("--fallback-days", type=float, default=90.0)
    ap.add_argument("--replacements", action="store_true", help="planned maintenance as PLANNED_REPLACEMENT")
    args = ap.parse_args()
    if not (0 < args.fallback_days <= 3650):
        sys.exit("--fallback-days must be in (0, 3650]")
    check_data(args.data)

    machines = read(os.path.join(args.data, "PdM_machines.csv"))
    failures = read(os.path.join(args.data, "PdM_failures.csv"))
    maint = read(os.path.join(args.data, "PdM_maint.csv"))
    errors = read(os.path.join(args.data, "PdM_errors.csv"))
    comps = sorted({r["comp"] for r in maint} | {r["failure"] for r in failures})

    tagged = args.level == "machine-components"
    per_machine = args.level != "component"

    def asset(machine, comp):
        m = "M%03d" % int(machine)
        return m if per_machine else "%s-%s" % (m, comp.upper())

    def component(comp):
        return comp.upper() if tagged else ""

    failed = {(r["machineID"], r["failure"], r["datetime"]) for r in failures}
    events = []  # (asset, type, started_at, event_id, component)
    seen_failure = set()
    for r in failures:
        a = asset(r["machineID"], r["failure"])
        key = (a, r["datetime"], component(r["failure"]))
        if key in seen_failure:  # machine level: several components at the same hour
            continue
        seen_failure.add(key)
        suffix = "" if args.level == "machine" else "-" + r["failure"]
        event_id = "F-%s-%s%s" % (a, compact(r["datetime"]), suffix)
        events.append((a, "UNPLANNED", r["datetime"], event_id, component(r["failure"])))
    last_pm = {}
    planned_seen = set()
    for r in maint:
        if (r["machineID"], r["comp"], r["datetime"]) in failed:
            continue  # the replacement that repaired a failure, not planned work
        a = asset(r["machineID"], r["comp"])
        key = (a, r["datetime"], component(r["comp"]))
        if key in planned_seen:
            continue
        planned_seen.add(key)
        suffix = "" if args.level == "machine" else "-" + r["comp"]
        planned = "PLANNED_REPLACEMENT" if args.replacements else "PLANNED"
        event_id = "P-%s-%s%s" % (a, compact(r["datetime"]), suffix)
        events.append((a, planned, r["datetime"], event_id, component(r["comp"])))
        if not tagged:
            last_pm[a] = max(last_pm.get(a, ""), r["datetime"])
    for r in errors if per_machine else []:
        a = asset(r["machineID"], "")
        event_id = "E-%s-%s-%s" % (a, compact(r["datetime"]), r["errorID"])
        events.append((a, "SENSOR_RESET", r["datetime"], event_id, ""))
    events.sort(key=lambda e: (e[2], e[0], e[1]))

    os.makedirs(args.out, exist_ok=True)
    with open(os.path.join(args.out, "sites.csv"), "w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["site_id", "timezone"])
        w.writerow([SITE, "UTC"])
    assets = []
    for m in machines:
        if tagged:
            assets.append((asset(m["machineID"], ""), "PDM-FLEET"))
        elif per_machine:
            assets.append((asset(m["machineID"], ""), m["model"].upper()))
        else:
            assets.extend((asset(m["machineID"], c), c.upper()) for c in comps)
    with open(os.path.join(args.out, "assets.csv"), "w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["asset_id", "asset_group", "site_id", "fallback_interval_days", "last_completion_at"])
        for a, group in assets:
            last = last_pm.get(a)
            w.writerow([a, group, SITE, "%g" % args.fallback_days, iso(last) if last else ""])
    with open(os.path.join(args.out, "failures.csv"), "w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["event_id", "asset_id", "event_type", "started_at", "ended_at"] + (["component"] if tagged else []))
        for a, kind, started, event_id, comp in events:
            w.writerow([event_id, a, kind, iso(started), ""] + ([comp] if tagged else []))

    counts = defaultdict(int)
    for e in events:
        counts[e[1]] += 1
    print(
        "wrote %s: %d assets (%s level), %d events: %s"
        % (
            args.out,
            len(assets),
            args.level,
            len(events),
            ", ".join("%s %d" % (k, counts[k]) for k in sorted(counts)),
        )
    )


if __name__ == "__main__":
    main()
