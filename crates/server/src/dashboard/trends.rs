//! The overview's trend series, computed from the history the store keeps (pure: the handler
//! passes the rows and the dashboard's "now"): parts below their reorder point and open
//! procurement requests over time, PM completions on time and late per week, and MTBF per asset
//! group over time.

use std::collections::BTreeMap;

/// A day, in ms.
pub const DAY_MS: i64 = 86_400_000;

/// A week, in ms.
pub const WEEK_MS: i64 = 7 * DAY_MS;

/// The points of a series: `(epoch ms, value)` in time order.
pub type Points = Vec<(i64, f64)>;

/// Sample instants every `step` ms from `from` on, with `to` itself last.
pub fn samples(from: i64, to: i64, step: i64) -> Vec<i64> {
    let mut at: Vec<i64> = (0..).map(|k| from + k * step.max(1)).take_while(|t| *t < to).collect();
    at.push(to);
    at
}

/// Rows `(key, time, value)` sorted by key and time, grouped by key.
fn by_key(rows: &[(String, i64, f64)]) -> BTreeMap<&str, Vec<(i64, f64)>> {
    let mut out: BTreeMap<&str, Vec<(i64, f64)>> = BTreeMap::new();
    for (key, t, v) in rows {
        out.entry(key.as_str()).or_default().push((*t, *v));
    }
    out
}

/// The value in force at `t` of a time-ordered series: the latest at or before `t`.
fn at_or_before(series: &[(i64, f64)], t: i64) -> Option<f64> {
    let n = series.partition_point(|(s, _)| *s <= t);
    n.checked_sub(1).map(|i| series[i].1)
}

/// How many parts had on-hand stock below the reorder point in force at each of `at`. A part
/// counts from its first applied snapshot on; its first published reorder point counts back to
/// the start (the limit in force before its first record, as the part page draws it).
pub fn below_reorder(stock: &[(String, i64, f64)], reorder: &[(String, i64, f64)], at: &[i64]) -> Vec<(i64, f64)> {
    let stock = by_key(stock);
    let reorder = by_key(reorder);
    at.iter()
        .map(|&t| {
            let n = stock
                .iter()
                .filter(|(part, snaps)| {
                    let Some(limits) = reorder.get(*part) else { return false };
                    let limit = at_or_before(limits, t).unwrap_or(limits[0].1);
                    at_or_before(snaps, t).is_some_and(|on_hand| on_hand < limit)
                })
                .count();
            (t, n as f64)
        })
        .collect()
}

/// How many procurement requests `(created, closed)` were open at each of `at`.
pub fn open_requests(requests: &[(i64, Option<i64>)], at: &[i64]) -> Vec<(i64, f64)> {
    at.iter()
        .map(|&t| {
            let n = requests.iter().filter(|(created, closed)| *created <= t && closed.is_none_or(|c| c > t)).count();
            (t, n as f64)
        })
        .collect()
}

/// PM completions `(completed, due)` per week from `from`: the on-time ones (completed at or
/// before the due date) at each week's start, the late ones half a week later so the bars stand
/// side by side. Weeks without completions are left out.
pub fn pm_compliance(completions: &[(i64, i64)], from: i64) -> (Points, Points) {
    let mut weeks: BTreeMap<i64, (u32, u32)> = BTreeMap::new();
    for &(completed, due) in completions.iter().filter(|(c, _)| *c >= from) {
        let week = from + (completed - from) / WEEK_MS * WEEK_MS;
        let slot = weeks.entry(week).or_default();
        if completed <= due {
            slot.0 += 1;
        } else {
            slot.1 += 1;
        }
    }
    let on_time = weeks.iter().filter(|(_, n)| n.0 > 0).map(|(w, n)| (*w, f64::from(n.0))).collect();
    let late = weeks.iter().filter(|(_, n)| n.1 > 0).map(|(w, n)| (*w + WEEK_MS / 2, f64::from(n.1))).collect();
    (on_time, late)
}

