//! `cmms demo`: generates a realistic site (crates/demo), writes it as the documented import
//! files, [`feed::import`]s each as `cmms import` does and runs the [`cycle`] as `cmms recompute`
//! does, prints what each stage did and why, creates sign-in tokens, and serves the dashboard and
//! API (as `cmms serve`) until Ctrl-C.

use crate::config::Config;
use anyhow::{Context, bail};
use cmms_core::auth::Scope;
use cmms_core::reliability::{Basis, FallbackReason};
use cmms_demo::{DEMO_AS_OF, DemoData, DemoFile, DemoSpec, FORMULA_LABEL_PREFIX, generate};
use cmms_pipeline::cycle::{CycleScope, cycle};
use cmms_pipeline::feed::{self, Feed};
use cmms_pipeline::import::{ImportReport, Quiet};
use cmms_pipeline::inventory::GateRun;
use cmms_pipeline::{auth, formulas, inventory, thresholds};
use cmms_store::codes::PmStatus;
use cmms_store::{Backend, Store};
use jiff::Timestamp;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// Flags of `cmms demo`.
pub struct Options {
    /// Seed of the generated site.
    pub seed: u64,
    /// Serve the dashboard and API after the summary.
    pub serve: bool,
    /// Delete the database and the generated files first.
    pub fresh: bool,
    /// Address to serve on (default: the configured one).
    pub listen: Option<String>,
}

/// Names of the tokens the demo creates, with their scopes and what they are for.
const TOKENS: [(&str, &[Scope], &str); 3] = [
    ("demo-read", &[Scope::Read], "look at everything"),
    ("demo-operate", &[Scope::Read, Scope::Operate], "also act: work orders, quarantine, approvals"),
    ("demo-ingest", &[Scope::Ingest], "push data to the ingestion webhooks"),
];

/// What the store held before the demo ran.
enum Existing {
    /// Nothing (a new file).
    Empty,
    /// A demo database built with this seed (`None`: the label carries no readable seed).
    Demo(Option<u64>),
    /// Someone's data.
    Other,
}

/// The SQLite file behind a database URL, or why the demo refuses it.
fn sqlite_file(url: &str) -> anyhow::Result<PathBuf> {
    let (_, backend) = cmms_store::resolve_url(url)?;
    if backend == Backend::Postgres {
        bail!(
            "`cmms demo` builds its site in an embedded SQLite file, and the configured database is PostgreSQL \
             ({}); run it with --database-url demo.db (or without --database-url for ./cmms.db)",
            cmms_store::redact(url)
        );
    }
    match crate::config::sqlite_path(url)? {
        Some(path) => Ok(path),
        None => {
            bail!("`cmms demo` needs a database file (got {url:?}); the dashboard serves what the demo wrote there")
        }
    }
}

fn remove_if_exists(path: &Path) -> anyhow::Result<()> {
    let result = if path.is_dir() { std::fs::remove_dir_all(path) } else { std::fs::remove_file(path) };
    match result {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
            Err(e).with_context(|| format!("cannot delete {}", path.display()))
        }
        _ => Ok(()),
    }
}

/// True when the store holds a site `cmms demo` built (its formula version carries the demo's label).
pub async fn is_demo(store: &Store) -> anyhow::Result<bool> {
    Ok(matches!(existing(store).await?, Existing::Demo(_)))
}

async fn existing(store: &Store) -> anyhow::Result<Existing> {
    let label = format!("{FORMULA_LABEL_PREFIX} seed=");
    for v in store.formula_versions().await? {
        if let Some(seed) = v.label.as_deref().and_then(|l| l.strip_prefix(&label)) {
            return Ok(Existing::Demo(seed.parse().ok()));
        }
    }
    for table in ["sites", "parts", "assets", "api_tokens", "consumption", "failure_events"] {
        if store.count_rows(table).await? > 0 {
            return Ok(Existing::Other);
        }
    }
    Ok(Existing::Empty)
}

