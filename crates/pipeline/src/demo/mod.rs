//! The demo site generator behind `cmms demo`: a pure, deterministic function from a seed (and
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

pub mod rng;

use cmms_core::formula::{FormulaError, FormulaSet, MonthDay, SeasonalWindow};
use cmms_core::ids::{PartClass, SiteId};
use cmms_core::quantity::Quantity;
use cmms_core::thresholds::{Consumption, Limits, ThresholdError, compute_from_events, round_decimals};
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

/// The import kind of a generated file (the `cmms import` kind of the same name).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DemoKind {
    /// `sites`
    Sites,
    /// `parts`
    Parts,
    /// `sku_map`
    SkuMap,
    /// `assets`
    Assets,
    /// `asset_parts`
    AssetParts,
    /// `failures`
    Failures,
    /// `mtbf_readings`
    MtbfReadings,
    /// `consumption`
    Consumption,
    /// `inventory`
    Inventory,
    /// `scans`
    Scans,
}

impl DemoKind {
    /// The import kind's name, as `cmms import` spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Sites => "sites",
            Self::Parts => "parts",
            Self::SkuMap => "sku_map",
            Self::Assets => "assets",
            Self::AssetParts => "asset_parts",
            Self::Failures => "failures",
            Self::MtbfReadings => "mtbf_readings",
            Self::Consumption => "consumption",
            Self::Inventory => "inventory",
            Self::Scans => "scans",
        }
    }

    /// True for master data (upserted by key), false for feeds (events, first delivery wins).
    pub fn is_master_data(self) -> bool {
        matches!(self, Self::Sites | Self::Parts | Self::SkuMap | Self::Assets | Self::AssetParts)
    }
}

/// One generated import file.
#[derive(Debug, Clone, PartialEq)]
pub struct DemoFile {
    /// What it holds.
    pub kind: DemoKind,
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

struct SiteDef {
    id: &'static str,
    tz: &'static str,
    code: &'static str,
    source: &'static str,
    /// The site's production shutdown: (month, day) first and last local day, inclusive.
    shutdown: ((i8, i8), (i8, i8)),
    shutdown_words: &'static str,
}

const SITES: [SiteDef; 2] = [
    SiteDef {
        id: "PLANT-BER",
        tz: "Europe/Berlin",
        code: "BER",
        source: "ERP",
        shutdown: ((8, 3), (8, 16)),
        shutdown_words: "PLANT-BER summer shutdown 3–16 August (near-zero consumption)",
    },
    SiteDef {
        id: "CAMPUS-SYD",
        tz: "Australia/Sydney",
        code: "SYD",
        source: "WMS",
        shutdown: ((12, 23), (1, 5)),
        shutdown_words: "CAMPUS-SYD Christmas shutdown 23 December – 5 January (near-zero consumption)",
    },
];

struct ClassDef {
    name: &'static str,
    prefix: &'static str,
    unit: &'static str,
    lead: (u64, u64),
    /// Quantities come in steps of this size (litres of lubricant in halves).
    step: f64,
    items: &'static [&'static str],
    sizes: &'static [&'static str],
}

const CLASSES: [ClassDef; 7] = [
    ClassDef {
        name: "BEARING",
        prefix: "BRG",
        unit: "EA",
        lead: (14, 42),
        step: 1.0,
        items: &["Deep-groove ball bearing", "Spherical roller bearing", "Pillow block unit", "Taper roller bearing"],
        sizes: &["6204-2RS", "6205-2RS", "6306-ZZ", "22210-E", "UCP208", "32208", "6308-2RS", "NU210"],
    },
    ClassDef {
        name: "FILTER",
        prefix: "FLT",
        unit: "EA",
        lead: (5, 21),
        step: 1.0,
        items: &["AHU bag filter F7", "Panel filter G4", "Compressor air intake filter", "Hydraulic return filter"],
        sizes: &["592x592", "592x287", "287x287", "10 micron", "25 micron", "HF-35"],
    },
    ClassDef {
        name: "BELT",
        prefix: "BLT",
        unit: "EA",
        lead: (7, 28),
        step: 1.0,
        items: &["V-belt", "Timing belt", "Flat conveyor belt splice kit", "Poly-V belt"],
        sizes: &["SPA 1250", "SPB 1800", "XPZ 1000", "HTD 8M-1200", "PJ 1016", "SPZ 912"],
    },
    ClassDef {
        name: "SEAL",
        prefix: "SEAL",
        unit: "EA",
        lead: (21, 56),
        step: 1.0,
        items: &["Mechanical seal", "Radial shaft seal", "O-ring kit", "Gland packing set"],
        sizes: &["35 mm", "45 mm", "60x80x8", "NBR 70", "FKM 80", "PTFE 12 mm"],
    },
    ClassDef {
        name: "LUBRICANT",
        prefix: "LUB",
        unit: "L",
        lead: (3, 14),
        step: 0.5,
        items: &["Gear oil", "Hydraulic oil", "Compressor oil", "Bearing grease"],
        sizes: &["ISO VG 220", "ISO VG 46", "ISO VG 68", "NLGI 2", "food grade H1"],
    },
    ClassDef {
        name: "ELECTRICAL",
        prefix: "ELC",
        unit: "EA",
        lead: (14, 70),
        step: 1.0,
        items: &["Contactor", "Motor protection relay", "Fuse link gG", "Proximity sensor", "VFD cooling fan"],
        sizes: &["9 A", "25 A", "63 A", "M18 PNP", "24 VDC", "400 V"],
    },
    ClassDef {
        name: "HYDRAULIC",
        prefix: "HYD",
        unit: "EA",
        lead: (10, 35),
        step: 1.0,
        items: &["Hydraulic hose assembly", "Solenoid valve coil", "Cylinder seal kit", "Pressure gauge"],
        sizes: &["DN10 1 m", "DN16 2 m", "24 VDC", "63 bar", "250 bar", "D50"],
    },
];

