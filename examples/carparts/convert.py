#!/usr/bin/env python3
"""Convert the `carparts` intermittent-demand data set into cmms import files.

Reads carparts.csv (Hyndman et al. 2008, R package expsmooth: monthly sales of 2,674 car parts,
January 1998 to March 2002; see docs/real-data.md for where to get it) from the folder given as
DATA_DIR and writes sites.csv, parts.csv, sku_map.csv and consumption.csv for `cmms import` or
`cmms compute`. Python standard library only.

Mapping:
- one site, CARPARTS, time zone UTC;
- a part per series: part_id CP-<Part>, class CARPART, unit EA, lead time --lead-days (the data
  has none; default 30), no baseline (so no drift check);
- the SKU map names the source's part number (source CARPARTS, external_sku <Part>);
- a month's units are spread over its days deterministically: of q whole units in a month of D
  days, unit j (0-based) falls on day floor((j + 0.5) x D / q) + 1, so the units are evenly spaced
  and centred (1 unit: the middle of the month; D units or more: every day); units on the same day
  form one consumption event at 12:00 UTC (event id <Part>-<YYYYMMDD>). A fractional remainder
  (the data has none) goes to the middle day. Months with zero sales or no value (the trailing
  gaps of 165 series) give no event. The monthly totals are kept exactly; a 90-day window as of
  2002-04-01T00:00:00Z (the day after the last month) holds January–March 2002.

Usage: python3 examples/carparts/convert.py DATA_DIR [--out DIR] [--lead-days N]
"""

import argparse
import calendar
import csv
import math
import os
import sys

SITE = "CARPARTS"
MONTHS = {m: i + 1 for i, m in enumerate(
    ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"])}


def month_of(label):
    """'Jan-98' -> (1998, 1); 'Mar-02' -> (2002, 3)."""
    name, yy = label.strip().split("-")
    year = int(yy)
    return (1900 + year if year >= 50 else 2000 + year), MONTHS[name]


def spread(value, year, month):
    """[(day, units)] for a month's total: whole units evenly over the days, remainder mid-month."""
    days = calendar.monthrange(year, month)[1]
    whole = int(math.floor(value))
    per_day = {}
    for j in range(whole):
        day = (2 * j + 1) * days // (2 * whole) + 1
        per_day[day] = per_day.get(day, 0) + 1
    rest = value - whole
    if rest > 0:
        mid = (days + 1) // 2
        per_day[mid] = per_day.get(mid, 0) + rest
    return sorted(per_day.items())


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("data", metavar="DATA_DIR", help="folder with carparts.csv")
    ap.add_argument("--out", default="carparts-import", help="folder to write the import files into")
    ap.add_argument("--lead-days", type=float, default=30.0, help="supplier lead time of every part, days")
    args = ap.parse_args()
    if not (0 < args.lead_days <= 3650):
        sys.exit("--lead-days must be in (0, 3650]")
    source = os.path.join(args.data, "carparts.csv")
    if not os.path.isfile(source):
        sys.exit(
            f"convert.py: {source}: no such file. The data is not in this repository: it is the public\n"
            "`carparts` series of Hyndman et al. (CRAN package expsmooth, or the CSV copy named in\n"
            "docs/real-data.md). Download it, then run: convert.py YOUR_DOWNLOAD_FOLDER"
        )

    with open(os.path.join(args.data, "carparts.csv"), newline="", encoding="utf-8-sig") as f:
        rows = list(csv.reader(f))
    header, series = rows[0], [r for r in rows[1:] if r]
    if header[0].strip() != "Part":
        sys.exit("carparts.csv: expected a header row starting with 'Part'")
    months = [month_of(h) for h in header[1:]]

    os.makedirs(args.out, exist_ok=True)

    def writer(name, columns):
        f = open(os.path.join(args.out, name), "w", newline="")
        w = csv.writer(f)
        w.writerow(columns)
        return f, w

    sites_f, sites = writer("sites.csv", ["site_id", "timezone"])
    sites.writerow([SITE, "UTC"])
    parts_f, parts = writer("parts.csv", ["part_id", "description", "unit", "site_id", "part_class",
                                          "lead_time_days", "baseline_min", "baseline_reorder", "baseline_max"])
    skus_f, skus = writer("sku_map.csv", ["source", "external_sku", "part_id"])
    cons_f, cons = writer("consumption.csv", ["event_id", "source", "external_sku", "quantity", "consumed_at"])
    events = 0
    seen = set()
    for r in series:
        part = r[0].strip()
        if part in seen:
            sys.exit("carparts.csv: part %s appears twice" % part)
        seen.add(part)
        part_id = "CP-" + part
        parts.writerow([part_id, "car part %s" % part, "EA", SITE, "CARPART", "%g" % args.lead_days, "", "", ""])
        skus.writerow([SITE, part, part_id])
        for (year, month), value in zip(months, r[1:]):
            value = value.strip()
            if value == "" or float(value) == 0:
                continue
            for day, units in spread(float(value), year, month):
                cons.writerow(["%s-%04d%02d%02d" % (part, year, month, day), SITE, part, "%g" % units,
                               "%04d-%02d-%02dT12:00:00Z" % (year, month, day)])
                events += 1
    for f in (sites_f, parts_f, skus_f, cons_f):
        f.close()
    print("wrote %s: %d parts, %d consumption events" % (args.out, len(series), events))


if __name__ == "__main__":
    main()