/// Runs `cmms demo`.
pub async fn run(config: &Config, opts: Options) -> anyhow::Result<ExitCode> {
    let started = std::time::Instant::now();
    let db = sqlite_file(&config.database_url)?;
    // The address first: a busy port found after building the site would lose the printed tokens.
    let listener = if opts.serve {
        let addr = opts.listen.as_deref().unwrap_or(&config.listen);
        let listener = tokio::net::TcpListener::bind(addr).await.with_context(|| {
            format!(
                "cannot listen on {addr} (another `cmms serve` or `cmms demo` may be running): nothing was built. \
                 Stop it, or pick a free address with --listen, e.g. `cmms demo --listen 127.0.0.1:8081` \
                 (--no-serve builds without serving)"
            )
        })?;
        Some(listener)
    } else {
        None
    };
    let data_dir = db.parent().unwrap_or(Path::new("")).join("cmms-demo-data");
    if opts.fresh {
        for suffix in ["", "-wal", "-shm"] {
            remove_if_exists(&PathBuf::from(format!("{}{suffix}", db.display())))?;
        }
        remove_if_exists(&data_dir)?;
    }
    let store = config.open_store().await?;
    let rerun = match existing(&store).await? {
        Existing::Empty => false,
        Existing::Demo(Some(seed)) if seed == opts.seed => true,
        Existing::Demo(seed) => {
            store.close().await;
            bail!(
                "{} holds the demo site of seed {}; run `cmms demo --fresh --seed {}` to rebuild it with the new seed",
                db.display(),
                seed.map_or_else(|| "?".to_owned(), |s| s.to_string()),
                opts.seed
            );
        }
        Existing::Other => {
            store.close().await;
            bail!(
                "{} holds data that is not a demo site; the demo will not write into it. Use --database-url demo.db \
                 for a separate file, or --fresh to DELETE {} and build the demo there",
                db.display(),
                db.display()
            );
        }
    };
    let as_of: Timestamp = DEMO_AS_OF.parse().context("demo as-of")?;
    let data = generate(&DemoSpec::new(opts.seed, as_of))?;
    std::fs::create_dir_all(&data_dir).with_context(|| format!("cannot create {}", data_dir.display()))?;
    for f in &data.files {
        let path = data_dir.join(&f.name);
        std::fs::write(&path, &f.contents).with_context(|| format!("cannot write {}", path.display()))?;
    }
    let formulas_path = data_dir.join("formulas.toml");
    std::fs::write(&formulas_path, data.formulas_toml)
        .with_context(|| format!("cannot write {}", formulas_path.display()))?;

    outln!(
        "cmms demo — seed {}, as of {as_of} (the demo's \"today\"), database {}, import files in {}",
        opts.seed,
        db.display(),
        data_dir.display()
    );
    if rerun {
        outln!(
            "This database already holds the demo of seed {}: every file below is delivered again, so the counts show \
             what idempotent ingestion does with re-deliveries (nothing is written twice). `--fresh` rebuilds it.",
            opts.seed
        );
    }
    let tokens = build(&store, &data, &data_dir, as_of).await?;
    outln!("\nBuilt in {:.1} s.", started.elapsed().as_secs_f64());

    let url = match &listener {
        Some(l) => format!("http://{}/", l.local_addr()?),
        None => format!("http://{}/ (after `cmms serve`)", opts.listen.as_deref().unwrap_or(&config.listen)),
    };
    outln!("\nDashboard: {url}");
    outln!("Sign in there with one of these API tokens (shown once; stored only as hashes):");
    for (name, token, about) in &tokens {
        outln!("  {name:<13} {token}   ({about})");
    }
    outln!("The API takes the same tokens: curl -H 'Authorization: Bearer <token>' {}api/v1/parts", url_root(&url));
    match listener {
        Some(listener) => {
            outln!("Serving the dashboard and API on http://{} — press Ctrl-C to stop.", listener.local_addr()?);
            // The dashboard's "now" is the demo's today, as every figure above is.
            let mut config = config.clone();
            config.dashboard.as_of.get_or_insert_with(|| DEMO_AS_OF.to_owned());
            crate::serve::serve_on(&config, store, listener).await
        }
        None => {
            store.close().await;
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn url_root(url: &str) -> &str {
    url.split(' ').next().unwrap_or(url)
}

/// The feed of a generated file.
fn feed_of(f: &DemoFile) -> anyhow::Result<Feed> {
    Feed::parse(f.kind).with_context(|| format!("{}: the generator wrote an unknown import kind {:?}", f.name, f.kind))
}

/// Imports one generated file as `cmms import` does.
async fn import(store: &Store, feed: Feed, path: &Path, now: i64) -> anyhow::Result<ImportReport> {
    let source = feed::File { path, observer: &mut Quiet };
    feed::import(store, feed, source, now).await.with_context(|| format!("import of {}", path.display()))
}

fn thousands(n: impl Into<i128>) -> String {
    let n: i128 = n.into();
    let digits = n.unsigned_abs().to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    if n < 0 { format!("-{out}") } else { out }
}

fn print_import(f: &DemoFile, feed: Feed, r: &ImportReport) {
    let counts = if !feed.is_event_feed() {
        format!(
            "{} inserted, {} updated, {} unchanged, {} rejected",
            thousands(r.counts.inserted),
            thousands(r.counts.updated),
            thousands(r.counts.unchanged),
            r.rejected
        )
    } else {
        format!(
            "{} accepted, {} duplicate, {} rejected",
            thousands(r.counts.inserted),
            thousands(r.counts.unchanged),
            r.rejected
        )
    };
    outln!("  {:<22} {:>7} rows: {counts}", f.name, thousands(r.rows));
    outln!("  {:<22} {}", "", f.about);
    for issue in r.issues.iter().take(3) {
        outln!("  {:<22}   rejected {issue}", "");
    }
}

/// Prints the quarantine entries a validation run holds that were not printed before, with why.
fn print_quarantined(g: &GateRun, printed: &mut BTreeSet<String>, ambiguous: &[String]) {
    for (key, n) in &g.quarantined {
        if !printed.insert(key.clone()) {
            continue;
        }
        let why = if key.starts_with(inventory::SCAN_SOURCE) {
            "the scanned label names no part".to_owned()
        } else if key.ends_with("(AMBIGUOUS)") {
            format!(
                "no exact SKU-map entry, and after trimming and upper-casing it matches {}",
                ambiguous.join(" and ")
            )
        } else {
            "no SKU-map entry, and no part matches after trimming and upper-casing".to_owned()
        };
        outln!(
            "    quarantined {key}: {n} record(s) held — {why}; `cmms quarantine resolve` maps it and releases them"
        );
    }
}

/// Runs every stage over the generated files and prints what each did; returns the tokens made.
async fn build(
    store: &Store,
    data: &DemoData,
    dir: &Path,
    as_of: Timestamp,
) -> anyhow::Result<Vec<(&'static str, String, &'static str)>> {
    let now = Timestamp::now().as_millisecond();
    let p = &data.planted;
    let label = format!("{FORMULA_LABEL_PREFIX} seed={}", data.spec.seed);
    let (version, _) = formulas::load(store, data.formulas_toml, &label, now).await?;
    outln!("\nFormula registry: version {version} ({label}) is active, from formulas.toml:");
    outln!("  seasonal windows: FILTER parts at CAMPUS-SYD 01 Dec – 28 Feb ×1.25 (cooling season);");
    outln!("  BEARING, SEAL, BELT parts at PLANT-BER 10 Jan – 10 Feb ×1.3 (winter turnaround) — they raise");
    outln!("  usage for the share of a part's lead time that falls in the window; ELECTRICAL safety multiplier 2.0.");
    outln!("  History: {}.", p.shutdowns.join("; "));

    outln!("\n1. Ingestion — master data (upserted by key; a re-import changes nothing)");
    let mut reports = BTreeMap::new();
    for f in &data.files {
        let feed = feed_of(f)?;
        if feed.is_event_feed() {
            continue;
        }
        let r = import(store, feed, &dir.join(&f.name), now).await?;
        print_import(f, feed, &r);
        reports.insert(f.name.clone(), r);
    }

    outln!(
        "\n2. Ingestion — feeds (accepted = stored now; duplicate = delivered before and ignored, so retries never \
         double-count; rejected = reason given) and validation & mapping"
    );
    let mut printed = BTreeSet::new();
    let ambiguous = &p.ambiguous_sku.1;
    for f in &data.files {
        let feed = feed_of(f)?;
        if !feed.is_event_feed() {
            continue;
        }
        let r = import(store, feed, &dir.join(&f.name), now).await?;
        print_import(f, feed, &r);
        if feed.is_staged() {
            // As after `cmms import`: the validation and mapping gate runs over what was staged,
            // file by file (routing runs once, at the end).
            let g = cycle(store, as_of, now, CycleScope::Gate).await?.gate;
            match feed {
                Feed::Consumption if g.consumption_mapped > 0 => {
                    outln!("    validation: {} events mapped to parts after ingest", thousands(g.consumption_mapped));
                }
                Feed::Inventory => {
                    outln!(
                        "    validation: {} snapshots applied, {} stale (sequence not newer than the one applied: \
                         changes nothing), {} held as an implausible drop",
                        thousands(g.snapshots_applied),
                        g.snapshots_stale,
                        g.snapshots_held
                    );
                    if g.snapshots_held > 0 {
                        outln!(
                            "    {}: stock fell far more than its consumption explains — held for review \
                             (`cmms snapshots accept {}`), stock left as it was",
                            p.implausible_drop_part,
                            p.implausible_drop_part
                        );
                    }
                }
                Feed::Scans => {
                    outln!(
                        "    validation: {} counts matched system stock, {} disagreed",
                        g.scans_matched,
                        g.scans_discrepant
                    );
                    if g.scans_discrepant > 0 {
                        outln!(
                            "    scan {} counted a different quantity of {} than the system holds: routing for {} is \
                             paused (no procurement, no work-order moves) until a matching count or `cmms scans accept {}`",
                            p.discrepant_scan.0,
                            p.discrepant_scan.1,
                            p.discrepant_scan.1,
                            p.discrepant_scan.0
                        );
                    }
                }
                // A staged feed the demo site does not generate: its quarantine entries only.
                _ => {}
            }
            print_quarantined(&g, &mut printed, ambiguous);
        }
        reports.insert(f.name.clone(), r);
    }

    outln!("\n3. Calculation (as of {as_of})");
    let run = cycle(store, as_of, now, CycleScope::Recompute(thresholds::RecomputeScope::Changed)).await?;
    let (Some(th), Some(intervals), Some(routed)) = (run.thresholds, run.intervals, run.routing) else {
        bail!("a recompute cycle runs every stage");
    };
    let by_status = th.by_status.iter().map(|(s, n)| format!("{s} {}", thousands(*n))).collect::<Vec<_>>().join(", ");
    outln!("  thresholds, formula version {}: {} parts — {by_status}", th.formula_version, thousands(th.parts));
    if let Some(n) = th.by_status.get("NO_HISTORY") {
        outln!("    {n} part(s) never consumed: NO_HISTORY, so nothing is published for them (never a silent zero)");
    }
    let published = th.by_basis.iter().map(|(b, n)| format!("{b} {}", thousands(*n))).collect::<Vec<_>>().join(", ");
    outln!("    published: {published}");
    let alerts = store.open_alerts().await?;
    for a in alerts.iter().filter(|a| a.kind == thresholds::ALERT_DRIFT) {
        outln!("    drift alert {}: {}", a.subject, a.message);
    }
    outln!(
        "    (the drifting parts' demand jumped in the last 30 days; until an operator approves, the baseline is \
         published as the conservative fallback)"
    );

    let basis = intervals.by_basis.iter().map(|(b, n)| format!("{b} {n}")).collect::<Vec<_>>().join(", ");
    outln!("  PM intervals, formula version {}: {} assets — {basis}", intervals.formula_version, intervals.assets);
    let rows = store.pm_intervals().await?;
    for reason in [FallbackReason::HighVariability, FallbackReason::NoValidSamples] {
        let assets: Vec<&str> =
            rows.iter().filter(|r| r.reason == Some(reason.into())).map(|r| r.asset_id.as_str()).collect();
        if assets.is_empty() {
            continue;
        }
        let why = match reason {
            FallbackReason::HighVariability => {
                "failures too erratic (coefficient of variation above 1.0) to trust the mean"
            }
            FallbackReason::NoValidSamples => {
                "no two UNPLANNED failures to measure between (planned downtime and sensor resets are not failures)"
            }
        };
        let reason = reason.code();
        let shown = assets.iter().take(6).copied().collect::<Vec<_>>().join(", ");
        let more = if assets.len() > 6 { format!(" and {} more", assets.len() - 6) } else { String::new() };
        outln!("    manufacturer interval used ({reason}): {shown}{more} — {why}");
    }
    let statuses = intervals.by_status.iter().map(|(s, n)| format!("{s} {n}")).collect::<Vec<_>>().join(", ");
    outln!("    due dates: {statuses}");
    if intervals.by_status.contains_key(PmStatus::NoLastCompletion.as_str()) {
        outln!("    ({}: commissioned last week, no PM completed yet, so no due date)", p.new_assets.join(", "));
    }
    if intervals.discarded_samples > 0 {
        outln!(
            "    {} MTBF samples ≤ 0 discarded (planned downtime covering a whole span, or bad vendor readings)",
            intervals.discarded_samples
        );
    }
    if let Some(r) = rows.iter().find(|r| r.basis == Some(Basis::Mtbf) && r.next_due_local.is_some()) {
        outln!(
            "    e.g. {}: {} samples, mean MTBF {:.0} h → interval {:.1} days (× 0.85, within 7–365), next due {}",
            r.asset_id,
            r.n_samples,
            r.mean_mtbf_hours.unwrap_or(0.0),
            r.interval_days.unwrap_or(0.0),
            r.next_due_local.as_deref().unwrap_or("-")
        );
    }
    outln!(
        "  PM work orders: {} created, {} rescheduled (one open PM per asset with a due date)",
        intervals.work_orders_created,
        intervals.work_orders_rescheduled
    );

    outln!("\n4. Routing");
    outln!(
        "  {} procurement requests raised (parts below their reorder point, ordered up to max), {} resized, {} fulfilled",
        routed.requests_raised,
        routed.requests_resized,
        routed.requests_closed
    );
    outln!(
        "  {} PM work orders moved to MATERIAL_PENDING (their bill of materials needs a short part), {} released",
        routed.orders_held,
        routed.orders_released
    );
    outln!(
        "  {} part(s) paused by a scan discrepancy: {} is below its reorder point too, but nothing is raised or moved \
         for it until its count is reconciled",
        routed.parts_paused,
        p.discrepant_scan.1
    );

    let o = store.overview().await?;
    // By name, as the codes sort as text.
    fn kv<K: std::fmt::Display>(m: &BTreeMap<K, i64>) -> String {
        let by_name: BTreeMap<String, i64> = m.iter().map(|(k, v)| (k.to_string(), *v)).collect();
        by_name.iter().map(|(k, v)| format!("{k} {}", thousands(*v))).collect::<Vec<_>>().join(", ")
    }
    outln!("\nState now");
    outln!(
        "  parts: {} ({} with thresholds, {} below reorder, {} paused)",
        thousands(o.parts),
        thousands(o.parts_with_thresholds),
        o.parts_below_reorder,
        o.parts_paused
    );
    outln!("  work orders: {}", kv(&o.work_orders));
    outln!("  procurement requests: {}", kv(&o.procurement));
    outln!("  open alerts: {}", kv(&o.alerts));
    outln!("  quarantine: {} open; snapshots: {}", o.quarantine_open, kv(&o.snapshots));

    let mut made = Vec::new();
    for (name, scopes, about) in TOKENS {
        if store.active_token_named(name).await?.is_some() {
            auth::revoke_token(store, name, now).await?;
        }
        let (_, token) = auth::create_token(store, Some(name), scopes, now).await?;
        made.push((name, token, about));
    }
    Ok(made)
}
