//! Supplies in a slot: sensor measurements in the slot's unit, consumption and run-out
//! forecasts, and when a slot counts as low.
//!
//! A slot is **low** when its remaining supply is at or below its threshold for
//! [`LOW_REPORTS`] consecutive reports, as Alexa Dash Replenishment does it. The default
//! threshold is days of cover: remaining ÷ recent daily consumption ([`UseEstimate`]) ≤
//! delivery lead time + a margin. Without enough history to know the consumption yet, a slot is low at a fifth of its
//! capacity. The customer can instead give a minimum level (low at or below it) and a target
//! level (a smart reorder brings the slot and the home's stock up to it).

use crate::Unit;
use time::{Duration, OffsetDateTime};

/// Consecutive low reports before a slot counts as low.
pub const LOW_REPORTS: u32 = 3;

/// How far back a slot's level history is shown.
pub const RATE_WINDOW: Duration = Duration::days(14);

/// The share of capacity a slot is low at while its consumption is not known yet.
pub const UNKNOWN_RATE_LOW_SHARE: f64 = 0.2;

/// How a measurement is expressed, as Alexa's inventory sensors report it (§4.3).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Measure {
    /// Pieces.
    Count,
    /// Percent of the slot's capacity, 0 to 100.
    Percentage,
    /// A volume; millilitres per unit.
    Volume(f64),
    /// A weight; grams per unit.
    Weight(f64),
}

/// Alexa's volume units and how many millilitres each is.
const VOLUME_UNITS: &[(&str, f64)] = &[
    ("LITER", 1000.0),
    ("MILLILITER", 1.0),
    ("METRIC_CUP", 250.0),
    ("METRIC_TEASPOON", 5.0),
    ("UK_TABLESPOON", 17.7581640625),
    ("AU_TABLESPOON", 20.0),
    ("CUBIC_CENTIMETER", 1.0),
    ("CUBIC_METER", 1.0e6),
    ("UK_GALLON", 4546.09),
    ("UK_QUART", 1136.5225),
    ("UK_PINT", 568.26125),
    ("UK_CUP", 284.130625),
    ("UK_GILL", 142.0653125),
    ("UK_FLUID_OUNCE", 28.4130625),
    ("UK_FLUID_DRAM", 3.5516328125),
    ("CUBIC_INCH", 16.387064),
    ("CUBIC_FOOT", 28316.846592),
    ("CUBIC_YARD", 764554.857984),
    ("US_FLUID_GALLON", 3785.411784),
    ("US_FLUID_QUART", 946.352946),
    ("US_FLUID_PINT", 473.176473),
    ("US_FLUID_CUP", 236.5882365),
    ("US_FLUID_OUNCE", 29.5735295625),
    ("US_GILL", 118.29411825),
    ("US_TABLESPOON", 14.78676478125),
    ("US_TEASPOON", 4.92892159375),
    ("US_DRAM", 3.6966911953125),
    ("US_DRY_GALLON", 4404.88377086),
    ("US_DRY_QUART", 1101.220942715),
    ("US_DRY_PINT", 550.6104713575),
];

/// Alexa's weight units and how many grams each is.
const WEIGHT_UNITS: &[(&str, f64)] = &[
    ("KILOGRAM", 1000.0),
    ("GRAM", 1.0),
    ("MILLIGRAM", 0.001),
    ("MICROGRAM", 0.000001),
    ("METRIC_POUND", 500.0),
    ("POUND", 453.59237),
    ("OUNCE", 28.349523125),
    ("DRAM", 1.7718451953125),
];

impl Measure {
    /// Reads an Alexa measurement type (`Count`, `Percentage`, `Volume`, `Weight`) and its unit.
    /// The error says what is wrong in words.
    pub fn parse(kind: &str, unit: Option<&str>) -> Result<Self, String> {
        let find = |table: &[(&str, f64)], what: &str| {
            let unit =
                unit.ok_or_else(|| format!("a {what} needs a unit, such as {}", table[0].0))?;
            table
                .iter()
                .find(|(name, _)| *name == unit)
                .map(|(_, factor)| *factor)
                .ok_or_else(|| format!("{unit:?} is not a {what} unit Alexa defines"))
        };
        match kind {
            "Count" => Ok(Measure::Count),
            "Percentage" => Ok(Measure::Percentage),
            "Volume" => find(VOLUME_UNITS, "Volume").map(Measure::Volume),
            "Weight" => find(WEIGHT_UNITS, "Weight").map(Measure::Weight),
            other => Err(format!(
                "{other:?} is not a measurement type: use Count, Percentage, Volume or Weight"
            )),
        }
    }