struct GroupDef {
    group: &'static str,
    prefix: &'static str,
    fallback_days: u32,
    classes: &'static [&'static str],
}

const GROUPS: [GroupDef; 7] = [
    GroupDef {
        group: "PUMPS",
        prefix: "PUMP",
        fallback_days: 180,
        classes: &["SEAL", "BEARING", "LUBRICANT", "ELECTRICAL"],
    },
    GroupDef {
        group: "HVAC-AHU",
        prefix: "AHU",
        fallback_days: 30,
        classes: &["FILTER", "BELT", "BEARING", "ELECTRICAL"],
    },
    GroupDef {
        group: "HVAC-CHILLERS",
        prefix: "CHILLER",
        fallback_days: 90,
        classes: &["FILTER", "SEAL", "LUBRICANT", "ELECTRICAL"],
    },
    GroupDef { group: "CONVEYORS", prefix: "CONV", fallback_days: 60, classes: &["BELT", "BEARING", "LUBRICANT"] },
    GroupDef {
        group: "COMPRESSORS",
        prefix: "COMP",
        fallback_days: 90,
        classes: &["FILTER", "LUBRICANT", "SEAL", "BEARING"],
    },
    GroupDef {
        group: "PRESSES",
        prefix: "PRESS",
        fallback_days: 120,
        classes: &["HYDRAULIC", "SEAL", "ELECTRICAL", "LUBRICANT"],
    },
    GroupDef { group: "MOTORS", prefix: "MOTOR", fallback_days: 180, classes: &["BEARING", "ELECTRICAL"] },
];

const HOUR_MS: i64 = 3_600_000;
const DAY_MS: i64 = 86_400_000;

/// A generated part and what the generator knows about it.
struct Part {
    id: String,
    site: usize,
    class: usize,
    lead: u64,
    source: &'static str,
    sku: String,
    description: String,
    /// Consumption events (epoch ms, quantity), all before `as_of`.
    events: Vec<(i64, f64)>,
    /// Events of a demand surge that the baseline does not know about (drifting parts only).
    surge: Vec<(i64, f64)>,
    /// Thresholds computed from all events, as the pipeline will; and the baseline.
    computed: Limits,
    baseline: Limits,
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
    files.push(file(DemoKind::Sites, "sites.csv", "the two sites and their time zones", sites_csv()));
    files.push(file(
        DemoKind::Parts,
        "parts.csv",
        "the part master, with supplier lead times and the static baselines stores work with today",
        parts_csv(&parts),
    ));
    let (sku_csv, ambiguous) = sku_map_csv(&parts, &mut srng);
    planted.ambiguous_sku = ambiguous;
    files.push(file(
        DemoKind::SkuMap,
        "sku_map.csv",
        "ERP (Berlin) and WMS (Sydney) SKUs of each part; two legacy entries differ only in case",
        sku_csv,
    ));
    files.push(file(
        DemoKind::Assets,
        "assets.csv",
        "assets with their manufacturer PM interval and last PM completion (site local time)",
        assets_csv(&assets, &zones),
    ));
    files.push(file(
        DemoKind::AssetParts,
        "asset_parts.csv",
        "the PM bill of materials of each asset",
        asset_parts_csv(&assets, &parts),
    ));

