//! The demo site generator behind `cmms demo` (depends on the core only): a pure, deterministic function from a seed (and
//! the demo's "today") to a year of a realistic maintenance organisation's data, written as the
//! documented import files (CSV), plus the formula registry it runs with and a list of the faults
//! it planted, so the command can say why each stage did what it did.
//!
//! What it builds: two sites in different hemispheres (Europe/Berlin, Australia/Sydney), thousands
//! of parts in seven classes with intermittent, lumpy daily consumption (many zero days, a
//! two-week shutdown per site, a seasonal maintenance window), hundreds of assets with PM bills of
//! materials and two years of failure logs (Weibull lifetimes, UNPLANNED / CORRECTIVE / PLANNED /
//! SENSOR_RESET), vendor MTBF readings, two stock snapshots per part and cycle-count scans. And
//! the faults real feeds have: unmapped and ambiguous SKUs, retried (duplicate) and late
//! (out-of-order) deliveries, a conflicting duplicate and a negative quantity, an event for an
//! unknown asset, an implausible stock drop, a scan that disagrees with stock, a part whose
//! demand jumped (drift), an erratic asset and one with no usable failure data, and parts below
//! their reorder point whose PMs wait for material.
//!
//! Baselines in the part master are set near what the last quarter's consumption implies (±10 %),
//! so the only parts that drift are the planted ones; stock levels are set against the same
//! computation, so the parts below reorder are the planted ones too.

mod files;
pub mod rng;
mod site;

use files::*;
use site::*;

use cmms_core::feeds::{ConsumptionRecord, FailureRecord, MtbfReadingRecord, ScanRecord, SnapshotRecord};
use cmms_core::formula::{FormulaError, FormulaSet, MonthDay, SeasonalWindow};
use cmms_core::ids::{PartClass, SiteId};
use cmms_core::master::{AssetPartRecord, AssetRecord, ImportRecord, PartRecord, SiteRecord, SkuMapRecord};
use cmms_core::quantity::Quantity;
use cmms_core::thresholds::{Consumption, Limits, ThresholdError, compute_from_events, round_decimals};
use cmms_core::units::UnitPolicy;
use jiff::Timestamp;
use jiff::tz::TimeZone;
use rng::SplitMix64;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

/// The demo's "today" (its `as_of`): fixed, so a seed always gives the same site and the same
/// figures, whenever it runs.
pub const DEMO_AS_OF: &str = "2026-12-01T00:00:00Z";

/// Label prefix of the formula version the demo loads; it also marks a store as a demo database.
pub const FORMULA_LABEL_PREFIX: &str = "cmms demo";

/// The formula registry of the demo: the defaults plus two seasonal maintenance windows and one
/// part-class override.
pub const DEMO_FORMULAS_TOML: &str = r#"# Formula registry of the cmms demo site (schema 1); keys not given keep their defaults.
schema = 1

# Sydney's summer cooling season: air filters clog faster.
[[seasonal_windows]]
start = "12-01"
end = "02-28"
uplift = 1.25
part_classes = ["FILTER"]
site_ids = ["CAMPUS-SYD"]

# Berlin's winter turnaround after the heating season starts: more bearings, seals and belts.
[[seasonal_windows]]
start = "01-10"
end = "02-10"
uplift = 1.3
part_classes = ["BEARING", "SEAL", "BELT"]
site_ids = ["PLANT-BER"]

# Electrical spares are critical and slow to source: a larger safety stock.
[overrides.ELECTRICAL]
safety_multiplier = 2.0
"#;

/// Errors of the generator (none happen with the shipped constants; they are checked by tests).
#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    /// The demo's formula registry does not parse.
    #[error("demo formula registry: {0}")]
    Formulas(#[from] FormulaError),
    /// The requested site is too small to plant every fault.
    #[error("a demo site needs at least {MIN_PARTS} parts and {MIN_ASSETS} assets (asked for {parts} and {assets})")]
    TooSmall {
        /// Parts asked for.
        parts: usize,
        /// Assets asked for.
        assets: usize,
    },
    /// An identifier or date built by the generator is invalid (a defect of the generator).
    #[error("demo generator: {0}")]
    Invalid(String),
}

