//! Validation and mapping stage of the inventory pipeline. Runs over what ingestion staged:
//! maps consumption SKUs to parts (quarantining unmapped and ambiguous SKUs), passes stock
//! snapshots through the gate (sequence order, plausibility), and reconciles scans, pausing
//! routing for a part whose count disagrees with system stock.
//!
//! Safe to run any number of times: every step only touches records still pending, and
//! quarantined records are retried, so a later SKU-map import or an operator's resolve releases
//! them.

use crate::formulas::{self, FormulasError};
use cmms_core::feeds::ConsumptionRecord;
use cmms_core::formula::GateParams;
use cmms_core::inventory::{
    Pause, Plausibility, ReconcileEvent, RoutingState, ScanOutcome, SequenceCheck, check_plausibility, check_sequence,
    reconcile, reconcile_scan,
};
use cmms_core::mapping::{Mapping, SkuIndex, normalise};
use cmms_core::quantity::Quantity;
use cmms_core::time::from_epoch_ms;
use cmms_store::codes::{AlertKind, OpenStatus, ScanVerdict, SnapshotStatus};
use cmms_store::inventory::{StagedScan, StagedSnapshot};
use cmms_store::sku_map::QuarantineHold;
use cmms_store::{Store, StoreError};
use std::collections::{BTreeMap, BTreeSet};
use tracing::Instrument;

/// The quarantine "source" of scanned codes (scans carry no source system).
pub const SCAN_SOURCE: &str = "SCAN";
/// Alert kind: a scan disagreed with system stock.
pub const ALERT_SCAN: AlertKind = AlertKind::ScanDiscrepancy;
/// Alert kind: a snapshot was held as implausible.
pub const ALERT_DROP: AlertKind = AlertKind::ImplausibleDrop;

