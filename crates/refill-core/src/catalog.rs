//! The catalog: products that can be ordered, and the device models whose slots use them up.

use crate::{Money, Quantity, Unit};
use serde::{Deserialize, Serialize};
use std::fmt;

/// An Amazon Standard Identification Number: ten upper-case letters or digits.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Asin(String);

/// Why a text is not an ASIN.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvalidAsin(pub String);

impl fmt::Display for InvalidAsin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "'{}' is not a product code (ASIN): it must be 10 letters or digits",
            self.0.chars().take(40).collect::<String>()
        )
    }
}

impl std::error::Error for InvalidAsin {}

impl Asin {
    /// Parses and validates an ASIN.
    pub fn parse(s: &str) -> Result<Self, InvalidAsin> {
        let ok = s.len() == 10
            && s.bytes()
                .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit());
        if ok {
            Ok(Asin(s.to_owned()))
        } else {
            Err(InvalidAsin(s.to_owned()))
        }
    }

    /// The code as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for Asin {
    type Error = InvalidAsin;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Asin::parse(&s)
    }
}

impl From<Asin> for String {
    fn from(a: Asin) -> String {
        a.0
    }
}

impl fmt::Display for Asin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A product that can be ordered.
#[derive(Debug, Clone, PartialEq)]
pub struct Product {
    /// Its ASIN.
    pub asin: Asin,
    /// Its title as a shopper sees it.
    pub title: String,
    /// How much one pack holds, in the unit of the slots it fills.
    pub pack: Quantity,
    /// The price of one pack.
    pub price: Money,
    /// Where its picture is, relative to the service's base URL, if it has one.
    pub image_path: Option<String>,
}

/// One place in a device that holds a consumable.
#[derive(Debug, Clone, PartialEq)]
pub struct SlotSpec {
    /// The slot's id, unique within its device model (DRS slot ids are often UUIDs).
    pub slot_id: String,
    /// What a person calls it ("Coffee beans").
    pub name: String,
    /// The unit its contents are measured in.
    pub unit: Unit,
    /// How much it holds when full.
    pub capacity: f64,
    /// The products that fit it.
    pub compatible: Vec<Asin>,
}

/// A kind of device, with its slots.
#[derive(Debug, Clone, PartialEq)]
pub struct DeviceModel {
    /// The model id (≤ 64 characters of `[A-Za-z0-9-+_]`, as DRS requires).
    pub model_id: String,
    /// The name shown to people.
    pub name: String,
    /// Its slots.
    pub slots: Vec<SlotSpec>,
}

/// What a device signs with its own Ed25519 key to prove, when it registers, that it is the
/// device it names: this, then the authorization request's S256 PKCE challenge. The signature
/// goes in `scope_data` as `possession`, the public key as `device_key` (both base64url).
pub const POSSESSION_CONTEXT: &str = "refill-device-possession-v1:";

/// Whether `id` is a valid DRS device model id or serial: 1 to 64 of `[A-Za-z0-9-+_]`.
pub fn is_valid_device_identifier(id: &str) -> bool {
    (1..=64).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'+' | b'_'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn asins_are_validated() {
        assert!(Asin::parse("B07RFC0001").is_ok());
        assert!(Asin::parse("b07rfc0001").is_err());
        assert!(Asin::parse("B07RFC000").is_err());
        assert!(Asin::parse("B07RFC00011").is_err());
        assert!(Asin::parse("B07RFC-001").is_err());
        let err = Asin::parse("nope").unwrap_err().to_string();
        assert!(err.contains("10 letters or digits"), "{err}");
    }

    #[test]
    fn device_identifiers_follow_drs_rules() {
        assert!(is_valid_device_identifier("RefillBrew-200"));
        assert!(is_valid_device_identifier("a+b_c-d"));
        assert!(!is_valid_device_identifier(""));
        assert!(!is_valid_device_identifier("has space"));
        assert!(!is_valid_device_identifier(&"x".repeat(65)));
    }
}