    /// `value` of this measure in `unit`, for a slot holding `capacity` of it when full. A
    /// percentage is of the capacity. The error says why the measure does not fit the slot.
    pub fn to_slot_unit(self, value: f64, unit: Unit, capacity: f64) -> Result<f64, String> {
        if !value.is_finite() || value < 0.0 {
            return Err(format!("{value} is not an amount: it must be zero or more"));
        }
        match (self, unit) {
            (Measure::Count, Unit::Count) => Ok(value),
            (Measure::Percentage, _) if value <= 100.0 => Ok(capacity * value / 100.0),
            (Measure::Percentage, _) => Err(format!("{value}% is over 100%")),
            (Measure::Volume(ml), Unit::Millilitre) => Ok(value * ml),
            (Measure::Weight(g), Unit::Gram) => Ok(value * g),
            (_, unit) => Err(format!(
                "this slot is measured {}, which a {} reading cannot be converted to",
                match unit {
                    Unit::Count => "in pieces",
                    Unit::Gram => "by weight",
                    Unit::Millilitre => "by volume",
                },
                match self {
                    Measure::Count => "Count",
                    Measure::Percentage => "Percentage",
                    Measure::Volume(_) => "Volume",
                    Measure::Weight(_) => "Weight",
                }
            )),
        }
    }
}

/// What a slot held at a moment.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Reading {
    /// When.
    pub at: OffsetDateTime,
    /// How much was left in the device, in the slot's unit.
    pub remaining: f64,
}

/// How long use is remembered: older use counts for less, by a factor of e every this many days.
pub const USE_MEMORY_DAYS: f64 = 7.0;

/// Recent use per day, kept up to date report by report with exponential forgetting (see
/// [`USE_MEMORY_DAYS`]), so that no history has to be read to know it. Steady use of `r` a day
/// gives exactly `r`.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct UseEstimate {
    /// Amount used, each part weighted by how recent it is.
    pub used: f64,
    /// Days observed, weighted the same way.
    pub days: f64,
    /// Days observed in all.
    pub observed_days: f64,
    /// When the last report came.
    pub last: Option<OffsetDateTime>,
}

impl UseEstimate {
    /// Takes a report at `at` saying `used` was used since the last one.
    pub fn observe(&mut self, at: OffsetDateTime, used: f64) {
        let used = used.max(0.0);
        match self.last {
            Some(last) if at > last => {
                let dt = (at - last).as_seconds_f64() / 86_400.0;
                let decay = (-dt / USE_MEMORY_DAYS).exp();
                let weight = USE_MEMORY_DAYS * (1.0 - decay);
                // The interval's use is spread over it: its weight is the interval's.
                self.used = self.used * decay + used * weight / dt;
                self.days = self.days * decay + weight;
                self.observed_days += dt;
                self.last = Some(at);
            }
            Some(_) => self.used += used,
            None => self.last = Some(at),
        }
    }

    /// Moves past a stretch that says nothing about use: the slot was empty (its use was not
    /// observed, not zero), or it was refilled from a level nobody knows. The time up to `at`
    /// counts neither as use nor as a day observed.
    pub fn skip(&mut self, at: OffsetDateTime) {
        if self.last.is_none_or(|last| at > last) {
            self.last = Some(at);
        }
    }

    /// Use per day, once a day has been observed.
    pub fn rate(&self) -> Option<f64> {
        (self.observed_days >= 1.0 && self.days > 0.0).then(|| self.used / self.days)
    }
}

