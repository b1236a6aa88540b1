//! The command-line interface: every subcommand (docs/cli.md), with its flags.

use clap::builder::{PossibleValue, PossibleValuesParser, TypedValueParser};
use clap::{Args, Parser, Subcommand, ValueEnum};
use cmms_pipeline::feed::Feed;
use std::path::PathBuf;

/// cmms — spare-part thresholds, PM intervals and work-order routing for maintenance teams.
#[derive(Debug, Parser)]
#[command(
    name = "cmms",
    version,
    about,
    long_about = None,
    propagate_version = true,
    after_help = "Commands and a walkthrough: docs/cli.md and README.md. Import formats, rules, exit codes: \
                  docs/contract.md."
)]
pub struct Cli {
    /// Settings shared by every command.
    #[command(flatten)]
    pub global: GlobalArgs,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Settings shared by every command (each also settable in cmms.toml or as CMMS_* variables).
#[derive(Debug, Args)]
pub struct GlobalArgs {
    /// Database: an SQLite file path or sqlite:// URL (default ./cmms.db), or postgres://USER@HOST/DB.
    #[arg(long, global = true, value_name = "URL")]
    pub database_url: Option<String>,
    /// Configuration file [default: ./cmms.toml if present; env CMMS_CONFIG].
    #[arg(long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Log filter, e.g. `info` or `cmms=debug` [default: warn for commands, info for serve].
    #[arg(long, global = true, value_name = "FILTER")]
    pub log: Option<String>,
    /// Log line format on stderr: `text` (coloured on a terminal only) or `json` (one object per
    /// line, for log shippers) [default: text; env CMMS_LOG_FORMAT].
    #[arg(long, global = true, value_enum, value_name = "FORMAT")]
    pub log_format: Option<LogFormat>,
}

/// How log lines are written.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, ValueEnum, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Human-readable lines; ANSI colour only when stderr is a terminal.
    #[default]
    Text,
    /// One JSON object per line.
    Json,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the HTTP service (API, health, dashboard) until SIGINT/SIGTERM.
    Serve {
        /// Address to listen on [default: 127.0.0.1:8080].
        #[arg(long, value_name = "ADDR")]
        listen: Option<String>,
        /// Seconds a PM completion time may lie in the future, at most 86400 [default: 3600,
        /// or `completion_tolerance_seconds` in cmms.toml].
        #[arg(long, value_name = "SECONDS")]
        completion_tolerance_seconds: Option<u64>,
    },
    /// Import a CSV or JSON file of one kind (columns: docs/contract.md#import-file-formats).
    Import {
        /// What the file holds.
        #[arg(value_parser = feed_parser())]
        kind: Feed,
        /// The file (.csv with a header row, or .json holding an array of objects).
        file: PathBuf,
        /// Print the result as JSON on stdout.
        #[arg(long)]
        json: bool,
        /// CSV field delimiter: `,` `;` or `tab` [default: detected from the header line].
        #[arg(long, value_parser = delimiter_parser, value_name = "CHAR")]
        delimiter: Option<u8>,
    },
    /// Recompute thresholds whose inputs changed (new or newly mapped consumption, part master
    /// inputs, the window's moved edges, formula version), and PM intervals.
    Recompute {
        /// Computation instant (RFC 3339) [default: now].
        #[arg(long, value_name = "T")]
        as_of: Option<String>,
        /// Recompute the thresholds of every part, not only of those whose inputs changed.
        #[arg(long)]
        all: bool,
    },
    /// Show parts below reorder, drift alerts, paused parts, quarantine and PM schedule.
    Report {
        /// Output format.
        #[arg(long, value_enum, default_value_t = OutputFormat::Table)]
        format: OutputFormat,
    },
    /// Export thresholds, intervals, work orders or procurement requests for an ERP or spreadsheet.
    Export {
        /// What to export.
        what: ExportKind,
        /// File format.
        #[arg(long, value_enum, default_value_t = FileFormat::Csv)]
        format: FileFormat,
        /// Output file [default: stdout].
        #[arg(long, short)]
        output: Option<PathBuf>,
        /// Write CSV text cells as stored, for machine consumers: by default a cell starting with
        /// `=`, `+`, `-`, `@`, tab or carriage return (and not a number) gets a leading `'` so a
        /// spreadsheet shows it as text instead of running it as a formula.
        #[arg(long)]
        no_formula_escape: bool,
    },
    /// Deliver the publication outbox to the configured `[[targets]]` (as `cmms serve` does).
    Publish {
        /// One pass: deliver what is due now, then exit (for cron); otherwise run until SIGINT/SIGTERM.
        #[arg(long)]
        once: bool,
    },
    /// Inspect and replay the dead-letter queue of failed publications.
    Dlq {
        /// The action.
        #[command(subcommand)]
        action: DlqAction,
    },
    /// Review SKUs held in quarantine (unmapped or ambiguous) and map them.
    Quarantine {
        /// The action.
        #[command(subcommand)]
        action: QuarantineAction,
    },
    /// Manage the versioned formula registry.
    Formulas {
        /// The action.
        #[command(subcommand)]
        action: FormulasAction,
    },
    /// List PM work orders and move them through their states.
    #[command(name = "work-orders")]
    WorkOrders {
        /// The action.
        #[command(subcommand)]
        action: WorkOrdersAction,
    },
    /// Operator actions on scans.
    Scans {
        /// The action.
        #[command(subcommand)]
        action: ScansAction,
    },
    /// Operator actions on stock snapshots.
    Snapshots {
        /// The action.
        #[command(subcommand)]
        action: SnapshotsAction,
    },
    /// Void accepted events (consumption, failures, stock snapshots), restore them, list voids.
    Events {
        /// The action.
        #[command(subcommand)]
        action: EventsAction,
    },
    /// Operator actions on thresholds.
    Thresholds {
        /// The action.
        #[command(subcommand)]
        action: ThresholdsAction,
    },
    /// Manage API tokens.
    Token {
        /// The action.
        #[command(subcommand)]
        action: TokenAction,
    },
    /// Build a realistic demo site, run every stage, explain what each did, and serve the dashboard.
    Demo {
        /// Seed for the generated data (the same seed gives the same site).
        #[arg(long, default_value_t = 42)]
        seed: u64,
        /// End after the summary instead of serving the dashboard and API.
        #[arg(long)]
        no_serve: bool,
        /// Delete the database (and the generated files) first, whatever it holds.
        #[arg(long)]
        fresh: bool,
        /// Address to serve on [default: the configured listen address, 127.0.0.1:8080].
        #[arg(long, value_name = "ADDR")]
        listen: Option<String>,
    },
    /// Run validation and calculation on a folder of import files, without a store.
    Compute {
        /// Folder holding the import files (parts.csv, consumption.csv, assets.csv …).
        #[arg(long, value_name = "DIR")]
        input: PathBuf,
        /// Folder to write thresholds.csv and intervals.csv into.
        #[arg(long, value_name = "DIR")]
        output: PathBuf,
        /// Formula registry TOML [default: built-in defaults].
        #[arg(long, value_name = "FILE")]
        formulas: Option<PathBuf>,
        /// Computation instant (RFC 3339) [default: now].
        #[arg(long, value_name = "T")]
        as_of: Option<String>,
    },
    /// Replay a folder of import files under several stock policies, with no look-ahead: fill
    /// rate, cycle service level, average stock, orders and cost per policy and part class, and
    /// the fill-rate/stock frontier against the first policy (docs/cli.md#backtest).
    Backtest(BacktestArgs),
}

