//! The maintenance side of the dashboard: work orders (with the completion correction form),
//! the PM calendar in each site's time zone, and assets with their failures against MTBF and
//! the PM interval.

use super::html::{local, local_text, num, overdue, utc};
use super::plots::{Plot, Series, Style, time_plot};
use super::{Flash, PageResult, Shell, Unknown, Viewer, internal, page, render};
use crate::AppState;
use crate::api::now_ms;
use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use cmms_core::reliability::{Basis, FallbackReason};
use cmms_core::work_order::WoState as S;
use cmms_store::codes::PmStatus;
use cmms_store::reliability::PmIntervalRow;
use std::collections::BTreeMap;

/// One work order in a state's table.
struct OrderLine {
    id: i64,
    asset_id: String,
    plan_id: String,
    due_at: i64,
    /// Due, in the site's time.
    due: String,
    late: bool,
    /// Completed, in the site's time (empty when not completed).
    completed: String,
    /// Whether the viewer may correct its completion (a COMPLETED order, an operator).
    correctable: bool,
}

/// The work orders in one state.
struct StateSection {
    state: &'static str,
    heading: String,
    material_pending: bool,
    orders: Vec<OrderLine>,
}

#[derive(Template)]
#[template(path = "work_orders.html")]
struct WorkOrdersPage<'a> {
    shell: Shell<'a>,
    flash: Flash,
    late: usize,
    sections: Vec<StateSection>,
}

pub(super) async fn work_orders(
    viewer: Viewer,
    State(state): State<AppState>,
    Query(flash): Query<Flash>,
) -> PageResult {
    let rows = state.store.work_orders(None, None).await.map_err(internal)?;
    let now = now_ms();
    let late = rows.iter().filter(|w| overdue(w.state, w.due_at, now)).count();
    let can_operate = viewer.can_operate();
    let sections = [S::MaterialPending, S::Scheduled, S::Released, S::InProgress, S::Completed, S::Cancelled]
        .into_iter()
        .map(|wo_state| StateSection {
            state: wo_state.as_str(),
            heading: wo_state.as_str().replace('_', " "),
            material_pending: wo_state == S::MaterialPending,
            orders: rows
                .iter()
                .filter(|w| w.state == wo_state)
                .map(|w| OrderLine {
                    id: w.id,
                    asset_id: w.asset_id.clone(),
                    plan_id: w.plan_id.clone(),
                    due_at: w.due_at,
                    due: local(w.due_at, &w.timezone),
                    late: overdue(w.state, w.due_at, now),
                    completed: w.completed_at.map(|c| local(c, &w.timezone)).unwrap_or_default(),
                    correctable: can_operate && w.state == S::Completed,
                })
                .collect(),
        })
        .filter(|s| !s.orders.is_empty())
        .collect();
    Ok(render(&WorkOrdersPage { shell: viewer.shell("Work orders", "/work-orders"), flash, late, sections }))
}

/// An open PM on the calendar.
struct CalendarItem {
    asset_id: String,
    time: String,
    state: String,
    late: bool,
}

/// A day of a site's calendar.
struct CalendarDay {
    date: String,
    entries: Vec<CalendarItem>,
}

/// A site's calendar: `SITE (Zone/Name)` and its days.
struct CalendarSite {
    name: String,
    days: Vec<CalendarDay>,
}

#[derive(Template)]
#[template(path = "calendar.html")]
struct CalendarPage<'a> {
    shell: Shell<'a>,
    sites: Vec<CalendarSite>,
}

pub(super) async fn calendar(viewer: Viewer, State(state): State<AppState>) -> PageResult {
    let entries = state.store.pm_calendar().await.map_err(internal)?;
    let now = now_ms();
    let mut by_site: BTreeMap<String, BTreeMap<String, Vec<CalendarItem>>> = BTreeMap::new();
    for e in entries {
        let when = local(e.due_at, &e.timezone);
        let (date, time) = when.split_once(' ').unwrap_or((&when, ""));
        let late = overdue(e.state, e.due_at, now);
        by_site.entry(format!("{} ({})", e.site_id, e.timezone)).or_default().entry(date.to_owned()).or_default().push(
            CalendarItem { time: time.to_owned(), asset_id: e.asset_id, state: e.state.as_str().to_owned(), late },
        );
    }
    let sites = by_site
        .into_iter()
        .map(|(name, days)| CalendarSite {
            name,
            days: days.into_iter().map(|(date, entries)| CalendarDay { date, entries }).collect(),
        })
        .collect();
    Ok(render(&CalendarPage { shell: viewer.shell("PM calendar", "/calendar"), sites }))
}

/// An asset's next due date for a person: local date and time with the zone and whether an open
/// PM is past due, or (when there is no due date) the status and why.
struct NextDue {
    when: Option<String>,
    late: bool,
    status: String,
    why: &'static str,
}

impl NextDue {
    /// From the asset's interval and, when it has work orders, its site's zone and overdue flag.
    fn new(a: &PmIntervalRow, status: Option<(&str, bool)>) -> Self {
        NextDue {
            when: a.next_due_local.as_deref().map(|text| local_text(text, status.map(|s| s.0))),
            late: status.is_some_and(|s| s.1),
            status: a.status.as_str().to_owned(),
            why: match a.status {
                PmStatus::NoLastCompletion => "no completion recorded yet",
                PmStatus::NotMonotonic => "not stored: it would not be after the last completion",
                _ => "",
            },
        }
    }
}