/// When a slot with `remaining` runs out at `rate` per day; `None` when nothing is used.
pub fn run_out(now: OffsetDateTime, remaining: f64, rate: Option<f64>) -> Option<OffsetDateTime> {
    let rate = rate.filter(|r| *r > 0.0)?;
    let days = remaining.max(0.0) / rate;
    // Beyond ten years is "not in sight".
    (days < 3650.0).then(|| now + Duration::seconds_f64(days * 86_400.0))
}

/// What a slot's threshold is.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Threshold {
    /// Low when it lasts no longer than the delivery takes plus a margin.
    DaysOfCover {
        /// How long an order takes to arrive.
        lead_time: Duration,
        /// Extra time, so that it arrives before the slot is empty.
        margin: Duration,
    },
    /// Low at or below `minimum` (the customer's own setting, in the slot's unit).
    Minimum {
        /// The level.
        minimum: f64,
    },
}

impl Threshold {
    /// Whether `remaining` is at or below the threshold, for a slot of `capacity` used at
    /// `rate` per day (unknown: a fifth of the capacity).
    pub fn is_low(&self, remaining: f64, capacity: f64, rate: Option<f64>) -> bool {
        match *self {
            Threshold::Minimum { minimum } => remaining <= minimum,
            Threshold::DaysOfCover { lead_time, margin } => match rate.filter(|r| *r > 0.0) {
                Some(rate) => remaining / rate <= (lead_time + margin).as_seconds_f64() / 86_400.0,
                None => remaining <= capacity * UNKNOWN_RATE_LOW_SHARE,
            },
        }
    }
}

/// Consecutive low reports of one slot, and whether they have been acted on.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LowStreak {
    /// Low reports in a row.
    pub reports: u32,
    /// Whether this run of low reports has raised its notification or order.
    pub acted: bool,
}

impl LowStreak {
    /// Takes one report; `true` when it is the one that makes the slot low: the
    /// [`LOW_REPORTS`]th low report in a row, once per run (a report above the threshold ends
    /// the run).
    pub fn observe(&mut self, low: bool) -> bool {
        if !low {
            *self = LowStreak::default();
            return false;
        }
        self.reports = self.reports.saturating_add(1);
        if self.reports >= LOW_REPORTS && !self.acted {
            self.acted = true;
            return true;
        }
        false
    }
}

