//! Decisions in whole units (docs/contract.md#whole-units): parts counted in discrete units of
//! measure (`EA`, `KIT`, `PR` …) get whole-unit thresholds and order quantities, in multiples of
//! their pack size and at least their minimum order quantity; continuous units (`L`, `KG`, `M` …)
//! keep the formula's decimals.
//!
//! The list of discrete units lives in the formula registry's `[units]` section ([`UnitsParams`],
//! default [`DEFAULT_DISCRETE_UNITS`], matched case-insensitively); a part's pack size and minimum
//! order quantity come from its part master row. [`UnitPolicy`] joins the two for one part, and is
//! the only place the rounding happens: [`UnitPolicy::whole_limits`] at the end of every threshold
//! computation (`crate::thresholds::part_thresholds`) and for a published drift fallback,
//! [`UnitPolicy::order_quantity`] where routing decides a procurement request's quantity.
//!
//! Arithmetic is done on whole micro-units ([`crate::quantity`]), so a rounded value is an exact
//! multiple of its step and never below the value it was rounded from.

use crate::drift::LimitField;
use crate::quantity::{MICROS_PER_UNIT, Quantity};
use crate::thresholds::{Limits, round_decimals};
use serde::{Deserialize, Serialize};

/// The shipped discrete units, upper case and sorted (the canonical form of the registry list):
/// pieces (`EA`, `EACH`, `PC`, `PCS`, `PIECE`, `UNIT`), sets (`KIT`, `SET`, `PR`, `PAIR`) and
/// counted containers (`BAG`, `BOX`, `BTL`, `CAN`, `CASE`, `DRUM`, `PACK`, `PK`, `ROLL`).
pub const DEFAULT_DISCRETE_UNITS: &[&str] = &[
    "BAG", "BOX", "BTL", "CAN", "CASE", "DRUM", "EA", "EACH", "KIT", "PACK", "PAIR", "PC", "PCS", "PIECE", "PK", "PR",
    "ROLL", "SET", "UNIT",
];

/// Longest unit name the registry accepts, in characters.
pub const MAX_UNIT_LEN: usize = 16;

/// The registry's `[units]` section.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct UnitsParams {
    /// Units of measure counted in whole pieces (case-insensitive; stored upper case, sorted).
    pub discrete: Vec<String>,
}

impl Default for UnitsParams {
    fn default() -> Self {
        Self { discrete: DEFAULT_DISCRETE_UNITS.iter().map(|u| (*u).to_owned()).collect() }
    }
}

impl UnitsParams {
    /// Brings the list into canonical form (trimmed, upper case, sorted, without repeats) and
    /// checks each entry: 1–16 ASCII letters, digits or `. _ - /`. The error is the offending
    /// entry's index and the reason.
    pub fn normalize(&mut self) -> Result<(), (usize, String)> {
        for (i, unit) in self.discrete.iter_mut().enumerate() {
            let t = unit.trim().to_ascii_uppercase();
            if t.is_empty() || t.len() > MAX_UNIT_LEN {
                return Err((i, format!("must be 1 to {MAX_UNIT_LEN} characters (got {unit:?})")));
            }
            if let Some(c) = t.chars().find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '/'))) {
                return Err((i, format!("must be ASCII letters, digits or . _ - / (got {c:?} in {unit:?})")));
            }
            *unit = t;
        }
        self.discrete.sort();
        self.discrete.dedup();
        Ok(())
    }

    /// Whether `unit` (a part master's unit of measure, blanks around it ignored) is discrete.
    pub fn is_discrete(&self, unit: &str) -> bool {
        let unit = unit.trim();
        self.discrete.iter().any(|d| d.eq_ignore_ascii_case(unit))
    }

    /// The unit policy of a part with this unit, pack size and minimum order quantity.
    pub fn policy(&self, unit: &str, pack_size: Option<Quantity>, min_order_qty: Option<Quantity>) -> UnitPolicy {
        UnitPolicy { discrete: self.is_discrete(unit), pack_size, min_order_qty }
    }
}

/// How one part's quantities are rounded: whether its unit is discrete, its pack size (order
/// multiple) and its minimum order quantity. The default is a continuous part without either.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize)]
pub struct UnitPolicy {
    /// The part's unit is counted in whole pieces.
    pub discrete: bool,
    /// Units per pack: orders (and, when discrete, reorder point and max) are multiples of it.
    pub pack_size: Option<Quantity>,
    /// Smallest quantity one order may be for.
    pub min_order_qty: Option<Quantity>,
}