/// MTBF in days per asset group over windows of `window` ms from `from` to `to`: the group's
/// asset-days in the window over its unplanned failures in it (a fleet estimate), at each
/// window's start. Windows without a failure are left out (no estimate), and so are groups
/// without any.
pub fn mtbf_by_group(
    failures: &[(String, i64)],
    assets: &BTreeMap<String, i64>,
    from: i64,
    to: i64,
    window: i64,
) -> Vec<(String, Vec<(i64, f64)>)> {
    let window = window.max(DAY_MS);
    let mut counts: BTreeMap<&str, BTreeMap<i64, u32>> = BTreeMap::new();
    for (group, started) in failures.iter().filter(|(_, t)| *t >= from && *t < to) {
        let start = from + (started - from) / window * window;
        *counts.entry(group.as_str()).or_default().entry(start).or_default() += 1;
    }
    counts
        .into_iter()
        .filter_map(|(group, windows)| {
            let n_assets = *assets.get(group)?;
            let points = windows
                .into_iter()
                .map(|(start, n)| {
                    let days = (start + window).min(to).saturating_sub(start) as f64 / DAY_MS as f64;
                    (start, n_assets as f64 * days / f64::from(n))
                })
                .collect();
            Some((group.to_owned(), points))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rows(r: &[(&str, i64, f64)]) -> Vec<(String, i64, f64)> {
        r.iter().map(|(k, t, v)| ((*k).to_owned(), *t, *v)).collect()
    }

    #[test]
    fn samples_step_from_the_start_and_end_at_now() {
        assert_eq!(samples(0, 25, 10), [0, 10, 20, 25]);
        assert_eq!(samples(0, 20, 10), [0, 10, 20]);
        assert_eq!(samples(5, 5, 10), [5]);
    }

    #[test]
    fn a_part_counts_below_reorder_while_its_stock_is_under_the_limit_in_force() {
        let stock = rows(&[("A", 10, 5.0), ("A", 30, 50.0), ("B", 20, 1.0), ("C", 0, 0.0)]);
        // A's first limit (20) holds back to the start; it rises to 60 at t=40. C has no limit.
        let reorder = rows(&[("A", 25, 20.0), ("A", 40, 60.0), ("B", 0, 2.0)]);
        let at = [0, 10, 20, 30, 40];
        assert_eq!(
            below_reorder(&stock, &reorder, &at),
            [(0, 0.0), (10, 1.0), (20, 2.0), (30, 1.0), (40, 2.0)],
            "before A's first snapshot it does not count; 50 < 60 from t=40"
        );
    }

    #[test]
    fn requests_are_open_from_creation_until_closed() {
        let requests = [(10, Some(30)), (20, None), (40, Some(40))];
        assert_eq!(
            open_requests(&requests, &[0, 10, 25, 30, 40]),
            [(0, 0.0), (10, 1.0), (25, 2.0), (30, 1.0), (40, 1.0)]
        );
    }

    #[test]
    fn completions_split_into_on_time_and_late_per_week() {
        let from = 1_000;
        let completions = [
            (from + 1, from + 5),            // week 0, on time
            (from + DAY_MS, from + DAY_MS),  // week 0, on time (at the due instant)
            (from + 2 * DAY_MS, from),       // week 0, late
            (from + WEEK_MS + 1, from),      // week 1, late
            (from - 1, from + 10 * WEEK_MS), // before the start: not counted
        ];
        let (on_time, late) = pm_compliance(&completions, from);
        assert_eq!(on_time, [(from, 2.0)]);
        assert_eq!(late, [(from + WEEK_MS / 2, 1.0), (from + WEEK_MS + WEEK_MS / 2, 1.0)]);
    }

    #[test]
    fn mtbf_per_group_is_asset_days_over_failures() {
        let assets = BTreeMap::from([("PUMPS".to_owned(), 10), ("FANS".to_owned(), 3), ("IDLE".to_owned(), 4)]);
        let failures = vec![
            ("PUMPS".to_owned(), 0),
            ("PUMPS".to_owned(), 5 * DAY_MS),
            ("PUMPS".to_owned(), 31 * DAY_MS),
            ("FANS".to_owned(), 45 * DAY_MS),
            ("FANS".to_owned(), 90 * DAY_MS), // at `to`: outside
        ];
        let out = mtbf_by_group(&failures, &assets, 0, 90 * DAY_MS, 30 * DAY_MS);
        assert_eq!(
            out,
            [
                ("FANS".to_owned(), vec![(30 * DAY_MS, 90.0)]),
                ("PUMPS".to_owned(), vec![(0, 150.0), (30 * DAY_MS, 300.0)]),
            ]
        );
    }
}