/// Packs of `pack` to order so that the slot and the home's stock reach `target`; at least one.
pub fn packs_to_target(target: Option<f64>, remaining: f64, on_hand: f64, pack: f64) -> u32 {
    let Some(target) = target else { return 1 };
    if pack <= 0.0 {
        return 1;
    }
    let missing = (target - remaining - on_hand).max(0.0);
    let packs = (missing / pack).ceil();
    if packs < 1.0 {
        1
    } else if packs > 99.0 {
        99
    } else {
        packs as u32
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn sensor_measures_convert_to_the_slots_unit() {
        let litre = Measure::parse("Volume", Some("LITER")).unwrap();
        assert_eq!(
            litre.to_slot_unit(2.5, Unit::Millilitre, 0.0).unwrap(),
            2500.0
        );
        let oz = Measure::parse("Volume", Some("US_FLUID_OUNCE")).unwrap();
        assert!((oz.to_slot_unit(300.0, Unit::Millilitre, 0.0).unwrap() - 8872.06).abs() < 0.01);
        let lb = Measure::parse("Weight", Some("POUND")).unwrap();
        assert!((lb.to_slot_unit(2.0, Unit::Gram, 0.0).unwrap() - 907.18474).abs() < 1e-9);
        let pct = Measure::parse("Percentage", None).unwrap();
        assert_eq!(pct.to_slot_unit(25.0, Unit::Gram, 1000.0).unwrap(), 250.0);
        assert_eq!(
            Measure::parse("Count", None)
                .unwrap()
                .to_slot_unit(3.0, Unit::Count, 10.0)
                .unwrap(),
            3.0
        );
        // What cannot be converted is said in words.
        let e = litre.to_slot_unit(1.0, Unit::Gram, 0.0).unwrap_err();
        assert!(e.contains("by weight") && e.contains("Volume"), "{e}");
        assert!(pct.to_slot_unit(140.0, Unit::Gram, 1.0).is_err());
        assert!(litre.to_slot_unit(-1.0, Unit::Millilitre, 0.0).is_err());
        assert!(Measure::parse("Volume", Some("BARREL"))
            .unwrap_err()
            .contains("BARREL"));
        assert!(Measure::parse("Volume", None)
            .unwrap_err()
            .contains("needs a unit"));
        assert!(Measure::parse("Heat", None).is_err());
    }

    #[test]
    fn run_out_is_remaining_over_the_rate() {
        let now = datetime!(2026-11-05 08:00 UTC);
        assert_eq!(
            run_out(now, 150.0, Some(75.0)),
            Some(now + Duration::days(2))
        );
        assert_eq!(run_out(now, 150.0, Some(0.0)), None);
        assert_eq!(run_out(now, 150.0, None), None);
    }

    #[test]
    fn the_use_estimate_is_exact_for_steady_use_and_forgets_old_use() {
        let start = datetime!(2026-11-01 08:00 UTC);
        let mut estimate = UseEstimate::default();
        estimate.observe(start, 0.0);
        assert_eq!(estimate.rate(), None);
        estimate.observe(start + Duration::hours(12), 12.5);
        assert_eq!(estimate.rate(), None, "less than a day observed");
        for day in 1..=10 {
            estimate.observe(
                start + Duration::days(day),
                if day == 1 { 12.5 } else { 25.0 },
            );
        }
        assert!(
            (estimate.rate().unwrap() - 25.0).abs() < 1e-9,
            "{estimate:?}"
        );
        // Use stops: the estimate falls, by half in about five days.
        for day in 11..=15 {
            estimate.observe(start + Duration::days(day), 0.0);
        }
        let rate = estimate.rate().unwrap();
        assert!(rate > 10.0 && rate < 14.0, "{rate}");
        // A stretch skipped (empty, or a refill from an unknown level) is neither use nor a
        // day observed: the estimate stays where the observed days put it.
        let mut censored = UseEstimate::default();
        censored.observe(start, 0.0);
        censored.observe(start + Duration::days(3), 75.0);
        censored.skip(start + Duration::days(10));
        censored.observe(start + Duration::days(11), 25.0);
        assert!(
            (censored.rate().unwrap() - 25.0).abs() < 1e-9,
            "{censored:?}"
        );
        assert_eq!(censored.observed_days, 4.0);
    }

    #[test]
    fn low_is_days_of_cover_or_the_customers_minimum() {
        let cover = Threshold::DaysOfCover {
            lead_time: Duration::days(2),
            margin: Duration::days(1),
        };
        // 75 a day: 225 lasts 3 days (low), 300 lasts 4 (not low).
        assert!(cover.is_low(225.0, 1000.0, Some(75.0)));
        assert!(!cover.is_low(300.0, 1000.0, Some(75.0)));
        // Unknown consumption: a fifth of the capacity.
        assert!(cover.is_low(200.0, 1000.0, None));
        assert!(!cover.is_low(201.0, 1000.0, None));
        let own = Threshold::Minimum { minimum: 500.0 };
        assert!(own.is_low(500.0, 1000.0, Some(1.0)));
        assert!(!own.is_low(501.0, 1000.0, Some(1000.0)));
    }

    #[test]
    fn a_slot_is_low_on_the_third_low_report_in_a_row_once() {
        let mut streak = LowStreak::default();
        assert!(!streak.observe(true));
        assert!(!streak.observe(true));
        // A report above the threshold starts over.
        assert!(!streak.observe(false));
        assert!(!streak.observe(true));
        assert!(!streak.observe(true));
        assert!(streak.observe(true), "the third low report in a row");
        assert!(!streak.observe(true), "acted on once");
        assert!(!streak.observe(false));
        assert!(!streak.observe(true));
        assert!(!streak.observe(true));
        assert!(streak.observe(true), "a new run after a refill");
    }

    #[test]
    fn a_reorder_brings_the_stock_up_to_the_target() {
        assert_eq!(packs_to_target(None, 0.0, 0.0, 500.0), 1);
        assert_eq!(packs_to_target(Some(2000.0), 100.0, 400.0, 500.0), 3);
        assert_eq!(packs_to_target(Some(200.0), 100.0, 400.0, 500.0), 1);
    }
}
