//! The import files of the generated site, as `cmms import` reads them (CSV, header first).

use super::*;

pub(crate) fn sites_csv() -> String {
    let mut out = String::from("site_id,timezone\n");
    for s in &SITES {
        let _ = writeln!(out, "{},{}", s.id, s.tz);
    }
    out
}

pub(crate) fn parts_csv(parts: &[Part]) -> String {
    let mut out = String::from(
        "part_id,description,unit,site_id,part_class,lead_time_days,baseline_min,baseline_reorder,baseline_max,\
         pack_size,min_order_qty\n",
    );
    let opt = |v: Option<f64>| v.map_or(String::new(), |v| v.to_string());
    for p in parts {
        let c = &CLASSES[p.class];
        let _ = writeln!(
            out,
            "{},{},{},{},{},{},{},{},{},{},{}",
            p.id,
            p.description,
            p.unit,
            SITES[p.site].id,
            c.name,
            p.lead,
            p.baseline.min,
            p.baseline.reorder,
            p.baseline.max,
            opt(p.pack_size),
            opt(p.min_order_qty)
        );
    }
    out
}

/// The SKU map, plus a legacy pair of ERP entries that differ only in case and name two parts.
pub(crate) fn sku_map_csv(parts: &[Part], rng: &mut SplitMix64) -> (String, (String, Vec<String>)) {
    let mut out = String::from("source,external_sku,part_id\n");
    for p in parts {
        let _ = writeln!(out, "{},{},{}", p.source, p.sku, p.id);
    }
    let a = pick_index(rng, parts, 0, None);
    let b = pick_index(rng, parts, 0, Some(a));
    let _ = writeln!(out, "ERP,AB-7731,{}", parts[a].id);
    let _ = writeln!(out, "ERP,ab-7731,{}", parts[b].id);
    let mut both = vec![parts[a].id.clone(), parts[b].id.clone()];
    both.sort();
    (out, ("ERP/Ab-7731".to_owned(), both))
}

pub(crate) fn local_text(ms: i64, tz: &TimeZone) -> String {
    match Timestamp::from_millisecond(ms) {
        Ok(t) => t.to_zoned(tz.clone()).strftime("%Y-%m-%dT%H:%M:%S%:z").to_string(),
        Err(_) => String::new(),
    }
}

pub(crate) fn utc_text(ms: i64) -> String {
    match Timestamp::from_millisecond(ms) {
        Ok(t) => t.strftime("%Y-%m-%dT%H:%M:%SZ").to_string(),
        Err(_) => String::new(),
    }
}

/// UTC without an offset, as some feeds write it (`2026-02-01 06:00:00`).
pub(crate) fn naive_utc_text(ms: i64) -> String {
    match Timestamp::from_millisecond(ms) {
        Ok(t) => t.strftime("%Y-%m-%d %H:%M:%S").to_string(),
        Err(_) => String::new(),
    }
}

pub(crate) fn qty(q: f64) -> String {
    if q.fract() == 0.0 { format!("{}", q as i64) } else { format!("{q}") }
}

pub(crate) fn assets_csv(assets: &[Asset], zones: &[TimeZone]) -> String {
    let mut out = String::from("asset_id,asset_group,site_id,fallback_interval_days,last_completion_at\n");
    for a in assets {
        let g = &GROUPS[a.group];
        // PMs are done at 07:00 local time.
        let done = a.last_completion.map_or(String::new(), |ms| {
            let day = ms - ms.rem_euclid(DAY_MS);
            Timestamp::from_millisecond(day)
                .ok()
                .and_then(|t| {
                    t.to_zoned(zones[a.site].clone()).date().at(7, 0, 0, 0).to_zoned(zones[a.site].clone()).ok()
                })
                .map_or(String::new(), |z| z.strftime("%Y-%m-%dT%H:%M:%S%:z").to_string())
        });
        let _ = writeln!(out, "{},{},{},{},{}", a.id, g.group, SITES[a.site].id, g.fallback_days, done);
    }
    out
}

pub(crate) fn asset_parts_csv(assets: &[Asset], parts: &[Part]) -> String {
    let mut out = String::from("asset_id,part_id,quantity\n");
    for a in assets {
        for (p, q) in &a.bom {
            let _ = writeln!(out, "{},{},{}", a.id, parts[*p].id, qty(*q));
        }
    }
    out
}