/// One asset of the list.
struct AssetLine {
    row: PmIntervalRow,
    basis: String,
    mtbf: String,
    interval: String,
    due: NextDue,
}

#[derive(Template)]
#[template(path = "assets.html")]
struct AssetsPage<'a> {
    shell: Shell<'a>,
    rows: Vec<AssetLine>,
}

pub(super) async fn assets(viewer: Viewer, State(state): State<AppState>) -> PageResult {
    let rows = state.store.pm_intervals().await.map_err(internal)?;
    let status = state.store.asset_pm_status(now_ms()).await.map_err(internal)?;
    let status: BTreeMap<&str, (&str, bool)> =
        status.iter().map(|s| (s.asset_id.as_str(), (s.timezone.as_str(), s.overdue))).collect();
    let rows = rows
        .into_iter()
        .map(|a| AssetLine {
            basis: format!("{} {}", a.basis.map_or("", Basis::as_str), a.reason.map_or("", FallbackReason::code)),
            mtbf: num(a.mean_mtbf_hours),
            interval: num(a.interval_days),
            due: NextDue::new(&a, status.get(a.asset_id.as_str()).copied()),
            row: a,
        })
        .collect();
    Ok(render(&AssetsPage { shell: viewer.shell("Assets", "/assets"), rows }))
}

/// One of an asset's work orders.
struct AssetOrder {
    id: i64,
    state: String,
    due: String,
    late: bool,
}

/// One of an asset's failure events.
struct FailureLine {
    id: String,
    kind: String,
    started: String,
    ended: String,
}

#[derive(Template)]
#[template(path = "asset.html")]
struct AssetPage<'a> {
    shell: Shell<'a>,
    a: PmIntervalRow,
    basis: String,
    reason: String,
    mtbf: String,
    cv: String,
    interval: String,
    due: NextDue,
    plot: Plot,
    orders: Vec<AssetOrder>,
    failures: Vec<FailureLine>,
}

pub(super) async fn asset(viewer: Viewer, State(state): State<AppState>, Path(asset_id): Path<String>) -> PageResult {
    let Some(a) = state.store.pm_interval(&asset_id).await.map_err(internal)? else {
        let shell = viewer.shell("Unknown asset", "/assets");
        let text = format!("No computed PM interval for {asset_id:?} (run a recompute).");
        return Err(page(StatusCode::NOT_FOUND, &Unknown { shell, heading: "Unknown asset", text }));
    };
    let now = now_ms();
    let orders = state.store.work_orders(None, Some(&asset_id)).await.map_err(internal)?;
    let timezone = orders.first().map(|w| w.timezone.as_str());
    let any_late = orders.iter().any(|w| overdue(w.state, w.due_at, now));
    let due = NextDue::new(&a, timezone.map(|tz| (tz, any_late)));
    let events = state.store.failure_histories(std::slice::from_ref(&asset_id)).await.map_err(internal)?;
    let events = events.get(&asset_id).cloned().unwrap_or_default();
    let ms = |t: jiff::Timestamp| t.as_millisecond();
    let unplanned: Vec<i64> = events
        .iter()
        .filter(|e| e.event.event_type == cmms_core::reliability::FailureEventType::Unplanned)
        .map(|e| ms(e.event.started_at))
        .collect();
    let gaps: Vec<(i64, f64)> = unplanned.windows(2).map(|w| (w[1], (w[1] - w[0]) as f64 / 86_400_000.0)).collect();
    let from = events.first().map_or(now - 365 * 86_400_000, |e| ms(e.event.started_at)).min(now - 30 * 86_400_000);
    let mut series = vec![Series {
        label: "days since previous failure".into(),
        color: "#e76f51",
        style: Style::Points,
        points: gaps,
    }];
    if let Some(m) = a.mean_mtbf_hours {
        series.push(Series {
            label: "MTBF (days)".into(),
            color: "#264653",
            style: Style::Level,
            points: vec![(from, m / 24.0)],
        });
    }
    if let Some(i) = a.interval_days {
        series.push(Series {
            label: "PM interval (days)".into(),
            color: "#2a9d8f",
            style: Style::Level,
            points: vec![(from, i)],
        });
    }
    let plot = time_plot(&format!("failures of {asset_id} against MTBF and PM interval"), "days", from, now, &series);
    let failures = events
        .iter()
        .rev()
        .take(100)
        .map(|e| FailureLine {
            id: e.event_id.as_str().to_owned(),
            kind: e.event.event_type.as_str().to_owned(),
            started: utc(ms(e.event.started_at)),
            ended: e.event.ended_at.map(|t| utc(ms(t))).unwrap_or_default(),
        })
        .collect();
    let orders = orders
        .iter()
        .map(|w| AssetOrder {
            id: w.id,
            state: w.state.as_str().to_owned(),
            due: local(w.due_at, &w.timezone),
            late: overdue(w.state, w.due_at, now),
        })
        .collect();
    Ok(render(&AssetPage {
        shell: viewer.shell(asset_id.clone(), "/assets"),
        basis: a.basis.map_or("", Basis::as_str).to_owned(),
        reason: a.reason.map_or("", FallbackReason::code).to_owned(),
        mtbf: num(a.mean_mtbf_hours),
        cv: num(a.cv),
        interval: num(a.interval_days),
        a,
        due,
        plot,
        orders,
        failures,
    }))
}