    let mut frng = root.fork(4);
    let (failures, readings) = failure_logs(spec, &assets, &zones, &mut frng, &mut planted);
    files.push(file(
        DemoKind::Failures,
        "failures.csv",
        "two years of CMMS failure logs: UNPLANNED failures, CORRECTIVE work, PLANNED downtime, SENSOR_RESET",
        failures,
    ));
    files.push(file(
        DemoKind::MtbfReadings,
        "mtbf_readings.csv",
        "MTBF figures reported by the chiller and compressor vendors' monitoring",
        readings,
    ));

    let mut crng = root.fork(5);
    let (main, retry) = consumption_csv(&parts, &mut crng, &mut planted);
    files.push(file(
        DemoKind::Consumption,
        "consumption.csv",
        "a year of daily consumption from the ERP (Berlin) and the WMS (Sydney)",
        main,
    ));
    files.push(file(
        DemoKind::Consumption,
        "consumption-retry.csv",
        "the ERP's retry of a failed batch (identical copies) and events the WMS delivered late",
        retry,
    ));

    let mut irng = root.fork(6);
    let stock = stock_levels(&parts, &short, &mut irng);
    let (snapshots, late) = inventory_csv(&parts, &stock, dropped, as_of, &mut irng, &mut planted);
    files.push(file(
        DemoKind::Inventory,
        "inventory.csv",
        "two stock snapshots per part (3 days ago, 2 hours ago)",
        snapshots,
    ));
    files.push(file(
        DemoKind::Inventory,
        "inventory-late.csv",
        "snapshots delivered again or late, after newer ones were applied",
        late,
    ));
    files.push(file(
        DemoKind::Scans,
        "scans.csv",
        "this morning's cycle counts with the barcode scanners",
        scans_csv(&parts, &stock, &short, paused, dropped, &drifting, as_of, &mut irng, &mut planted),
    ));
    Ok(DemoData { spec: *spec, files, formulas_toml: DEMO_FORMULAS_TOML, planted })
}

fn file(kind: DemoKind, name: &str, about: &str, contents: String) -> DemoFile {
    DemoFile { kind, name: name.to_owned(), contents, about: about.to_owned() }
}

fn shuffle<T>(items: &mut [T], rng: &mut SplitMix64) {
    for i in (1..items.len()).rev() {
        let j = rng.below(i as u64 + 1) as usize;
        items.swap(i, j);
    }
}

/// A random part of the given site counted in whole units (not `except`); scans forward from a
/// random start, so it always ends.
fn pick_index(rng: &mut SplitMix64, parts: &[Part], site: usize, except: Option<usize>) -> usize {
    let start = rng.below(parts.len() as u64) as usize;
    (0..parts.len())
        .map(|k| (start + k) % parts.len())
        .find(|&i| parts[i].site == site && Some(i) != except && CLASSES[parts[i].class].step == 1.0)
        .unwrap_or(start)
}

fn make_parts(spec: &DemoSpec, rng: &mut SplitMix64) -> Vec<Part> {
    (0..spec.parts)
        .map(|i| {
            let site = usize::from(i % 3 == 2); // two thirds in Berlin
            let class = rng.below(CLASSES.len() as u64) as usize;
            let c = &CLASSES[class];
            let s = &SITES[site];
            let item = rng.pick(c.items).copied().unwrap_or("Spare");
            let size = rng.pick(c.sizes).copied().unwrap_or("");
            let sku = if site == 0 { format!("{}", 10_040_000 + i * 7) } else { format!("S{:06}", 300_000 + i) };
            Part {
                id: format!("{}-{}-{:04}", c.prefix, s.code, i + 1),
                site,
                class,
                lead: rng.range(c.lead.0, c.lead.1),
                source: s.source,
                sku,
                description: format!("{item} {size}"),
                events: Vec::new(),
                surge: Vec::new(),
                computed: Limits { min: 0.0, reorder: 0.0, max: 0.0 },
                baseline: Limits { min: 0.0, reorder: 0.0, max: 0.0 },
            }
        })
        .collect()
}

fn md_in(md: (i8, i8), from: (i8, i8), to: (i8, i8)) -> bool {
    if from <= to { from <= md && md <= to } else { md >= from || md <= to }
}

fn window_covers(w: &SeasonalWindow, month: i8, day: i8) -> bool {
    let (Ok(m), Ok(d)) = (u8::try_from(month), u8::try_from(day)) else { return false };
    match MonthDay::new(m, d) {
        Some(md) if w.wraps() => md >= w.start || md <= w.end,
        Some(md) => w.start <= md && md <= w.end,
        None => false,
    }
}