/// Fewest parts a demo site can have (every planted fault needs its own part).
pub const MIN_PARTS: usize = 200;
/// Fewest assets a demo site can have.
pub const MIN_ASSETS: usize = 30;

/// What to generate.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DemoSpec {
    /// Seed of the pseudo-random generator: the same seed gives the same data, byte for byte.
    pub seed: u64,
    /// The demo's "today": consumption covers the year before it, failures the two years before.
    pub as_of: Timestamp,
    /// Number of parts.
    pub parts: usize,
    /// Number of assets.
    pub assets: usize,
}

impl DemoSpec {
    /// The standard demo site: 3,000 parts and 300 assets as of `as_of`.
    pub fn new(seed: u64, as_of: Timestamp) -> Self {
        Self { seed, as_of, parts: 3000, assets: 300 }
    }
}

/// One generated import file.
#[derive(Debug, Clone, PartialEq)]
pub struct DemoFile {
    /// What it holds: the `cmms import` kind of the same name (`ImportRecord::KIND` of its record).
    pub kind: &'static str,
    /// File name (`consumption-retry.csv` …).
    pub name: String,
    /// The CSV text, header first.
    pub contents: String,
    /// What the file stands for, in one sentence (printed with its import result).
    pub about: String,
}

/// The faults and special cases the generator planted, by the ids they concern.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Planted {
    /// Consumption SKUs mapped to no part (`source/sku`).
    pub unmapped_skus: Vec<String>,
    /// A consumption SKU that matches two parts after normalisation (`source/sku`), and the parts.
    pub ambiguous_sku: (String, Vec<String>),
    /// Consumption events delivered twice, identically (ERP retry).
    pub duplicate_events: usize,
    /// Consumption events delivered late, after newer ones (out of order).
    pub late_events: usize,
    /// Snapshots re-delivered identically.
    pub duplicate_snapshots: usize,
    /// Snapshots delivered after a newer sequence was applied (stale).
    pub stale_snapshots: usize,
    /// A part whose latest snapshot drops far more than consumption explains.
    pub implausible_drop_part: String,
    /// The scan whose count disagrees with stock, and its part (routing paused).
    pub discrepant_scan: (String, String),
    /// A scanned label that names no part.
    pub unknown_scan_code: String,
    /// Parts whose demand jumped in the last weeks (drift against the baseline).
    pub drifting_parts: Vec<String>,
    /// Parts whose stock is below the reorder point.
    pub short_parts: Vec<String>,
    /// An asset whose failure log has no UNPLANNED failure (manufacturer interval fallback).
    pub no_failure_data_asset: String,
    /// An asset whose failures are erratic (coefficient of variation above the limit).
    pub erratic_asset: String,
    /// Newly commissioned assets: no failures and no PM completed yet.
    pub new_assets: Vec<String>,
    /// Rows the import rejects on purpose, with why.
    pub bad_rows: Vec<String>,
    /// The shutdowns in the consumption history, in words.
    pub shutdowns: Vec<String>,
}

/// The generated site: import files in import order, the formula registry, the planted faults.
#[derive(Debug, Clone, PartialEq)]
pub struct DemoData {
    /// What was generated.
    pub spec: DemoSpec,
    /// The import files, in the order they are to be imported.
    pub files: Vec<DemoFile>,
    /// The formula registry TOML to load before computing.
    pub formulas_toml: &'static str,
    /// The faults planted.
    pub planted: Planted,
}

