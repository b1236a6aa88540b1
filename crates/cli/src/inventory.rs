//! `cmms recompute`, `cmms report`, `cmms quarantine`, `cmms thresholds` and `cmms scans`: the
//! inventory side of the CLI, and the recompute/report that span both pipelines.

use crate::cli::{OutputFormat, QuarantineAction, ScansAction, SnapshotsAction, ThresholdsAction};
use crate::config::Config;
use crate::instant;
use cmms_pipeline::cycle::{CycleScope, cycle};
use cmms_pipeline::inventory::{self, GateRun};
use cmms_pipeline::routing::{self, RouteScope, RoutingRun};
use cmms_pipeline::{pm, thresholds};
use cmms_store::Store;
use jiff::Timestamp;
use std::process::ExitCode;

/// Prints what the validation and mapping stage did.
pub fn print_gate(g: &GateRun) {
    outln!(
        "validation: {} consumption events mapped; snapshots {} applied, {} stale/duplicate, {} held as implausible; \
         scans {} matched, {} discrepant, {} parts released",
        g.consumption_mapped,
        g.snapshots_applied,
        g.snapshots_stale,
        g.snapshots_held,
        g.scans_matched,
        g.scans_discrepant,
        g.parts_released
    );
    // The SKUs holding the most records first; a large feed can hold tens of thousands.
    const SHOWN: usize = 20;
    let mut held: Vec<(&String, &i64)> = g.quarantined.iter().collect();
    held.sort_by(|a, b| b.1.cmp(a.1).then_with(|| a.0.cmp(b.0)));
    for (sku, n) in held.iter().take(SHOWN) {
        outln!("  quarantined {sku}: {n} record(s) held (see `cmms quarantine list`)");
    }
    if let Some(rest) = held.get(SHOWN..).filter(|rest| !rest.is_empty()) {
        outln!(
            "  … and {} more SKU(s) holding {} record(s) (`cmms quarantine list` shows them all)",
            rest.len(),
            rest.iter().map(|(_, n)| **n).sum::<i64>()
        );
    }
}

/// Prints what a routing run did, in one line.
pub fn print_routing(r: &RoutingRun) {
    outln!(
        "routing: procurement requests {} raised, {} resized, {} fulfilled; work orders {} held for material, \
         {} released; {} part(s) paused by a scan discrepancy",
        r.requests_raised,
        r.requests_resized,
        r.requests_closed,
        r.orders_held,
        r.orders_released,
        r.parts_paused
    );
}

/// Routes the given parts and prints the summary line.
async fn route_parts(store: &Store, parts: Vec<String>, now_ms: i64) -> anyhow::Result<()> {
    let run = routing::route(store, RouteScope::Parts(parts), now_ms).await?;
    print_routing(&run);
    Ok(())
}

pub async fn recompute(config: &Config, as_of: Option<&str>, all: bool) -> anyhow::Result<ExitCode> {
    let as_of = instant(as_of, "as-of")?;
    let now = Timestamp::now().as_millisecond();
    let store = config.open_store().await?;
    let scope = if all { thresholds::RecomputeScope::All } else { thresholds::RecomputeScope::Changed };
    let report = cycle(&store, as_of, now, CycleScope::Recompute(scope)).await?;
    store.close().await;
    let (Some(th), Some(pm), Some(routed)) = (report.thresholds, report.intervals, report.routing) else {
        anyhow::bail!("a recompute cycle runs every stage");
    };
    print_gate(&report.gate);
    outln!(
        "thresholds (formula version {}, as of {as_of}): {} parts computed{}, {} unchanged inputs skipped, {} changed",
        th.formula_version,
        th.parts,
        if th.full { " (all)" } else { "" },
        th.skipped,
        th.changed
    );
    for (status, n) in &th.by_status {
        outln!("  status {status}: {n}");
    }
    for (basis, n) in &th.by_basis {
        outln!("  published {basis}: {n}");
    }
    crate::pm::print_intervals(&pm);
    print_routing(&routed);
    Ok(part_errors_exit(&th.part_errors, &pm.asset_errors))
}

/// Exit code of a recompute that completed but could not compute some parts or assets from their
/// own data (each is named with the reason; the others were computed).
const EXIT_PART_ERRORS: u8 = 4;

/// Names the parts and assets a recompute could not compute and picks the exit code.
fn part_errors_exit(parts: &[thresholds::PartError], assets: &[pm::AssetError]) -> ExitCode {
    const SHOWN: usize = 20;
    if parts.is_empty() && assets.is_empty() {
        return ExitCode::SUCCESS;
    }
    eprintln!(
        "completed with part errors: {} part(s) and {} asset(s) could not be computed from their own data \
         (the others were; see `cmms report`)",
        parts.len(),
        assets.len()
    );
    for e in parts.iter().take(SHOWN) {
        eprintln!("  part {}: {} — {}", e.part_id, e.code, e.reason);
    }
    for e in assets.iter().take(SHOWN) {
        eprintln!("  asset {}: {}", e.asset_id, e.reason);
    }
    if parts.len() > SHOWN || assets.len() > SHOWN {
        eprintln!("  … (the full list is in `cmms report`)");
    }
    ExitCode::from(EXIT_PART_ERRORS)
}

