//! The Backtest page: the latest report `cmms backtest` saved (docs/cli.md#backtest) — per
//! policy and class the fill rate, stock and orders, and the fill-rate / stock frontier as a plot
//! (one curve per policy, the current policy marked) and a table.
//!
//! The report is stored as the JSON the command prints; the page reads the fields it shows and
//! leaves out what it cannot read, so a report of an older or newer build still shows.

use super::html::{num, utc};
use super::plots::{Plot, XySeries, XyStyle, xy_plot};
use super::{PageResult, Shell, Viewer, internal, render};
use crate::AppState;
use askama::Template;
use axum::extract::State;
use serde_json::Value;

/// Curve colours, in policy order after the first (the first, the reference, is black).
const COLORS: [&str; 6] = ["#1d4e89", "#e76f51", "#2a9d8f", "#8e44ad", "#e9c46a", "#6b7785"];

/// One row of the per-policy table.
struct SummaryLine {
    policy: String,
    class: String,
    /// The row of a policy's totals (drawn in bold).
    total: bool,
    fill_rate: String,
    cycle_service_level: String,
    avg_on_hand: String,
    orders: String,
    cost: String,
}

/// One row of the frontier table.
struct FrontierLine {
    policy: String,
    knob: String,
    same_stock: String,
    same_stock_orders: String,
    same_fill: String,
    same_fill_orders: String,
}

/// What the saved report says about the run.
struct Header {
    saved: String,
    source: String,
    id: i64,
    what: String,
}

#[derive(Template)]
#[template(path = "backtest.html")]
struct BacktestPage<'a> {
    shell: Shell<'a>,
    header: Option<Header>,
    reference: String,
    rows: Vec<SummaryLine>,
    frontier: Vec<FrontierLine>,
    plot: Option<Plot>,
}

fn pct(v: Option<f64>) -> String {
    v.map_or_else(|| "—".to_owned(), |v| format!("{:.2} %", 100.0 * v))
}

fn f(v: &Value, key: &str) -> Option<f64> {
    v.get(key).and_then(Value::as_f64)
}

fn text(v: &Value, key: &str) -> String {
    match v.get(key) {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Null) | None => "—".to_owned(),
        Some(other) => other.to_string(),
    }
}

fn summary_line(policy: &str, class: &str, total: bool, s: &Value) -> SummaryLine {
    SummaryLine {
        policy: policy.to_owned(),
        class: class.to_owned(),
        total,
        fill_rate: pct(f(s, "fill_rate")),
        cycle_service_level: pct(f(s, "cycle_service_level")),
        avg_on_hand: num(f(s, "avg_on_hand")),
        orders: num(f(s, "orders_per_part_year")),
        cost: num(f(s, "cost_per_part_year")),
    }
}

/// The table rows of a report: per policy its totals, then per demand class and per part class.
fn summary_lines(report: &Value) -> Vec<SummaryLine> {
    let mut out = Vec::new();
    for p in report.get("policies").and_then(Value::as_array).into_iter().flatten() {
        let name = text(p, "name");
        if let Some(s) = p.get("summary") {
            out.push(summary_line(&name, "all parts", true, s));
        }
        for (key, label) in [("by_demand_class", "demand class"), ("by_part_class", "part class")] {
            for (class, s) in p.get(key).and_then(Value::as_object).into_iter().flatten() {
                out.push(summary_line(&name, &format!("{label} {class}"), false, s));
            }
        }
    }
    out
}

/// The frontier rows, against the reference's fill rate and stock.
fn frontier_lines(report: &Value, seed: &Value) -> Vec<FrontierLine> {
    let (fill, stock) = (f(seed, "fill_rate"), f(seed, "avg_on_hand"));
    let point = |p: Option<&Value>, value: &dyn Fn(&Value) -> String| {
        p.map_or((String::from("—"), String::from("—")), |p| {
            let s = p.get("summary").unwrap_or(&Value::Null);
            let reached = if p.get("reached").and_then(Value::as_bool) == Some(false) { " (range end)" } else { "" };
            (
                format!(
                    "{} → {}{reached}",
                    num(f(p, "knob_value").map(|k| (k * 10_000.0).round() / 10_000.0)),
                    value(s)
                ),
                num(f(s, "orders_per_part_year")),
            )
        })
    };
    report
        .get("frontier")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .map(|r| {
            let (same_stock, same_stock_orders) = point(r.get("at_seed_stock"), &|s| {
                let points = f(s, "fill_rate").zip(fill).map(|(a, b)| format!(" ({:+.2} points)", 100.0 * (a - b)));
                format!("fill rate {}{}", pct(f(s, "fill_rate")), points.unwrap_or_default())
            });
            let (same_fill, same_fill_orders) = point(r.get("at_seed_fill_rate"), &|s| {
                let change = f(s, "avg_on_hand")
                    .zip(stock)
                    .filter(|(_, b)| *b > 0.0)
                    .map(|(a, b)| format!(" ({:+.1} %)", 100.0 * (a / b - 1.0)));
                format!("avg stock {}{}", num(f(s, "avg_on_hand")), change.unwrap_or_default())
            });
            FrontierLine {
                policy: text(r, "policy"),
                knob: text(r, "knob").replace('_', " "),
                same_stock,
                same_stock_orders,
                same_fill,
                same_fill_orders,
            }
        })
        .collect()
}

