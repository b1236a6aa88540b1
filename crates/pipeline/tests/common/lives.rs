//! Failure logs built from known lives, for the `weibull_cost` tests of both test binaries.

use jiff::{SignedDuration, Timestamp};

/// The header of a `failures.csv` with the optional `component` column.
pub const FAILURES_HEADER: &str = "event_id,asset_id,event_type,started_at,ended_at,component\n";

/// A unit's lives in order: hours, and whether the life ended in a failure (else a suspension).
pub type Lives = Vec<(f64, bool)>;

/// 40 lives at the quantiles `(i − 0.5) / 40` of a Weibull(`beta`, `scale_hours`), every fourth
/// ended by a planned replacement (a suspension), the others by a failure.
pub fn quantile_lives(beta: f64, scale_hours: f64) -> Lives {
    (1..=40).map(|i| (scale_hours * (-(1.0 - (f64::from(i) - 0.5) / 40.0).ln()).powf(1.0 / beta), i % 4 != 0)).collect()
}

/// The hours of `lives` together.
pub fn total_hours(lives: &[(f64, bool)]) -> f64 {
    lives.iter().map(|l| l.0).sum()
}

/// `failures.csv` rows (with [`FAILURES_HEADER`]'s columns) of one unit's lives from `start`: each
/// life ends `UNPLANNED` or, suspended, `PLANNED_REPLACEMENT`; ids `{asset}-{component}-{n}`,
/// `n` from 1.
pub fn renewal_rows(asset: &str, component: &str, start: Timestamp, lives: &[(f64, bool)]) -> String {
    let mut t = start;
    let mut rows = String::new();
    for (i, &(hours, failed)) in lives.iter().enumerate() {
        t += SignedDuration::from_secs_f64(hours * 3600.0);
        let kind = if failed { "UNPLANNED" } else { "PLANNED_REPLACEMENT" };
        rows.push_str(&format!("{asset}-{component}-{},{asset},{kind},{t},,{component}\n", i + 1));
    }
    rows
}

/// `failures.csv` rows of an asset whose record starts with a replacement of the whole asset,
/// then `lives`, and ends 10 h before `as_of`.
pub fn asset_rows(asset: &str, as_of: Timestamp, lives: &[(f64, bool)]) -> String {
    let start = as_of - SignedDuration::from_secs_f64((total_hours(lives) + 10.0) * 3600.0);
    format!("{asset}-0,{asset},PLANNED_REPLACEMENT,{start},,\n{}", renewal_rows(asset, "", start, lives))
}

/// The failure log of the shared `weibull_cost` fixture: WEAR wears out (Weibull(3, 500 h)
/// quantiles), FEW has two failures (pooled with WEAR's group), RAND fails at random (exponential
/// quantiles); each record starts with a replacement and ends 10 h before `as_of`.
pub fn wear_few_rand(as_of: Timestamp) -> String {
    let wear = wearing_out();
    let mut random = quantile_lives(1.0, 500.0);
    random.swap(5, 33);
    let few = [(480.0, true), (300.0, false), (520.0, true)];
    [
        FAILURES_HEADER.to_owned(),
        asset_rows("WEAR", as_of, &wear),
        asset_rows("FEW", as_of, &few),
        asset_rows("RAND", as_of, &random),
    ]
    .concat()
}

/// 40 lives that wear out (Weibull(3, 500 h) quantiles), two of them swapped so that the order is
/// not sorted.
pub fn wearing_out() -> Lives {
    let mut lives = quantile_lives(3.0, 500.0);
    lives.swap(3, 30);
    lives
}

/// The units of the component fixture: a bearing that wears out ([`wearing_out`]) and a fan that
/// fails at random (exponential quantiles, 480 h), with the start of a record long enough for
/// both that ends 10 h before `as_of`.
pub fn bearing_and_fan(as_of: Timestamp) -> (Lives, Lives, Timestamp) {
    let bearing = wearing_out();
    let mut fan = quantile_lives(1.0, 480.0);
    fan.swap(5, 33);
    let longest = total_hours(&bearing).max(total_hours(&fan));
    (bearing, fan, as_of - SignedDuration::from_secs_f64((longest + 10.0) * 3600.0))
}