/// Failure logs of two years and vendor MTBF readings.
pub(crate) fn failure_logs(
    spec: &DemoSpec,
    assets: &[Asset],
    zones: &[TimeZone],
    rng: &mut SplitMix64,
    planted: &mut Planted,
) -> (String, String) {
    let as_of = spec.as_of.as_millisecond();
    let start = as_of - 730 * DAY_MS;
    let mut rows: Vec<(i64, String, &'static str, i64, Option<i64>)> = Vec::new();
    let no_data = assets.len() / 2;
    let erratic = assets.len() / 3;
    let new_assets = [assets.len() - 1, assets.len() - 2];
    planted.no_failure_data_asset = assets[no_data].id.clone();
    planted.erratic_asset = assets[erratic].id.clone();
    planted.new_assets = new_assets.iter().map(|&i| assets[i].id.clone()).collect();
    let mut readings = String::from("asset_id,mtbf_hours,observed_at\n");
    let mut bad_reading_left = 2;
    for (i, a) in assets.iter().enumerate() {
        if new_assets.contains(&i) {
            continue;
        }
        let g = &GROUPS[a.group];
        let (shape, scale) = if rng.chance(0.08) {
            (rng.uniform(0.6, 0.8), rng.log_uniform(400.0, 3000.0))
        } else {
            (rng.uniform(1.5, 3.5), rng.log_uniform(350.0, 4500.0))
        };
        // UNPLANNED failures (with repair time), some followed by CORRECTIVE work.
        if i != no_data {
            let mut t = start + (rng.weibull(shape, scale) * HOUR_MS as f64) as i64;
            let forced = [20.0, 2900.0, 40.0, 4100.0, 60.0, 3500.0, 30.0];
            let mut k = 0;
            while t < as_of - HOUR_MS * 12 {
                let repair = rng.range(1, 12) as i64 * HOUR_MS;
                rows.push((t, a.id.clone(), "UNPLANNED", t, Some(t + repair)));
                if rng.chance(0.3) {
                    let c = t + repair + HOUR_MS;
                    rows.push((c, a.id.clone(), "CORRECTIVE", c, Some(c + rng.range(1, 3) as i64 * HOUR_MS)));
                }
                let gap = if i == erratic {
                    k += 1;
                    forced[(k - 1) % forced.len()]
                } else {
                    rng.weibull(shape, scale).max(1.0)
                };
                t += (gap * HOUR_MS as f64) as i64;
            }
        }
        // PLANNED downtime around the manufacturer interval; a few never closed in the CMMS.
        let mut t = start + rng.range(1, u64::from(g.fallback_days)) as i64 * DAY_MS;
        while t < as_of - DAY_MS {
            let end = if rng.chance(0.03) { None } else { Some(t + rng.range(4, 16) as i64 * HOUR_MS) };
            rows.push((t, a.id.clone(), "PLANNED", t, end));
            t += (f64::from(g.fallback_days) * rng.uniform(0.8, 1.2)) as i64 * DAY_MS;
        }
        // Sensor resets: not failures.
        for _ in 0..rng.range(1, 6) {
            let t = start + rng.below(730 * 24) as i64 * HOUR_MS;
            rows.push((t, a.id.clone(), "SENSOR_RESET", t, None));
        }
        if matches!(g.group, "HVAC-CHILLERS" | "COMPRESSORS") && rng.chance(0.3) {
            for _ in 0..rng.range(2, 5) {
                let observed = as_of - rng.range(10, 700) as i64 * DAY_MS;
                let value = if bad_reading_left > 0 && rng.chance(0.3) {
                    bad_reading_left -= 1;
                    if bad_reading_left == 1 { 0.0 } else { -12.5 }
                } else {
                    (scale * rng.uniform(0.7, 1.3) * 10.0).round() / 10.0
                };
                let _ = writeln!(readings, "{},{},{}", a.id, value, utc_text(observed));
            }
        }
    }
    rows.sort_by(|x, y| (x.0, &x.1, x.2).cmp(&(y.0, &y.1, y.2)));
    let mut out = String::from("event_id,asset_id,event_type,started_at,ended_at\n");
    let site_of: BTreeMap<&str, usize> = assets.iter().map(|a| (a.id.as_str(), a.site)).collect();
    for (n, (_, asset, kind, started, ended)) in rows.iter().enumerate() {
        let site = site_of.get(asset.as_str()).copied().unwrap_or(0);
        // Berlin's CMMS writes local time with its offset; Sydney's writes UTC without one.
        let text = |ms: i64| if site == 0 { local_text(ms, &zones[0]) } else { naive_utc_text(ms) };
        let _ = writeln!(out, "F-{:06},{asset},{kind},{},{}", n + 1, text(*started), ended.map_or(String::new(), text));
    }
    let n = rows.len() + 1;
    let _ = writeln!(out, "F-{n:06},PUMP-BER-999,UNPLANNED,{},", utc_text(as_of - 40 * DAY_MS));
    planted.bad_rows.push(format!(
        "failures.csv: event F-{n:06} names asset PUMP-BER-999, decommissioned and not in the asset list"
    ));
    (out, readings)
}

/// The consumption feeds: the main file (sorted by time), and a retry file with identical copies
/// of some events, a conflicting copy, and events the WMS delivered late.
pub(crate) fn consumption_csv(parts: &[Part], rng: &mut SplitMix64, planted: &mut Planted) -> (String, String) {
    let mut events: Vec<(i64, usize, f64)> = Vec::new();
    for (i, p) in parts.iter().enumerate() {
        events.extend(p.events.iter().chain(&p.surge).map(|(at, q)| (*at, i, *q)));
    }
    events.sort_by(|a, b| (a.0, a.1).cmp(&(b.0, b.1)).then(a.2.total_cmp(&b.2)));
    let header = "event_id,source,external_sku,quantity,consumed_at\n";
    let mut main = String::from(header);
    let mut retry_copies = Vec::new();
    let mut late = String::new();
    let mut counters = BTreeMap::<&str, u64>::new();
    let line = |source: &'static str, sku: &str, q: f64, at: i64, counters: &mut BTreeMap<&str, u64>| {
        let n = counters.entry(source).or_default();
        *n += 1;
        format!("{source}-{:07},{source},{sku},{},{}\n", *n, qty(q), utc_text(at))
    };
    for (at, i, q) in &events {
        let p = &parts[*i];
        // Sydney's handheld terminals send lower-case SKUs now and then (they map after
        // normalisation).
        let sku = if p.site == 1 && rng.chance(0.05) { p.sku.to_lowercase() } else { p.sku.clone() };
        let row = line(p.source, &sku, *q, *at, &mut counters);
        if p.site == 1 && rng.chance(0.01) {
            late.push_str(&row);
            planted.late_events += 1;
        } else {
            if p.site == 0 && rng.chance(0.006) {
                retry_copies.push(row.clone());
            }
            main.push_str(&row);
        }
    }
    // SKUs nobody mapped yet, and the ambiguous legacy SKU.
    let last = events.last().map_or(0, |e| e.0);
    for (source, sku, n) in
        [("ERP", "10099901", 9), ("ERP", "10099902", 4), ("WMS", "S-NEW-0042", 6), ("ERP", "Ab-7731", 5)]
    {
        for k in 0..n {
            let at = last - (k + 1) * 5 * DAY_MS + 9 * HOUR_MS;
            main.push_str(&line(source, sku, (k % 3 + 1) as f64, at, &mut counters));
        }
        if sku != "Ab-7731" {
            planted.unmapped_skus.push(format!("{source}/{sku}"));
        }
    }
    // A return keyed as a negative consumption: rejected.
    let neg = line("ERP", &parts[0].sku, -2.0, last - DAY_MS, &mut counters);
    planted.bad_rows.push(format!(
        "consumption.csv: event {} has quantity -2 (a return keyed as consumption)",
        neg.split(',').next().unwrap_or_default()
    ));
    main.push_str(&neg);
    planted.duplicate_events = retry_copies.len();
    let mut retry = String::from(header);
    for r in &retry_copies {
        retry.push_str(r);
    }
    // One copy whose quantity differs from the first delivery: a conflicting duplicate.
    if let Some(first) = retry_copies.first() {
        let mut fields: Vec<String> = first.trim_end().split(',').map(str::to_owned).collect();
        if let Some(q) = fields.get_mut(3) {
            let changed = q.parse::<f64>().map_or(1.0, |v| v + 1.0);
            *q = qty(changed);
        }
        planted.bad_rows.push(format!(
            "consumption-retry.csv: event {} again with another quantity (DUPLICATE_CONFLICT: the first delivery wins)",
            fields[0]
        ));
        retry.push_str(&fields.join(","));
        retry.push('\n');
    }
    retry.push_str(&late);
    (main, retry)
}

