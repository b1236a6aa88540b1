//! `cmms events`: void an accepted event, restore it, list voids. A void or restore is followed
//! by the recompute of what it touched (thresholds of the marked parts, PM intervals for a
//! failure event) and the routing of the touched parts, as other operator commands route theirs.

use crate::cli::{EventsAction, OutputFormat};
use crate::config::Config;
use crate::instant;
use cmms_core::corrections::VoidFeed;
use cmms_pipeline::corrections::{self, Correction, CorrectionError};
use cmms_pipeline::routing::{self, RouteScope};
use cmms_pipeline::{pm, thresholds};
use cmms_store::Store;
use cmms_store::corrections::EventVoidRow;
use jiff::Timestamp;
use std::process::ExitCode;

/// Exit code of a refused correction (unknown, ambiguous, already voided, not voided).
const EXIT_REFUSED: u8 = 5;

/// Who a correction from the command line is recorded as: `cli:<login>`.
fn actor() -> String {
    let user = std::env::var("USER").or_else(|_| std::env::var("LOGNAME")).unwrap_or_default();
    if user.trim().is_empty() { "cli".to_owned() } else { format!("cli:{}", user.trim()) }
}

pub async fn run(config: &Config, action: EventsAction) -> anyhow::Result<ExitCode> {
    let store = match action {
        EventsAction::List { .. } => config.open_existing_store().await?,
        _ => config.open_store().await?,
    };
    let now = Timestamp::now().as_millisecond();
    let code = match action {
        EventsAction::Void { source, event_id, reason, feed, as_of } => {
            let as_of = instant(as_of.as_deref(), "as-of")?;
            let done =
                corrections::void(&store, feed.map(VoidFeed::from), &source, &event_id, &reason, &actor(), now).await;
            match done {
                Ok(c) => {
                    outln!(
                        "voided {} event {}/{} (void #{}, by {}): {}",
                        c.record.feed,
                        c.record.source,
                        c.record.event_id,
                        c.record.id,
                        c.record.voided_by,
                        c.record.reason
                    );
                    follow_up(&store, &c, as_of, now).await?;
                    ExitCode::SUCCESS
                }
                Err(e) => refused(e)?,
            }
        }
        EventsAction::Restore { source, event_id, reason, feed, as_of } => {
            let as_of = instant(as_of.as_deref(), "as-of")?;
            let done = corrections::restore(
                &store,
                feed.map(VoidFeed::from),
                &source,
                &event_id,
                reason.as_deref(),
                &actor(),
                now,
            )
            .await;
            match done {
                Ok(c) => {
                    outln!(
                        "restored {} event {}/{} (void #{} undone): it counts again",
                        c.record.feed,
                        c.record.source,
                        c.record.event_id,
                        c.record.id
                    );
                    follow_up(&store, &c, as_of, now).await?;
                    ExitCode::SUCCESS
                }
                Err(e) => refused(e)?,
            }
        }
        EventsAction::List { all, limit, format } => {
            let rows = store.event_voids(!all, limit).await?;
            match format {
                OutputFormat::Json => {
                    let rows: Vec<cmms_server::api::types::EventVoidRow> = rows.into_iter().map(Into::into).collect();
                    outln!("{}", serde_json::to_string_pretty(&rows)?)
                }
                OutputFormat::Table => print_voids(&rows),
            }
            ExitCode::SUCCESS
        }
    };
    store.close().await;
    Ok(code)
}

/// A refusal is the operator's to fix (exit 5, the code named); a store failure is an error.
fn refused(e: CorrectionError) -> anyhow::Result<ExitCode> {
    match e {
        CorrectionError::Store(_) | CorrectionError::Inventory(_) => Err(e.into()),
        e => {
            eprintln!("error [{}]: {e}", e.code());
            Ok(ExitCode::from(EXIT_REFUSED))
        }
    }
}

/// The recompute and routing of what a correction touched.
async fn follow_up(store: &Store, c: &Correction, as_of: Timestamp, now: i64) -> anyhow::Result<()> {
    if c.record.feed == VoidFeed::Consumption.as_str() && !c.parts.is_empty() {
        let th = thresholds::recompute_thresholds(store, as_of, now).await?;
        outln!(
            "thresholds (formula version {}, as of {as_of}): {} parts computed, {} changed",
            th.formula_version,
            th.parts,
            th.changed
        );
    }
    if !c.assets.is_empty() {
        let run = pm::recompute_intervals(store, as_of, now).await?;
        crate::pm::print_intervals(&run);
    }
    if !c.parts.is_empty() {
        let run = routing::route(store, RouteScope::Parts(c.parts.clone()), now).await?;
        crate::inventory::print_routing(&run);
    }
    Ok(())
}

fn when(ms: i64) -> String {
    cmms_core::time::rfc3339_utc(ms)
}

fn print_voids(rows: &[EventVoidRow]) {
    outln!(
        "{:>5} {:<12} {:<28} {:<14} {:<16} {:<18} {:<16}  reason",
        "id",
        "feed",
        "event",
        "part/asset",
        "voided (UTC)",
        "by",
        "restored (UTC)"
    );
    for v in rows {
        outln!(
            "{:>5} {:<12} {:<28} {:<14} {:<16} {:<18} {:<16}  {}{}",
            v.id,
            v.feed,
            format!("{}/{}", v.source, v.event_id),
            v.subject.as_deref().unwrap_or("-"),
            when(v.voided_at),
            v.voided_by,
            v.restored_at.map_or(String::new(), when),
            v.reason,
            v.restored_by.as_deref().map_or(String::new(), |by| format!(
                " — restored by {by}{}",
                v.restore_reason.as_deref().map_or(String::new(), |r| format!(": {r}"))
            ))
        );
    }
}
