//! `cmms recompute`, `cmms report` and `cmms work-orders`: the PM side of the CLI.

use crate::cli::{FormulasAction, OutputFormat, WorkOrdersAction};
use crate::config::Config;
pub(crate) use crate::instant;
use anyhow::Context;
use cmms_core::time::rfc3339_local;
use cmms_core::work_order::{WoAction, WoState};
use cmms_pipeline::formulas;
use cmms_pipeline::pm::{self, PmServiceError};
use cmms_store::Store;
use cmms_store::work_orders::WorkOrderRow;
use jiff::Timestamp;
use std::process::ExitCode;

/// Prints what a PM interval recompute did.
pub fn print_intervals(run: &pm::IntervalRun) {
    outln!(
        "PM intervals (formula version {}): {} assets — {} new, {} changed, {} unchanged",
        run.formula_version,
        run.assets,
        run.rows.inserted,
        run.rows.updated,
        run.rows.unchanged
    );
    for (basis, n) in &run.by_basis {
        outln!("  basis {basis}: {n}");
    }
    for (status, n) in &run.by_status {
        outln!("  status {status}: {n}");
    }
    if run.discarded_samples > 0 {
        outln!("  {} MTBF samples ≤ 0 discarded", run.discarded_samples);
    }
    outln!(
        "PM work orders: {} created, {} rescheduled (open and not yet released)",
        run.work_orders_created,
        run.work_orders_rescheduled
    );
}

/// Prints the PM section of `cmms report`.
pub fn print_pm_report(intervals: &[cmms_store::reliability::PmIntervalRow]) {
    outln!("\nPM intervals per asset ({} assets)", intervals.len());
    let mut table = crate::out::table(
        &["asset", "site", "basis", "n", "MTBF h", "cv", "interval", "next due (local)", "status"],
        &[3, 4, 5, 6],
    );
    for r in intervals {
        let basis = match (&r.basis, &r.reason) {
            (Some(b), Some(why)) => format!("{} ({})", b.as_str(), why.code()),
            (Some(b), None) => b.as_str().to_owned(),
            _ => String::new(),
        };
        table.add_row([
            r.asset_id.clone(),
            r.site_id.clone(),
            basis,
            r.n_samples.to_string(),
            r.mean_mtbf_hours.map_or("-".into(), |m| format!("{m:.1}")),
            r.cv.map_or("-".into(), |c| format!("{c:.2}")),
            r.interval_days.map_or("-".into(), |d| format!("{d:.2} d")),
            r.next_due_local.as_deref().unwrap_or("-").to_owned(),
            r.status.to_string(),
        ]);
    }
    crate::out::print_table(&table);
    print_life_models(intervals);
}

/// The `weibull_cost` part of the PM report (nothing under `mtbf_fraction`): per asset the fit it
/// rests on, `T*`, the seed interval and the cost rates, and why no time-based PM where none.
fn print_life_models(intervals: &[cmms_store::reliability::PmIntervalRow]) {
    let rows: Vec<_> = intervals.iter().filter(|r| r.life.life_basis.is_some()).collect();
    if rows.is_empty() {
        return;
    }
    outln!("\nLife models and PM decisions ([pm] method = \"weibull_cost\"; cost rates per 1,000 h)");
    let mut table = crate::out::table(
        &[
            "asset",
            "component",
            "lives",
            "fit",
            "β [lower, upper]",
            "α h",
            "T* h",
            "interval",
            "seed",
            "cost",
            "seed cost",
            "saving",
        ],
        &[4, 5, 6, 7, 8, 9, 10, 11],
    );
    let f = |v: Option<f64>, p: usize| v.map_or("-".to_owned(), |v| format!("{v:.p$}"));
    for r in &rows {
        let l = &r.life;
        let saving = match (l.cost_rate, l.cost_rate_seed) {
            (Some(c), Some(s)) if s > 0.0 => format!("{:.1} %", (s - c) / s * 100.0),
            _ => "-".to_owned(),
        };
        table.add_row([
            r.asset_id.clone(),
            l.component.as_deref().filter(|c| !c.is_empty()).unwrap_or("-").to_owned(),
            format!("{}F {}S", l.failures.unwrap_or(0), l.suspensions.unwrap_or(0)),
            l.life_source.map_or("-", |s| s.as_str()).to_owned(),
            format!("{} [{}, {}]", f(l.beta, 2), f(l.beta_lower, 2), f(l.beta_upper, 2)),
            f(l.alpha_hours, 0),
            f(l.t_star_hours, 0),
            r.interval_days.map_or("none".into(), |d| format!("{d:.2} d")),
            f(l.seed_interval_days, 2),
            f(l.cost_rate.map(|c| c * 1000.0), 3),
            f(l.cost_rate_seed.map(|c| c * 1000.0), 3),
            saving,
        ]);
    }
    crate::out::print_table(&table);
    for r in rows.iter().filter(|r| r.life.life_reason.is_some()) {
        if let Some(why) = r.life.life_reason {
            match r.life.component.as_deref().filter(|c| !c.is_empty()) {
                Some(c) => outln!("  {} ({c}): no time-based PM — {}", r.asset_id, why.words()),
                None => outln!("  {}: no time-based PM — {}", r.asset_id, why.words()),
            }
        }
    }
}

fn print_orders(orders: &[WorkOrderRow]) {
    let mut table = crate::out::table(&["id", "asset", "plan", "state", "due (site time)", "completed"], &[0]);
    for w in orders {
        table.add_row([
            w.id.to_string(),
            w.asset_id.clone(),
            w.plan_id.clone(),
            w.state.to_string(),
            rfc3339_local(w.due_at, &w.timezone),
            w.completed_at.map_or(String::new(), |c| rfc3339_local(c, &w.timezone)),
        ]);
    }
    crate::out::print_table(&table);
}

