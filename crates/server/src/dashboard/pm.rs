//! The maintenance side of the dashboard: work orders (with the completion correction form),
//! the PM calendar in each site's time zone, and assets with their failures against MTBF and
//! the PM interval.

use super::html::{local, local_input, local_text, num, overdue, utc};
use super::plots::{Plot, Series, Style, XySeries, XyStyle, time_plot, xy_plot};
use super::{Flash, PageResult, Shell, Unknown, Viewer, cut_page, internal, page, render};
use crate::AppState;
use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use cmms_core::reliability::{Basis, IntervalReason};
use cmms_core::work_order::{WoAction, WoState as S, transition};
use cmms_store::codes::PmStatus;
use cmms_store::reliability::PmIntervalRow;
use serde::Deserialize;
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
    /// The actions its state allows, for an operator.
    actions: Vec<ActionLink>,
}

/// A button that leads to the confirmation of one action on a work order.
struct ActionLink {
    action: &'static str,
    label: &'static str,
}

/// What an action's button says.
pub(super) fn action_label(action: WoAction) -> &'static str {
    match action {
        WoAction::Release => "Release",
        WoAction::Start => "Start",
        WoAction::Complete => "Complete",
        WoAction::HoldForMaterial => "Hold for material",
        WoAction::MaterialAvailable => "Resume (material available)",
        WoAction::Cancel => "Cancel",
    }
}

/// The actions the transition table allows from `state`, as buttons; none for a viewer who may
/// only read.
fn action_links(state: S, can_operate: bool) -> Vec<ActionLink> {
    if !can_operate {
        return Vec::new();
    }
    state.allowed_actions().map(|a| ActionLink { action: a.as_str(), label: action_label(a) }).collect()
}