/// Generates the demo site for `spec`. Pure: the same spec gives the same data, byte for byte.
pub fn generate(spec: &DemoSpec) -> Result<DemoData, DemoError> {
    if spec.parts < MIN_PARTS || spec.assets < MIN_ASSETS {
        return Err(DemoError::TooSmall { parts: spec.parts, assets: spec.assets });
    }
    let formulas = FormulaSet::parse(DEMO_FORMULAS_TOML)?;
    let mut root = SplitMix64::new(spec.seed);
    let as_of = spec.as_of.as_millisecond();
    let zones = SITES
        .iter()
        .map(|s| TimeZone::get(s.tz).map_err(|e| DemoError::Invalid(format!("time zone {}: {e}", s.tz))))
        .collect::<Result<Vec<_>, _>>()?;
    let mut planted =
        Planted { shutdowns: SITES.iter().map(|s| s.shutdown_words.to_owned()).collect(), ..Default::default() };

    // Parts, their consumption and their limits.
    let mut rng = root.fork(1);
    let mut parts = make_parts(spec, &mut rng);
    let drifting: Vec<usize> = vec![pick_index(&mut rng, &parts, 0, None), pick_index(&mut rng, &parts, 1, None)];
    for (i, part) in parts.iter_mut().enumerate() {
        let mut prng = SplitMix64::new(spec.seed ^ (i as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15));
        let steady = drifting.contains(&i);
        part.events = consumption_history(part, &zones[part.site], &formulas, as_of, steady, &mut prng)?;
        if steady {
            part.surge = surge(part, as_of, &mut prng);
        }
    }
    for part in &mut parts {
        let (computed, baseline) = limits(part, &formulas, spec.as_of, &mut rng)?;
        part.computed = computed;
        part.baseline = baseline;
    }
    planted.drifting_parts = drifting.iter().map(|&i| parts[i].id.clone()).collect();

    // Assets and their PM bills of materials.
    let mut arng = root.fork(2);
    let assets = make_assets(spec, &parts, &mut arng);

    // Which parts are short: some needed by PMs (their PMs wait for material), a few not.
    let mut srng = root.fork(3);
    let in_bom: BTreeSet<usize> = assets.iter().flat_map(|a| a.bom.iter().map(|(p, _)| *p)).collect();
    let eligible = |i: &usize| parts[*i].computed.reorder >= 2.0 && !drifting.contains(i);
    let mut bom_short: Vec<usize> = in_bom.iter().copied().filter(eligible).collect();
    shuffle(&mut bom_short, &mut srng);
    bom_short.truncate((spec.parts / 100).max(4));
    let mut other_short: Vec<usize> = (0..parts.len()).filter(|i| !in_bom.contains(i) && eligible(i)).collect();
    shuffle(&mut other_short, &mut srng);
    other_short.truncate((spec.parts / 200).max(2));
    let mut short: BTreeSet<usize> = bom_short.iter().chain(&other_short).copied().collect();
    let paused = *bom_short
        .first()
        .or(other_short.first())
        .ok_or_else(|| DemoError::Invalid("no part uses enough to run short".to_owned()))?;
    // The implausible drop: a part with little use, not short.
    let dropped = (0..parts.len())
        .find(|i| {
            !short.contains(i)
                && !drifting.contains(i)
                && parts[*i].events.len() < 20
                && !in_bom.contains(i)
                && *i != paused
        })
        .unwrap_or(parts.len() - 1);
    short.remove(&dropped);
    planted.short_parts = short.iter().map(|&i| parts[i].id.clone()).collect();
    planted.implausible_drop_part = parts[dropped].id.clone();

    let mut files = Vec::new();
    files.push(file(SiteRecord::KIND, "sites.csv", "the two sites and their time zones", sites_csv()));
    files.push(file(
        PartRecord::KIND,
        "parts.csv",
        "the part master, with supplier lead times and the static baselines stores work with today",
        parts_csv(&parts),
    ));
    let (sku_csv, ambiguous) = sku_map_csv(&parts, &mut srng);
    planted.ambiguous_sku = ambiguous;
    files.push(file(
        SkuMapRecord::KIND,
        "sku_map.csv",
        "ERP (Berlin) and WMS (Sydney) SKUs of each part; two legacy entries differ only in case",
        sku_csv,
    ));
    files.push(file(
        AssetRecord::KIND,
        "assets.csv",
        "assets with their manufacturer PM interval and last PM completion (site local time)",
        assets_csv(&assets, &zones),
    ));
    files.push(file(
        AssetPartRecord::KIND,
        "asset_parts.csv",
        "the PM bill of materials of each asset",
        asset_parts_csv(&assets, &parts),
    ));

    let mut frng = root.fork(4);
    let (failures, readings) = failure_logs(spec, &assets, &zones, &mut frng, &mut planted);
    files.push(file(
        FailureRecord::KIND,
        "failures.csv",
        "two years of CMMS failure logs: UNPLANNED failures, CORRECTIVE work, PLANNED downtime, SENSOR_RESET",
        failures,
    ));
    files.push(file(
        MtbfReadingRecord::KIND,
        "mtbf_readings.csv",
        "MTBF figures reported by the chiller and compressor vendors' monitoring",
        readings,
    ));

    let mut crng = root.fork(5);
    let (main, retry) = consumption_csv(&parts, &mut crng, &mut planted);
    files.push(file(
        ConsumptionRecord::KIND,
        "consumption.csv",
        "a year of daily consumption from the ERP (Berlin) and the WMS (Sydney)",
        main,
    ));
    files.push(file(
        ConsumptionRecord::KIND,
        "consumption-retry.csv",
        "the ERP's retry of a failed batch (identical copies) and events the WMS delivered late",
        retry,
    ));

    let mut irng = root.fork(6);
    let stock = stock_levels(&parts, &short, &formulas, &mut irng);
    let (snapshots, late) = inventory_csv(&parts, &stock, dropped, as_of, &mut irng, &mut planted);
    files.push(file(
        SnapshotRecord::KIND,
        "inventory.csv",
        "two stock snapshots per part (3 days ago, 2 hours ago)",
        snapshots,
    ));
    files.push(file(
        SnapshotRecord::KIND,
        "inventory-late.csv",
        "snapshots delivered again or late, after newer ones were applied",
        late,
    ));
    files.push(file(
        ScanRecord::KIND,
        "scans.csv",
        "this morning's cycle counts with the barcode scanners",
        scans_csv(&parts, &stock, &short, paused, dropped, &drifting, as_of, &mut irng, &mut planted),
    ));
    Ok(DemoData { spec: *spec, files, formulas_toml: DEMO_FORMULAS_TOML, planted })
}

