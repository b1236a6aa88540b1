//! The generated site: its sites, part classes and asset groups, the parts with their
//! consumption history and thresholds, and the assets with their bills of materials.

use super::*;

pub(crate) struct SiteDef {
    pub(crate) id: &'static str,
    pub(crate) tz: &'static str,
    pub(crate) code: &'static str,
    pub(crate) source: &'static str,
    /// The site's production shutdown: (month, day) first and last local day, inclusive.
    pub(crate) shutdown: ((i8, i8), (i8, i8)),
    pub(crate) shutdown_words: &'static str,
}

pub(crate) const SITES: [SiteDef; 2] = [
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

pub(crate) struct ClassDef {
    pub(crate) name: &'static str,
    pub(crate) prefix: &'static str,
    pub(crate) unit: &'static str,
    pub(crate) lead: (u64, u64),
    /// Quantities come in steps of this size (litres of lubricant in halves).
    pub(crate) step: f64,
    pub(crate) items: &'static [&'static str],
    pub(crate) sizes: &'static [&'static str],
}

pub(crate) const CLASSES: [ClassDef; 7] = [
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

pub(crate) struct GroupDef {
    pub(crate) group: &'static str,
    pub(crate) prefix: &'static str,
    pub(crate) fallback_days: u32,
    pub(crate) classes: &'static [&'static str],
}

pub(crate) const GROUPS: [GroupDef; 7] = [
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

pub(crate) const HOUR_MS: i64 = 3_600_000;
pub(crate) const DAY_MS: i64 = 86_400_000;

/// A generated part and what the generator knows about it.
pub(crate) struct Part {
    pub(crate) id: String,
    pub(crate) site: usize,
    pub(crate) class: usize,
    pub(crate) lead: u64,
    pub(crate) source: &'static str,
    pub(crate) sku: String,
    pub(crate) description: String,
    /// Consumption events (epoch ms, quantity), all before `as_of`.
    pub(crate) events: Vec<(i64, f64)>,
    /// Events of a demand surge that the baseline does not know about (drifting parts only).
    pub(crate) surge: Vec<(i64, f64)>,
    /// Unit of measure, pack size and minimum order quantity ([`item_units`]).
    pub(crate) unit: &'static str,
    pub(crate) pack_size: Option<f64>,
    pub(crate) min_order_qty: Option<f64>,
    /// Thresholds computed from all events, as the pipeline will publish them (in whole units and
    /// packs for a discrete unit); and the baseline.
    pub(crate) computed: Limits,
    pub(crate) baseline: Limits,
}

impl Part {
    /// How the pipeline rounds the part's limits and orders (docs/contract.md#whole-units).
    pub(crate) fn units(&self, formulas: &FormulaSet) -> UnitPolicy {
        let q = |v: Option<f64>| v.and_then(|v| Quantity::new(v).ok());
        formulas.unit_policy(self.unit, q(self.pack_size), q(self.min_order_qty))
    }
}

/// How an item is counted and bought: its unit of measure (the class's unless it comes as a kit
/// or set), pack size and minimum order quantity. O-ring kits come in cartons of 5, shaft seals
/// and fuse links in boxes of 10, oils in 20 L drums; mechanical seals are bought two at a time
/// and grease by the kilogram, 5 kg at least.
pub(crate) fn item_units(class_unit: &'static str, item: &str) -> (&'static str, Option<f64>, Option<f64>) {
    match item {
        "O-ring kit" => ("KIT", Some(5.0), None),
        "Cylinder seal kit" | "Flat conveyor belt splice kit" => ("KIT", None, None),
        "Gland packing set" => ("SET", None, None),
        "Radial shaft seal" | "Fuse link gG" => (class_unit, Some(10.0), None),
        "Mechanical seal" => (class_unit, None, Some(2.0)),
        "Gear oil" | "Hydraulic oil" | "Compressor oil" => (class_unit, Some(20.0), None),
        "Bearing grease" => ("KG", None, Some(5.0)),
        _ => (class_unit, None, None),
    }
}
/// A random part of the given site counted in whole units (not `except`); scans forward from a
/// random start, so it always ends.
pub(crate) fn pick_index(rng: &mut SplitMix64, parts: &[Part], site: usize, except: Option<usize>) -> usize {
    let start = rng.below(parts.len() as u64) as usize;
    (0..parts.len())
        .map(|k| (start + k) % parts.len())
        .find(|&i| parts[i].site == site && Some(i) != except && CLASSES[parts[i].class].step == 1.0)
        .unwrap_or(start)
}

pub(crate) fn make_parts(spec: &DemoSpec, rng: &mut SplitMix64) -> Vec<Part> {
    (0..spec.parts)
        .map(|i| {
            let site = usize::from(i % 3 == 2); // two thirds in Berlin
            let class = rng.below(CLASSES.len() as u64) as usize;
            let c = &CLASSES[class];
            let s = &SITES[site];
            let item = rng.pick(c.items).copied().unwrap_or("Spare");
            let size = rng.pick(c.sizes).copied().unwrap_or("");
            let (unit, pack_size, min_order_qty) = item_units(c.unit, item);
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
                unit,
                pack_size,
                min_order_qty,
                computed: Limits { min: 0.0, reorder: 0.0, max: 0.0 },
                baseline: Limits { min: 0.0, reorder: 0.0, max: 0.0 },
            }
        })
        .collect()
}