/// A path segment percent-encoded (letters, digits, `-`, `_`, `.` stay).
pub(super) fn segment(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Where a work-order action leads back to: the asset page it was taken from (`/assets/…`, one
/// segment), else the work-order list. Anything else (another site, a query) is not followed.
pub(super) fn back_path(back: Option<&str>) -> String {
    match back {
        Some(b)
            if b.len() > "/assets/".len()
                && b.strip_prefix("/assets/").is_some_and(|rest| {
                    rest.bytes().all(|c| c.is_ascii_alphanumeric() || matches!(c, b'-' | b'_' | b'.' | b'%'))
                }) =>
        {
            b.to_owned()
        }
        _ => "/work-orders".to_owned(),
    }
}

/// The work orders in one state: a page of them, by due date.
struct StateSection {
    state: &'static str,
    heading: String,
    material_pending: bool,
    /// Orders in this state in all.
    total: i64,
    orders: Vec<OrderLine>,
    /// Where the next page of this state starts (`DUE.ID` of the last order shown), if any.
    more: Option<String>,
}

#[derive(Template)]
#[template(path = "work_orders.html")]
struct WorkOrdersPage<'a> {
    shell: Shell<'a>,
    flash: Flash,
    late: i64,
    sections: Vec<StateSection>,
    /// Whether one state is shown from a later page (`?state=S&after=DUE.ID`).
    paged: bool,
}

/// Work orders per state on one page (a recompute over the benchmark's 100,000 assets schedules
/// 88,309 PMs: 23 MB of HTML on one page).
const ORDERS_PER_SECTION: usize = 200;

/// Which page of the work-order list to show: one state's orders after `DUE.ID`; without them
/// the first page of every state. Values that do not parse show the first page.
#[derive(Debug, Default, serde::Deserialize)]
pub(super) struct OrdersFrom {
    state: Option<String>,
    after: Option<String>,
}

pub(super) async fn work_orders(
    viewer: Viewer,
    State(state): State<AppState>,
    Query(flash): Query<Flash>,
    Query(from): Query<OrdersFrom>,
) -> PageResult {
    let after = from.after.as_deref().and_then(|a| {
        let (due, id) = a.split_once('.')?;
        Some((due.parse::<i64>().ok()?, id.parse::<i64>().ok()?))
    });
    let only = from.state.as_deref().and_then(|s| s.parse::<S>().ok()).filter(|_| after.is_some());
    let now = state.dashboard.now_ms();
    let late = state.store.overdue_work_orders(now).await.map_err(internal)?;
    let counts = state.store.work_order_counts().await.map_err(internal)?;
    let can_operate = viewer.can_operate();
    let mut sections = Vec::new();
    for wo_state in [S::MaterialPending, S::Scheduled, S::Released, S::InProgress, S::Completed, S::Cancelled] {
        let total = counts.get(&wo_state).copied().unwrap_or(0);
        if total == 0 || only.is_some_and(|o| o != wo_state) {
            continue;
        }
        let from = if only.is_some() { after } else { None };
        let limit = ORDERS_PER_SECTION as i64 + 1;
        let mut rows = state.store.work_orders_page(Some(wo_state), None, from, limit).await.map_err(internal)?;
        let more = cut_page(&mut rows, ORDERS_PER_SECTION, |last| format!("{}.{}", last.due_at, last.id));
        sections.push(StateSection {
            state: wo_state.as_str(),
            heading: wo_state.as_str().replace('_', " "),
            material_pending: wo_state == S::MaterialPending,
            total,
            orders: rows
                .iter()
                .map(|w| OrderLine {
                    id: w.id,
                    asset_id: w.asset_id.clone(),
                    plan_id: w.plan_id.clone(),
                    due_at: w.due_at,
                    due: local(w.due_at, &w.timezone),
                    late: overdue(w.state, w.due_at, now),
                    completed: w.completed_at.map(|c| local(c, &w.timezone)).unwrap_or_default(),
                    correctable: can_operate && w.state == S::Completed,
                    actions: action_links(w.state, can_operate),
                })
                .collect(),
            more,
        });
    }
    let shell = viewer.shell("Work orders", "/work-orders");
    Ok(render(&WorkOrdersPage { shell, flash, late, sections, paged: only.is_some() }))
}

/// An open PM on the calendar.
#[derive(Clone)]
struct CalendarItem {
    asset_id: String,
    time: String,
    state: String,
    late: bool,
}

/// A day of a site's calendar (list view).
struct CalendarDay {
    date: String,
    entries: Vec<CalendarItem>,
}

/// A day cell of a site's month grid.
struct GridDay {
    /// Day of the month.
    day: i8,
    /// ISO date, for the cell's `data-date`.
    date: String,
    /// Whether it belongs to the month shown (the grid starts on a Monday, ends on a Sunday).
    in_month: bool,
    /// Whether it is the dashboard's today in the site's zone.
    today: bool,
    entries: Vec<CalendarItem>,
}

/// A site's calendar: `SITE (Zone/Name)`, its days (list view) and its month grid.
struct CalendarSite {
    name: String,
    days: Vec<CalendarDay>,
    weeks: Vec<Vec<GridDay>>,
    /// Open PMs due before the month shown (overdue ones among them).
    before: usize,
    /// Open PMs due after the month shown.
    after: usize,
}

#[derive(Template)]
#[template(path = "calendar.html")]
struct CalendarPage<'a> {
    shell: Shell<'a>,
    /// The list instead of the month grid (`?view=list`).
    list: bool,
    /// The month shown (`2026-12`), and its name (`December 2026`).
    month: String,
    month_name: String,
    prev: String,
    next: String,
    note: String,
    sites: Vec<CalendarSite>,
}

/// What the calendar shows: `view=list` for the list (default: the month grid) and `month=YYYY-MM`
/// (default: the month of the dashboard's today).
#[derive(Debug, Default, Deserialize)]
pub struct CalendarQuery {
    view: Option<String>,
    month: Option<String>,
}

/// The first day of a month given as `YYYY-MM`.
fn parse_month(text: &str) -> Option<jiff::civil::Date> {
    let (y, m) = text.trim().split_once('-')?;
    jiff::civil::Date::new(y.parse().ok()?, m.parse().ok()?, 1).ok()
}