fn file(kind: &'static str, name: &str, about: &str, contents: String) -> DemoFile {
    DemoFile { kind, name: name.to_owned(), contents, about: about.to_owned() }
}

fn shuffle<T>(items: &mut [T], rng: &mut SplitMix64) {
    for i in (1..items.len()).rev() {
        let j = rng.below(i as u64 + 1) as usize;
        items.swap(i, j);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(seed: u64) -> DemoSpec {
        DemoSpec { seed, as_of: DEMO_AS_OF.parse().unwrap(), parts: 300, assets: 40 }
    }

    #[test]
    fn same_seed_same_data_and_other_seed_other_data() {
        let a = generate(&spec(7)).unwrap();
        let b = generate(&spec(7)).unwrap();
        assert_eq!(a, b);
        let c = generate(&spec(8)).unwrap();
        assert_ne!(a.files, c.files);
        for (x, y) in a.files.iter().zip(&c.files) {
            if x.kind == SiteRecord::KIND {
                continue;
            }
            assert_ne!(x.contents, y.contents, "{} does not depend on the seed", x.name);
        }
    }

    #[test]
    fn formulas_parse_and_too_small_sites_are_refused() {
        FormulaSet::parse(DEMO_FORMULAS_TOML).unwrap();
        let err = generate(&DemoSpec { parts: 10, ..spec(1) }).unwrap_err();
        assert!(err.to_string().contains("at least 200 parts"), "{err}");
    }

    #[test]
    fn planted_faults_are_present_in_the_files() {
        let d = generate(&spec(42)).unwrap();
        let text = |name: &str| d.files.iter().find(|f| f.name == name).map(|f| f.contents.clone()).unwrap();
        let p = &d.planted;
        for sku in &p.unmapped_skus {
            let s = sku.split('/').nth(1).unwrap();
            assert!(text("consumption.csv").contains(&format!(",{s},")), "{sku}");
            assert!(!text("sku_map.csv").contains(&format!(",{s},")), "{sku} must not be mapped");
        }
        assert!(text("consumption.csv").contains(",Ab-7731,"));
        assert_eq!(p.ambiguous_sku.1.len(), 2);
        assert!(p.duplicate_events > 0 && p.late_events > 0);
        assert!(p.duplicate_snapshots + p.stale_snapshots > 0);
        assert_eq!(p.drifting_parts.len(), 2);
        assert!(p.short_parts.len() >= 6);
        assert!(text("scans.csv").contains(&p.discrepant_scan.0));
        assert!(!text("failures.csv").contains(&format!(",{},UNPLANNED", p.no_failure_data_asset)));
        assert!(text("failures.csv").contains(&format!(",{},PLANNED", p.no_failure_data_asset)));
        let mut seasons = 0;
        for line in text("failures.csv").lines().skip(1) {
            let f: Vec<&str> = line.split(',').collect();
            assert_eq!(f.len(), 5, "{line}");
            seasons += usize::from(f[3].contains("+01:00") || f[3].contains("+02:00"));
        }
        assert!(seasons > 0, "Berlin times carry their offset");
    }

    #[test]
    fn drifting_parts_drift_and_the_others_stay_near_their_baseline() {
        let d = generate(&DemoSpec { parts: 600, ..spec(3) }).unwrap();
        // Recompute from the files alone: the generator's own bookkeeping is not trusted here.
        let formulas = FormulaSet::parse(DEMO_FORMULAS_TOML).unwrap();
        let text = |name: &str| d.files.iter().find(|f| f.name == name).map(|f| f.contents.clone()).unwrap();
        let mut sku_part = BTreeMap::new();
        for line in text("sku_map.csv").lines().skip(1) {
            let f: Vec<&str> = line.split(',').collect();
            sku_part.insert((f[0].to_owned(), f[1].to_uppercase()), f[2].to_owned());
        }
        let mut events: BTreeMap<String, Vec<Consumption>> = BTreeMap::new();
        let mut seen = BTreeSet::new();
        for name in ["consumption.csv", "consumption-retry.csv"] {
            for line in text(name).lines().skip(1) {
                let f: Vec<&str> = line.split(',').collect();
                let q: f64 = f[3].parse().unwrap();
                if q < 0.0 || f[2] == "Ab-7731" || !seen.insert(f[0].to_owned()) {
                    continue;
                }
                if let Some(part) = sku_part.get(&(f[1].to_owned(), f[2].to_uppercase())) {
                    let at: Timestamp = f[4].parse().unwrap();
                    events
                        .entry(part.clone())
                        .or_default()
                        .push(Consumption { at, quantity: Quantity::new(q).unwrap() });
                }
            }
        }
        let mut drifted = BTreeSet::new();
        for line in text("parts.csv").lines().skip(1) {
            let f: Vec<&str> = line.split(',').collect();
            let class = PartClass::parse(f[4]).unwrap();
            let site = SiteId::parse(f[3]).unwrap();
            let params = formulas.params_for(&class);
            let Some(evs) = events.get(f[0]).cloned() else { continue };
            let t = compute_from_events(
                &evs,
                f[5].parse().unwrap(),
                d.spec.as_of,
                &params,
                formulas.seasonal_windows_for(&class, &site),
            )
            .unwrap();
            let base: f64 = f[6].parse().unwrap();
            if base > 0.0 && ((t.limits.min - base) / base).abs() > params.drift_tolerance {
                drifted.insert(f[0].to_owned());
            }
        }
        assert_eq!(drifted, d.planted.drifting_parts.iter().cloned().collect::<BTreeSet<_>>());
    }
}
