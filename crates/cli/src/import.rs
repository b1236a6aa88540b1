//! `cmms import <kind> FILE`: streams the file into the store with a progress bar, prints each
//! rejected row as `FILE:LINE: field: reason`, and ends with a summary.

use crate::EXIT_REJECTED_ROWS;
use crate::config::Config;
use cmms_pipeline::cycle::{CycleScope, cycle};
use cmms_pipeline::feed::{self, Feed};
use cmms_pipeline::import::{ImportObserver, ImportReport, Location, RowIssue};
use cmms_store::Store;
use indicatif::{ProgressBar, ProgressStyle};
use std::path::Path;
use std::process::ExitCode;

/// Draws a byte-based progress bar on a terminal (hidden otherwise) and prints rejected rows.
struct Terminal {
    bar: ProgressBar,
    file: String,
    delimiter: Option<u8>,
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
    fn csv_delimiter(&self) -> Option<u8> {
        self.delimiter
    }
}

pub async fn run(
    config: &Config,
    kind: Feed,
    file: &Path,
    json: bool,
    delimiter: Option<u8>,
) -> anyhow::Result<ExitCode> {
    let store = Store::open(&config.database_url).await?;
    if crate::demo::is_demo(&store).await? {
        eprintln!(
            "warning: {} holds the site `cmms demo` built; {} is imported into it, beside the demo's data. \
             Use --database-url FILE (or another folder) to keep your own site apart.",
            crate::config::store_name(&config.database_url),
            file.display()
        );
    }
    let bar = ProgressBar::new(0).with_style(
        ProgressStyle::with_template(
            "{spinner} importing {msg} [{bar:30}] {bytes}/{total_bytes} ({bytes_per_sec}, {eta})",
        )?
        .progress_chars("=> "),
    );
    bar.set_message(file.display().to_string());
    let mut observer = Terminal { bar, file: file.display().to_string(), delimiter };
    let clock = jiff::Timestamp::now();
    let now = clock.as_millisecond();
    let report = feed::import(&store, kind, feed::File { path: file, observer: &mut observer }, now).await;
    observer.bar.finish_and_clear();
    let report = report?;
    // Staged feeds pass the validation and mapping gate right after, then routing of the parts
    // whose stock or pause the gate changed: it may have applied snapshots or paused and released
    // parts anywhere, not only for the SKUs of this file, and nothing else of a feed reaches
    // routing's inputs.
    let cycled = if kind.is_staged() { Some(cycle(&store, clock, now, CycleScope::RouteTouched).await?) } else { None };
    let (gate, routed) = match cycled {
        Some(c) => (Some(c.gate), c.routing),
        None => (None, None),
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
        outln!("{}", serde_json::to_string_pretty(&doc)?);
    } else {
        print_summary(&report, kind.is_event_feed(), delimiter.is_some());
        if let Some(gate) = &gate {
            crate::inventory::print_gate(gate);
        }
        if let Some(routed) = &routed {
            crate::inventory::print_routing(routed);
        }
    }
    Ok(if report.is_clean() { ExitCode::SUCCESS } else { ExitCode::from(EXIT_REJECTED_ROWS) })
}

fn print_summary(r: &ImportReport, feed: bool, given_delimiter: bool) {
    if feed {
        outln!(
            "{}: {} rows read — {} new, {} duplicate deliveries (already stored, ignored), {} rejected",
            r.file,
            r.rows,
            r.counts.inserted,
            r.counts.unchanged,
            r.rejected
        );
    } else {
        outln!(
            "{}: {} rows read — {} inserted, {} updated, {} unchanged, {} rejected",
            r.file,
            r.rows,
            r.counts.inserted,
            r.counts.updated,
            r.counts.unchanged,
            r.rejected
        );
    }
    if let Some(d) = &r.delimiter
        && (d != "," || given_delimiter)
    {
        let how = if given_delimiter { "as given by --delimiter" } else { "detected from the header line" };
        outln!("delimiter `{d}` ({how})");
    }
    if !r.ignored_columns.is_empty() {
        outln!("ignored columns not used by `{}`: {}", r.kind, r.ignored_columns.join(", "));
    }
    if let Some(why) = &r.stopped {
        outln!("stopped early: {why} (rows before that point were imported)");
    }
}