#[derive(serde::Serialize)]
struct PartLine {
    part_id: String,
    available: f64,
    on_hand: f64,
    min: f64,
    reorder: f64,
    max: f64,
    basis: String,
}

pub async fn report(config: &Config, format: OutputFormat) -> anyhow::Result<ExitCode> {
    let store = config.open_existing_store().await?;
    let current = store.current_thresholds().await?;
    let stock = store.stock_all().await?;
    let mut below = Vec::new();
    let mut paused = Vec::new();
    let mut parts: Vec<_> = current.values().collect();
    parts.sort_by(|a, b| a.part_id.cmp(&b.part_id));
    for t in parts {
        let Some(stock) = stock.get(&t.part_id) else { continue };
        if let Some(why) = &stock.paused_reason {
            paused.push((t.part_id.clone(), why.clone()));
        }
        let available = stock.on_hand - stock.reserved;
        if available < t.published[1] {
            below.push(PartLine {
                part_id: t.part_id.clone(),
                available,
                on_hand: stock.on_hand,
                min: t.published[0],
                reorder: t.published[1],
                max: t.published[2],
                basis: t.basis.as_str().to_owned(),
            });
        }
    }
    let alerts = store.open_alerts().await?;
    let quarantine = store.quarantine(true).await?;
    let errors = store.threshold_errors().await?;
    let intervals = store.pm_intervals().await?;
    let procurement = store.procurement_requests(Some(cmms_store::codes::RequestStatus::Open.as_str())).await?;
    store.close().await;
    if format == OutputFormat::Json {
        // The API's shapes: instants as RFC 3339 strings, as everywhere (docs/contract.md "Timestamps").
        use cmms_server::api::types::{self as api, convert};
        let doc = serde_json::json!({
            "parts_below_reorder": below,
            "paused_parts": paused.iter().map(|(p, why)| serde_json::json!({"part_id": p, "reason": why})).collect::<Vec<_>>(),
            "alerts": convert::<_, api::AlertRow>(alerts),
            "quarantine": convert::<_, api::QuarantineRow>(quarantine),
            "threshold_errors": errors,
            "pm_intervals": convert::<_, api::PmIntervalRow>(intervals),
            "procurement_requests_open": convert::<_, api::ProcurementRow>(procurement),
        });
        outln!("{}", serde_json::to_string_pretty(&doc)?);
        return Ok(ExitCode::SUCCESS);
    }
    outln!("Parts below reorder point ({}), available = on hand − reserved", below.len());
    let mut table = crate::out::table(&["part", "available", "min", "reorder", "max", "basis"], &[1, 2, 3, 4]);
    for p in &below {
        table.add_row([
            p.part_id.clone(),
            p.available.to_string(),
            p.min.to_string(),
            p.reorder.to_string(),
            p.max.to_string(),
            p.basis.clone(),
        ]);
    }
    crate::out::print_table(&table);
    outln!("\nOpen alerts ({})", alerts.len());
    for a in &alerts {
        outln!("  [{}] {}: {}", a.kind, a.subject, a.message);
    }
    outln!("\nParts with routing paused ({})", paused.len());
    for (p, why) in &paused {
        outln!("  {p}: {why}");
    }
    outln!("\nProcurement requests ({} open)", procurement.len());
    if !procurement.is_empty() {
        let mut table = crate::out::table(&["id", "part", "quantity", "raised", "reason"], &[0, 2]);
        for r in &procurement {
            let raised = cmms_core::time::rfc3339_utc(r.created_at);
            table.add_row([r.id.to_string(), r.part_id.clone(), r.quantity.to_string(), raised, r.reason.clone()]);
        }
        crate::out::print_table(&table);
    }
    outln!("\nQuarantine ({} open)", quarantine.len());
    for q in &quarantine {
        outln!(
            "  #{} {}/{:?} {} — {} record(s) held{}",
            q.id,
            q.source,
            q.external_sku,
            q.reason,
            q.held_count,
            q.candidates.as_deref().map_or(String::new(), |c| format!(", candidates {c}"))
        );
    }
    if !errors.is_empty() {
        outln!("\nParts without thresholds ({})", errors.len());
        for e in &errors {
            match &e.reason {
                Some(why) => outln!("  {}: {} — {why}", e.part_id, e.code),
                None => outln!("  {}: {}", e.part_id, e.code),
            }
        }
    }
    crate::pm::print_pm_report(&intervals);
    Ok(ExitCode::SUCCESS)
}

