//! The inventory side of the dashboard: the overview, parts against their thresholds (with
//! plots), procurement requests, alerts, the quarantine queue and dead letters.

use super::html::{count, num, utc};
use super::plots::{Plot, Series, Style, time_plot};
use super::{Flash, PageResult, Shell, Unknown, Viewer, cut_page, internal, page, render};
use crate::AppState;
use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use cmms_core::work_order::WoState as S;
use cmms_pipeline::{inventory, thresholds};
use cmms_store::codes::{AlertKind, RequestStatus, SnapshotStatus, ThresholdBasis};
use cmms_store::inventory::{PartOverview, QuarantineRow};
use cmms_store::outbox::DeadLetterRow;
use cmms_store::thresholds::ThresholdHistoryRow;
use std::collections::BTreeMap;

/// A count on the overview, linking to the page behind it.
struct Card {
    label: String,
    /// The count with thousands separators.
    value: String,
    href: &'static str,
    /// Drawn as a warning (set only when the count is not zero).
    warn: bool,
}

impl Card {
    fn new(label: impl Into<String>, value: i64, href: &'static str, warn: bool) -> Self {
        Card { label: label.into(), value: count(value), href, warn: warn && value > 0 }
    }
}

/// A trend plot of the overview, or why there is nothing to draw.
struct Trend {
    heading: &'static str,
    plot: Option<Plot>,
    note: String,
}

/// Colours of series that have no colour of their own (asset groups), in turn.
const PALETTE: [&str; 8] = ["#264653", "#e76f51", "#2a9d8f", "#e9c46a", "#457b9d", "#9b5de5", "#f4a261", "#6a994e"];

/// A titled row of cards.
struct Section {
    heading: &'static str,
    cards: Vec<Card>,
}

#[derive(Template)]
#[template(path = "overview.html")]
struct OverviewPage<'a> {
    shell: Shell<'a>,
    sections: Vec<Section>,
    trends: Vec<Trend>,
}

/// The overview's trend plots over the last 26 weeks (MTBF: the last 12 months) up to the
/// dashboard's now; the last point of the stock and procurement trend is the current figure, as
/// on the cards.
async fn trends(state: &AppState, below_now: i64, open_now: i64) -> Result<Vec<Trend>, cmms_store::StoreError> {
    use super::trends::{DAY_MS, WEEK_MS, below_reorder, mtbf_by_group, open_requests, pm_compliance, samples};
    let now = state.dashboard.now_ms();
    let from = now - 26 * WEEK_MS;
    let year = now - 360 * DAY_MS;
    let data = state.store.trend_data(year.min(from)).await?;
    let at = samples(from, now, WEEK_MS);
    let mut below = below_reorder(&data.stock, &data.reorder, &at);
    let mut open = open_requests(&data.procurement, &at);
    if let (Some(b), Some(o)) = (below.last_mut(), open.last_mut()) {
        b.1 = below_now as f64;
        o.1 = open_now as f64;
    }
    let stock = time_plot(
        "parts below reorder and open procurement requests, weekly",
        "count",
        from,
        now,
        &[
            Series { label: "parts below reorder".into(), color: "#e76f51", style: Style::Step, points: below },
            Series { label: "open procurement requests".into(), color: "#264653", style: Style::Step, points: open },
        ],
    );
    let (on_time, late) = pm_compliance(&data.completions, from);
    let done = on_time.len() + late.len();
    let compliance = (done > 0).then(|| {
        time_plot(
            "PM work orders completed on time and late, per week",
            "completed",
            from,
            now,
            &[
                Series { label: "on time".into(), color: "#2a9d8f", style: Style::Bars, points: on_time },
                Series { label: "late".into(), color: "#e63946", style: Style::Bars, points: late },
            ],
        )
    });
    let groups = mtbf_by_group(&data.failures, &data.assets_per_group, year, now, 30 * DAY_MS);
    let mtbf = (!groups.is_empty()).then(|| {
        let series: Vec<Series> = groups
            .into_iter()
            .zip(PALETTE.iter().copied().cycle())
            .map(|((group, points), color)| Series { label: group, color, style: Style::Step, points })
            .collect();
        time_plot("MTBF per asset group, per 30 days (asset-days over unplanned failures)", "days", year, now, &series)
    });
    Ok(vec![
        Trend { heading: "Stock and procurement", plot: Some(stock), note: String::new() },
        Trend {
            heading: "PM compliance",
            plot: compliance,
            note: "No PM work order was completed in the last 26 weeks.".into(),
        },
        Trend {
            heading: "MTBF per asset group",
            plot: mtbf,
            note: "No unplanned failure in the last 12 months.".into(),
        },
    ])
}