/// The frontier plot: fill rate (%) against average stock, a curve per policy from the knob
/// values the frontier search replayed, each policy's point as configured, the reference marked.
fn frontier_plot(report: &Value) -> Option<Plot> {
    let policies = report.get("policies").and_then(Value::as_array)?;
    let at = |s: &Value| f(s, "avg_on_hand").zip(f(s, "fill_rate").map(|v| 100.0 * v));
    let mut series = Vec::new();
    for (i, r) in report.get("frontier").and_then(Value::as_array).into_iter().flatten().enumerate() {
        let points: Vec<(f64, f64)> =
            r.get("curve").and_then(Value::as_array).into_iter().flatten().filter_map(at).collect();
        let color = COLORS[i % COLORS.len()];
        let name = text(r, "policy");
        if let Some(p) = policies.iter().find(|p| text(p, "name") == name).and_then(|p| p.get("summary")).and_then(at) {
            series.push(XySeries {
                label: format!("{name} as configured"),
                color,
                style: XyStyle::Points,
                points: vec![p],
            });
        }
        series.push(XySeries { label: name, color, style: XyStyle::Line, points });
    }
    let seed = policies.first()?;
    let point = seed.get("summary").and_then(at)?;
    series.push(XySeries {
        label: format!("{} (reference)", text(seed, "name")),
        color: "#000",
        style: XyStyle::Points,
        points: vec![point],
    });
    let x_max = series.iter().flat_map(|s| s.points.iter().map(|p| p.0)).filter(|v| v.is_finite()).fold(0.0, f64::max);
    Some(xy_plot("Fill rate against average stock per policy", "", "fill rate (%)", x_max * 1.05, &series))
}

/// `GET /backtest`: the latest saved backtest report.
pub(super) async fn backtest(viewer: Viewer, State(state): State<AppState>) -> PageResult {
    let saved = state.store.latest_backtest_report().await.map_err(internal)?;
    let Some(row) = saved else {
        return Ok(render(&BacktestPage {
            shell: viewer.shell("Backtest", "/backtest"),
            header: None,
            reference: String::new(),
            rows: Vec::new(),
            frontier: Vec::new(),
            plot: None,
        }));
    };
    let report: Value = serde_json::from_str(&row.report).map_err(internal)?;
    let review = match report.get("review") {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Object(o)) => o.get("days").map_or_else(|| "—".to_owned(), |d| format!("every {d} days")),
        _ => "—".to_owned(),
    };
    let what = format!(
        "{} parts, {} reviews ({review}) from {} to before {}, {} days simulated, {}{}",
        text(&report, "parts"),
        text(&report, "reviews"),
        text(&report, "start"),
        text(&report, "end"),
        text(&report, "simulated_days"),
        if report.get("backorders").and_then(Value::as_bool) == Some(true) { "backorders" } else { "lost sales" },
        if report.get("whole_units").and_then(Value::as_bool) == Some(true) { ", whole units" } else { "" },
    );
    let seed = report.pointer("/policies/0").cloned().unwrap_or(Value::Null);
    let reference = text(&seed, "name");
    let seed_summary = seed.get("summary").cloned().unwrap_or(Value::Null);
    Ok(render(&BacktestPage {
        shell: viewer.shell("Backtest", "/backtest"),
        header: Some(Header { saved: utc(row.created_at), source: row.source, id: row.id, what }),
        reference,
        rows: summary_lines(&report),
        frontier: frontier_lines(&report, &seed_summary),
        plot: frontier_plot(&report),
    }))
}