/// A year of intermittent daily consumption for one part: on each day an event happens with the
/// part's probability (many zero days), its size is lumpy (now and then a big job), the site's
/// shutdown nearly stops it, and the registry's seasonal windows raise it.
fn consumption_history(
    part: &Part,
    tz: &TimeZone,
    formulas: &FormulaSet,
    as_of: i64,
    steady: bool,
    rng: &mut SplitMix64,
) -> Result<Vec<(i64, f64)>, DemoError> {
    let c = &CLASSES[part.class];
    let site = &SITES[part.site];
    let class = PartClass::parse(c.name).map_err(|e| DemoError::Invalid(e.to_string()))?;
    let site_id = SiteId::parse(site.id).map_err(|e| DemoError::Invalid(e.to_string()))?;
    let windows: Vec<&SeasonalWindow> = formulas.seasonal_windows_for(&class, &site_id).collect();
    let p_day = if steady { 0.3 } else { rng.log_uniform(0.012, 0.3) };
    let typical = if steady { 2.0 } else { rng.log_uniform(1.0, 4.0) };
    let mut events = Vec::new();
    for d in (1..=365).rev() {
        let day_start = as_of - d * DAY_MS;
        let local =
            Timestamp::from_millisecond(day_start).map_err(|e| DemoError::Invalid(e.to_string()))?.to_zoned(tz.clone());
        let md = (local.month(), local.day());
        let mut p = p_day;
        if md_in(md, site.shutdown.0, site.shutdown.1) {
            p *= 0.03;
        }
        let utc = Timestamp::from_millisecond(day_start)
            .map_err(|e| DemoError::Invalid(e.to_string()))?
            .to_zoned(TimeZone::UTC);
        let uplift: f64 =
            windows.iter().filter(|w| window_covers(w, utc.month(), utc.day())).map(|w| w.uplift).product();
        if !rng.chance((p * uplift).min(0.95)) {
            continue;
        }
        let lump = if rng.chance(0.05) { rng.uniform(3.0, 8.0) } else { 1.0 };
        let units = (rng.log_uniform(0.5, 2.0) * typical * lump / c.step).round().max(1.0);
        // Within a shift: 06:00 to 20:00 (site local time varies with DST; UTC hours here).
        let at = day_start + rng.range(5, 19) as i64 * HOUR_MS + rng.below(3_600) as i64 * 1000;
        events.push((at, units * c.step));
    }
    Ok(events)
}

/// A new production line started 30 days ago: daily consumption on top of the usual.
fn surge(part: &Part, as_of: i64, rng: &mut SplitMix64) -> Vec<(i64, f64)> {
    let step = CLASSES[part.class].step;
    (1..=30)
        .rev()
        .filter_map(|d| {
            let at = as_of - d * DAY_MS + rng.range(6, 18) as i64 * HOUR_MS;
            rng.chance(0.85).then(|| (at, step * rng.range(3, 6) as f64))
        })
        .collect()
}

fn to_consumption(events: &[(i64, f64)]) -> Vec<Consumption> {
    events
        .iter()
        .filter_map(|(at, q)| {
            Some(Consumption { at: Timestamp::from_millisecond(*at).ok()?, quantity: Quantity::new(*q).ok()? })
        })
        .collect()
}

/// The limits the pipeline will compute from all of the part's events, and the part master's
/// baseline: the limits of the events the stores knew about (without a surge), within ±10 %.
fn limits(
    part: &Part,
    formulas: &FormulaSet,
    as_of: Timestamp,
    rng: &mut SplitMix64,
) -> Result<(Limits, Limits), DemoError> {
    let c = &CLASSES[part.class];
    let class = PartClass::parse(c.name).map_err(|e| DemoError::Invalid(e.to_string()))?;
    let site = SiteId::parse(SITES[part.site].id).map_err(|e| DemoError::Invalid(e.to_string()))?;
    let params = formulas.params_for(&class);
    let windows: Vec<&SeasonalWindow> = formulas.seasonal_windows_for(&class, &site).collect();
    // A part never consumed has no thresholds (NO_HISTORY); its limits count as zero here.
    let calc = |events: &[(i64, f64)]| match compute_from_events(
        &to_consumption(events),
        part.lead as f64,
        as_of,
        &params,
        windows.iter().copied(),
    ) {
        Ok(t) => Ok(t.limits),
        Err(ThresholdError::NoHistory) => Ok(Limits { min: 0.0, reorder: 0.0, max: 0.0 }),
        Err(e) => Err(DemoError::Invalid(format!("part {}: {e}", part.id))),
    };
    let known = calc(&part.events)?;
    let all: Vec<(i64, f64)> = part.events.iter().chain(&part.surge).copied().collect();
    let computed = calc(&all)?;
    let noise = if known.min < 1.0 { 1.0 } else { rng.uniform(0.9, 1.1) };
    let d = params.rounding_decimals;
    // New parts (no consumption yet) carry the stores' first guess.
    let guess = if part.events.is_empty() { 1.0 } else { known.min };
    let min = round_decimals(guess * noise, d);
    let reorder = round_decimals(min * params.reorder_factor, d);
    let baseline = Limits { min, reorder, max: round_decimals(reorder * params.max_factor, d) };
    Ok((computed, baseline))
}