/// `cmms backtest` flags.
#[derive(Debug, Args)]
pub struct BacktestArgs {
    /// Folder holding the import files (sites, parts, sku_map, consumption) [default: the stored
    /// history of the database].
    #[arg(long, value_name = "DIR")]
    pub input: Option<PathBuf>,
    /// Formula registry TOML the policies start from [default: built-in defaults].
    #[arg(long, value_name = "FILE")]
    pub formulas: Option<PathBuf>,
    /// Policies, comma-separated: `seed` (the formula document as it is) and the methods
    /// `moving_average`, `sba`, `tsb`, `empirical`, `auto` (the document with that method). The
    /// first is the reference of the frontier.
    #[arg(long, value_delimiter = ',', default_value = "seed,sba,tsb,empirical,auto")]
    pub policies: Vec<String>,
    /// First review day (YYYY-MM-DD, UTC) [default: the first review after --burn-in-days].
    #[arg(long, value_name = "DATE")]
    pub start: Option<String>,
    /// Day after the last simulated day (YYYY-MM-DD) [default: the day after the last consumption].
    #[arg(long, value_name = "DATE")]
    pub end: Option<String>,
    /// History before the first review when --start is not given, days.
    #[arg(long, default_value_t = 365, value_name = "DAYS")]
    pub burn_in_days: u32,
    /// Review cadence: `monthly` (first day of each month) or a number of days.
    #[arg(long, default_value = "monthly", value_name = "CADENCE")]
    pub review: String,
    /// Unmet demand waits for stock (default: it is lost).
    #[arg(long)]
    pub backorders: bool,
    /// Round reorder point and max up to whole units in the simulation.
    #[arg(long)]
    pub whole_units: bool,
    /// Holding cost per unit and year, for the cost figure.
    #[arg(long, default_value_t = 1.0, value_name = "COST")]
    pub holding_cost: f64,
    /// Cost per order, for the cost figure.
    #[arg(long, default_value_t = 10.0, value_name = "COST")]
    pub ordering_cost: f64,
    /// Skip the frontier search.
    #[arg(long)]
    pub no_frontier: bool,
    /// Do not save the report in the database (by default it is saved, and the dashboard's
    /// Backtest page shows the latest saved report).
    #[arg(long)]
    pub no_save: bool,
    /// Output format.
    #[arg(long, value_enum, default_value_t = OutputFormat::Table)]
    pub format: OutputFormat,
}