/// Errors of the inventory stages.
#[derive(Debug, thiserror::Error)]
pub enum InventoryError {
    /// No quarantine entry has this id.
    #[error("unknown quarantine entry {0} (see `cmms quarantine list`)")]
    UnknownQuarantine(i64),
    /// The entry was already resolved.
    #[error("quarantine entry {0} is already resolved")]
    AlreadyResolved(i64),
    /// No such part.
    #[error("unknown part {0:?}")]
    UnknownPart(String),
    /// No scan has this id.
    #[error("unknown scan {0:?}")]
    UnknownScan(String),
    /// No held snapshot, or the scan or snapshot is not in a state the operator action applies to.
    #[error("{0}")]
    Scan(String),
    /// The formula registry could not be loaded.
    #[error(transparent)]
    Formulas(#[from] FormulasError),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// What one run of the stage did.
#[derive(Debug, Default, serde::Serialize)]
pub struct GateRun {
    /// Consumption events newly mapped to a part.
    pub consumption_mapped: u64,
    /// Records (consumption, snapshots, scans) held in quarantine, by SKU.
    pub quarantined: BTreeMap<String, i64>,
    /// Snapshots applied to stock.
    pub snapshots_applied: u64,
    /// Snapshots not newer than the last applied one (duplicate or stale delivery).
    pub snapshots_stale: u64,
    /// Snapshots held for review as implausible.
    pub snapshots_held: u64,
    /// Scans that matched system stock.
    pub scans_matched: u64,
    /// Scans that disagreed (their part's routing is paused).
    pub scans_discrepant: u64,
    /// Parts whose pause a matching count released.
    pub parts_released: u64,
    /// Parts whose stock or routing pause this run changed: the only routing inputs the gate (and
    /// so a feed import) changes. Not reported; routing after an import looks at these.
    #[serde(skip)]
    pub touched: BTreeSet<String>,
}

/// Serialises the validation stage within a process: two concurrent runs would otherwise judge the
/// same staged snapshot twice. (Across processes the store's forward-only sequence update guards.)
static STAGE: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// Ingests a consumption file. SKUs that map are resolved in the same write (so a million
/// events are not rewritten afterwards); the rest stay unmapped for [`process`] to quarantine.
pub(crate) async fn import_consumption(
    store: &Store,
    path: &std::path::Path,
    now_ms: i64,
    observer: &mut dyn crate::import::ImportObserver,
) -> Result<crate::import::ImportReport, crate::import::ImportError> {
    // Its own index, dropped when the import is done (the cached one would stay for the process).
    let ix = store.sku_map_index_uncached().await?;
    crate::import::import_file_with::<ConsumptionRecord>(store, path, now_ms, observer, &mut |rec| match ix
        .resolve(rec.source.as_str(), rec.external_sku.as_str())
    {
        Mapping::Part(part) => Some(part),
        _ => None,
    })
    .await
}

/// An index holding just the SKU-map entries that decide these SKUs and codes.
async fn index_for(store: &Store, pairs: Vec<(String, String)>, codes: Vec<String>) -> Result<SkuIndex, StoreError> {
    let (entries, parts) = store.sku_candidates(&pairs, &codes).await?;
    Ok(SkuIndex::new(
        entries.iter().map(|e| (e.source.as_str(), e.external_sku.as_str(), e.part_id.as_str())),
        parts.iter().map(String::as_str),
    ))
}

/// Maps consumption events at ingest: the part of each `(source, SKU)` that maps, by the
/// deterministic rules (unmappable ones are left for [`process`] to quarantine). Uses the store's
/// in-memory SKU index, so a webhook batch costs one small read, not a query per thousand SKUs.
pub async fn map_skus(
    store: &Store,
    pairs: Vec<(String, String)>,
) -> Result<std::collections::HashMap<(String, String), Mapping>, StoreError> {
    let ix = store.sku_map_index().await?;
    Ok(pairs
        .into_iter()
        .map(|(src, sku)| {
            let m = ix.resolve(&src, &sku);
            ((src, sku), m)
        })
        .collect())
}

/// Runs mapping, the snapshot gate and scan reconciliation over everything pending.
pub async fn process(store: &Store, now_ms: i64) -> Result<GateRun, InventoryError> {
    // Instrumented rather than entered: the gate runs beside the PM stage (`crate::cycle`).
    process_in_span(store, now_ms).instrument(tracing::info_span!("validate_and_map")).await
}

async fn process_in_span(store: &Store, now_ms: i64) -> Result<GateRun, InventoryError> {
    let _stage = STAGE.lock().await;
    let (_, formulas) = formulas::active(store, now_ms).await?;
    let gate = *formulas.gate();
    let mut run = GateRun::default();
    let unmapped = store.unmapped_consumption().await?;
    let snapshots = store.staged_snapshots().await?;
    let scans = store.staged_scans().await?;
    if unmapped.is_empty() && snapshots.is_empty() && scans.is_empty() {
        return Ok(run);
    }
    let pairs = unmapped
        .iter()
        .map(|(src, sku, _)| (src.clone(), sku.clone()))
        .chain(snapshots.iter().map(|s| (s.source.clone(), s.external_sku.clone())))
        .collect();
    let ix = index_for(store, pairs, scans.iter().map(|s| s.code.clone()).collect()).await?;
    let mut held: BTreeMap<(String, String), (Mapping, i64)> = BTreeMap::new();

    for (source, sku, n) in unmapped {
        match ix.resolve(&source, &sku) {
            Mapping::Part(part) => {
                run.consumption_mapped += store.map_consumption(&source, &sku, &part).await?;
                store.quarantine_release(&source, &sku, &part, now_ms).await?;
            }
            other => held.entry((source, sku)).or_insert((other, 0)).1 += n,
        }
    }
    for snap in snapshots {
        match ix.resolve(&snap.source, &snap.external_sku) {
            Mapping::Part(part) => {
                store.quarantine_release(&snap.source, &snap.external_sku, &part, now_ms).await?;
                gate_snapshot(store, &snap, &part, &gate, &mut run, now_ms).await?;
            }
            other => {
                store
                    .set_snapshot_status(&snap, None, SnapshotStatus::Quarantined, other.code().unwrap_or("UNMAPPED"))
                    .await?;
                held.entry((snap.source.clone(), snap.external_sku.clone())).or_insert((other, 0)).1 += 1;
            }
        }
    }
    for scan in scans {
        match ix.resolve_code(&scan.code) {
            Mapping::Part(part) => {
                store.quarantine_release(SCAN_SOURCE, &scan.code, &part, now_ms).await?;
                reconcile_one(store, &scan, &part, &gate, &mut run, now_ms).await?;
            }
            other => {
                store.set_scan_outcome(&scan.scan_id, None, None, ScanVerdict::Quarantined).await?;
                held.entry((SCAN_SOURCE.to_owned(), scan.code.clone())).or_insert((other, 0)).1 += 1;
            }
        }
    }
    let mut holds = Vec::with_capacity(held.len());
    for ((source, sku), (mapping, n)) in held {
        let candidates = match &mapping {
            Mapping::Ambiguous(parts) => Some(parts.join(",")),
            _ => None,
        };
        let reason = mapping.code().unwrap_or("UNMAPPED");
        run.quarantined.insert(format!("{source}/{sku} ({reason})"), n);
        holds.push(QuarantineHold { source, external_sku: sku, reason, candidates, held_count: n });
    }
    store.quarantine_hold(&holds, now_ms).await?;
    for (outcome, n) in [
        ("applied", run.snapshots_applied),
        ("stale", run.snapshots_stale),
        ("held", run.snapshots_held),
        ("quarantined", run.quarantined.values().map(|n| *n as u64).sum()),
    ] {
        metrics::counter!("cmms_records_total", "stage" => "validate", "feed" => "inventory", "status" => outcome)
            .increment(n);
    }
    metrics::counter!("cmms_records_total", "stage" => "validate", "feed" => "scans", "status" => "discrepant")
        .increment(run.scans_discrepant);
    tracing::info!(
        mapped = run.consumption_mapped,
        applied = run.snapshots_applied,
        stale = run.snapshots_stale,
        held = run.snapshots_held,
        quarantined = run.quarantined.len(),
        "inventory records validated"
    );
    Ok(run)
}

async fn gate_snapshot(
    store: &Store,
    snap: &StagedSnapshot,
    part: &str,
    gate: &GateParams,
    run: &mut GateRun,
    now_ms: i64,
) -> Result<(), InventoryError> {
    let last = store.last_sequence(&snap.source, &snap.external_sku).await?;
    match check_sequence(last, snap.sequence_id) {
        SequenceCheck::Apply => {}
        verdict => {
            let why = format!(
                "sequence {} is not newer than the last applied {} ({verdict:?})",
                snap.sequence_id,
                last.unwrap_or(0)
            );
            if store.set_snapshot_status(snap, Some(part), SnapshotStatus::Stale, &why).await? {
                run.snapshots_stale += 1;
            }
            return Ok(());
        }
    }
    let previous = store.stock(part).await?.and_then(|s| Quantity::new(s.on_hand).ok());
    let lookback_ms = i64::from(gate.drop_lookback_days) * 86_400_000;
    let recent = store.consumption_between(part, snap.observed_at - lookback_ms, snap.observed_at).await?;
    match check_plausibility(snap.on_hand, previous, Quantity::new(recent).unwrap_or(Quantity::ZERO), gate) {
        Plausibility::Apply(_) if store.apply_snapshot(snap, part, now_ms).await? => {
            run.snapshots_applied += 1;
            run.touched.insert(part.to_owned());
        }
        Plausibility::Apply(_) => {
            // Another process applied this one or a newer one meanwhile (its verdict stays).
            let why = "a newer snapshot was applied meanwhile";
            if store.set_snapshot_status(snap, Some(part), SnapshotStatus::Stale, why).await? {
                run.snapshots_stale += 1;
            }
        }
        Plausibility::Hold(hold) => {
            let why = format!("{}: {hold}", cmms_core::inventory::DropHold::CODE);
            if !store.set_snapshot_status(snap, Some(part), SnapshotStatus::Held, &why).await? {
                return Ok(()); // Another process gave its verdict first.
            }
            store
                .raise_alert(
                    ALERT_DROP,
                    part,
                    &format!("snapshot {}#{} held: {hold}", snap.source, snap.sequence_id),
                    None,
                    now_ms,
                )
                .await?;
            run.snapshots_held += 1;
        }
        Plausibility::Reject(r) => {
            store.set_snapshot_status(snap, Some(part), SnapshotStatus::Rejected, r.code()).await?;
        }
    }
    Ok(())
}

/// The routing state of a part as the core models it: paused by its latest discrepant scan.
async fn routing_state(store: &Store, part: &str) -> Result<RoutingState, InventoryError> {
    if store.stock(part).await?.and_then(|s| s.paused_reason).is_none() {
        return Ok(RoutingState::Active);
    }
    let Some((counted, system, scanned_at)) = store.pausing_scan(part).await? else {
        return Ok(RoutingState::Active);
    };
    let outcome = reconcile_scan(
        Quantity::new(counted).unwrap_or(Quantity::ZERO),
        Quantity::new(system).unwrap_or(Quantity::ZERO),
        &GateParams { scan_abs_tolerance: 0.0, scan_rel_tolerance: 0.0, ..GateParams::default() },
    );
    Ok(match outcome {
        ScanOutcome::Discrepancy(discrepancy) => {
            RoutingState::Paused(Pause { discrepancy, scanned_at: from_epoch_ms(scanned_at) })
        }
        ScanOutcome::Match => RoutingState::Active,
    })
}

async fn reconcile_one(
    store: &Store,
    scan: &StagedScan,
    part: &str,
    gate: &GateParams,
    run: &mut GateRun,
    now_ms: i64,
) -> Result<(), InventoryError> {
    let system = store.stock(part).await?.map_or(0.0, |s| s.on_hand);
    let counted = Quantity::new(scan.counted_qty).unwrap_or(Quantity::ZERO);
    let outcome = reconcile_scan(counted, Quantity::new(system).unwrap_or(Quantity::ZERO), gate);
    let state = routing_state(store, part).await?;
    let next = reconcile(&state, ReconcileEvent::Scan { outcome, scanned_at: from_epoch_ms(scan.scanned_at) })
        .unwrap_or(cmms_core::inventory::Reconciled { state, set_stock_to: None });
    let verdict = match outcome {
        ScanOutcome::Match => ScanVerdict::Match,
        ScanOutcome::Discrepancy(_) => ScanVerdict::Discrepancy,
    };
    if !store.set_scan_outcome(&scan.scan_id, Some(part), Some(system), verdict).await? {
        // Another process's gate run reconciled this scan meanwhile: its verdict and pause stand.
        return Ok(());
    }
    match outcome {
        ScanOutcome::Match => run.scans_matched += 1,
        ScanOutcome::Discrepancy(d) => {
            run.scans_discrepant += 1;
            let msg = format!(
                "scan {} counted {} but system stock is {} (tolerance {}); routing paused until a matching count or `cmms scans accept {}`",
                scan.scan_id, d.counted, d.system, d.tolerance, scan.scan_id
            );
            store.raise_alert(ALERT_SCAN, part, &msg, None, now_ms).await?;
        }
    }
    match (state.is_paused(), next.state.is_paused()) {
        (_, true) => {
            store.set_pause(part, Some(&format!("SCAN_DISCREPANCY: scan {}", scan.scan_id)), None, now_ms).await?;
            run.touched.insert(part.to_owned());
        }
        (true, false) => {
            store.set_pause(part, None, next.set_stock_to, now_ms).await?;
            run.touched.insert(part.to_owned());
            store.resolve_alert(ALERT_SCAN, part, now_ms).await?;
            run.parts_released += 1;
        }
        (false, false) => {}
    }
    Ok(())
}

/// An operator accepts the count of the scan that paused a part: stock becomes the counted
/// quantity and routing resumes.
pub async fn accept_scan(store: &Store, scan_id: &str, now_ms: i64) -> Result<String, InventoryError> {
    let _stage = STAGE.lock().await;
    let (part, _, outcome) =
        store.scan(scan_id).await?.ok_or_else(|| InventoryError::UnknownScan(scan_id.to_owned()))?;
    let part = part.ok_or_else(|| InventoryError::Scan(format!("scan {scan_id} is not mapped to a part yet")))?;
    if outcome != ScanVerdict::Discrepancy {
        return Err(InventoryError::Scan(format!("scan {scan_id} is {outcome}, not a discrepancy to accept")));
    }
    let state = routing_state(store, &part).await?;
    let next = reconcile(&state, ReconcileEvent::AcceptCount)
        .map_err(|e| InventoryError::Scan(format!("part {part}: {e}")))?;
    store.set_pause(&part, None, next.set_stock_to, now_ms).await?;
    store.set_scan_outcome(scan_id, Some(&part), None, ScanVerdict::Accepted).await?;
    store.resolve_alert(ALERT_SCAN, &part, now_ms).await?;
    Ok(part)
}

/// An operator accepts the latest snapshot of a part that was held as an implausible drop: it is
/// applied if no newer snapshot of its (source, SKU) was applied since, and the alert resolved.
pub async fn accept_held_snapshot(store: &Store, part_id: &str, now_ms: i64) -> Result<StagedSnapshot, InventoryError> {
    let _stage = STAGE.lock().await;
    let snap = store
        .held_snapshot(part_id)
        .await?
        .ok_or_else(|| InventoryError::Scan(format!("part {part_id:?} has no snapshot held for review")))?;
    let last = store.last_sequence(&snap.source, &snap.external_sku).await?;
    if check_sequence(last, snap.sequence_id) != SequenceCheck::Apply
        || !store.apply_snapshot(&snap, part_id, now_ms).await?
    {
        let why = "a newer snapshot was applied before review";
        store.set_snapshot_status(&snap, Some(part_id), SnapshotStatus::Stale, why).await?;
        return Err(InventoryError::Scan(format!(
            "snapshot {}#{} is older than the last applied one ({}); nothing to accept",
            snap.source,
            snap.sequence_id,
            last.unwrap_or(0)
        )));
    }
    store.resolve_alert(ALERT_DROP, part_id, now_ms).await?;
    Ok(snap)
}

/// Resolves a quarantine entry: maps its SKU to `part_id` (recorded in the SKU map, so later
/// deliveries map too) and re-processes the held records.
pub async fn resolve_quarantine(store: &Store, id: i64, part_id: &str, now_ms: i64) -> Result<GateRun, InventoryError> {
    let entry =
        store.quarantine(false).await?.into_iter().find(|q| q.id == id).ok_or(InventoryError::UnknownQuarantine(id))?;
    if entry.status != OpenStatus::Open {
        return Err(InventoryError::AlreadyResolved(id));
    }
    if !store.part_ids().await?.iter().any(|p| p == part_id) {
        return Err(InventoryError::UnknownPart(part_id.to_owned()));
    }
    store.add_sku_mapping(&entry.source, &entry.external_sku, &normalise(&entry.external_sku), part_id, now_ms).await?;
    process(store, now_ms).await
}