/// The weeks of a month's grid: Monday to Sunday, from the week of its first day to the week of
/// its last.
fn month_weeks(first: jiff::civil::Date) -> Vec<Vec<jiff::civil::Date>> {
    let start = first - jiff::Span::new().days(i64::from(first.weekday().to_monday_zero_offset()));
    let last = first.last_of_month();
    let mut weeks = Vec::new();
    let mut day = start;
    while day <= last {
        let week: Vec<jiff::civil::Date> = (0..7).map(|i| day + jiff::Span::new().days(i)).collect();
        day = week[6] + jiff::Span::new().days(1);
        weeks.push(week);
    }
    weeks
}

pub(super) async fn calendar(
    viewer: Viewer,
    State(state): State<AppState>,
    Query(q): Query<CalendarQuery>,
) -> PageResult {
    let entries = state.store.pm_calendar().await.map_err(internal)?;
    let now = state.dashboard.now_ms();
    let today_utc = jiff::Timestamp::from_millisecond(now).unwrap_or_default().to_zoned(jiff::tz::TimeZone::UTC).date();
    let (first, note) = match q.month.as_deref().filter(|m| !m.trim().is_empty()) {
        Some(text) => match parse_month(text) {
            Some(first) => (first, String::new()),
            None => (today_utc.first_of_month(), format!("{text:?} is not a month like 2026-12: showing this month.")),
        },
        None => (today_utc.first_of_month(), String::new()),
    };
    let last = first.last_of_month();
    struct Dated {
        date: jiff::civil::Date,
        item: CalendarItem,
    }
    let mut by_site: BTreeMap<String, (String, Vec<Dated>)> = BTreeMap::new();
    for e in entries {
        let zone = jiff::tz::TimeZone::get(&e.timezone).unwrap_or(jiff::tz::TimeZone::UTC);
        let date = jiff::Timestamp::from_millisecond(e.due_at).unwrap_or_default().to_zoned(zone).date();
        let when = local(e.due_at, &e.timezone);
        let time = when.split_once(' ').map_or("", |(_, t)| t).to_owned();
        let late = overdue(e.state, e.due_at, now);
        let item = CalendarItem { time, asset_id: e.asset_id, state: e.state.as_str().to_owned(), late };
        by_site
            .entry(format!("{} ({})", e.site_id, e.timezone))
            .or_insert_with(|| (e.timezone.clone(), Vec::new()))
            .1
            .push(Dated { date, item });
    }
    let sites = by_site
        .into_iter()
        .map(|(name, (timezone, dated))| {
            let zone = jiff::tz::TimeZone::get(&timezone).unwrap_or(jiff::tz::TimeZone::UTC);
            let today = jiff::Timestamp::from_millisecond(now).unwrap_or_default().to_zoned(zone).date();
            let before = dated.iter().filter(|d| d.date < first).count();
            let after = dated.iter().filter(|d| d.date > last).count();
            let mut days: BTreeMap<jiff::civil::Date, Vec<CalendarItem>> = BTreeMap::new();
            for d in dated {
                days.entry(d.date).or_default().push(d.item);
            }
            let weeks = month_weeks(first)
                .into_iter()
                .map(|week| {
                    week.into_iter()
                        .map(|date| GridDay {
                            day: date.day(),
                            date: date.to_string(),
                            in_month: date.month() == first.month(),
                            today: date == today,
                            entries: if date.month() == first.month() {
                                days.get(&date).cloned().unwrap_or_default()
                            } else {
                                Vec::new()
                            },
                        })
                        .collect()
                })
                .collect();
            let days =
                days.into_iter().map(|(date, entries)| CalendarDay { date: date.to_string(), entries }).collect();
            CalendarSite { name, days, weeks, before, after }
        })
        .collect();
    let month_text = |d: jiff::civil::Date| d.strftime("%Y-%m").to_string();
    Ok(render(&CalendarPage {
        shell: viewer.shell("PM calendar", "/calendar"),
        list: q.view.as_deref() == Some("list"),
        month: month_text(first),
        month_name: first.strftime("%B %Y").to_string(),
        prev: month_text(first - jiff::Span::new().months(1)),
        next: month_text(first + jiff::Span::new().months(1)),
        note,
        sites,
    }))
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
    /// Whether this page starts after the first asset.
    later: bool,
    /// The asset after which the next page starts, when there is one.
    next: Option<String>,
}