struct Asset {
    id: String,
    group: usize,
    site: usize,
    /// Last PM completion (epoch ms), none for new assets.
    last_completion: Option<i64>,
    bom: Vec<(usize, f64)>,
}

fn make_assets(spec: &DemoSpec, parts: &[Part], rng: &mut SplitMix64) -> Vec<Asset> {
    // Part indices by (site, class), for bills of materials.
    let mut by_site_class: BTreeMap<(usize, &str), Vec<usize>> = BTreeMap::new();
    for (i, p) in parts.iter().enumerate() {
        by_site_class.entry((p.site, CLASSES[p.class].name)).or_default().push(i);
    }
    let mut counters = [[0u32; GROUPS.len()]; SITES.len()];
    (0..spec.assets)
        .map(|i| {
            let site = usize::from(i % 3 == 2);
            let group = rng.below(GROUPS.len() as u64) as usize;
            let g = &GROUPS[group];
            counters[site][group] += 1;
            let id = format!("{}-{}-{:03}", g.prefix, SITES[site].code, counters[site][group]);
            let fallback = i64::from(g.fallback_days);
            let since = rng.range(1, (fallback * 9 / 10).max(2) as u64) as i64;
            let mut bom = Vec::new();
            for _ in 0..rng.range(2, 5) {
                let Some(class) = rng.pick(g.classes) else { continue };
                let Some(candidates) = by_site_class.get(&(site, *class)) else { continue };
                let Some(&p) = rng.pick(candidates) else { continue };
                if bom.iter().any(|(q, _)| *q == p) {
                    continue;
                }
                let step = CLASSES[parts[p].class].step;
                bom.push((p, step * rng.range(1, 4) as f64));
            }
            // The last two were commissioned last week: no PM completed yet.
            let last_completion = (i + 2 < spec.assets).then(|| spec.as_of.as_millisecond() - since * DAY_MS);
            Asset { id, group, site, last_completion, bom }
        })
        .collect()
}

fn sites_csv() -> String {
    let mut out = String::from("site_id,timezone\n");
    for s in &SITES {
        let _ = writeln!(out, "{},{}", s.id, s.tz);
    }
    out
}

fn parts_csv(parts: &[Part]) -> String {
    let mut out = String::from(
        "part_id,description,unit,site_id,part_class,lead_time_days,baseline_min,baseline_reorder,baseline_max\n",
    );
    for p in parts {
        let c = &CLASSES[p.class];
        let _ = writeln!(
            out,
            "{},{},{},{},{},{},{},{},{}",
            p.id,
            p.description,
            c.unit,
            SITES[p.site].id,
            c.name,
            p.lead,
            p.baseline.min,
            p.baseline.reorder,
            p.baseline.max
        );
    }
    out
}

/// The SKU map, plus a legacy pair of ERP entries that differ only in case and name two parts.
fn sku_map_csv(parts: &[Part], rng: &mut SplitMix64) -> (String, (String, Vec<String>)) {
    let mut out = String::from("source,external_sku,part_id\n");
    for p in parts {
        let _ = writeln!(out, "{},{},{}", p.source, p.sku, p.id);
    }
    let a = pick_index(rng, parts, 0, None);
    let b = pick_index(rng, parts, 0, Some(a));
    let _ = writeln!(out, "ERP,AB-7731,{}", parts[a].id);
    let _ = writeln!(out, "ERP,ab-7731,{}", parts[b].id);
    let mut both = vec![parts[a].id.clone(), parts[b].id.clone()];
    both.sort();
    (out, ("ERP/Ab-7731".to_owned(), both))
}

fn local_text(ms: i64, tz: &TimeZone) -> String {
    match Timestamp::from_millisecond(ms) {
        Ok(t) => t.to_zoned(tz.clone()).strftime("%Y-%m-%dT%H:%M:%S%:z").to_string(),
        Err(_) => String::new(),
    }
}

fn utc_text(ms: i64) -> String {
    match Timestamp::from_millisecond(ms) {
        Ok(t) => t.strftime("%Y-%m-%dT%H:%M:%SZ").to_string(),
        Err(_) => String::new(),
    }
}

/// UTC without an offset, as some feeds write it (`2026-02-01 06:00:00`).
fn naive_utc_text(ms: i64) -> String {
    match Timestamp::from_millisecond(ms) {
        Ok(t) => t.strftime("%Y-%m-%d %H:%M:%S").to_string(),
        Err(_) => String::new(),
    }
}

fn qty(q: f64) -> String {
    if q.fract() == 0.0 { format!("{}", q as i64) } else { format!("{q}") }
}