/// Micro-units of a positive quantity, `None` for none or zero.
fn positive_micros(q: Option<Quantity>) -> Option<i128> {
    q.map(|q| i128::from(q.micros())).filter(|m| *m > 0)
}

fn gcd(mut a: i128, mut b: i128) -> i128 {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

/// The smallest whole number of micro-units `m` with `m / 10⁶ ≥ x`, for a finite `x ≥ 0` below
/// 10⁹ × 10³ (beyond, micro-units are no longer exact in a double: `None`).
fn micros_up(x: f64) -> Option<i128> {
    if !(0.0..=1e12).contains(&x) {
        return None;
    }
    let scaled = (x * MICROS_PER_UNIT as f64).round();
    // `scaled` is within half a micro-unit (plus one rounding) of x·10⁶: one more covers x.
    let m = scaled as i128;
    Some(if scaled / (MICROS_PER_UNIT as f64) < x { m + 1 } else { m })
}

/// `x` rounded up to a whole multiple of `step` micro-units (`step > 0`). Values outside the
/// range [`micros_up`] handles are returned unchanged.
fn up_to_step(x: f64, step: i128) -> f64 {
    match micros_up(x) {
        Some(m) => {
            let k = (m + step - 1) / step;
            (k * step) as f64 / MICROS_PER_UNIT as f64 + 0.0
        }
        None => x,
    }
}

impl UnitPolicy {
    /// A continuous part without pack size or minimum order quantity: nothing is rounded.
    pub const CONTINUOUS: UnitPolicy = UnitPolicy { discrete: false, pack_size: None, min_order_qty: None };

    /// The order step in micro-units: for a discrete part the smallest multiple of its pack size
    /// that is a whole number of units (the pack size itself when it is whole, 1 unit without a
    /// pack size; a pack of 2.5 gives steps of 5); for a continuous part its pack size, or `None`.
    pub fn step_micros(&self) -> Option<i128> {
        let one = i128::from(MICROS_PER_UNIT);
        match (self.discrete, positive_micros(self.pack_size)) {
            (true, Some(pack)) => Some(pack / gcd(pack, one) * one),
            (true, None) => Some(one),
            (false, pack) => pack,
        }
    }

    /// The limits a part publishes: unchanged for a continuous unit; for a discrete unit `min`
    /// rounded up to a whole unit, `reorder` and `max` rounded up to a whole multiple of the step
    /// ([`Self::step_micros`]). Never lowers a limit, keeps `min ≤ reorder ≤ max`, and applying
    /// it twice changes nothing.
    pub fn whole_limits(&self, limits: Limits) -> Limits {
        Limits {
            min: self.whole_limit(LimitField::Min, limits.min),
            reorder: self.whole_limit(LimitField::Reorder, limits.reorder),
            max: self.whole_limit(LimitField::Max, limits.max),
        }
    }

    /// One limit as [`Self::whole_limits`] rounds it (drift compares a discrete part's baseline
    /// rounded like this with its whole-unit limits).
    pub fn whole_limit(&self, field: LimitField, value: f64) -> f64 {
        match (self.discrete, field, self.step_micros()) {
            (true, LimitField::Min, _) => up_to_step(value, i128::from(MICROS_PER_UNIT)),
            (true, _, Some(step)) => up_to_step(value, step),
            _ => value,
        }
    }

    /// The quantity of a procurement request for `needed` units (`max − available`, order up to
    /// max); 0 when nothing is needed. A part without discrete unit, pack size or minimum order
    /// quantity orders `needed` to two decimals (half to even, as before whole units). Otherwise
    /// the order is at least `needed` and the minimum order quantity, rounded up to a whole
    /// multiple of the step ([`Self::step_micros`]).
    pub fn order_quantity(&self, needed: f64) -> f64 {
        if needed.is_nan() || needed <= 0.0 {
            return 0.0;
        }
        let moq = self.min_order_qty.map_or(0.0, Quantity::get);
        match self.step_micros() {
            Some(step) => up_to_step(needed.max(moq), step),
            None if moq > 0.0 => needed.max(moq),
            None => round_decimals(needed, 2),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn q(v: f64) -> Option<Quantity> {
        Some(Quantity::new(v).unwrap())
    }

    fn discrete(pack: Option<f64>, moq: Option<f64>) -> UnitPolicy {
        UnitPolicy { discrete: true, pack_size: pack.and_then(q), min_order_qty: moq.and_then(q) }
    }

    fn limits(min: f64, reorder: f64, max: f64) -> Limits {
        Limits { min, reorder, max }
    }

    #[test]
    fn default_list_is_canonical_and_matches_case_insensitively() {
        let mut p = UnitsParams::default();
        let before = p.clone();
        p.normalize().unwrap();
        assert_eq!(p, before, "DEFAULT_DISCRETE_UNITS must be upper case, sorted and unique");
        assert!(p.is_discrete("EA") && p.is_discrete(" ea ") && p.is_discrete("Kit") && p.is_discrete("pr"));
        assert!(!p.is_discrete("L") && !p.is_discrete("KG") && !p.is_discrete("M") && !p.is_discrete(""));
        let mut custom = UnitsParams { discrete: vec![" st ".into(), "EA".into(), "ea".into()] };
        custom.normalize().unwrap();
        assert_eq!(custom.discrete, ["EA", "ST"]);
        for bad in ["", "   ", "pieces of eight", "ÜBER", "A\tB", "ABCDEFGHIJKLMNOPQ"] {
            let mut p = UnitsParams { discrete: vec!["EA".into(), bad.into()] };
            assert_eq!(p.normalize().map_err(|(i, _)| i), Err(1), "{bad:?}");
        }
    }

    #[test]
    fn the_issues_examples() {
        // A splice kit with reorder point 2.5 and max 3.75 holds whole kits.
        let kit = UnitsParams::default().policy("KIT", None, None);
        assert_eq!(kit.whole_limits(limits(2.0, 2.5, 3.75)), limits(2.0, 3.0, 4.0));
        // 28.66 O-ring kits, sold in packs of 5: six packs.
        assert_eq!(discrete(Some(5.0), None).order_quantity(28.66), 30.0);
        // 142.74 seals, whole pieces, at least 200 a time.
        assert_eq!(discrete(None, Some(200.0)).order_quantity(142.74), 200.0);
        assert_eq!(discrete(None, None).order_quantity(142.74), 143.0);
        // A pack size of 12 and a minimum of 30: three packs.
        assert_eq!(discrete(Some(12.0), Some(30.0)).order_quantity(1.0), 36.0);
    }

    #[test]
    fn continuous_units_keep_todays_figures() {
        let c = UnitsParams::default().policy("L", None, None);
        assert_eq!(c, UnitPolicy::CONTINUOUS);
        assert_eq!(c.whole_limits(limits(15.0, 18.75, 28.12)), limits(15.0, 18.75, 28.12));
        assert_eq!(c.order_quantity(25.123), 25.12);
        assert_eq!(c.order_quantity(28.125), 28.12);
        assert_eq!(c.order_quantity(0.0), 0.0);
        assert_eq!(c.order_quantity(-3.0), 0.0);
        assert_eq!(c.order_quantity(f64::NAN), 0.0);
        // A continuous part bought in 20 L drums keeps decimal limits but orders whole drums.
        let drums = UnitPolicy { pack_size: q(20.0), ..c };
        assert_eq!(drums.whole_limits(limits(15.0, 18.75, 28.12)), limits(15.0, 18.75, 28.12));
        assert_eq!(drums.order_quantity(25.12), 40.0);
        let moq = UnitPolicy { min_order_qty: q(2.5), ..c };
        assert_eq!(moq.order_quantity(0.4), 2.5);
        assert_eq!(moq.order_quantity(7.333), 7.333);
    }

    #[test]
    fn fractional_packs_of_discrete_parts_step_in_whole_units() {
        assert_eq!(discrete(Some(2.5), None).step_micros(), Some(5_000_000));
        assert_eq!(discrete(Some(0.25), None).step_micros(), Some(1_000_000));
        assert_eq!(discrete(Some(12.0), None).step_micros(), Some(12_000_000));
        assert_eq!(discrete(None, None).step_micros(), Some(1_000_000));
        assert_eq!(UnitPolicy { pack_size: q(0.5), ..UnitPolicy::CONTINUOUS }.step_micros(), Some(500_000));
        assert_eq!(discrete(Some(2.5), None).whole_limits(limits(0.5, 0.6, 5.01)), limits(1.0, 5.0, 10.0));
    }

    #[test]
    fn exact_values_stay_and_near_values_round_up() {
        let p = discrete(None, None);
        assert_eq!(p.whole_limits(limits(0.0, 0.0, 0.0)), limits(0.0, 0.0, 0.0));
        assert_eq!(p.whole_limits(limits(3.0, 4.0, 6.0)), limits(3.0, 4.0, 6.0));
        // More decimals than micro-units (rounding_decimals = 9) still round up, never down.
        assert_eq!(p.whole_limits(limits(2.000_000_4, 2.000_000_4, 2.000_000_4)), limits(3.0, 3.0, 3.0));
        assert_eq!(p.order_quantity(0.01), 1.0);
        assert_eq!(p.order_quantity(1e-9), 1.0);
    }

    /// A quantity on the two-decimal grid the formula produces, or any micro-unit value.
    fn value() -> impl Strategy<Value = f64> {
        prop_oneof![
            (0u64..100_000_000).prop_map(|c| round_decimals(c as f64 / 100.0, 2)),
            (0u64..1_000_000_000_000).prop_map(|m| m as f64 / 1e6),
            0.0f64..1e9,
        ]
    }

    fn pack() -> impl Strategy<Value = Option<Quantity>> {
        prop::option::of(prop_oneof![
            (1u32..500).prop_map(f64::from),
            (1u32..100_000).prop_map(|c| f64::from(c) / 100.0),
        ])
        .prop_map(|p| p.and_then(|v| Quantity::new(v).ok()))
    }

    /// Whether `v` is a whole multiple of `step` micro-units, checked on exact micro-units.
    fn is_multiple(v: f64, step: i128) -> bool {
        let m = (v * 1e6).round();
        m / 1e6 == v && (m as i128) % step == 0
    }

    proptest! {
        #[test]
        fn discrete_limits_are_whole_pack_multiples_never_below(
            a in value(), b in value(), c in value(), pack in pack(), moq in pack()
        ) {
            let mut v = [a, b, c];
            v.sort_by(f64::total_cmp);
            let raw = limits(v[0], v[1], v[2]);
            let policy = UnitPolicy { discrete: true, pack_size: pack, min_order_qty: moq };
            let step = policy.step_micros().unwrap();
            let pack_micros = pack.map_or(1_000_000, |p| i128::from(p.micros()));
            let got = policy.whole_limits(raw);
            prop_assert!(is_multiple(got.reorder, step) && is_multiple(got.max, step), "{:?} -> {:?}", raw, got);
            prop_assert!(is_multiple(got.reorder, pack_micros) && is_multiple(got.max, pack_micros));
            prop_assert!(is_multiple(got.min, 1_000_000));
            prop_assert!(got.min >= raw.min && got.reorder >= raw.reorder && got.max >= raw.max);
            prop_assert!(got.min <= got.reorder && got.reorder <= got.max);
            // Less than one step above: the smallest such multiple.
            prop_assert!(got.reorder - raw.reorder < step as f64 / 1e6);
            prop_assert_eq!(policy.whole_limits(got), got);
        }

        #[test]
        fn discrete_orders_are_whole_pack_multiples_never_below(
            needed in value(), pack in pack(), moq in pack()
        ) {
            let policy = UnitPolicy { discrete: true, pack_size: pack, min_order_qty: moq };
            let got = policy.order_quantity(needed);
            if needed > 0.0 {
                let pack_micros = pack.map_or(1_000_000, |p| i128::from(p.micros()));
                prop_assert!(is_multiple(got, pack_micros) && is_multiple(got, 1_000_000), "{} -> {}", needed, got);
                prop_assert!(got >= needed && got >= moq.map_or(0.0, Quantity::get));
                prop_assert!(got > 0.0);
            } else {
                prop_assert_eq!(got, 0.0);
            }
        }

        #[test]
        fn continuous_parts_are_unchanged(a in value(), b in value(), c in value(), needed in -10.0f64..1e9) {
            let mut v = [a, b, c];
            v.sort_by(f64::total_cmp);
            let raw = limits(v[0], v[1], v[2]);
            let policy = UnitsParams::default().policy("KG", None, None);
            prop_assert_eq!(policy.whole_limits(raw), raw);
            let want = if needed > 0.0 { round_decimals(needed, 2) } else { 0.0 };
            prop_assert_eq!(policy.order_quantity(needed).to_bits(), want.to_bits());
            // A pack size changes a continuous part's orders, never its limits.
            let packed = UnitPolicy { pack_size: Quantity::new(0.5).ok(), ..policy };
            prop_assert_eq!(packed.whole_limits(raw), raw);
        }
    }
}