/// Assets per page of the assets list (the benchmark's many-assets data has 100,000: 27 MB of
/// HTML on one page).
const ASSETS_PER_PAGE: usize = 500;

/// Where a page of the assets list starts (`?after=ASSET`: the assets after that one, by id).
#[derive(Debug, Default, serde::Deserialize)]
pub(super) struct AssetsFrom {
    after: Option<String>,
}

pub(super) async fn assets(
    viewer: Viewer,
    State(state): State<AppState>,
    Query(from): Query<AssetsFrom>,
) -> PageResult {
    let after = from.after.filter(|a| !a.is_empty());
    let mut rows =
        state.store.pm_intervals_page(after.as_deref(), ASSETS_PER_PAGE as i64 + 1).await.map_err(internal)?;
    let next = cut_page(&mut rows, ASSETS_PER_PAGE, |last| last.asset_id.clone());
    let (first, last) = match (rows.first(), rows.last()) {
        (Some(f), Some(l)) => (f.asset_id.clone(), l.asset_id.clone()),
        _ => (String::new(), String::new()),
    };
    let status = state.store.asset_pm_status(state.dashboard.now_ms(), &first, &last).await.map_err(internal)?;
    let status: BTreeMap<&str, (&str, bool)> =
        status.iter().map(|s| (s.asset_id.as_str(), (s.timezone.as_str(), s.overdue))).collect();
    let rows = rows
        .into_iter()
        .map(|a| AssetLine {
            basis: format!("{} {}", a.basis.map_or("", Basis::as_str), a.reason.map_or("", IntervalReason::code)),
            mtbf: num(a.mean_mtbf_hours),
            interval: num(a.interval_days),
            due: NextDue::new(&a, status.get(a.asset_id.as_str()).copied()),
            row: a,
        })
        .collect();
    Ok(render(&AssetsPage { shell: viewer.shell("Assets", "/assets"), rows, later: after.is_some(), next }))
}

/// One of an asset's work orders.
struct AssetOrder {
    id: i64,
    state: String,
    due: String,
    late: bool,
    /// The actions its state allows, for an operator.
    actions: Vec<ActionLink>,
}

/// One of an asset's failure events.
struct FailureLine {
    id: String,
    kind: String,
    component: String,
    started: String,
    ended: String,
}

#[derive(Template)]
#[template(path = "asset.html")]
struct AssetPage<'a> {
    shell: Shell<'a>,
    flash: Flash,
    /// This page's path: where its work-order actions lead back to.
    back: String,
    a: PmIntervalRow,
    basis: String,
    reason: String,
    mtbf: String,
    cv: String,
    interval: String,
    due: NextDue,
    plot: Plot,
    /// Under `weibull_cost`: the decision, its figures and plots.
    life: Option<LifeView>,
    orders: Vec<AssetOrder>,
    failures: Vec<FailureLine>,
}

/// A plot rendered on its own (`templates/plot.html` escapes its labels), for pages with several.
#[derive(Template)]
#[template(source = "{% include \"plot.html\" %}", ext = "html")]
struct PlotSvg<'a> {
    plot: &'a Plot,
}