/// Parses an import kind: the names of [`Feed`], each listed in `--help` with its columns
/// (docs/contract.md#import-file-formats).
fn feed_parser() -> impl TypedValueParser<Value = Feed> {
    let names = Feed::ALL.map(|f| PossibleValue::new(f.as_str()).help(f.columns()));
    PossibleValuesParser::new(names).try_map(|name: String| Feed::parse(&name).ok_or("unknown import kind"))
}

/// Parses `--delimiter`: `,`, `;`, `tab` (or a tab character) or `|`.
fn delimiter_parser(text: &str) -> Result<u8, String> {
    match text {
        "," | "comma" => Ok(b','),
        ";" | "semicolon" => Ok(b';'),
        "\t" | "tab" | "\\t" => Ok(b'\t'),
        "|" | "pipe" => Ok(b'|'),
        _ => Err(format!("use `,`, `;`, `tab` or `|` (got {text:?})")),
    }
}

/// Table or JSON output.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    /// Human-readable tables.
    Table,
    /// JSON on stdout.
    Json,
}

/// Export file format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FileFormat {
    /// CSV with a header row.
    Csv,
    /// A JSON array.
    Json,
}

/// What `cmms export` writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
#[value(rename_all = "kebab-case")]
pub enum ExportKind {
    /// Current thresholds per part.
    Thresholds,
    /// PM intervals and next due dates per asset.
    Intervals,
    /// PM work orders.
    WorkOrders,
    /// Procurement requests.
    Procurement,
}