/// Lower case with spaces: `MATERIAL_PENDING` reads `material pending`.
fn words(name: &str) -> String {
    name.to_lowercase().replace('_', " ")
}

pub(super) async fn overview(viewer: Viewer, State(state): State<AppState>) -> PageResult {
    let o = state.store.overview().await.map_err(internal)?;
    let open_requests = o.procurement.get(&RequestStatus::Open).copied().unwrap_or(0);
    let trends = trends(&state, o.parts_below_reorder, open_requests).await.map_err(internal)?;
    let inventory = vec![
        Card::new("parts", o.parts, "/parts?all=1", false),
        Card::new("with thresholds", o.parts_with_thresholds, "/parts?all=1", false),
        Card::new("below reorder", o.parts_below_reorder, "/parts", true),
        Card::new("paused by a scan", o.parts_paused, "/alerts", true),
        Card::new("open procurement requests", open_requests, "/procurement", false),
    ];
    let mut validation: Vec<Card> = o
        .snapshots
        .iter()
        .map(|(status, n)| {
            Card::new(format!("snapshots {}", words(status.as_str())), *n, "/alerts", *status == SnapshotStatus::Held)
        })
        .collect();
    validation.push(Card::new("consumption events", o.consumption_events, "/parts", false));
    validation.push(Card::new("unmapped events", o.consumption_unmapped, "/quarantine", true));
    validation.push(Card::new("quarantined SKUs", o.quarantine_open, "/quarantine", true));
    validation.extend(
        o.alerts.iter().map(|(kind, n)| Card::new(format!("{} alerts", words(kind.as_str())), *n, "/alerts", true)),
    );
    let mut work_orders: Vec<Card> =
        [S::Scheduled, S::MaterialPending, S::Released, S::InProgress, S::Completed, S::Cancelled]
            .into_iter()
            .map(|s| {
                let n = o.work_orders.get(&s).copied().unwrap_or(0);
                Card::new(words(s.as_str()), n, "/work-orders", s == S::MaterialPending)
            })
            .collect();
    work_orders.push(Card::new("assets", o.assets, "/assets", false));
    let mut publication: Vec<Card> = o
        .outbox
        .iter()
        .map(|(status, n)| Card::new(format!("outbox {}", words(status.as_str())), *n, "/dlq", false))
        .collect();
    publication.push(Card::new("dead letters", o.dead_letters, "/dlq", true));
    Ok(render(&OverviewPage {
        shell: viewer.shell("Overview", "/"),
        sections: vec![
            Section { heading: "Inventory", cards: inventory },
            Section { heading: "Validation", cards: validation },
            Section { heading: "Work orders", cards: work_orders },
            Section { heading: "Publication", cards: publication },
        ],
        trends,
    }))
}

/// The stock bar of a part: available stock and the reorder point against max, 160 px wide.
struct StockBar {
    available: String,
    reorder: String,
    fill: &'static str,
}

/// One row of the parts table.
struct PartLine {
    part: PartOverview,
    short: bool,
    available: String,
    min: String,
    reorder: String,
    max: String,
    basis: String,
    paused: String,
    bar: Option<StockBar>,
}

impl From<PartOverview> for PartLine {
    fn from(p: PartOverview) -> Self {
        let short = matches!((p.available, p.reorder), (Some(a), Some(r)) if a < r);
        let bar = match (p.available, p.reorder, p.max) {
            (Some(a), Some(r), Some(m)) if m > 0.0 => {
                let scale = |v: f64| format!("{:.1}", (v / m * 160.0).clamp(0.0, 160.0));
                Some(StockBar {
                    available: scale(a),
                    reorder: scale(r),
                    fill: if short { "#e76f51" } else { "#2a9d8f" },
                })
            }
            _ => None,
        };
        PartLine {
            short,
            available: num(p.available),
            min: num(p.min),
            reorder: num(p.reorder),
            max: num(p.max),
            basis: p.basis.map_or("—", ThresholdBasis::as_str).to_owned(),
            paused: p.paused_reason.clone().unwrap_or_default(),
            bar,
            part: p,
        }
    }
}

