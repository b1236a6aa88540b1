#!/usr/bin/env python3
"""Deterministic synthetic data for `cmms compute` and the reference implementations.

    python3 bench/gen/generate.py --out /tmp/cmms-small --parts 2000 --assets 300 \
        --consumption-events 200000 --failure-events 100000 --seed 42 --as-of 2025-06-01T00:00:00Z

Writes the import files of docs/contract.md#import-file-formats that the calculation reads: sites.csv,
parts.csv, sku_map.csv, consumption.csv, assets.csv, failures.csv, mtbf_readings.csv. The same
arguments give the same bytes (one `random.Random(seed)`, no hash-ordered iteration). Rows are
streamed to disk, so memory stays flat with --consumption-events / --failure-events (the large
benchmark set is 6,000,000 + 5,000,000 rows).

`--clean` writes only rows the import accepts: no rejected site, part, SKU-map, asset, event or
reading rows and no conflicting re-deliveries (identical re-deliveries, SKU spellings that map or are
ambiguous, unknown SKUs that quarantine, events after as_of and every timestamp form stay: they are
valid input). Without it, the same arguments give the same bytes as before the option existed.

What the data contains, on purpose:

* sites in several zones (Europe/Berlin, America/New_York, Australia/Sydney, America/Chicago,
  Asia/Kolkata, UTC) plus two bad site rows (unknown zone, bad id) that are rejected.
* parts in classes with class-typical lead times 1-60 days, some fractional, ~1% with lead time 0
  (LEAD_TIME_NOT_POSITIVE), ~0.3% invalid rows (negative or too large lead time, unknown site,
  baselines out of order, lead time not a number). ~5% of parts never consume (NO_HISTORY) and
  ~3% consumed only before the 90-day window (thresholds 0/0/0).
* sku_map: an ERP SKU per part, a WMS SKU for ~40% of parts; ~0.5% of parts have a second
  spelling of their ERP SKU mapped to another part, so that variant spellings are AMBIGUOUS while
  the exact spellings still map; a few rows naming unknown parts or repeating a key (rejected).
* consumption: intermittent demand in bursts (a heavy-tailed rate per part, bursts of 1-8 events on
  one day, most days nothing); integer quantities for EA parts, fractional for M/L/KG; SKUs written
  exactly (~85%) or lower-cased / padded / mixed-case (mapped by the normalised rule); ~0.3%
  unknown SKUs and ~0.2% from a source without mappings (UNMAPPED); timestamps as `Z`, as the
  site's local offset, naive (UTC) with a blank or `T`, or a bare date; a few events after as_of
  and exactly on the window bounds; ~0.2% re-deliveries of earlier events (identical parsed
  values, sometimes written in another timestamp form), ~0.05% conflicting re-deliveries,
  ~0.05% negative quantities, and a few NaN/inf/garbage quantities, bad timestamps, bad ids.
* assets with profiles: regular (gamma gaps, cv ~0.5), highly variable (lognormal gaps, cv > 1),
  short MTBF (interval clamps to 7 days), long MTBF (clamps to 365 days), no UNPLANNED events,
  a single UNPLANNED event; failure logs mixing UNPLANNED (with/without repair end), CORRECTIVE,
  PLANNED (with end, ~15% without, some overlapping each other or the next failure, a few covering
  a whole span or ending before they start), SENSOR_RESET; some equal UNPLANNED starts; event types
  sometimes lower-case or padded; ~0.1% identical and ~0.05% conflicting re-deliveries, unknown
  assets, unknown types, bad timestamps.
* completions: ~10% missing (NO_LAST_COMPLETION); ~25% placed around DST changes of the site's
  zone: completions inside a fold, next due dates constructed to land in a gap or a fold, and
  tiny fallback intervals completed in a fold's second half (NOT_MONOTONIC).
* mtbf_readings for ~12% of assets (some <= 0, a few for unknown assets, one NaN).
* asset rows that are invalid (fallback 0, negative, > 3650, unknown site).
"""

