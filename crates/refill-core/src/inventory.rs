//! Supplies in a slot: sensor measurements in the slot's unit, and when a slot counts as low.
//!
//! A slot is **low** when the reorder rule ([`crate::replenish::decide`]) says to order for
//! [`LOW_REPORTS`] consecutive reports, as Alexa Dash Replenishment debounces it ([`LowStreak`]).
//! Its use and run-out come from [`crate::forecast`].

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
    /// What it is.
    pub kind: ReadingKind,
}

/// Where a [`Reading`] comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReadingKind {
    /// A device measured it (or a person said "Ran out").
    Measured,
    /// A person opened a new pack of an item without a device as the last one was used up (see
    /// [`crate::forecast::LevelReport::opened`]).
    Opened,
    /// Worked out from the forecast for an item without a device, between what a person said:
    /// shown, never learned from.
    Estimated,
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

#[cfg(test)]
mod tests {
    use super::*;

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
}