#[derive(Template)]
#[template(path = "parts.html")]
struct PartsPage<'a> {
    shell: Shell<'a>,
    all: bool,
    lines: Vec<PartLine>,
}

pub(super) async fn parts(viewer: Viewer, State(state): State<AppState>, Query(flash): Query<Flash>) -> PageResult {
    let all = flash.all.is_some();
    let rows = state.store.parts_overview(!all).await.map_err(internal)?;
    let title = if all { "All parts" } else { "Parts below reorder" };
    Ok(render(&PartsPage {
        shell: viewer.shell(title, "/parts"),
        all,
        lines: rows.into_iter().map(PartLine::from).collect(),
    }))
}

/// One entry of a part's threshold history.
struct HistoryLine {
    at: String,
    sequence_id: i64,
    origin: String,
    what: String,
    min: String,
    reorder: String,
    max: String,
    avg_daily_usage: String,
    method: String,
}

/// How a computed history row got its numbers, in words: the method, and for the demand-driven
/// methods the demand class and the forecast figures.
fn method_text(h: &ThresholdHistoryRow) -> String {
    let Some(method) = &h.method else { return String::new() };
    let Some(p) = &h.policy else { return method.clone() };
    let f =
        |k: &str| p.get(k).and_then(serde_json::Value::as_f64).map_or_else(|| "-".to_owned(), |v| format!("{v:.3}"));
    let kind = p.get("service_level_kind").and_then(serde_json::Value::as_str).unwrap_or("");
    format!(
        "{method} (demand class {}, ADI {}, CV² {}): forecast {}/day, lead-time demand {} ± {}, z {} for {} {kind}, order quantity {}",
        h.demand_class.as_deref().unwrap_or("-"),
        f("adi"),
        f("cv2"),
        f("forecast_daily"),
        f("lead_time_demand"),
        f("sigma"),
        f("z"),
        f("service_level"),
        f("order_qty"),
    )
}

impl From<&ThresholdHistoryRow> for HistoryLine {
    fn from(h: &ThresholdHistoryRow) -> Self {
        let limit = |i: usize| num(h.published.map(|l| l[i]));
        HistoryLine {
            at: utc(h.at),
            sequence_id: h.sequence_id,
            origin: h.origin.as_str().to_owned(),
            what: match &h.reason {
                Some(why) => format!("{} / {}: {why}", h.basis, h.status),
                None => format!("{} / {}", h.basis, h.status),
            },
            min: limit(0),
            reorder: limit(1),
            max: limit(2),
            avg_daily_usage: num(h.avg_daily_usage),
            method: h.method.clone().unwrap_or_default(),
        }
    }
}

/// Computed thresholds waiting for an operator's approval (drift), for the part page.
struct PendingView {
    computed: String,
    in_force: String,
    since: String,
}

/// Why routing for a part is paused, with the scan that paused it (when a scan did).
struct PauseView {
    reason: String,
    scan: Option<ScanView>,
}

/// The discrepant scan behind a pause.
struct ScanView {
    scan_id: String,
    counted: String,
    system: String,
    scanned: String,
}

#[derive(Template)]
#[template(path = "part.html")]
struct PartPage<'a> {
    shell: Shell<'a>,
    flash: Flash,
    can_operate: bool,
    pending: Option<PendingView>,
    pause: Option<PauseView>,
    part: PartOverview,
    lead_time: String,
    available: String,
    min: String,
    reorder: String,
    max: String,
    basis: String,
    stock_plot: Plot,
    usage_plot: Plot,
    history: Vec<HistoryLine>,
    /// How the latest computation got its numbers (empty before the first).
    method: String,
}