import argparse
import bisect
import math
import os
import random
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

UTC = timezone.utc
DAY = 86_400
# --clean: leave out every row the import would reject (see main).
CLEAN = False
HOUR = 3_600

SITES = [
    ("PLANT-BER", "Europe/Berlin"),
    ("PLANT-NYC", "America/New_York"),
    ("CAMPUS-SYD", "Australia/Sydney"),
    ("PLANT-CHI", "America/Chicago"),
    ("DEPOT-DEL", "Asia/Kolkata"),
    ("SITE-UTC", "UTC"),
]
ZONE_OF = dict(SITES)
BAD_SITES = [("PLANT-MARS", "Mars/Olympus"), ("bad site", "Europe/Paris")]
# Most parts and assets sit at the DST sites.
SITE_WEIGHTS = [30, 30, 20, 10, 5, 5]

# class -> (prefix, unit, lead-time range in days)
CLASSES = [
    ("BEARING", "BRG", "EA", (7, 30)),
    ("FILTER", "FLT", "EA", (3, 14)),
    ("BELT", "BLT", "EA", (5, 21)),
    ("SEAL", "SEL", "EA", (5, 30)),
    ("VALVE", "VLV", "EA", (10, 45)),
    ("MOTOR", "MTR", "EA", (20, 60)),
    ("SENSOR", "SNS", "EA", (7, 40)),
    ("FASTENER", "FST", "EA", (1, 5)),
    ("CABLE", "CBL", "M", (2, 20)),
    ("LUBRICANT", "LUB", "L", (1, 10)),
    ("REFRIGERANT", "REF", "KG", (5, 30)),
]
GROUPS = ["HVAC-CHILLERS", "PUMPS", "CONVEYORS", "COMPRESSORS", "BOILERS", "AHU", "ELEVATORS"]

HISTORY_DAYS = 400  # consumption history before as_of
WINDOW_DAYS = 90
MAX_FAILURE_SPAN_H = 20 * 365 * 24  # a failure log reaches back at most ~20 years
FLUSH_EVERY = 20_000


def iso_z(epoch):
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class Writer:
    """Buffered line writer for one CSV file."""

    def __init__(self, path, header):
        self.f = open(path, "w", newline="", encoding="utf-8")
        self.buf = [header + "\n"]
        self.rows = 0

    def row(self, line):
        self.buf.append(line + "\n")
        self.rows += 1
        if len(self.buf) >= FLUSH_EVERY:
            self.f.writelines(self.buf)
            self.buf.clear()

    def close(self):
        self.f.writelines(self.buf)
        self.f.close()


def csv_field(s):
    """Quotes a field with blanks at either end, commas or quotes (CSV readers keep them anyway)."""
    if s != s.strip() or "," in s or '"' in s:
        return '"' + s.replace('"', '""') + '"'
    return s


class Clock:
    """Fast timestamp text for whole-second epochs: cached day strings and zone offsets."""

    def __init__(self, rng):
        self.rng = rng
        self.days = {}
        self.zones = {name: ZoneInfo(name) for _, name in SITES}

    def day(self, epoch):
        d = epoch // DAY
        s = self.days.get(d)
        if s is None:
            s = self.days[d] = datetime.fromtimestamp(d * DAY, UTC).strftime("%Y-%m-%d")
        return s

    def z(self, epoch):
        s = epoch % DAY
        return f"{self.day(epoch)}T{s // HOUR:02d}:{s // 60 % 60:02d}:{s % 60:02d}Z"

    def naive(self, epoch, sep=" "):
        s = epoch % DAY
        return f"{self.day(epoch)}{sep}{s // HOUR:02d}:{s // 60 % 60:02d}:{s % 60:02d}"

    def local(self, epoch, zone):
        return datetime.fromtimestamp(epoch, self.zones[zone]).isoformat()

    def mixed(self, epoch, zone, p_local=0.10, p_naive=0.08, p_naive_t=0.02, p_date=0.0):
        """The instant in one of the accepted forms; a bare date changes the instant (midnight)."""
        r = self.rng.random()
        if r < p_local:
            return self.local(epoch, zone)
        r -= p_local
        if r < p_naive:
            return self.naive(epoch)
        r -= p_naive
        if r < p_naive_t:
            return self.naive(epoch, "T")
        r -= p_naive_t
        if r < p_date:
            return self.day(epoch)
        return self.z(epoch)

    def same_instant_other_form(self, epoch, zone):
        r = self.rng.random()
        if r < 0.4:
            return self.z(epoch)
        if r < 0.7:
            return self.local(epoch, zone)
        if r < 0.9:
            return self.naive(epoch)
        return datetime.fromtimestamp(epoch, UTC).isoformat()  # +00:00


