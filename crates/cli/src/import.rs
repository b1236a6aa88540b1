//! `cmms import <kind> FILE`: streams the file into the store with a progress bar, prints each
//! rejected row as `FILE:LINE: field: reason`, and ends with a summary.

use crate::EXIT_REJECTED_ROWS;
use crate::cli::ImportKind;
use crate::config::Config;
use cmms_core::feeds::{FailureRecord, MtbfReadingRecord, ScanRecord, SnapshotRecord};
use cmms_core::master::{AssetPartRecord, AssetRecord, PartRecord, SiteRecord, SkuMapRecord};
use cmms_pipeline::import::{ImportObserver, ImportReport, Location, RowIssue, import_file};
use cmms_pipeline::routing::{RouteScope, route};
use cmms_store::Store;
use indicatif::{ProgressBar, ProgressStyle};
use std::path::Path;
use std::process::ExitCode;

/// Draws a byte-based progress bar on a terminal (hidden otherwise) and prints rejected rows.
struct Terminal {
    bar: ProgressBar,
    file: String,
}

impl ImportObserver for Terminal {
    fn started(&mut self, total: u64) {
        self.bar.set_length(total);
    }
    fn progress(&mut self, bytes: u64) {
        self.bar.set_position(bytes);
    }
    fn rejected(&mut self, issue: &RowIssue) {
        let line = match &issue.location {
            Location::Line(_) => format!("{}:{}", self.file, issue.to_string().trim_start_matches("line ")),
            Location::Index(_) => format!("{}: {issue}", self.file),
        };
        self.bar.suspend(|| eprintln!("{line}"));
    }
}

pub async fn run(config: &Config, kind: ImportKind, file: &Path, json: bool) -> anyhow::Result<ExitCode> {
    let store = Store::open(&config.database_url).await?;
    let bar = ProgressBar::new(0).with_style(
        ProgressStyle::with_template(
            "{spinner} importing {msg} [{bar:30}] {bytes}/{total_bytes} ({bytes_per_sec}, {eta})",
        )?
        .progress_chars("=> "),
    );
    bar.set_message(file.display().to_string());
    let mut observer = Terminal { bar, file: file.display().to_string() };
    let now = jiff::Timestamp::now().as_millisecond();
    let report = match kind {
        ImportKind::Sites => import_file::<SiteRecord>(&store, file, now, &mut observer).await,
        ImportKind::Parts => import_file::<PartRecord>(&store, file, now, &mut observer).await,
        ImportKind::SkuMap => import_file::<SkuMapRecord>(&store, file, now, &mut observer).await,
        ImportKind::Assets => import_file::<AssetRecord>(&store, file, now, &mut observer).await,
        ImportKind::AssetParts => import_file::<AssetPartRecord>(&store, file, now, &mut observer).await,
        ImportKind::Failures => import_file::<FailureRecord>(&store, file, now, &mut observer).await,
        ImportKind::Inventory => import_file::<SnapshotRecord>(&store, file, now, &mut observer).await,
        ImportKind::Consumption => cmms_pipeline::inventory::import_consumption(&store, file, now, &mut observer).await,
        ImportKind::Scans => import_file::<ScanRecord>(&store, file, now, &mut observer).await,
        ImportKind::MtbfReadings => import_file::<MtbfReadingRecord>(&store, file, now, &mut observer).await,
    };
    observer.bar.finish_and_clear();
    let report = report?;
    let feed = !matches!(
        kind,
        ImportKind::Sites | ImportKind::Parts | ImportKind::SkuMap | ImportKind::Assets | ImportKind::AssetParts
    );
    // Inventory feeds are staged by the import; the validation and mapping stage runs right after.
    // Then routing, over every part: the stage may have applied snapshots or paused and released
    // parts anywhere, not only for the SKUs of this file.
    let (gate, routed) = if matches!(kind, ImportKind::Inventory | ImportKind::Consumption | ImportKind::Scans) {
        let gate = cmms_pipeline::inventory::process(&store, now).await?;
        let routed = route(&store, RouteScope::All, now).await?;
        (Some(gate), Some(routed))
    } else {
        (None, None)
    };
    store.close().await;
    if json {
        // The import report, plus what the validation stage did for inventory feeds.
        let mut doc = serde_json::to_value(&report)?;
        if let (Some(obj), Some(gate)) = (doc.as_object_mut(), &gate) {
            obj.insert("validation".into(), serde_json::to_value(gate)?);
        }
        if let (Some(obj), Some(routed)) = (doc.as_object_mut(), &routed) {
            obj.insert("routing".into(), serde_json::to_value(routed)?);
        }
        println!("{}", serde_json::to_string_pretty(&doc)?);
    } else {
        print_summary(&report, feed);
        if let Some(gate) = &gate {
            crate::inventory::print_gate(gate);
        }
        if let Some(routed) = &routed {
            crate::inventory::print_routing(routed);
        }
    }
    Ok(if report.is_clean() { ExitCode::SUCCESS } else { ExitCode::from(EXIT_REJECTED_ROWS) })
}

fn print_summary(r: &ImportReport, feed: bool) {
    if feed {
        println!(
            "{}: {} rows read — {} new, {} duplicate deliveries (already stored, ignored), {} rejected",
            r.file, r.rows, r.counts.inserted, r.counts.unchanged, r.rejected
        );
    } else {
        println!(
            "{}: {} rows read — {} inserted, {} updated, {} unchanged, {} rejected",
            r.file, r.rows, r.counts.inserted, r.counts.updated, r.counts.unchanged, r.rejected
        );
    }
    if !r.ignored_columns.is_empty() {
        println!("ignored columns not used by `{}`: {}", r.kind, r.ignored_columns.join(", "));
    }
    if let Some(why) = &r.stopped {
        println!("stopped early: {why} (rows before that point were imported)");
    }
}
