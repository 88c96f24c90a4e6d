//! Money: an amount in the currency's minor unit (cents), never a float.

use serde::{Deserialize, Serialize};
use std::fmt;

/// An ISO 4217 currency code, such as `USD`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Currency([u8; 3]);

impl Currency {
    /// US dollar, the sandbox marketplace's currency.
    pub const USD: Currency = Currency(*b"USD");

    /// Parses a three-letter upper-case code.
    pub fn parse(code: &str) -> Option<Self> {
        let bytes: [u8; 3] = code.as_bytes().try_into().ok()?;
        bytes
            .iter()
            .all(u8::is_ascii_uppercase)
            .then_some(Currency(bytes))
    }

    /// The code as text.
    pub fn as_str(&self) -> &str {
        // Only ASCII upper-case letters are ever stored.
        std::str::from_utf8(&self.0).unwrap_or("XXX")
    }

    /// How many minor units make one major unit (cents per dollar).
    pub fn minor_per_major(&self) -> i64 {
        match self.as_str() {
            "JPY" | "KRW" => 1,
            _ => 100,
        }
    }
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for Currency {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for Currency {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let code = String::deserialize(d)?;
        Currency::parse(&code).ok_or_else(|| {
            serde::de::Error::custom(format!("'{code}' is not a three-letter currency code"))
        })
    }
}

/// An amount of money.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Money {
    /// The amount in minor units (cents for USD).
    pub amount_minor: i64,
    /// The currency.
    pub currency: Currency,
}

impl Money {
    /// `amount_minor` minor units of `currency`.
    pub fn new(amount_minor: i64, currency: Currency) -> Self {
        Self {
            amount_minor,
            currency,
        }
    }
}

impl Money {
    /// A price written in major units, as a catalog gives it (`18.99`, `500` yen): digits, and
    /// for a currency with cents at most two after a point. Never negative; what is wrong, in
    /// words.
    pub fn from_decimal(text: &str, currency: Currency) -> Result<Self, String> {
        let text = text.trim();
        let wrong = || {
            if currency.minor_per_major() == 1 {
                format!("'{text}' is not a price in {currency}: give whole units such as 500")
            } else {
                format!("'{text}' is not a price in {currency}: give it such as 18.99")
            }
        };
        let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
        let (whole, cents) = match text.split_once('.') {
            Some((whole, cents)) if currency.minor_per_major() == 100 && digits(cents) => {
                (whole, cents)
            }
            Some(_) => return Err(wrong()),
            None => (text, ""),
        };
        if !digits(whole) || cents.len() > 2 {
            return Err(wrong());
        }
        let whole: i64 = whole.parse().map_err(|_| wrong())?;
        let cents: i64 = match cents.len() {
            0 => 0,
            1 => cents.parse::<i64>().map_err(|_| wrong())? * 10,
            _ => cents.parse().map_err(|_| wrong())?,
        };
        whole
            .checked_mul(currency.minor_per_major())
            .and_then(|w| w.checked_add(cents))
            .map(|minor| Money::new(minor, currency))
            .ok_or_else(wrong)
    }

    /// The amount as a person reads it on a screen or in a notification: `$12.99`, `€4.50`,
    /// `£3.00`, `¥500`; other currencies as [`Display`](fmt::Display) writes them (`12.99 CHF`).
    pub fn in_words(&self) -> String {
        let symbol = match self.currency.as_str() {
            "USD" => "$",
            "EUR" => "€",
            "GBP" => "£",
            "JPY" => "¥",
            _ => return self.to_string(),
        };
        let plain = self.to_string();
        let number = plain.rsplit_once(' ').map_or(plain.as_str(), |(n, _)| n);
        match number.strip_prefix('-') {
            Some(abs) => format!("-{symbol}{abs}"),
            None => format!("{symbol}{number}"),
        }
    }
}

impl fmt::Display for Money {
    /// `12.99 USD`: plain and unambiguous, for logs and the CLI. The UI formats with the locale.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let per = self.currency.minor_per_major();
        let sign = if self.amount_minor < 0 { "-" } else { "" };
        let abs = self.amount_minor.unsigned_abs();
        let per_u = per.unsigned_abs();
        if per == 1 {
            write!(f, "{sign}{abs} {}", self.currency)
        } else {
            write!(
                f,
                "{sign}{}.{:02} {}",
                abs / per_u,
                abs % per_u,
                self.currency
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn currency_codes_are_validated() {
        assert_eq!(Currency::parse("USD"), Some(Currency::USD));
        assert_eq!(Currency::parse("usd"), None);
        assert_eq!(Currency::parse("US"), None);
        assert_eq!(Currency::parse("USDX"), None);
    }

    #[test]
    fn prices_are_read_from_decimals() {
        let usd = |t: &str| Money::from_decimal(t, Currency::USD).map(|m| m.amount_minor);
        assert_eq!(usd("18.99"), Ok(1899));
        assert_eq!(usd("7"), Ok(700));
        assert_eq!(usd("7.5"), Ok(750));
        assert_eq!(usd(" 0.05 "), Ok(5));
        for bad in [
            "",
            "-1",
            "1.999",
            "1,99",
            "$5",
            "1.",
            ".5",
            "99999999999999999999",
        ] {
            let e = usd(bad).unwrap_err();
            assert!(e.contains("is not a price in USD"), "{bad}: {e}");
        }
        let yen = Currency::parse("JPY").unwrap();
        assert_eq!(
            Money::from_decimal("500", yen).map(|m| m.amount_minor),
            Ok(500)
        );
        assert!(Money::from_decimal("5.00", yen)
            .unwrap_err()
            .contains("whole units"));
    }

    #[test]
    fn money_displays_in_major_units() {
        assert_eq!(Money::new(1299, Currency::USD).to_string(), "12.99 USD");
        assert_eq!(Money::new(-5, Currency::USD).to_string(), "-0.05 USD");
        let yen = Currency::parse("JPY").unwrap();
        assert_eq!(Money::new(1500, yen).to_string(), "1500 JPY");
    }

    #[test]
    fn money_round_trips_through_json() {
        let m = Money::new(2450, Currency::USD);
        let json = serde_json::to_string(&m).unwrap();
        assert_eq!(json, r#"{"amountMinor":2450,"currency":"USD"}"#);
        assert_eq!(serde_json::from_str::<Money>(&json).unwrap(), m);
        assert!(
            serde_json::from_str::<Money>(r#"{"amountMinor":1,"currency":"dollars"}"#).is_err()
        );
    }

    #[test]
    fn amounts_in_words_carry_their_symbol() {
        assert_eq!(Money::new(1899, Currency::USD).in_words(), "$18.99");
        assert_eq!(
            Money::new(-450, Currency::parse("EUR").unwrap()).in_words(),
            "-€4.50"
        );
        assert_eq!(
            Money::new(500, Currency::parse("JPY").unwrap()).in_words(),
            "¥500"
        );
        assert_eq!(
            Money::new(1299, Currency::parse("CHF").unwrap()).in_words(),
            "12.99 CHF"
        );
    }
}