/// The `weibull_cost` decision of an asset for a person: in words, with figures, the fitted
/// reliability curve against the observed lives, and the cost rate against the interval.
struct LifeView {
    /// The decision in words.
    decision: String,
    /// Fit and cost figures, label and value.
    figures: Vec<(&'static str, String)>,
    /// SVG of `R(t)` with the Kaplan–Meier estimate of the asset's own lives.
    reliability: String,
    /// SVG of `C(T)` with `T*`, the recommendation and the seed interval marked.
    cost: String,
    /// Every unit of the asset (the asset as a whole, or each component its log names) with its
    /// own decision; shown when the log names components.
    units: Vec<UnitLine>,
}

/// One unit's stored `weibull_cost` decision, for the asset page's component table.
struct UnitLine {
    component: String,
    deciding: bool,
    decision: String,
    source: String,
    failures: String,
    beta: String,
    t_star: String,
    interval: String,
}

impl UnitLine {
    fn new(m: &cmms_store::reliability::LifeModelRow, deciding: &str) -> Self {
        let component = m.component.clone().unwrap_or_default();
        let decision = match (m.life_basis, m.life_reason) {
            (Some(b), Some(r)) => format!("{}/{}", b.as_str(), r.code()),
            (Some(b), None) => b.as_str().to_owned(),
            (None, _) => "—".to_owned(),
        };
        Self {
            deciding: component == deciding,
            component: if component.is_empty() { "(the asset as a whole)".to_owned() } else { component },
            decision,
            source: m.life_source.map_or("—", |s| s.as_str()).to_owned(),
            failures: m.failures.map_or("—".to_owned(), |n| n.to_string()),
            beta: format!("{} [{}, {}]", num(m.beta), num(m.beta_lower), num(m.beta_upper)),
            t_star: num(m.t_star_hours),
            interval: num(m.life_interval_days),
        }
    }
}

/// The life section of an asset page (`None` under `mtbf_fraction`): the deciding unit's own
/// lives from `records` and `completions` up to `now`, its stored fit (its pool's when pooled)
/// and costs, and the decisions of every unit (`models`).
fn life_view(
    a: &PmIntervalRow,
    records: &[cmms_core::feeds::FailureRecord],
    completions: &[jiff::Timestamp],
    models: &[cmms_store::reliability::LifeModelRow],
    now: jiff::Timestamp,
) -> Result<Option<LifeView>, askama::Error> {
    use cmms_core::life::{LifeSource, Weibull, component_keys, cost_rate, kaplan_meier, unit_lives};
    let l = &a.life;
    let (Some(basis), Some(source)) = (l.life_basis, l.life_source) else { return Ok(None) };
    let component = l.component.as_deref().unwrap_or("");
    let (keys, names) = component_keys(records.iter().map(|r| r.component.as_ref().map(|c| c.as_str())));
    let events: Vec<_> = records.iter().map(|r| r.event).collect();
    let own = unit_lives(&events, &keys, completions, now)
        .ok()
        .and_then(|units| units.into_iter().find(|(k, _)| names[*k as usize] == component))
        .map(|(_, set)| set.lives)
        .unwrap_or_default();
    let model = l.beta.zip(l.alpha_hours).map(|(shape, scale)| Weibull { shape, scale });
    let (cf, cp) = (l.failure_cost.unwrap_or(1.0), l.pm_cost.unwrap_or(1.0));
    let pooled = match (source, component) {
        (LifeSource::Pooled, "") => " (fitted on the pooled lives of its asset group)".to_owned(),
        (LifeSource::Pooled, c) => format!(" (fitted on the pooled lives of component {c} in its asset group)"),
        (LifeSource::Own, _) => String::new(),
    };
    let deciding = if component.is_empty() { String::new() } else { format!("Component {component} decides. ") };
    let rate = |r: Option<f64>| r.map_or("—".to_owned(), |r| format!("{:.4} per 1,000 h", r * 1000.0));
    let decision = match (basis, l.life_reason) {
        (Basis::Weibull, _) => format!(
            "{deciding}Wear-out shown{pooled}: replace every {} days (T* = {} h × slack, clamped). Expected cost {} \
             against {} under the seed interval of {} days.",
            num(a.interval_days),
            num(l.t_star_hours),
            rate(l.cost_rate),
            rate(l.cost_rate_seed),
            num(l.seed_interval_days),
        ),
        (_, reason) => format!(
            "{deciding}No time-based PM{pooled}: {}.{}",
            reason.map_or("the registry keeps none", |r| r.words()),
            match a.interval_days {
                Some(d) => format!(" The manufacturer interval of {} days is kept (registry).", num(Some(d))),
                None => " Run to failure, or monitor condition.".to_owned(),
            }
        ),
    };
    let count = |n: Option<i64>| n.map_or("—".to_owned(), |n| n.to_string());
    let figures = vec![
        ("lives fitted", format!("{} failures, {} suspensions", count(l.failures), count(l.suspensions))),
        ("own lives", format!("{} ({} zero-length dropped)", count(l.lives), count(l.zero_length_dropped))),
        ("Weibull β", format!("{} [{}, {}]", num(l.beta), num(l.beta_lower), num(l.beta_upper))),
        ("scale α", format!("{} h", num(l.alpha_hours))),
        ("mean life", format!("{} h (exponential MTBF {} h)", num(l.mean_life_hours), num(l.exp_mtbf_hours))),
        ("B10 life", format!("{} h", num(l.b10_hours))),
        ("T*", format!("{} h", num(l.t_star_hours))),
        ("costs", format!("failure {}, PM {}", num(Some(cf)), num(Some(cp)))),
    ];
    let km = kaplan_meier(&own);
    let longest = km.last().map_or(0.0, |p| p.hours);
    let t_star = l.t_star_hours;
    let x_max = [longest, t_star.unwrap_or(0.0) * 2.0, l.seed_interval_days.unwrap_or(0.0) * 24.0 * 1.2]
        .into_iter()
        .chain(model.map(|m| m.b_life(0.95)))
        .fold(1.0, f64::max);
    let grid: Vec<f64> = (0..=120).map(|i| x_max * f64::from(i) / 120.0).collect();
    let mut r_series = vec![
        XySeries {
            label: "observed (Kaplan–Meier), failures".into(),
            color: "#e76f51",
            style: XyStyle::Points,
            points: km.iter().filter(|p| p.failed).map(|p| (p.hours, p.survival)).collect(),
        },
        XySeries {
            label: "suspensions".into(),
            color: "#8d99ae",
            style: XyStyle::Points,
            points: km.iter().filter(|p| !p.failed).map(|p| (p.hours, p.survival)).collect(),
        },
    ];
    let mut c_series = Vec::new();
    if let Some(m) = model {
        r_series.insert(
            0,
            XySeries {
                label: format!("fitted R(t), β {} α {} h", num(Some(m.shape)), num(Some(m.scale))),
                color: "#264653",
                style: XyStyle::Line,
                points: grid.iter().map(|&t| (t, m.reliability(t))).collect(),
            },
        );
        c_series.push(XySeries {
            label: "cost rate C(T) per 1,000 h".into(),
            color: "#264653",
            style: XyStyle::Line,
            points: grid.iter().skip(1).map(|&t| (t, cost_rate(&m, cp, cf, t) * 1000.0)).collect(),
        });
        c_series.push(XySeries {
            label: "run to failure (Cf / mean life)".into(),
            color: "#8d99ae",
            style: XyStyle::Line,
            points: vec![(0.0, cf / m.mean() * 1000.0), (x_max, cf / m.mean() * 1000.0)],
        });
    }
    let mut marks =
        vec![("T*", "#e76f51", t_star), ("seed interval", "#f4a261", l.seed_interval_days.map(|d| d * 24.0))];
    if basis == Basis::Weibull {
        marks.push(("recommended interval", "#2a9d8f", a.interval_days.map(|d| d * 24.0)));
    }
    for (label, color, at) in marks {
        if let Some(at) = at {
            c_series.push(XySeries {
                label: format!("{label} ({} h)", num(Some(at))),
                color,
                style: XyStyle::Vertical,
                points: vec![(at, 0.0)],
            });
        }
    }
    let svg = |plot: Plot| PlotSvg { plot: &plot }.render();
    Ok(Some(LifeView {
        decision,
        figures,
        reliability: svg(xy_plot(
            "fitted reliability R(t) against the observed lives",
            "h",
            "reliability",
            x_max,
            &r_series,
        ))?,
        cost: if c_series.is_empty() {
            String::new()
        } else {
            svg(xy_plot("expected cost rate C(T) of PM every T hours", "h", "cost / 1,000 h", x_max, &c_series))?
        },
        units: if models.iter().any(|m| m.component.as_deref().is_some_and(|c| !c.is_empty())) {
            models.iter().map(|m| UnitLine::new(m, component)).collect()
        } else {
            Vec::new()
        },
    }))
}

pub(super) async fn asset(
    viewer: Viewer,
    State(state): State<AppState>,
    Path(asset_id): Path<String>,
    Query(flash): Query<Flash>,
) -> PageResult {
    let Some(a) = state.store.pm_interval(&asset_id).await.map_err(internal)? else {
        let shell = viewer.shell("Unknown asset", "/assets");
        let text = format!("No computed PM interval for {asset_id:?} (run a recompute).");
        return Err(page(StatusCode::NOT_FOUND, &Unknown { shell, heading: "Unknown asset", text }));
    };
    let now = state.dashboard.now_ms();
    let orders = state.store.work_orders(None, Some(&asset_id)).await.map_err(internal)?;
    let timezone = orders.first().map(|w| w.timezone.as_str());
    let any_late = orders.iter().any(|w| overdue(w.state, w.due_at, now));
    let due = NextDue::new(&a, timezone.map(|tz| (tz, any_late)));
    let events = state.store.failure_histories(std::slice::from_ref(&asset_id)).await.map_err(internal)?;
    let events = events.get(&asset_id).cloned().unwrap_or_default();
    let life = {
        let models = if a.life.life_basis.is_some() {
            state.store.life_models(&asset_id).await.map_err(internal)?
        } else {
            Vec::new()
        };
        let mut done: Vec<jiff::Timestamp> = orders
            .iter()
            .filter_map(|w| w.completed_at)
            .chain(a.last_completion_at)
            .map(cmms_core::time::from_epoch_ms)
            .collect();
        done.sort_unstable();
        done.dedup();
        life_view(&a, &events, &done, &models, cmms_core::time::from_epoch_ms(now)).map_err(internal)?
    };
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
            component: e.component.as_ref().map_or_else(String::new, |c| c.as_str().to_owned()),
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
            actions: action_links(w.state, viewer.can_operate()),
        })
        .collect();
    Ok(render(&AssetPage {
        shell: viewer.shell(asset_id.clone(), "/assets"),
        flash,
        back: format!("/assets/{}", segment(&asset_id)),
        basis: a.basis.map_or("", Basis::as_str).to_owned(),
        reason: a.reason.map_or("", IntervalReason::code).to_owned(),
        mtbf: num(a.mean_mtbf_hours),
        cv: num(a.cv),
        interval: num(a.interval_days),
        a,
        due,
        plot,
        life,
        orders,
        failures,
    }))
}