def transitions(zone_name, lo, hi):
    """UTC offset changes of a zone in [lo, hi): (epoch of change, old offset s, new offset s)."""
    tz = ZoneInfo(zone_name)
    out = []
    prev = None
    t = lo - lo % HOUR
    while t < hi:
        off = int(datetime.fromtimestamp(t, tz).utcoffset().total_seconds())
        if prev is not None and off != prev:
            out.append((t, prev, off))  # zones used here change on the hour
        prev = off
        t += HOUR
    return out


def wall_to_epoch(wall, tz):
    """Epoch of a naive local wall time, fold=0 (gap -> moved forward, fold -> earlier)."""
    return int(wall.replace(tzinfo=tz).timestamp())


# ---------------------------------------------------------------------------------------------

def gen_sites(out):
    w = Writer(os.path.join(out, "sites.csv"), "site_id,timezone")
    for sid, zone in SITES + ([] if CLEAN else BAD_SITES):
        w.row(f"{csv_field(sid)},{zone}")
    w.close()


def gen_parts(out, rng, n):
    """Writes parts.csv; returns the list of parts that can consume (valid rows only)."""
    w = Writer(os.path.join(out, "parts.csv"),
               "part_id,description,unit,site_id,part_class,lead_time_days,baseline_min,baseline_reorder,baseline_max")
    site_ids = [s for s, _ in SITES]
    cum_sites = list(_accumulate(SITE_WEIGHTS))
    parts = []
    for i in range(n):
        pid = f"P-{i:07d}"
        cls, pfx, unit, (lo, hi) = CLASSES[rng.randrange(len(CLASSES))]
        site = site_ids[bisect.bisect(cum_sites, rng.random() * cum_sites[-1])]
        r = rng.random()
        lead = str(rng.randint(lo, hi)) if r < 0.94 else f"{rng.randint(lo, hi)}.5"
        if r > 0.99:
            lead = "0"
        bmin = rng.randint(0, 40)
        breo = round(bmin * rng.choice((1.0, 1.25, 1.5)), 2)
        bmax = round(breo * 1.5, 2)
        base = [str(bmin), str(breo), str(bmax)]
        if rng.random() < 0.1:
            base = ["", "", ""]  # baselines are optional
        valid = True
        bad = rng.random()
        if bad < 0.003 and not CLEAN:
            valid = False
            kind = rng.randrange(5)
            if kind == 0:
                lead = "-3"
            elif kind == 1:
                lead = "4000"
            elif kind == 2:
                site = "PLANT-MARS"  # its site row is rejected
            elif kind == 3:
                base = ["10", "5", "20"]  # reorder below min
            else:
                lead = "two weeks"
        w.row(f"{pid},{cls.title()} spare {i},{unit},{site},{cls},{lead},{base[0]},{base[1]},{base[2]}")
        if valid:
            parts.append((i, pid, pfx, unit, ZONE_OF[site]))
    w.close()
    return parts


def _accumulate(ws):
    t = 0
    for x in ws:
        t += x
        yield t