pub async fn quarantine(config: &Config, action: QuarantineAction) -> anyhow::Result<ExitCode> {
    let store = match action {
        QuarantineAction::List => config.open_existing_store().await?,
        QuarantineAction::Resolve { .. } => Store::open(&config.database_url).await?,
    };
    let now = Timestamp::now().as_millisecond();
    match action {
        QuarantineAction::List => {
            let rows = store.quarantine(false).await?;
            let mut table = crate::out::table(
                &["id", "status", "source", "sku", "reason", "held", "candidates / resolved to"],
                &[0, 5],
            );
            for q in rows {
                table.add_row([
                    q.id.to_string(),
                    q.status.to_string(),
                    q.source,
                    format!("{:?}", q.external_sku),
                    q.reason,
                    q.held_count.to_string(),
                    q.resolved_part_id.or(q.candidates).unwrap_or_default(),
                ]);
            }
            crate::out::print_table(&table);
        }
        QuarantineAction::Resolve { id, part } => {
            let run = inventory::resolve_quarantine(&store, id, &part, now).await?;
            outln!("quarantine #{id} mapped to {part}; held records re-processed:");
            print_gate(&run);
            route_parts(&store, vec![part], now).await?;
        }
    }
    store.close().await;
    Ok(ExitCode::SUCCESS)
}

pub async fn thresholds(config: &Config, action: ThresholdsAction) -> anyhow::Result<ExitCode> {
    let store = config.open_store().await?;
    let now = Timestamp::now().as_millisecond();
    let ThresholdsAction::Approve { parts } = action;
    let mut failed = false;
    let mut approved = Vec::new();
    for part in parts {
        match thresholds::approve(&store, &part, now).await {
            Ok(()) => {
                outln!("{part}: computed thresholds approved and published");
                approved.push(part);
            }
            Err(e @ thresholds::ThresholdsError::NothingToApprove(_)) => {
                eprintln!("{part}: {e}");
                failed = true;
            }
            Err(e) => return Err(e.into()),
        }
    }
    if !approved.is_empty() {
        route_parts(&store, approved, now).await?;
    }
    store.close().await;
    Ok(if failed { ExitCode::FAILURE } else { ExitCode::SUCCESS })
}

pub async fn scans(config: &Config, action: ScansAction) -> anyhow::Result<ExitCode> {
    let store = Store::open(&config.database_url).await?;
    let ScansAction::Accept { scan_id } = action;
    let now = Timestamp::now().as_millisecond();
    let part = inventory::accept_scan(&store, &scan_id, now).await?;
    outln!("count of scan {scan_id} accepted: stock of {part} set to the counted quantity, routing resumed");
    route_parts(&store, vec![part], now).await?;
    store.close().await;
    Ok(ExitCode::SUCCESS)
}

pub async fn compute(
    input: &std::path::Path,
    output: &std::path::Path,
    formulas: Option<&std::path::Path>,
    as_of: Option<&str>,
) -> anyhow::Result<ExitCode> {
    use anyhow::Context;
    let as_of = instant(as_of, "as-of")?;
    let set = match formulas {
        Some(path) => {
            let text = std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
            cmms_core::formula::FormulaSet::parse(&text).with_context(|| format!("{}", path.display()))?
        }
        None => cmms_core::formula::FormulaSet::defaults(),
    };
    // The plausibility window runs to a day past the clock, or past --as-of for a what-if run
    // dated in the future.
    let window = cmms_core::time::TimeWindow::events(jiff::Timestamp::now().max(as_of));
    let report =
        tokio::task::block_in_place(|| cmms_pipeline::compute::compute_folder(input, output, &set, as_of, window))?;
    for issue in &report.issues {
        eprintln!("{issue}");
    }
    outln!(
        "computed {} parts and {} assets as of {as_of} into {} (formula {})",
        report.parts,
        report.assets,
        output.display(),
        &set.content_hash()[..12]
    );
    for (kind, n) in &report.accepted {
        let rejected = report.rejected.get(kind).copied().unwrap_or(0);
        outln!("  {kind}: {n} accepted, {rejected} rejected");
    }
    outln!(
        "  {} duplicate deliveries ignored, {} consumption events with unmapped SKUs",
        report.duplicates,
        report.unmapped_events
    );
    Ok(ExitCode::SUCCESS)
}

pub async fn snapshots(config: &Config, action: SnapshotsAction) -> anyhow::Result<ExitCode> {
    let store = Store::open(&config.database_url).await?;
    let SnapshotsAction::Accept { part } = action;
    let now = Timestamp::now().as_millisecond();
    let snap = inventory::accept_held_snapshot(&store, &part, now).await?;
    outln!(
        "snapshot {}#{} accepted: stock of {part} set to {} after review",
        snap.source,
        snap.sequence_id,
        snap.on_hand
    );
    route_parts(&store, vec![part], now).await?;
    store.close().await;
    Ok(ExitCode::SUCCESS)
}