pub(super) async fn part(
    viewer: Viewer,
    State(state): State<AppState>,
    Path(part_id): Path<String>,
    Query(flash): Query<Flash>,
) -> PageResult {
    let Some(p) = state.store.part_overview(&part_id).await.map_err(internal)? else {
        let shell = viewer.shell("Unknown part", "/parts");
        return Err(page(
            StatusCode::NOT_FOUND,
            &Unknown { shell, heading: "Unknown part", text: format!("No part {part_id:?}.") },
        ));
    };
    let triple = |a: f64, b: f64, c: f64| format!("{} / {} / {}", num(Some(a)), num(Some(b)), num(Some(c)));
    let pending = state.store.pending_approval(&part_id).await.map_err(internal)?.map(|a| PendingView {
        computed: triple(a.computed_min, a.computed_reorder, a.computed_max),
        in_force: triple(a.min, a.reorder, a.max),
        since: utc(a.since),
    });
    let pause = match p.paused_reason.as_deref() {
        Some(reason) => {
            let scan = match scan_of_pause(reason) {
                Some(scan_id) => {
                    state.store.pausing_scan(&part_id).await.map_err(internal)?.map(|(counted, system, at)| ScanView {
                        scan_id: scan_id.to_owned(),
                        counted: num(Some(counted)),
                        system: num(Some(system)),
                        scanned: utc(at),
                    })
                }
                None => None,
            };
            Some(PauseView { reason: reason.to_owned(), scan })
        }
        None => None,
    };
    let now = state.dashboard.now_ms();
    let from = now - 365 * 86_400_000;
    let mut history = state.store.threshold_history(&part_id, 1000).await.map_err(internal)?;
    history.reverse();
    let stock = state.store.stock_history(&part_id).await.map_err(internal)?;
    let usage = state.store.consumption_daily(&part_id, from, now).await.map_err(internal)?;
    let limit = |i: usize| history.iter().filter_map(|h| h.published.map(|l| (h.at, l[i]))).collect::<Vec<_>>();
    let first = [stock.first().map(|s| s.0), usage.first().map(|u| u.0), history.first().map(|h| h.at)]
        .into_iter()
        .flatten()
        .min()
        .unwrap_or(from)
        .min(now - 30 * 86_400_000);
    let stock_plot = time_plot(
        &format!("stock and thresholds of {part_id}"),
        "units",
        first,
        now,
        &[
            Series { label: "on hand".into(), color: "#264653", style: Style::Step, points: stock },
            Series { label: "min".into(), color: "#e9c46a", style: Style::StepFromStart, points: limit(0) },
            Series { label: "reorder".into(), color: "#e76f51", style: Style::StepFromStart, points: limit(1) },
            Series { label: "max".into(), color: "#2a9d8f", style: Style::StepFromStart, points: limit(2) },
        ],
    );
    let usage_plot = time_plot(
        &format!("daily consumption of {part_id}"),
        "units/day",
        first,
        now,
        &[Series { label: "consumed".into(), color: "#457b9d", style: Style::Bars, points: usage }],
    );
    Ok(render(&PartPage {
        shell: viewer.shell(part_id.clone(), "/parts"),
        flash,
        can_operate: viewer.can_operate(),
        pending,
        pause,
        lead_time: num(Some(p.lead_time_days)),
        available: num(p.available),
        min: num(p.min),
        reorder: num(p.reorder),
        max: num(p.max),
        basis: p.basis.map_or("no thresholds yet", ThresholdBasis::as_str).to_owned(),
        part: p,
        stock_plot,
        usage_plot,
        method: history.iter().rev().find(|h| h.method.is_some()).map(method_text).unwrap_or_default(),
        history: history.iter().rev().take(50).map(HistoryLine::from).collect(),
    }))
}

/// One procurement request.
struct ProcurementLine {
    id: i64,
    open: bool,
    part_id: String,
    quantity: String,
    status: String,
    reason: String,
    updated: String,
}

#[derive(Template)]
#[template(path = "procurement.html")]
struct ProcurementPage<'a> {
    shell: Shell<'a>,
    rows: Vec<ProcurementLine>,
}

pub(super) async fn procurement(viewer: Viewer, State(state): State<AppState>) -> PageResult {
    let rows = state.store.procurement_requests(None).await.map_err(internal)?;
    let rows = rows
        .into_iter()
        .map(|r| ProcurementLine {
            id: r.id,
            open: r.status == RequestStatus::Open,
            quantity: num(Some(r.quantity)),
            updated: utc(r.updated_at),
            part_id: r.part_id,
            status: r.status.as_str().to_owned(),
            reason: r.reason,
        })
        .collect();
    Ok(render(&ProcurementPage { shell: viewer.shell("Procurement", "/procurement"), rows }))
}