/// Stock on hand now, per part: above the reorder point for most, below it for the short ones.
pub(crate) fn stock_levels(
    parts: &[Part],
    short: &BTreeSet<usize>,
    formulas: &FormulaSet,
    rng: &mut SplitMix64,
) -> Vec<f64> {
    parts
        .iter()
        .enumerate()
        .map(|(i, p)| {
            // A drifting part publishes its baseline as the fallback, in whole units.
            let fallback = p.units(formulas).whole_limits(p.baseline);
            let published = if p.computed == fallback || p.surge.is_empty() { p.computed } else { fallback };
            if short.contains(&i) {
                (published.reorder * rng.uniform(0.1, 0.6)).floor()
            } else {
                (published.reorder + (published.max - published.reorder) * rng.unit()).ceil() + 1.0
            }
        })
        .collect()
}

/// Two snapshots per part (3 days ago and 2 hours ago, the older one higher by what was consumed
/// in between), an implausible drop for one part; and the late file: identical re-deliveries and
/// sequences older than the applied one.
pub(crate) fn inventory_csv(
    parts: &[Part],
    stock: &[f64],
    dropped: usize,
    as_of: i64,
    rng: &mut SplitMix64,
    planted: &mut Planted,
) -> (String, String) {
    let header = "source,sequence_id,external_sku,on_hand,observed_at\n";
    let (t1, t2) = (as_of - 3 * DAY_MS, as_of - 2 * HOUR_MS);
    let mut first = String::new();
    let mut second = String::new();
    let mut late = String::from(header);
    for (i, p) in parts.iter().enumerate() {
        let used: f64 = p.events.iter().chain(&p.surge).filter(|(at, _)| *at >= t1 && *at < t2).map(|(_, q)| q).sum();
        let (s1, s2) = if i == dropped { (stock[i] + used + 40.0, 0.0) } else { (stock[i] + used, stock[i]) };
        let (q1, q2) = (20_000 + i as u64, 40_000 + i as u64);
        let _ = writeln!(first, "{},{q1},{},{},{}", p.source, p.sku, qty(s1), utc_text(t1));
        let row2 = format!("{},{q2},{},{},{}\n", p.source, p.sku, qty(s2), utc_text(t2));
        second.push_str(&row2);
        if i != dropped && rng.chance(0.01) {
            late.push_str(&row2);
            planted.duplicate_snapshots += 1;
        } else if i != dropped && rng.chance(0.01) {
            let _ =
                writeln!(late, "{},{},{},{},{}", p.source, 30_000 + i as u64, p.sku, qty(s1), utc_text(as_of - DAY_MS));
            planted.stale_snapshots += 1;
        }
    }
    (format!("{header}{first}{second}"), late)
}