def gen_sku_map(out, rng, parts):
    """Writes sku_map.csv; returns per part index (erp_sku, wms_sku or None)."""
    w = Writer(os.path.join(out, "sku_map.csv"), "source,external_sku,part_id")
    skus = {}
    for i, pid, pfx, _unit, _zone in parts:
        erp = f"{pfx}-{i:07d}"
        w.row(f"ERP,{erp},{pid}")
        wms = None
        if rng.random() < 0.4:
            wms = f"W{i:08d}"
            w.row(f"WMS,{wms},{pid}")
        skus[i] = (erp, wms)
    # Second spellings mapped to another part: the exact spellings map, variants are AMBIGUOUS.
    n_amb = max(2, len(parts) // 200)
    for _ in range(n_amb):
        a = parts[rng.randrange(len(parts))]
        b = parts[rng.randrange(len(parts))]
        if a[0] == b[0]:
            continue
        w.row(f"ERP,{skus[a[0]][0].lower()},{b[1]}")
    # Rejected rows: unknown part, repeated key (the first row wins).
    if not CLEAN:
        w.row("ERP,GHOST-0001,P-GHOST")
    if parts and not CLEAN:
        i = parts[0][0]
        other = parts[-1][1]
        w.row(f"ERP,{skus[i][0]},{other}")
    w.close()
    return skus


def sku_variant(rng, sku):
    r = rng.random()
    if r < 0.4:
        return sku.lower()
    if r < 0.7:
        return " " + sku + "  "
    if r < 0.9:
        return sku[0] + sku[1:].lower()
    return " " + sku.lower()


def gen_consumption(out, rng, clock, parts, skus, n_events, as_of):
    w = Writer(os.path.join(out, "consumption.csv"), "event_id,source,external_sku,quantity,consumed_at")
    # Demand profile per part: dead (never consumes), stopped (only before the window), active.
    active, weights, stopped = [], [], set()
    for p in parts:
        r = rng.random()
        if r < 0.05:
            continue
        if r < 0.08:
            stopped.add(p[0])
        active.append(p)
        weights.append(rng.lognormvariate(0.0, 1.3))
    cum = list(_accumulate(weights))
    total_w = cum[-1] if cum else 0.0
    hist_lo = as_of - HISTORY_DAYS * DAY
    window_lo = as_of - WINDOW_DAYS * DAY
    recent = []  # ring of recently written events for re-deliveries
    seq = 0
    written = 0

    def emit(eid, src, sku, qty, at_text):
        nonlocal written
        w.row(f"{eid},{src},{csv_field(sku)},{qty},{at_text}")
        written += 1

    # A few events exactly on the window bounds (in: as_of - 90 d; out: as_of) and after as_of.
    if active:
        for k, at in enumerate((window_lo, window_lo, as_of, as_of - 1, as_of + 5 * DAY)):
            if written >= n_events:
                break
            i = active[k % len(active)][0]
            seq += 1
            emit(f"C{seq:010d}", "ERP", skus[i][0], "2", clock.z(at))

    while written < n_events and total_w > 0:
        i, pid, pfx, unit, site_zone = active[bisect.bisect(cum, rng.random() * total_w)]
        if i in stopped:
            day0 = hist_lo + rng.randrange(HISTORY_DAYS - WINDOW_DAYS - 1) * DAY
        elif rng.random() < 0.005:
            day0 = as_of + rng.randrange(30) * DAY  # after as_of: kept, not used
        else:
            day0 = hist_lo + rng.randrange(HISTORY_DAYS) * DAY
        burst = 1
        while burst < 8 and rng.random() < 0.45:
            burst += 1
        t = day0 + rng.randrange(6 * HOUR, 18 * HOUR)
        for _ in range(burst):
            if written >= n_events:
                break
            r = rng.random()
            # Re-deliveries of an earlier event.
            if r < 0.002 and recent:
                eid, src, sku, qty, at = recent[rng.randrange(len(recent))]
                emit(eid, src, sku, qty, clock.same_instant_other_form(at, site_zone))
                continue
            if r < 0.0025 and recent:
                eid, src, sku, qty, at = recent[rng.randrange(len(recent))]
                if CLEAN:
                    continue
                emit(eid, src, sku, str(float(qty) + 1), clock.z(at))  # DUPLICATE_CONFLICT
                continue
            seq += 1
            eid = f"C{seq:010d}"
            erp, wms = skus[i]
            s = rng.random()
            if s < 0.002:
                src, sku = "SCANNER", erp  # no mapping for that source: UNMAPPED
            elif s < 0.005:
                src, sku = "ERP", f"UNK-{rng.randrange(10_000):05d}"  # UNMAPPED
            elif wms is not None and s < 0.35:
                src, sku = "WMS", wms
            else:
                src, sku = "ERP", erp
            if rng.random() < 0.15:
                sku = sku_variant(rng, sku)
            if unit == "EA":
                q = 1
                while q < 20 and rng.random() < 0.35:
                    q += 1
                qty = str(q)
            else:
                qty = repr(round(rng.uniform(0.05, 6.0), rng.choice((1, 2, 3))))
            if rng.random() < 0.005:
                qty = "0"
            normal = True
            a = rng.random()
            if CLEAN:
                pass
            elif a < 0.0005:
                qty, normal = "-" + qty, False  # rejected
            elif a < 0.0006:
                qty, normal = rng.choice(("NaN", "inf", "-inf", "lots", "")), False
            at = t
            t += rng.randrange(60, 3 * HOUR)
            at_text = clock.mixed(at, site_zone, p_date=0.003)
            b = rng.random()
            if CLEAN:
                pass
            elif b < 0.0001:
                at_text, normal = rng.choice(("yesterday", "2025-13-01", "2025-02-30 10:00:00", "")), False
            elif b < 0.0002:
                eid, normal = rng.choice(("C 1", "..", "C/1", "é1")), False
            emit(eid, src, sku, qty, at_text)
            if not normal or (CLEAN and len(at_text) == 10):
                # A bare date names midnight, not `at`: re-delivering `at` would be a conflict.
                continue
            if len(recent) < 2000:
                recent.append((eid, src, sku, qty, at))
            else:
                recent[rng.randrange(2000)] = (eid, src, sku, qty, at)
    w.close()


# ---------------------------------------------------------------------------------------------

# profile -> (weight among assets, events weight per asset)
PROFILES = [
    ("regular", 0.58, 1.0),
    ("variable", 0.10, 1.0),
    ("short", 0.08, 1.0),
    ("long", 0.05, 0.05),
    ("no_unplanned", 0.10, 0.3),
    ("single", 0.05, 0.2),
    ("readings_only", 0.04, 0.0),
]


def gen_assets(out, rng, clock, n_assets, as_of):
    """Writes assets.csv; returns the valid assets as dicts (with profile and zone)."""
    w = Writer(os.path.join(out, "assets.csv"),
               "asset_id,asset_group,site_id,fallback_interval_days,last_completion_at")
    site_ids = [s for s, _ in SITES]
    zone_of = dict(SITES)
    cum_sites = list(_accumulate(SITE_WEIGHTS))
    cum_prof = list(_accumulate(p[1] for p in PROFILES))
    trans = {z: transitions(z, as_of - 420 * DAY, as_of) for _, z in SITES}
    assets = []
    for i in range(n_assets):
        aid = f"A-{i:06d}"
        site = site_ids[bisect.bisect(cum_sites, rng.random() * cum_sites[-1])]
        zone = zone_of[site]
        tz = clock.zones[zone]
        profile = PROFILES[min(bisect.bisect(cum_prof, rng.random() * cum_prof[-1]), len(PROFILES) - 1)][0]
        r = rng.random()
        fallback = rng.choice((30, 60, 90, 180, 365)) if r < 0.9 else rng.choice((45.5, 30.25, 14.75, 120.125))
        fallback_text = repr(fallback) if isinstance(fallback, float) else str(fallback)
        completion = as_of - rng.randrange(1 * DAY, 400 * DAY)
        completion_text = clock.mixed(completion, zone, p_local=0.2, p_naive=0.1, p_naive_t=0.0)
        # Interval the calculation will use, when the generator can know it: the manufacturer
        # interval for assets without samples, most likely the 7-day clamp for short MTBF.
        known_interval = profile == "no_unplanned"
        c = rng.random()
        tr = trans[zone]
        if c < 0.10:
            completion_text = ""
        elif tr and (c < 0.35 or (known_interval and c < 0.85) or (profile == "short" and c < 0.6)):
            t_change, old, new = tr[rng.randrange(len(tr))]
            gap = new > old
            # Naive local wall time of the middle of the gap, or a third into the fold.
            change_wall = datetime.fromtimestamp(t_change, UTC).replace(tzinfo=None)
            if gap:
                target_wall = change_wall + timedelta(seconds=old + (new - old) // 2)
            else:
                target_wall = change_wall + timedelta(seconds=new + (old - new) // 3)
            d = rng.random()
            if known_interval and (gap or d < 0.5):
                # The due date lands in the gap (moves forward by it) or in the fold (earlier).
                fallback = rng.choice((7, 30, 60, 90))
                fallback_text = str(fallback)
                completion = wall_to_epoch(target_wall - timedelta(days=fallback), tz)
                completion_text = clock.mixed(completion, zone, p_local=0.5, p_naive=0.0, p_naive_t=0.0)
            elif known_interval:
                # Tiny manufacturer interval completed in the fold's second occurrence: the due
                # wall time resolves to the earlier occurrence -> NOT_MONOTONIC.
                fallback = 0.003
                fallback_text = "0.003"
                completion = t_change + 60 + rng.randrange(max(1, (old - new) // 2))
                completion_text = clock.local(completion, zone)
            elif profile == "short" and d < 0.7:
                # 7 days (the clamp) before a gap or fold wall time.
                completion = wall_to_epoch(target_wall - timedelta(days=7), tz)
                completion_text = clock.mixed(completion, zone, p_local=0.5, p_naive=0.0, p_naive_t=0.0)
            elif not gap and d < 0.5:
                # Completed inside the fold (either occurrence, by instant).
                completion = t_change - (old - new) + rng.randrange(2 * (old - new))
                completion_text = clock.mixed(completion, zone, p_local=0.5, p_naive=0.0, p_naive_t=0.0)
            else:
                # Completed within a day of the change (the due date keeps the local hour).
                completion = t_change + rng.randrange(-DAY, DAY)
                completion_text = clock.mixed(completion, zone, p_local=0.5, p_naive=0.0, p_naive_t=0.0)
        # Invalid rows (rejected): fallback out of range, unknown site.
        valid = True
        if rng.random() < 0.005 and not CLEAN:
            valid = False
            if rng.random() < 0.75:
                fallback_text = rng.choice(("0", "-5", "4000", "never"))
            else:
                site = "PLANT-MARS"
        w.row(f"{aid},{GROUPS[i % len(GROUPS)]},{site},{fallback_text},{completion_text}")
        if valid:
            assets.append({"id": aid, "zone": zone, "profile": profile, "fallback": fallback})
    w.close()
    return assets


def gen_failures(out, rng, clock, assets, n_events, as_of):
    w = Writer(os.path.join(out, "failures.csv"), "event_id,asset_id,event_type,started_at,ended_at")
    weights = []
    prof_w = {p[0]: p[2] for p in PROFILES}
    for a in assets:
        weights.append(prof_w[a["profile"]] * rng.uniform(0.3, 1.7))
    total = sum(weights) or 1.0
    quotas = [int(n_events * x / total) for x in weights]
    short = n_events - sum(quotas)
    for k in range(short if assets else 0):
        quotas[k % len(quotas)] += 1
    seq = 0
    written = 0

    def fmt(t, zone):
        return clock.mixed(t, zone, p_local=0.10, p_naive=0.05, p_naive_t=0.0)

    def kind_text(kind):
        r = rng.random()
        if r < 0.01:
            return kind.lower()
        if r < 0.015:
            return " " + kind.title() + " "
        return kind

    for a, quota in zip(assets, quotas):
        if quota <= 0:
            continue
        zone = a["zone"]
        profile = a["profile"]
        # Mean time between unplanned failures (hours) and the gap distribution.
        if profile == "short":
            mean = rng.uniform(50, 150)
        elif profile == "long":
            mean = rng.uniform(11_000, 25_000)
        else:
            mean = math.exp(rng.uniform(math.log(200), math.log(4000)))
        n_unplanned = max(2, int(quota * 0.45))
        mean = min(mean, MAX_FAILURE_SPAN_H / n_unplanned)
        rows = []  # (start epoch, kind, end epoch or None)
        t = as_of - int(mean * n_unplanned * HOUR * 1.02) - DAY
        single_done = False
        while len(rows) < quota:
            # Next unplanned failure.
            if profile == "variable":
                gap = rng.lognormvariate(math.log(mean) - 1.28, 1.6)
            else:
                gap = rng.gammavariate(4.0, mean / 4.0)
            gap_s = max(60, int(gap * HOUR))
            if profile in ("no_unplanned", "readings_only") or (profile == "single" and single_done):
                pass
            else:
                repair = rng.randrange(HOUR, 12 * HOUR) if rng.random() < 0.7 else None
                rows.append((t, "UNPLANNED", t + repair if repair else None))
                single_done = True
                if rng.random() < 0.003:
                    rows.append((t, "UNPLANNED", None))  # same start: a 0 h sample, discarded
                if rng.random() < 0.5:
                    cs = t + rng.randrange(600, 4 * HOUR)
                    rows.append((cs, "CORRECTIVE", cs + rng.randrange(HOUR, 8 * HOUR)))
            # Planned downtime inside the coming span (sometimes reaching past its end).
            if rng.random() < 0.6:
                ps = t + rng.randrange(gap_s)
                r = rng.random()
                if r < 0.15:
                    rows.append((ps, "PLANNED", None))
                elif r < 0.155:
                    if not CLEAN:
                        rows.append((ps, "PLANNED", ps - rng.randrange(HOUR, 5 * HOUR)))  # ends before start
                elif r < 0.16:
                    rows.append((t - HOUR, "PLANNED", t + gap_s + HOUR))  # covers the whole span
                else:
                    pe = ps + rng.randrange(2 * HOUR, 72 * HOUR)
                    rows.append((ps, "PLANNED", pe))
                    if rng.random() < 0.1:  # an overlapping second shutdown
                        qs = ps + rng.randrange(max(1, pe - ps))
                        rows.append((qs, "PLANNED", qs + rng.randrange(HOUR, 48 * HOUR)))
            if rng.random() < 0.3:
                rs = t + rng.randrange(gap_s)
                rows.append((rs, "SENSOR_RESET", None if rng.random() < 0.5 else rs + 300))
            t += gap_s
            if t >= as_of - HOUR:
                t = as_of - rng.randrange(HOUR, 30 * DAY)  # keep every event before as_of
        rows = rows[:quota]
        # Near time order, with a few local swaps (the reader must sort).
        for k in range(len(rows) - 1):
            if rng.random() < 0.05:
                rows[k], rows[k + 1] = rows[k + 1], rows[k]
        emitted = []
        for start, kind, end in rows:
            if written >= n_events:
                break
            r = rng.random()
            if r < 0.001 and emitted:
                eid, k0, s0, e0 = emitted[rng.randrange(len(emitted))]
                w.row(f"{eid},{a['id']},{k0},{clock.same_instant_other_form(s0, zone)},"
                      f"{'' if e0 is None else clock.z(e0)}")
                written += 1
                continue
            if r < 0.0015 and emitted:
                eid, k0, s0, e0 = emitted[rng.randrange(len(emitted))]
                if CLEAN:
                    continue
                other = "CORRECTIVE" if k0 != "CORRECTIVE" else "UNPLANNED"
                w.row(f"{eid},{a['id']},{other},{clock.z(s0)},{'' if e0 is None else clock.z(e0)}")
                written += 1
                continue
            seq += 1
            eid = f"F{seq:010d}"
            asset_id = a["id"]
            kt = kind_text(kind)
            st = fmt(start, zone)
            b = rng.random()
            if CLEAN:
                pass
            elif b < 0.0002:
                asset_id = "A-UNKNOWN-" + str(rng.randrange(100))
            elif b < 0.0004:
                kt = rng.choice(("INSPECTION", "UNPLANED", ""))
            elif b < 0.0005:
                st = rng.choice(("soon", "2024-02-30T10:00:00Z", ""))
            w.row(f"{eid},{asset_id},{kt},{st},{'' if end is None else fmt(end, zone)}")
            written += 1
            emitted.append((eid, kind, start, end))
            if len(emitted) > 200:
                emitted.pop(rng.randrange(len(emitted)))
    w.close()


def gen_readings(out, rng, clock, assets, as_of):
    w = Writer(os.path.join(out, "mtbf_readings.csv"), "asset_id,mtbf_hours,observed_at")
    for a in assets:
        # Assets whose interval the generator relies on (DST constructions) get no readings.
        if a["profile"] == "no_unplanned":
            continue
        if a["profile"] != "readings_only" and rng.random() > 0.08:
            continue
        base = rng.uniform(150, 5000)
        for _ in range(rng.randint(1, 6)):
            r = rng.random()
            if r < 0.1:
                h = rng.choice(("0.0", "-12.4", "0"))
            else:
                h = repr(round(base * rng.uniform(0.6, 1.4), 1))
            w.row(f"{a['id']},{h},{clock.z(as_of - rng.randrange(DAY, 700 * DAY))}")
    if not CLEAN:
        w.row(f"A-UNKNOWN-1,250.0,{clock.z(as_of - DAY)}")
    if assets and not CLEAN:
        w.row(f"{assets[0]['id']},NaN,{clock.z(as_of - DAY)}")
    w.close()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", required=True)
    ap.add_argument("--parts", type=int, default=2000)
    ap.add_argument("--assets", type=int, default=300)
    ap.add_argument("--consumption-events", type=int, default=200_000)
    ap.add_argument("--failure-events", type=int, default=100_000)
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--as-of", default="2025-06-01T00:00:00Z")
    ap.add_argument("--clean", action="store_true",
                    help="only valid rows (no deliberately rejected rows or conflicting re-deliveries)")
    args = ap.parse_args()
    global CLEAN
    CLEAN = args.clean
    as_of_dt = datetime.fromisoformat(args.as_of)
    if as_of_dt.tzinfo is None:
        as_of_dt = as_of_dt.replace(tzinfo=UTC)
    as_of = int(as_of_dt.timestamp())
    os.makedirs(args.out, exist_ok=True)

    rng = random.Random(args.seed)
    clock = Clock(rng)
    gen_sites(args.out)
    parts = gen_parts(args.out, rng, args.parts)
    skus = gen_sku_map(args.out, rng, parts)
    gen_consumption(args.out, rng, clock, parts, skus, args.consumption_events, as_of)
    assets = gen_assets(args.out, rng, clock, args.assets, as_of)
    gen_failures(args.out, rng, clock, assets, args.failure_events, as_of)
    gen_readings(args.out, rng, clock, assets, as_of)
    print(f"generate: wrote {args.out} (seed {args.seed}, as_of {iso_z(as_of)})")


if __name__ == "__main__":
    main()