/// A form button on an alert: posts to `{before}{id}{after}` (the id percent-encoded).
struct AlertAction {
    before: &'static str,
    id: String,
    after: &'static str,
    label: String,
}

/// One open alert, with the button that settles it when the viewer may act.
struct AlertLine {
    kind: String,
    subject: String,
    message: String,
    raised: String,
    action: Option<AlertAction>,
}

/// Open alerts per page of the alerts list: a first recompute over a large feed can raise a drift
/// alert for most parts (215,695 of 300,000 on the benchmark's many-parts data).
const ALERTS_PER_PAGE: usize = 200;

#[derive(Template)]
#[template(path = "alerts.html")]
struct AlertsPage<'a> {
    shell: Shell<'a>,
    flash: Flash,
    rows: Vec<AlertLine>,
    /// Open alerts in all.
    total: String,
    /// Whether this page starts below the newest alert.
    later: bool,
    /// The id below which the next (older) page starts, when there is one.
    older: Option<i64>,
}

/// Where a page of the alerts list starts (`?before=ID`: alerts older than that one; a value that
/// is not an id shows the newest page, as the link's only source is this page).
#[derive(Debug, Default, serde::Deserialize)]
pub(super) struct AlertsFrom {
    before: Option<String>,
}

pub(super) async fn alerts(
    viewer: Viewer,
    State(state): State<AppState>,
    Query(flash): Query<Flash>,
    Query(from): Query<AlertsFrom>,
) -> PageResult {
    let before = from.before.and_then(|b| b.parse::<i64>().ok()).filter(|b| *b > 0);
    let mut rows = state.store.open_alerts_page(before, ALERTS_PER_PAGE as i64 + 1).await.map_err(internal)?;
    let older = cut_page(&mut rows, ALERTS_PER_PAGE, |a| a.id);
    let total = state.store.open_alert_count().await.map_err(internal)?;
    let paused = state.store.paused_parts().await.map_err(internal)?;
    let paused_by: BTreeMap<&str, &str> =
        paused.iter().filter_map(|(part, reason)| Some((part.as_str(), scan_of_pause(reason)?))).collect();
    let rows = rows
        .into_iter()
        .map(|a| {
            let action =
                |before, id: &str, after, label: String| AlertAction { before, id: id.to_owned(), after, label };
            let action = match a.kind {
                _ if !viewer.can_operate() => None,
                thresholds::ALERT_DRIFT => {
                    Some(action("/ui/thresholds/", &a.subject, "/approve", "Approve computed thresholds".into()))
                }
                inventory::ALERT_SCAN => paused_by
                    .get(a.subject.as_str())
                    .map(|scan| action("/ui/scans/", scan, "/accept", format!("Accept count of scan {scan}"))),
                inventory::ALERT_DROP => {
                    Some(action("/ui/parts/", &a.subject, "/held-snapshot/accept", "Apply held snapshot".into()))
                }
                _ => None,
            };
            let message = if action.is_some() { without_cli_hint(a.kind, &a.message) } else { a.message };
            AlertLine {
                raised: utc(a.created_at),
                kind: a.kind.as_str().to_owned(),
                subject: a.subject,
                message,
                action,
            }
        })
        .collect();
    Ok(render(&AlertsPage {
        shell: viewer.shell("Alerts", "/alerts"),
        flash,
        rows,
        total: count(total),
        later: before.is_some(),
        older,
    }))
}

/// One quarantine entry, with the candidates its resolve form offers (AMBIGUOUS: the operator
/// picks one, none is preselected; UNMAPPED: a part id is typed).
struct QuarantineLine {
    row: QuarantineRow,
    candidates: String,
    choices: Vec<String>,
}

#[derive(Template)]
#[template(path = "quarantine.html")]
struct QuarantinePage<'a> {
    shell: Shell<'a>,
    flash: Flash,
    can_operate: bool,
    rows: Vec<QuarantineLine>,
}