pub(crate) fn md_in(md: (i8, i8), from: (i8, i8), to: (i8, i8)) -> bool {
    if from <= to { from <= md && md <= to } else { md >= from || md <= to }
}

pub(crate) fn window_covers(w: &SeasonalWindow, month: i8, day: i8) -> bool {
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
pub(crate) fn consumption_history(
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
pub(crate) fn surge(part: &Part, as_of: i64, rng: &mut SplitMix64) -> Vec<(i64, f64)> {
    let step = CLASSES[part.class].step;
    (1..=30)
        .rev()
        .filter_map(|d| {
            let at = as_of - d * DAY_MS + rng.range(6, 18) as i64 * HOUR_MS;
            rng.chance(0.85).then(|| (at, step * rng.range(3, 6) as f64))
        })
        .collect()
}

pub(crate) fn to_consumption(events: &[(i64, f64)]) -> Vec<Consumption> {
    events
        .iter()
        .filter_map(|(at, q)| {
            Some(Consumption { at: Timestamp::from_millisecond(*at).ok()?, quantity: Quantity::new(*q).ok()? })
        })
        .collect()
}

/// The limits the pipeline will compute from all of the part's events, and the part master's
/// baseline: the limits of the events the stores knew about (without a surge), within ±10 %.
pub(crate) fn limits(
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
    let computed = part.units(formulas).whole_limits(calc(&all)?);
    let noise = if known.min < 1.0 { 1.0 } else { rng.uniform(0.9, 1.1) };
    let d = params.rounding_decimals;
    // New parts (no consumption yet) carry the stores' first guess.
    let guess = if part.events.is_empty() { 1.0 } else { known.min };
    let min = round_decimals(guess * noise, d);
    let reorder = round_decimals(min * params.reorder_factor, d);
    let baseline = Limits { min, reorder, max: round_decimals(reorder * params.max_factor, d) };
    Ok((computed, baseline))
}

pub(crate) struct Asset {
    pub(crate) id: String,
    pub(crate) group: usize,
    pub(crate) site: usize,
    /// Last PM completion (epoch ms), none for new assets.
    pub(crate) last_completion: Option<i64>,
    pub(crate) bom: Vec<(usize, f64)>,
}

pub(crate) fn make_assets(spec: &DemoSpec, parts: &[Part], rng: &mut SplitMix64) -> Vec<Asset> {
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