fn assets_csv(assets: &[Asset], zones: &[TimeZone]) -> String {
    let mut out = String::from("asset_id,asset_group,site_id,fallback_interval_days,last_completion_at\n");
    for a in assets {
        let g = &GROUPS[a.group];
        // PMs are done at 07:00 local time.
        let done = a.last_completion.map_or(String::new(), |ms| {
            let day = ms - ms.rem_euclid(DAY_MS);
            Timestamp::from_millisecond(day)
                .ok()
                .and_then(|t| {
                    t.to_zoned(zones[a.site].clone()).date().at(7, 0, 0, 0).to_zoned(zones[a.site].clone()).ok()
                })
                .map_or(String::new(), |z| z.strftime("%Y-%m-%dT%H:%M:%S%:z").to_string())
        });
        let _ = writeln!(out, "{},{},{},{},{}", a.id, g.group, SITES[a.site].id, g.fallback_days, done);
    }
    out
}

fn asset_parts_csv(assets: &[Asset], parts: &[Part]) -> String {
    let mut out = String::from("asset_id,part_id,quantity\n");
    for a in assets {
        for (p, q) in &a.bom {
            let _ = writeln!(out, "{},{},{}", a.id, parts[*p].id, qty(*q));
        }
    }
    out
}

/// Failure logs of two years and vendor MTBF readings.
fn failure_logs(
    spec: &DemoSpec,
    assets: &[Asset],
    zones: &[TimeZone],
    rng: &mut SplitMix64,
    planted: &mut Planted,
) -> (String, String) {
    let as_of = spec.as_of.as_millisecond();
    let start = as_of - 730 * DAY_MS;
    let mut rows: Vec<(i64, String, &'static str, i64, Option<i64>)> = Vec::new();
    let no_data = assets.len() / 2;
    let erratic = assets.len() / 3;
    let new_assets = [assets.len() - 1, assets.len() - 2];
    planted.no_failure_data_asset = assets[no_data].id.clone();
    planted.erratic_asset = assets[erratic].id.clone();
    planted.new_assets = new_assets.iter().map(|&i| assets[i].id.clone()).collect();
    let mut readings = String::from("asset_id,mtbf_hours,observed_at\n");
    let mut bad_reading_left = 2;
    for (i, a) in assets.iter().enumerate() {
        if new_assets.contains(&i) {
            continue;
        }
        let g = &GROUPS[a.group];
        let (shape, scale) = if rng.chance(0.08) {
            (rng.uniform(0.6, 0.8), rng.log_uniform(400.0, 3000.0))
        } else {
            (rng.uniform(1.5, 3.5), rng.log_uniform(350.0, 4500.0))
        };
        // UNPLANNED failures (with repair time), some followed by CORRECTIVE work.
        if i != no_data {
            let mut t = start + (rng.weibull(shape, scale) * HOUR_MS as f64) as i64;
            let forced = [20.0, 2900.0, 40.0, 4100.0, 60.0, 3500.0, 30.0];
            let mut k = 0;
            while t < as_of - HOUR_MS * 12 {
                let repair = rng.range(1, 12) as i64 * HOUR_MS;
                rows.push((t, a.id.clone(), "UNPLANNED", t, Some(t + repair)));
                if rng.chance(0.3) {
                    let c = t + repair + HOUR_MS;
                    rows.push((c, a.id.clone(), "CORRECTIVE", c, Some(c + rng.range(1, 3) as i64 * HOUR_MS)));
                }
                let gap = if i == erratic {
                    k += 1;
                    forced[(k - 1) % forced.len()]
                } else {
                    rng.weibull(shape, scale).max(1.0)
                };
                t += (gap * HOUR_MS as f64) as i64;
            }
        }
        // PLANNED downtime around the manufacturer interval; a few never closed in the CMMS.
        let mut t = start + rng.range(1, u64::from(g.fallback_days)) as i64 * DAY_MS;
        while t < as_of - DAY_MS {
            let end = if rng.chance(0.03) { None } else { Some(t + rng.range(4, 16) as i64 * HOUR_MS) };
            rows.push((t, a.id.clone(), "PLANNED", t, end));
            t += (f64::from(g.fallback_days) * rng.uniform(0.8, 1.2)) as i64 * DAY_MS;
        }
        // Sensor resets: not failures.
        for _ in 0..rng.range(1, 6) {
            let t = start + rng.below(730 * 24) as i64 * HOUR_MS;
            rows.push((t, a.id.clone(), "SENSOR_RESET", t, None));
        }
        if matches!(g.group, "HVAC-CHILLERS" | "COMPRESSORS") && rng.chance(0.3) {
            for _ in 0..rng.range(2, 5) {
                let observed = as_of - rng.range(10, 700) as i64 * DAY_MS;
                let value = if bad_reading_left > 0 && rng.chance(0.3) {
                    bad_reading_left -= 1;
                    if bad_reading_left == 1 { 0.0 } else { -12.5 }
                } else {
                    (scale * rng.uniform(0.7, 1.3) * 10.0).round() / 10.0
                };
                let _ = writeln!(readings, "{},{},{}", a.id, value, utc_text(observed));
            }
        }
    }
    rows.sort_by(|x, y| (x.0, &x.1, x.2).cmp(&(y.0, &y.1, y.2)));
    let mut out = String::from("event_id,asset_id,event_type,started_at,ended_at\n");
    let site_of: BTreeMap<&str, usize> = assets.iter().map(|a| (a.id.as_str(), a.site)).collect();
    for (n, (_, asset, kind, started, ended)) in rows.iter().enumerate() {
        let site = site_of.get(asset.as_str()).copied().unwrap_or(0);
        // Berlin's CMMS writes local time with its offset; Sydney's writes UTC without one.
        let text = |ms: i64| if site == 0 { local_text(ms, &zones[0]) } else { naive_utc_text(ms) };
        let _ = writeln!(out, "F-{:06},{asset},{kind},{},{}", n + 1, text(*started), ended.map_or(String::new(), text));
    }
    let n = rows.len() + 1;
    let _ = writeln!(out, "F-{n:06},PUMP-BER-999,UNPLANNED,{},", utc_text(as_of - 40 * DAY_MS));
    planted.bad_rows.push(format!(
        "failures.csv: event F-{n:06} names asset PUMP-BER-999, decommissioned and not in the asset list"
    ));
    (out, readings)
}

/// The consumption feeds: the main file (sorted by time), and a retry file with identical copies
/// of some events, a conflicting copy, and events the WMS delivered late.
fn consumption_csv(parts: &[Part], rng: &mut SplitMix64, planted: &mut Planted) -> (String, String) {
    let mut events: Vec<(i64, usize, f64)> = Vec::new();
    for (i, p) in parts.iter().enumerate() {
        events.extend(p.events.iter().chain(&p.surge).map(|(at, q)| (*at, i, *q)));
    }
    events.sort_by(|a, b| (a.0, a.1).cmp(&(b.0, b.1)).then(a.2.total_cmp(&b.2)));
    let header = "event_id,source,external_sku,quantity,consumed_at\n";
    let mut main = String::from(header);
    let mut retry_copies = Vec::new();
    let mut late = String::new();
    let mut counters = BTreeMap::<&str, u64>::new();
    let line = |source: &'static str, sku: &str, q: f64, at: i64, counters: &mut BTreeMap<&str, u64>| {
        let n = counters.entry(source).or_default();
        *n += 1;
        format!("{source}-{:07},{source},{sku},{},{}\n", *n, qty(q), utc_text(at))
    };
    for (at, i, q) in &events {
        let p = &parts[*i];
        // Sydney's handheld terminals send lower-case SKUs now and then (they map after
        // normalisation).
        let sku = if p.site == 1 && rng.chance(0.05) { p.sku.to_lowercase() } else { p.sku.clone() };
        let row = line(p.source, &sku, *q, *at, &mut counters);
        if p.site == 1 && rng.chance(0.01) {
            late.push_str(&row);
            planted.late_events += 1;
        } else {
            if p.site == 0 && rng.chance(0.006) {
                retry_copies.push(row.clone());
            }
            main.push_str(&row);
        }
    }
    // SKUs nobody mapped yet, and the ambiguous legacy SKU.
    let last = events.last().map_or(0, |e| e.0);
    for (source, sku, n) in
        [("ERP", "10099901", 9), ("ERP", "10099902", 4), ("WMS", "S-NEW-0042", 6), ("ERP", "Ab-7731", 5)]
    {
        for k in 0..n {
            let at = last - (k + 1) * 5 * DAY_MS + 9 * HOUR_MS;
            main.push_str(&line(source, sku, (k % 3 + 1) as f64, at, &mut counters));
        }
        if sku != "Ab-7731" {
            planted.unmapped_skus.push(format!("{source}/{sku}"));
        }
    }
    // A return keyed as a negative consumption: rejected.
    let neg = line("ERP", &parts[0].sku, -2.0, last - DAY_MS, &mut counters);
    planted.bad_rows.push(format!(
        "consumption.csv: event {} has quantity -2 (a return keyed as consumption)",
        neg.split(',').next().unwrap_or_default()
    ));
    main.push_str(&neg);
    planted.duplicate_events = retry_copies.len();
    let mut retry = String::from(header);
    for r in &retry_copies {
        retry.push_str(r);
    }
    // One copy whose quantity differs from the first delivery: a conflicting duplicate.
    if let Some(first) = retry_copies.first() {
        let mut fields: Vec<String> = first.trim_end().split(',').map(str::to_owned).collect();
        if let Some(q) = fields.get_mut(3) {
            let changed = q.parse::<f64>().map_or(1.0, |v| v + 1.0);
            *q = qty(changed);
        }
        planted.bad_rows.push(format!(
            "consumption-retry.csv: event {} again with another quantity (DUPLICATE_CONFLICT: the first delivery wins)",
            fields[0]
        ));
        retry.push_str(&fields.join(","));
        retry.push('\n');
    }
    retry.push_str(&late);
    (main, retry)
}

