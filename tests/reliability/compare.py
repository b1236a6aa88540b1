#!/usr/bin/env python3
"""Outside reference for cmms_core::life: builds component lives from the Azure PdM data and the
NASA C-MAPSS FD001 lives, fits them with the Python `reliability` package
(`Fit_Weibull_2P(failures, right_censored, method='MLE')`) and with our estimator (the
`life_fit` example, which builds the lives itself from the same renewal log), and compares:
the life counts exactly, the exponential MTBF (total exposure / failures) exactly, alpha and beta
within 1e-5 relative.

Life-building rules (docs/testing.md#outside-reference-for-the-life-models):
- Azure PdM, per (machine, component): every row of PdM_maint.csv and PdM_failures.csv is a
  renewal. A (machine, component, time) in PdM_failures.csv is a failure (it ends the running life
  as a failure); any other maintenance row is a planned replacement (it ends the running life as a
  suspension). The first renewal (the 2014 install baseline) starts the first life; the window end
  2016-01-01 06:00 ends the running life as a suspension; zero-length lives are dropped. Hours are
  differences of the naive timestamps (no zone: UTC). One fit per component (comp1..comp4).
- C-MAPSS FD001: every training unit runs to failure: one life of max(cycle) cycles, a failure
  (group "fd001-train"). Group "fd001-train+test" adds each test unit's last cycle as a suspension.
  Cycles stand in for hours. In the renewal log a unit is installed `cycles` hours before a common
  instant and fails (or, for test units, is still running) at it; the zero-length life after a
  training unit's failure is dropped.

Usage: compare.py DATA_AZURE DATA_CMAPSS LIFE_FIT_BINARY
"""

import csv
import datetime as dt
import json
import os
import subprocess
import sys
from fractions import Fraction

from reliability.Fitters import Fit_Weibull_2P

REL_TOL = 1e-5
AZURE_END = dt.datetime(2016, 1, 1, 6, 0, 0)
CMAPSS_END = dt.datetime(2001, 1, 1, 0, 0, 0)


def parse(ts):
    return dt.datetime.strptime(ts.strip(), "%Y-%m-%d %H:%M:%S")


def iso(t):
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def azure(data):
    """Renewal rows (group, unit, time, kind) and, per component, the lives [(hours, failed)]."""
    with open(os.path.join(data, "PdM_failures.csv"), newline="") as f:
        failures = {(r["machineID"], r["failure"], parse(r["datetime"])) for r in csv.DictReader(f)}
    with open(os.path.join(data, "PdM_maint.csv"), newline="") as f:
        maint = {(r["machineID"], r["comp"], parse(r["datetime"])) for r in csv.DictReader(f)}
    units = {}
    for key in failures | maint:
        units.setdefault((key[0], key[1]), set()).add(key[2])
    rows, lives = [], {}
    for (machine, comp), times in sorted(units.items()):
        times = sorted(times)
        for t in times:
            kind = "FAILURE" if (machine, comp, t) in failures else "REPLACEMENT"
            rows.append((comp, "M%s-%s" % (machine, comp), iso(t), kind))
        ends = [(t, (machine, comp, t) in failures) for t in times[1:]] + [(AZURE_END, False)]
        for start, (end, failed) in zip(times, ends):
            hours = Fraction(int((end - start).total_seconds()), 3600)
            if hours > 0:
                lives.setdefault(comp, []).append((hours, failed))
    return rows, lives, AZURE_END


def cmapss(data):
    def last_cycles(name):
        out = {}
        with open(os.path.join(data, name)) as f:
            for line in f:
                fields = line.split()
                if fields:
                    out[int(fields[0])] = max(out.get(int(fields[0]), 0), int(fields[1]))
        return out

    train, test = last_cycles("train_FD001.txt"), last_cycles("test_FD001.txt")
    rows, lives = [], {"fd001-train": [], "fd001-train+test": []}
    for group in lives:
        for unit, cycles in sorted(train.items()):
            rows.append((group, "train-%d" % unit, iso(CMAPSS_END - dt.timedelta(hours=cycles)), "REPLACEMENT"))
            rows.append((group, "train-%d" % unit, iso(CMAPSS_END), "FAILURE"))
            lives[group].append((Fraction(cycles), True))
    for unit, cycles in sorted(test.items()):
        group = "fd001-train+test"
        rows.append((group, "test-%d" % unit, iso(CMAPSS_END - dt.timedelta(hours=cycles)), "REPLACEMENT"))
        lives[group].append((Fraction(cycles), False))
    return rows, lives, CMAPSS_END


def ours(binary, rows, as_of):
    text = "group,unit,at,kind\n" + "".join("%s,%s,%s,%s\n" % r for r in rows)
    out = subprocess.run([binary, iso(as_of)], input=text, capture_output=True, text=True, check=True).stdout
    return {o["group"]: o for o in map(json.loads, out.splitlines())}


def main():
    azure_dir, cmapss_dir, binary = sys.argv[1:4]
    failed = 0
    for name, (rows, lives, as_of) in (("azure-pdm", azure(azure_dir)), ("cmapss-fd001", cmapss(cmapss_dir))):
        got = ours(binary, rows, as_of)
        total = sum(len(v) for v in lives.values())
        print("%s: %d lives, %d failures" % (name, total, sum(f for v in lives.values() for _, f in v)))
        for group, group_lives in sorted(lives.items()):
            fails = [float(h) for h, f in group_lives if f]
            cens = [float(h) for h, f in group_lives if not f]
            ref = Fit_Weibull_2P(
                failures=fails,
                right_censored=cens or None,
                method="MLE",
                show_probability_plot=False,
                print_results=False,
            )
            o = got[group]
            mtbf = sum(h for h, _ in group_lives) / len(fails)
            checks = [
                ("lives", o["lives"] == len(group_lives), o["lives"], len(group_lives)),
                ("failures", o["failures"] == len(fails), o["failures"], len(fails)),
                ("mtbf (exact)", o["mtbf_hours"] == float(mtbf), o["mtbf_hours"], float(mtbf)),
                ("alpha", abs(o["alpha"] / ref.alpha - 1) <= REL_TOL, o["alpha"], ref.alpha),
                ("beta", abs(o["beta"] / ref.beta - 1) <= REL_TOL, o["beta"], ref.beta),
            ]
            bad = [c for c in checks if not c[1]]
            failed += len(bad)
            print(
                "  %-18s n=%4d r=%3d  alpha %.6f (ref %.6f, rel %.1e)  beta %.6f (ref %.6f, rel %.1e)  "
                "mtbf %.3f  mean life %.3f  beta 95%% LR [%.4f, %.4f]  %s"
                % (
                    group,
                    o["lives"],
                    o["failures"],
                    o["alpha"],
                    ref.alpha,
                    abs(o["alpha"] / ref.alpha - 1),
                    o["beta"],
                    ref.beta,
                    abs(o["beta"] / ref.beta - 1),
                    o["mtbf_hours"],
                    o["mean_life"],
                    o["beta_lr"][0],
                    o["beta_lr"][1],
                    "ok" if not bad else "MISMATCH " + "; ".join("%s: ours %r ref %r" % (c[0], c[2], c[3]) for c in bad),
                )
            )
    if failed:
        sys.exit("reliability reference: %d mismatches" % failed)
    print("reliability reference: all groups match")


if __name__ == "__main__":
    main()