/// What the confirmation of a work-order action asks for: the action, and where to go back.
#[derive(Debug, Deserialize)]
pub struct ConfirmQuery {
    action: String,
    back: Option<String>,
}

/// The confirmation of one action on one work order: what it changes, and for a completion the
/// completion time (default now, in the site's time).
#[derive(Template)]
#[template(path = "work_order_confirm.html")]
struct ConfirmPage<'a> {
    shell: Shell<'a>,
    id: i64,
    asset_id: String,
    plan_id: String,
    due: String,
    from: &'static str,
    to: &'static str,
    action: &'static str,
    label: &'static str,
    effect: &'static str,
    complete: bool,
    timezone: String,
    completed_default: String,
    back: String,
}

/// What an action does beyond the change of state, in words.
fn effect(action: WoAction) -> &'static str {
    match action {
        WoAction::Release => "The work order goes to the technicians.",
        WoAction::Start => "Work on it has started.",
        WoAction::Complete => "The next PM is scheduled one interval after the completion time, in the site's time.",
        WoAction::HoldForMaterial => "It waits until the parts it needs are in stock.",
        WoAction::MaterialAvailable => "The parts are there: it is scheduled again.",
        WoAction::Cancel => "It is closed without being done; this cannot be undone.",
    }
}

/// The confirmation page of a work-order action (GET: it changes nothing). An action the order's
/// state does not allow, or an unknown order, leads back with the reason as the flash message.
pub(super) async fn confirm_action(
    viewer: Viewer,
    State(state): State<AppState>,
    Path(id): Path<i64>,
    Query(q): Query<ConfirmQuery>,
) -> PageResult {
    if let Some(refusal) = viewer.refusal_unless_operate() {
        return Err(refusal);
    }
    let back = back_path(q.back.as_deref());
    let action: WoAction = match q.action.parse() {
        Ok(a) => a,
        Err(e) => return Err(super::back(&back, Err(format!("work order {id}: {e}")))),
    };
    let Some(w) = state.store.work_order(id).await.map_err(internal)? else {
        return Err(super::back(&back, Err(format!("unknown work order {id}"))));
    };
    let to = match transition(w.state, action) {
        Ok(to) => to,
        Err(e) => return Err(super::back(&back, Err(format!("work order {id}: {e}")))),
    };
    let label = action_label(action);
    Ok(render(&ConfirmPage {
        shell: viewer.shell(format!("{label} work order {id}"), "/work-orders"),
        id,
        due: local(w.due_at, &w.timezone),
        from: w.state.as_str(),
        to: to.as_str(),
        action: action.as_str(),
        label,
        effect: effect(action),
        complete: action == WoAction::Complete,
        completed_default: local_input(state.dashboard.now_ms(), &w.timezone),
        timezone: w.timezone,
        asset_id: w.asset_id,
        plan_id: w.plan_id,
        back,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn actions_lead_back_only_to_the_list_or_an_asset_page() {
        assert_eq!(back_path(Some("/assets/CHILLER-01")), "/assets/CHILLER-01");
        assert_eq!(back_path(Some("/assets/A%20B")), "/assets/A%20B");
        for bad in ["/assets/", "//evil.example", "https://evil.example/", "/assets/x?y=1", "/assets/a/b", "/alerts"] {
            assert_eq!(back_path(Some(bad)), "/work-orders", "{bad}");
        }
        assert_eq!(back_path(None), "/work-orders");
        assert_eq!(segment("PUMP 1/ä"), "PUMP%201%2F%C3%A4");
    }

    #[test]
    fn a_month_grid_runs_from_monday_to_sunday() {
        let dec = parse_month("2026-12").unwrap();
        let weeks = month_weeks(dec);
        assert_eq!(weeks.len(), 5);
        assert_eq!(weeks[0][0].to_string(), "2026-11-30", "1 December 2026 is a Tuesday");
        assert_eq!(weeks[4][6].to_string(), "2027-01-03");
        assert!(weeks.iter().all(|w| w.len() == 7 && w[0].weekday() == jiff::civil::Weekday::Monday));
        let feb = parse_month("2027-02").unwrap();
        assert_eq!(month_weeks(feb).len(), 4, "February 2027 starts on a Monday and has 28 days");
        assert_eq!(parse_month("2026-13"), None);
        assert_eq!(parse_month("December"), None);
    }

    #[test]
    fn an_operator_gets_exactly_the_actions_the_state_allows() {
        let names = |s: S| action_links(s, true).iter().map(|a| a.action).collect::<Vec<_>>();
        assert_eq!(names(S::Scheduled), ["release", "hold_for_material", "cancel"]);
        assert_eq!(names(S::Released), ["start", "hold_for_material", "cancel"]);
        assert_eq!(names(S::InProgress), ["complete", "cancel"]);
        assert_eq!(names(S::MaterialPending), ["material_available", "cancel"]);
        assert!(names(S::Completed).is_empty() && names(S::Cancelled).is_empty());
        assert!(action_links(S::Scheduled, false).is_empty(), "a reader gets no buttons");
    }
}