/// Exit code of a refused work-order operation (the rule is named in the message).
const EXIT_REFUSED: u8 = 5;

fn refused(e: &PmServiceError) -> ExitCode {
    eprintln!("error [{}]: {e}", e.code());
    ExitCode::from(EXIT_REFUSED)
}

pub async fn work_orders(config: &Config, action: WorkOrdersAction) -> anyhow::Result<ExitCode> {
    let store = match action {
        WorkOrdersAction::List { .. } => config.open_existing_store().await?,
        _ => Store::open(&config.database_url).await?,
    };
    let now = Timestamp::now().as_millisecond();
    let code = match action {
        WorkOrdersAction::List { state, asset, format } => {
            let orders = match state.as_deref().map(str::parse::<WoState>) {
                // No work order is in a state that does not exist.
                Some(Err(_)) => Vec::new(),
                Some(Ok(s)) => store.work_orders(Some(s), asset.as_deref()).await?,
                None => store.work_orders(None, asset.as_deref()).await?,
            };
            match format {
                OutputFormat::Json => {
                    let orders: Vec<cmms_server::api::types::WorkOrderRow> =
                        orders.into_iter().map(Into::into).collect();
                    outln!("{}", serde_json::to_string_pretty(&orders)?)
                }
                OutputFormat::Table => print_orders(&orders),
            }
            ExitCode::SUCCESS
        }
        WorkOrdersAction::Transition { id, action } => {
            let action: WoAction = action.parse().map_err(|e| anyhow::anyhow!("{e}"))?;
            match pm::apply_action(&store, id, action, "cli", now).await {
                Ok(w) => {
                    print_orders(std::slice::from_ref(&w));
                    ExitCode::SUCCESS
                }
                Err(e @ (PmServiceError::Store(_) | PmServiceError::Formulas(_))) => return Err(e.into()),
                Err(e) => refused(&e),
            }
        }
        WorkOrdersAction::Complete { id, at } => {
            let at = instant(at.as_deref(), "at")?;
            let window = pm::completion_window(Timestamp::now(), config.completion_tolerance()?);
            match pm::complete(&store, id, at, window, "cli", now).await {
                Ok((done, next)) => {
                    print_orders(&[done, next]);
                    ExitCode::SUCCESS
                }
                Err(e @ (PmServiceError::Store(_) | PmServiceError::Formulas(_))) => return Err(e.into()),
                Err(e) => refused(&e),
            }
        }
        WorkOrdersAction::CorrectCompletion { id, at, reason } => {
            let at = instant(Some(&at), "at")?;
            let window = pm::completion_window(Timestamp::now(), config.completion_tolerance()?);
            match pm::correct(&store, id, at, &reason, window, "cli", now).await {
                Ok(c) => {
                    print_orders(std::slice::from_ref(&c.corrected));
                    match &c.next {
                        Some(next) if c.next_rescheduled => {
                            outln!("next PM {} rescheduled from the corrected completion:", next.id);
                            print_orders(std::slice::from_ref(next));
                        }
                        Some(next) => outln!(
                            "next PM {} is {}: due date kept (it follows the corrected completion)",
                            next.id,
                            next.state
                        ),
                        None => outln!("no next PM to reschedule"),
                    }
                    ExitCode::SUCCESS
                }
                Err(e @ (PmServiceError::Store(_) | PmServiceError::Formulas(_))) => return Err(e.into()),
                Err(e) => refused(&e),
            }
        }
    };
    store.close().await;
    Ok(code)
}

pub async fn formulas(config: &Config, action: FormulasAction) -> anyhow::Result<ExitCode> {
    let store = match action {
        FormulasAction::List | FormulasAction::Diff { .. } => config.open_existing_store().await?,
        FormulasAction::Load { .. } => Store::open(&config.database_url).await?,
    };
    let now = Timestamp::now().as_millisecond();
    match action {
        FormulasAction::List => {
            formulas::active(&store, now).await?;
            outln!("{:>7}  {:<6} {:<16} {:<24} label", "version", "active", "hash", "stored");
            for v in store.formula_versions().await? {
                outln!(
                    "{:>7}  {:<6} {:<16} {:<24} {}",
                    v.version_id,
                    if v.active { "yes" } else { "" },
                    &v.content_hash[..v.content_hash.len().min(16)],
                    cmms_core::time::rfc3339_utc(v.created_at),
                    v.label.unwrap_or_default()
                );
            }
        }
        FormulasAction::Load { file } => {
            let text = std::fs::read_to_string(&file).with_context(|| format!("cannot read {}", file.display()))?;
            let label = file.display().to_string();
            let (id, new) = formulas::load(&store, &text, &label, now)
                .await
                .with_context(|| format!("{} was not loaded", file.display()))?;
            if new {
                outln!("stored {label} as formula version {id}; it is now active (run `cmms recompute` to apply it)");
            } else {
                outln!("{label} is identical to stored version {id}; version {id} is now active");
            }
        }
        FormulasAction::Diff { from, to } => {
            let changes = formulas::diff_versions(&store, from, to).await?;
            if changes.is_empty() {
                outln!("versions {from} and {to} have the same parameters");
            }
            for c in changes {
                outln!(
                    "{}: {} -> {}",
                    c.path,
                    c.old.as_deref().unwrap_or("(absent)"),
                    c.new.as_deref().unwrap_or("(absent)")
                );
            }
        }
    }
    store.close().await;
    Ok(ExitCode::SUCCESS)
}