/// Stock on hand now, per part: above the reorder point for most, below it for the short ones.
fn stock_levels(parts: &[Part], short: &BTreeSet<usize>, rng: &mut SplitMix64) -> Vec<f64> {
    parts
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let published = if p.computed == p.baseline || p.surge.is_empty() { p.computed } else { p.baseline };
            if short.contains(&i) {
                (published.reorder * rng.uniform(0.1, 0.6)).floor()
            } else {
                (published.reorder + (published.max - published.reorder) * rng.unit()).ceil() + 1.0
            }
        })
        .collect()
}

/// Two snapshots per part (3 days ago and 2 hours ago, the older one higher by what was consumed
/// in between), an implausible drop for one part; and the late file: identical re-deliveries and
/// sequences older than the applied one.
fn inventory_csv(
    parts: &[Part],
    stock: &[f64],
    dropped: usize,
    as_of: i64,
    rng: &mut SplitMix64,
    planted: &mut Planted,
) -> (String, String) {
    let header = "source,sequence_id,external_sku,on_hand,observed_at\n";
    let (t1, t2) = (as_of - 3 * DAY_MS, as_of - 2 * HOUR_MS);
    let mut first = String::new();
    let mut second = String::new();
    let mut late = String::from(header);
    for (i, p) in parts.iter().enumerate() {
        let used: f64 = p.events.iter().chain(&p.surge).filter(|(at, _)| *at >= t1 && *at < t2).map(|(_, q)| q).sum();
        let (s1, s2) = if i == dropped { (stock[i] + used + 40.0, 0.0) } else { (stock[i] + used, stock[i]) };
        let (q1, q2) = (20_000 + i as u64, 40_000 + i as u64);
        let _ = writeln!(first, "{},{q1},{},{},{}", p.source, p.sku, qty(s1), utc_text(t1));
        let row2 = format!("{},{q2},{},{},{}\n", p.source, p.sku, qty(s2), utc_text(t2));
        second.push_str(&row2);
        if i != dropped && rng.chance(0.01) {
            late.push_str(&row2);
            planted.duplicate_snapshots += 1;
        } else if i != dropped && rng.chance(0.01) {
            let _ =
                writeln!(late, "{},{},{},{},{}", p.source, 30_000 + i as u64, p.sku, qty(s1), utc_text(as_of - DAY_MS));
            planted.stale_snapshots += 1;
        }
    }
    (format!("{header}{first}{second}"), late)
}