/// Cycle counts: most match stock; one disagrees (routing for its part pauses); one label names
/// no part.
#[allow(clippy::too_many_arguments)]
pub(crate) fn scans_csv(
    parts: &[Part],
    stock: &[f64],
    short: &BTreeSet<usize>,
    paused: usize,
    dropped: usize,
    drifting: &[usize],
    as_of: i64,
    rng: &mut SplitMix64,
    planted: &mut Planted,
) -> String {
    let mut out = String::from("scan_id,scanner_id,code,counted_qty,scanned_at\n");
    let mut n = 0;
    let mut scan = |code: &str, counted: f64, out: &mut String, rng: &mut SplitMix64| {
        n += 1;
        let at = as_of - HOUR_MS + n * 20_000;
        let gun = rng.range(1, 9);
        let _ = writeln!(out, "SC-{n:05},GUN-{gun:02},{code},{},{}", qty(counted), utc_text(at));
        format!("SC-{n:05}")
    };
    for _ in 0..(parts.len() / 25) {
        let i = rng.below(parts.len() as u64) as usize;
        if short.contains(&i) || i == dropped || drifting.contains(&i) {
            continue;
        }
        scan(&parts[i].id, stock[i], &mut out, rng);
    }
    let id = scan(&parts[paused].id, stock[paused] + 12.0, &mut out, rng);
    planted.discrepant_scan = (id, parts[paused].id.clone());
    planted.unknown_scan_code = "LBL-7F3K9".to_owned();
    scan("LBL-7F3K9", 3.0, &mut out, rng);
    out
}