/// `cmms dlq` actions.
#[derive(Debug, Subcommand)]
pub enum DlqAction {
    /// List dead-lettered publications (not yet replayed, unless --all).
    List {
        /// Include replayed entries.
        #[arg(long)]
        all: bool,
    },
    /// Show one dead letter with every attempt.
    Show {
        /// Dead-letter id.
        id: i64,
    },
    /// Put dead letters back into the outbox.
    Replay {
        /// Dead-letter ids.
        ids: Vec<i64>,
        /// Replay every dead letter.
        #[arg(long, conflicts_with = "ids")]
        all: bool,
    },
}

/// `cmms quarantine` actions.
#[derive(Debug, Subcommand)]
pub enum QuarantineAction {
    /// List quarantined SKUs with their reason and candidates.
    List,
    /// Map a quarantined SKU to a part and re-process its held records.
    Resolve {
        /// Quarantine entry id.
        id: i64,
        /// The part the SKU means.
        #[arg(long)]
        part: String,
    },
}

/// `cmms formulas` actions.
#[derive(Debug, Subcommand)]
pub enum FormulasAction {
    /// List stored formula versions.
    List,
    /// Show the parameter differences between two versions.
    Diff {
        /// Older version id.
        from: i64,
        /// Newer version id.
        to: i64,
    },
    /// Load a formula registry TOML file as a new immutable version and activate it.
    Load {
        /// The TOML file.
        file: PathBuf,
    },
}

/// `cmms work-orders` actions.
#[derive(Debug, Subcommand)]
pub enum WorkOrdersAction {
    /// List work orders by due date.
    List {
        /// Only this state (SCHEDULED, RELEASED, IN_PROGRESS, MATERIAL_PENDING, COMPLETED, CANCELLED).
        #[arg(long)]
        state: Option<String>,
        /// Only this asset.
        #[arg(long)]
        asset: Option<String>,
        /// Output format.
        #[arg(long, value_enum, default_value_t = OutputFormat::Table)]
        format: OutputFormat,
    },
    /// Apply an action: release, start, hold_for_material, material_available, cancel.
    Transition {
        /// Work order id.
        id: i64,
        /// The action.
        action: String,
    },
    /// Complete an IN_PROGRESS work order and schedule the next PM.
    Complete {
        /// Work order id.
        id: i64,
        /// Completion time (RFC 3339; without offset = UTC; at most now + the completion
        /// tolerance) [default: now].
        #[arg(long, value_name = "T")]
        at: Option<String>,
    },
    /// Correct the completion time of a COMPLETED work order (a wrong entry, e.g. 2062 for 2026):
    /// recorded with the reason; the next PM it scheduled is rescheduled from the corrected time
    /// while not yet released (it may move earlier: the operator's exception to "due dates never
    /// move backwards").
    CorrectCompletion {
        /// Work order id.
        id: i64,
        /// The corrected completion time (RFC 3339; without offset = UTC).
        #[arg(long, value_name = "T")]
        at: String,
        /// Why (recorded in the work order's history).
        #[arg(long)]
        reason: String,
    },
}

/// `cmms scans` actions.
#[derive(Debug, Subcommand)]
pub enum ScansAction {
    /// Accept the count of a discrepant scan: stock becomes the counted quantity, routing resumes.
    Accept {
        /// The scan that paused its part.
        scan_id: String,
    },
}

/// `cmms snapshots` actions.
#[derive(Debug, Subcommand)]
pub enum SnapshotsAction {
    /// Apply the latest snapshot of a part held as an implausible drop, after review.
    Accept {
        /// The part.
        part: String,
    },
}

/// A feed whose events can be voided.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum VoidFeedArg {
    /// Consumption events: SOURCE EVENT_ID.
    Consumption,
    /// Failure-log events: ASSET EVENT_ID.
    Failures,
    /// Stock snapshots: SOURCE SKU/SEQUENCE.
    Inventory,
}

impl From<VoidFeedArg> for cmms_core::corrections::VoidFeed {
    fn from(f: VoidFeedArg) -> Self {
        match f {
            VoidFeedArg::Consumption => Self::Consumption,
            VoidFeedArg::Failures => Self::Failures,
            VoidFeedArg::Inventory => Self::Inventory,
        }
    }
}

