//! Units that slots and packs are measured in.

use serde::{Deserialize, Serialize};
use std::fmt;

/// The unit a slot's contents and a product's pack size are measured in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Unit {
    /// Pieces: filters, cartridges, tablets.
    #[serde(rename = "count")]
    Count,
    /// Grams: coffee beans, powder.
    #[serde(rename = "g")]
    Gram,
    /// Millilitres: ink, liquid detergent.
    #[serde(rename = "ml")]
    Millilitre,
}

impl Unit {
    /// The stable text form used in the database and on the wire.
    pub fn as_str(&self) -> &'static str {
        match self {
            Unit::Count => "count",
            Unit::Gram => "g",
            Unit::Millilitre => "ml",
        }
    }

    /// Parses the text form.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "count" => Some(Unit::Count),
            "g" => Some(Unit::Gram),
            "ml" => Some(Unit::Millilitre),
            _ => None,
        }
    }
}

impl fmt::Display for Unit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An amount in a unit.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Quantity {
    /// How much.
    pub value: f64,
    /// Of what.
    pub unit: Unit,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn units_round_trip_through_text() {
        for unit in [Unit::Count, Unit::Gram, Unit::Millilitre] {
            assert_eq!(Unit::parse(unit.as_str()), Some(unit));
            assert_eq!(
                serde_json::to_string(&unit).unwrap(),
                format!("\"{}\"", unit.as_str())
            );
        }
        assert_eq!(Unit::parse("litres"), None);
    }
}