/// Cycle counts: most match stock; one disagrees (routing for its part pauses); one label names
/// no part.
#[allow(clippy::too_many_arguments)]
fn scans_csv(
    parts: &[Part],
    stock: &[f64],
    short: &BTreeSet<usize>,
    paused: usize,
    dropped: usize,
    drifting: &[usize],
    as_of: i64,
    rng: &mut SplitMix64,
    planted: &mut Planted,
) -> String {
    let mut out = String::from("scan_id,scanner_id,code,counted_qty,scanned_at\n");
    let mut n = 0;
    let mut scan = |code: &str, counted: f64, out: &mut String, rng: &mut SplitMix64| {
        n += 1;
        let at = as_of - HOUR_MS + n * 20_000;
        let gun = rng.range(1, 9);
        let _ = writeln!(out, "SC-{n:05},GUN-{gun:02},{code},{},{}", qty(counted), utc_text(at));
        format!("SC-{n:05}")
    };
    for _ in 0..(parts.len() / 25) {
        let i = rng.below(parts.len() as u64) as usize;
        if short.contains(&i) || i == dropped || drifting.contains(&i) {
            continue;
        }
        scan(&parts[i].id, stock[i], &mut out, rng);
    }
    let id = scan(&parts[paused].id, stock[paused] + 12.0, &mut out, rng);
    planted.discrepant_scan = (id, parts[paused].id.clone());
    planted.unknown_scan_code = "LBL-7F3K9".to_owned();
    scan("LBL-7F3K9", 3.0, &mut out, rng);
    out
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
            if x.kind == DemoKind::Sites {
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