/// `cmms events` actions.
#[derive(Debug, Subcommand)]
pub enum EventsAction {
    /// Void an accepted event: every calculation skips it from now on (thresholds, MTBF, stock),
    /// a re-delivery stays a duplicate, and the void is recorded with who, when and why. The
    /// touched parts and assets are recomputed and routed. An ERP reversal is a void of the original.
    Void {
        /// The source (consumption, inventory) or the asset (failures).
        source: String,
        /// The event id; for a stock snapshot SKU/SEQUENCE.
        event_id: String,
        /// Why (what was wrong, or the ERP reversal's reference).
        #[arg(long, required = true)]
        reason: String,
        /// The feed, when SOURCE EVENT_ID exists in more than one.
        #[arg(long, value_enum)]
        feed: Option<VoidFeedArg>,
        /// Computation instant of the recompute (RFC 3339) [default: now].
        #[arg(long, value_name = "T")]
        as_of: Option<String>,
    },
    /// Restore a voided event: it counts again, and the touched parts and assets are recomputed.
    Restore {
        /// The source (consumption, inventory) or the asset (failures).
        source: String,
        /// The event id; for a stock snapshot SKU/SEQUENCE.
        event_id: String,
        /// Why it is restored.
        #[arg(long)]
        reason: Option<String>,
        /// The feed, when SOURCE EVENT_ID exists in more than one.
        #[arg(long, value_enum)]
        feed: Option<VoidFeedArg>,
        /// Computation instant of the recompute (RFC 3339) [default: now].
        #[arg(long, value_name = "T")]
        as_of: Option<String>,
    },
    /// List voids, newest first (those in force, or with --all also the restored ones).
    List {
        /// Include restored voids.
        #[arg(long)]
        all: bool,
        /// Most entries shown.
        #[arg(long, default_value_t = 100)]
        limit: i64,
        /// Output format.
        #[arg(long, value_enum, default_value_t = OutputFormat::Table)]
        format: OutputFormat,
    },
}

/// `cmms thresholds` actions.
#[derive(Debug, Subcommand)]
pub enum ThresholdsAction {
    /// Approve computed thresholds that drifted from the baseline, replacing the fallback.
    Approve {
        /// Parts to approve.
        #[arg(required = true)]
        parts: Vec<String>,
    },
}

/// `cmms token` actions.
#[derive(Debug, Subcommand)]
pub enum TokenAction {
    /// Create an API token: printed once on stdout, only its hash is stored.
    Create {
        /// Scopes granted (repeat the flag or separate with commas): ingest; read; operate (also
        /// allows read); admin (allows everything).
        #[arg(long, value_enum, value_delimiter = ',', required = true)]
        scope: Vec<ScopeArg>,
        /// A name to recognise the token by (unique among active tokens) [default: token-<id>].
        #[arg(long)]
        name: Option<String>,
    },
    /// List tokens with their scopes and last use (never the tokens or their hashes).
    List {
        /// Output format.
        #[arg(long, value_enum, default_value_t = OutputFormat::Table)]
        format: OutputFormat,
    },
    /// Revoke a token: it stops authenticating at once.
    Revoke {
        /// Token id, or the name of an active token.
        #[arg(value_name = "ID|NAME")]
        token: String,
    },
}

/// A token scope on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ScopeArg {
    /// Push data in (ingestion webhooks).
    Ingest,
    /// Read state.
    Read,
    /// Act on state (and read).
    Operate,
    /// Everything.
    Admin,
}

impl From<ScopeArg> for cmms_core::auth::Scope {
    fn from(s: ScopeArg) -> Self {
        match s {
            ScopeArg::Ingest => Self::Ingest,
            ScopeArg::Read => Self::Read,
            ScopeArg::Operate => Self::Operate,
            ScopeArg::Admin => Self::Admin,
        }
    }
}