pub(super) async fn quarantine(
    viewer: Viewer,
    State(state): State<AppState>,
    Query(flash): Query<Flash>,
) -> PageResult {
    let rows = state.store.quarantine(true).await.map_err(internal)?;
    let rows = rows
        .into_iter()
        .map(|q| {
            let candidates = q.candidates.clone().unwrap_or_default();
            let choices = candidates.split(',').map(str::trim).filter(|c| !c.is_empty()).map(str::to_owned).collect();
            QuarantineLine { row: q, candidates, choices }
        })
        .collect();
    Ok(render(&QuarantinePage {
        shell: viewer.shell("Quarantine", "/quarantine"),
        flash,
        can_operate: viewer.can_operate(),
        rows,
    }))
}

/// One dead letter.
struct DeadLetterLine {
    id: i64,
    target: String,
    part_id: String,
    reason: String,
    created: String,
    /// When it was replayed, if it was.
    replayed: Option<String>,
}

impl From<DeadLetterRow> for DeadLetterLine {
    fn from(d: DeadLetterRow) -> Self {
        DeadLetterLine {
            id: d.id,
            created: utc(d.created_at),
            replayed: d.replayed_at.map(utc),
            target: d.target,
            part_id: d.part_id,
            reason: d.reason,
        }
    }
}

#[derive(Template)]
#[template(path = "dead_letters.html")]
struct DeadLettersPage<'a> {
    shell: Shell<'a>,
    flash: Flash,
    can_operate: bool,
    rows: Vec<DeadLetterLine>,
}

pub(super) async fn dead_letters(
    viewer: Viewer,
    State(state): State<AppState>,
    Query(flash): Query<Flash>,
) -> PageResult {
    let rows = state.store.dead_letters(flash.all.is_some()).await.map_err(internal)?;
    Ok(render(&DeadLettersPage {
        shell: viewer.shell("Dead letters", "/dlq"),
        can_operate: viewer.can_operate(),
        flash,
        rows: rows.into_iter().map(DeadLetterLine::from).collect(),
    }))
}

/// The scan that paused a part, from its pause reason (`SCAN_DISCREPANCY: scan S-1`).
fn scan_of_pause(reason: &str) -> Option<&str> {
    reason.strip_prefix("SCAN_DISCREPANCY: scan ").map(str::trim).filter(|s| !s.is_empty())
}

/// An alert's message without the CLI command it ends with, for a row that carries the button
/// doing the same (`until `cmms thresholds approve P`` becomes `until approval`).
fn without_cli_hint(kind: AlertKind, message: &str) -> String {
    let Some(start) = message.find("`cmms ") else { return message.to_owned() };
    let Some(len) = message[start + 1..].find('`') else { return message.to_owned() };
    let what = match kind {
        thresholds::ALERT_DRIFT => "approval",
        inventory::ALERT_SCAN => "acceptance of the count",
        inventory::ALERT_DROP => "acceptance of the snapshot",
        _ => "an operator action",
    };
    format!("{}{what}{}", &message[..start], &message[start + len + 2..])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cli_hints_give_way_to_the_button() {
        let drift = "computed [24.5, 30.62, 45.93] deviates from baseline by more than 40%; publishing the fallback \
                     [4.0, 5.0, 7.5] until `cmms thresholds approve BRG-6204`";
        assert!(without_cli_hint(AlertKind::Drift, drift).ends_with("[4.0, 5.0, 7.5] until approval"));
        let scan = "scan S-2 counted 40 but system stock is 2 (tolerance 0.04); routing paused until a matching \
                    count or `cmms scans accept S-2`";
        assert_eq!(
            without_cli_hint(AlertKind::ScanDiscrepancy, scan),
            "scan S-2 counted 40 but system stock is 2 (tolerance 0.04); routing paused until a matching count or \
             acceptance of the count"
        );
        assert_eq!(without_cli_hint(AlertKind::Drift, "no command here"), "no command here");
        assert_eq!(without_cli_hint(AlertKind::Drift, "broken `cmms quote"), "broken `cmms quote");
    }

    #[test]
    fn the_scan_behind_a_pause_is_found() {
        assert_eq!(scan_of_pause("SCAN_DISCREPANCY: scan S-1"), Some("S-1"));
        assert_eq!(scan_of_pause("SCAN_DISCREPANCY: scan "), None);
        assert_eq!(scan_of_pause("OTHER"), None);
    }
}
