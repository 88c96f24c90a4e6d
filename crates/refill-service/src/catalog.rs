//! `refill-service catalog …`: the products a service sells, imported by its operator.
//!
//! * `catalog import FILE.csv|FILE.json`: adds or updates products by ASIN, all or nothing. A
//!   CSV file has a header line naming its columns; a JSON file is a list of objects. Either way
//!   the fields are `asin`, `title`, `pack_size` (how much one pack holds), `unit` (`count`, `g`
//!   or `ml`), `price` (in major units: `18.99`), `currency` (`USD`) and, optionally,
//!   `image_url` (https://…). Every row's mistakes are said with its line or position.
//! * `catalog list`: the catalog.

use crate::operator::{Answer, Done, Refusal};
use crate::Store;
use refill_core::{Asin, Currency, Money, Unit};
use serde::{Deserialize, Serialize};
use std::path::Path;

/// What `catalog` does.
#[derive(Debug, Clone, PartialEq)]
pub enum Command {
    /// Adds or updates the products of a catalog: `text`, CSV (`csv`) or JSON; `source` names
    /// it in the words (the file, or "the catalog" sent to the admin API).
    Import {
        /// Where it came from.
        source: String,
        /// The catalog.
        text: String,
        /// CSV rather than JSON.
        csv: bool,
    },
    /// The catalog.
    List,
}

impl Command {
    /// `catalog import FILE`: the file, CSV or JSON by its name's ending.
    pub fn import_file(path: &Path) -> Result<Command, String> {
        let csv = match path.extension().and_then(|e| e.to_str()) {
            Some(e) if e.eq_ignore_ascii_case("csv") => true,
            Some(e) if e.eq_ignore_ascii_case("json") => false,
            _ => {
                return Err(format!(
                    "{} is neither a .csv nor a .json file",
                    path.display()
                ))
            }
        };
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("{} cannot be read: {e}", path.display()))?;
        Ok(Command::Import {
            source: path.display().to_string(),
            text,
            csv,
        })
    }
}

/// A product as a catalog file gives it.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct CatalogRow {
    asin: String,
    title: String,
    pack_size: f64,
    unit: String,
    price: String,
    currency: String,
    #[serde(default)]
    image_url: Option<String>,
}

/// A product checked and ready to store.
#[derive(Debug, Clone, PartialEq)]
pub struct CatalogProduct {
    /// Its ASIN.
    pub asin: Asin,
    /// Its title.
    pub title: String,
    /// How much one pack holds, in `unit`.
    pub pack_size: f64,
    /// The unit it is measured in.
    pub unit: Unit,
    /// Its price.
    pub price: Money,
    /// A picture of it.
    pub image_url: Option<String>,
}

/// Checks one row; `at` names it in the words ("line 3").
fn checked(row: CatalogRow, at: &str) -> Result<CatalogProduct, String> {
    let asin = Asin::parse(row.asin.trim()).map_err(|e| format!("{at}: {e}"))?;
    let title = row.title.trim();
    if title.is_empty() || title.chars().count() > 200 {
        return Err(format!("{at}: the title must be 1 to 200 characters"));
    }
    if !(row.pack_size.is_finite() && row.pack_size > 0.0) {
        return Err(format!(
            "{at}: pack_size must be a number above 0, how much one pack holds"
        ));
    }
    let unit = Unit::parse(row.unit.trim()).ok_or_else(|| {
        format!(
            "{at}: '{}' is not a unit: use count, g or ml",
            row.unit.trim()
        )
    })?;
    let currency = Currency::parse(row.currency.trim()).ok_or_else(|| {
        format!(
            "{at}: '{}' is not a currency: use a three-letter code such as USD",
            row.currency.trim()
        )
    })?;
    let price = Money::from_decimal(&row.price, currency).map_err(|e| format!("{at}: {e}"))?;
    let image_url = match row.image_url.map(|u| u.trim().to_owned()) {
        Some(url) if url.is_empty() => None,
        Some(url) => {
            let ok = url.starts_with("https://") && !url.contains(char::is_whitespace);
            if !ok {
                return Err(format!(
                    "{at}: '{url}' is not a picture's address: give an https:// URL"
                ));
            }
            Some(url)
        }
        None => None,
    };
    Ok(CatalogProduct {
        asin,
        title: title.to_owned(),
        pack_size: row.pack_size,
        unit,
        price,
        image_url,
    })
}

/// The products in `text`, a CSV (`csv` true) or JSON catalog; every mistake found (at most
/// 20), each with its line or position.
pub fn parse(text: &str, csv: bool) -> Result<Vec<CatalogProduct>, String> {
    let mut products = Vec::new();
    let mut mistakes = Vec::new();
    if csv {
        let mut reader = csv::ReaderBuilder::new()
            .trim(csv::Trim::All)
            .from_reader(text.as_bytes());
        let headers = reader
            .headers()
            .map_err(|e| format!("the header line cannot be read: {}", csv_words(&e)))?
            .clone();
        for record in reader.records() {
            let record = match record {
                Ok(record) => record,
                Err(e) => {
                    let line = e
                        .position()
                        .map_or(String::new(), |p| format!("line {}: ", p.line()));
                    mistakes.push(format!("{line}{}", csv_words(&e)));
                    continue;
                }
            };
            let at = format!("line {}", record.position().map_or(0, |p| p.line()));
            match record.deserialize::<CatalogRow>(Some(&headers)) {
                Ok(row) => match checked(row, &at) {
                    Ok(product) => products.push(product),
                    Err(e) => mistakes.push(e),
                },
                Err(e) => mistakes.push(format!("{at}: {}", csv_words(&e))),
            }
        }
    } else {
        let rows: Vec<CatalogRow> = serde_json::from_str(text)
            .map_err(|e| format!("the file is not a list of products: {e}"))?;
        for (i, row) in rows.into_iter().enumerate() {
            match checked(row, &format!("product {}", i + 1)) {
                Ok(product) => products.push(product),
                Err(e) => mistakes.push(e),
            }
        }
    }
    let mut seen = std::collections::HashSet::new();
    for p in &products {
        if !seen.insert(p.asin.as_str().to_owned()) {
            mistakes.push(format!("{} is in the file twice", p.asin.as_str()));
        }
    }
    if !mistakes.is_empty() {
        let more = mistakes.len().saturating_sub(20);
        let mut said = mistakes
            .into_iter()
            .take(20)
            .collect::<Vec<_>>()
            .join("\n  ");
        if more > 0 {
            said.push_str(&format!("\n  and {more} more"));
        }
        return Err(format!("nothing was imported:\n  {said}"));
    }
    if products.is_empty() {
        return Err("the file has no products".to_owned());
    }
    Ok(products)
}

/// A CSV reader's complaint, without its own position (said before it).
fn csv_words(e: &csv::Error) -> String {
    match e.kind() {
        csv::ErrorKind::Deserialize { err, .. } => match err.field() {
            Some(field) => format!("column {}: {}", field + 1, err.kind()),
            None => err.kind().to_string(),
        },
        csv::ErrorKind::UnequalLengths {
            expected_len, len, ..
        } => format!("{len} columns where the header has {expected_len}"),
        _ => e.to_string(),
    }
}

/// How an import went.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Imported {
    /// Products that were not in the catalog.
    pub added: usize,
    /// Products whose title, pack, price or picture were replaced.
    pub updated: usize,
}

impl Store {
    /// Adds or updates `products`, all or none: a product whose unit would no longer be the unit
    /// of a device slot it fills is refused, with which.
    pub async fn import_catalog(
        &self,
        products: &[CatalogProduct],
    ) -> Result<Result<Imported, String>, sqlx::Error> {
        let mut tx = self.write().await?;
        let mut imported = Imported {
            added: 0,
            updated: 0,
        };
        for p in products {
            let clash: Option<(String, String, String)> = sqlx::query_as(
                "SELECT s.model_id, s.slot_id, s.unit FROM slot_products sp \
                 JOIN slots s ON s.model_id = sp.model_id AND s.slot_id = sp.slot_id \
                 WHERE sp.asin = $1 AND s.unit <> $2 LIMIT 1",
            )
            .bind(p.asin.as_str())
            .bind(p.unit.as_str())
            .fetch_optional(&mut *tx)
            .await?;
            if let Some((model, slot, unit)) = clash {
                return Ok(Err(format!(
                    "nothing was imported: {} fills the slot {slot} of {model}, measured in \
                     {unit}: its unit cannot become {}",
                    p.asin.as_str(),
                    p.unit.as_str()
                )));
            }
            let existed = sqlx::query("SELECT asin FROM products WHERE asin = $1")
                .bind(p.asin.as_str())
                .fetch_optional(&mut *tx)
                .await?
                .is_some();
            sqlx::query(
                "INSERT INTO products (asin, title, pack_quantity, unit, price_minor, currency, \
                     image_path) VALUES ($1, $2, $3, $4, $5, $6, $7) \
                 ON CONFLICT (asin) DO UPDATE SET title = excluded.title, \
                     pack_quantity = excluded.pack_quantity, unit = excluded.unit, \
                     price_minor = excluded.price_minor, currency = excluded.currency, \
                     image_path = excluded.image_path",
            )
            .bind(p.asin.as_str())
            .bind(&p.title)
            .bind(p.pack_size)
            .bind(p.unit.as_str())
            .bind(p.price.amount_minor)
            .bind(p.price.currency.as_str())
            .bind(&p.image_url)
            .execute(&mut *tx)
            .await?;
            if existed {
                imported.updated += 1;
            } else {
                imported.added += 1;
            }
        }
        tx.commit().await?;
        Ok(Ok(imported))
    }
}

/// Runs `command` on `store`.
pub async fn run(store: &Store, command: Command) -> Answer {
    match command {
        Command::Import { source, text, csv } => {
            let products =
                parse(&text, csv).map_err(|e| Refusal::invalid(format!("{source}: {e}")))?;
            let imported = store
                .import_catalog(&products)
                .await?
                .map_err(Refusal::conflict)?;
            Ok(Done::new(
                format!(
                    "Imported {} products from {source}: {} new, {} updated.\n",
                    products.len(),
                    imported.added,
                    imported.updated
                ),
                &imported,
            ))
        }
        Command::List => {
            let products = store.catalog().await?;
            if products.is_empty() {
                return Ok(Done::new(
                    "The catalog is empty: add products with `catalog import`.\n".to_owned(),
                    &serde_json::json!({ "products": products }),
                ));
            }
            let text = products
                .iter()
                .map(|p| {
                    let price = Currency::parse(&p.price.currency)
                        .map(|c| Money::new(p.price.amount_minor, c).to_string())
                        .unwrap_or_default();
                    format!(
                        "{}\t{}\t{} {}\t{price}\n",
                        p.asin,
                        p.title,
                        p.pack.value,
                        p.pack.unit.as_str(),
                    )
                })
                .collect();
            Ok(Done::new(
                text,
                &serde_json::json!({ "products": products }),
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CSV: &str = "asin,title,pack_size,unit,price,currency,image_url\n\
        B0HOME0001,Dish tabs,40,count,11.49,USD,https://shop.example/tabs.png\n\
        B0HOME0002,Oat milk,1000,ml,2.5,USD,\n";

    #[test]
    fn a_csv_and_a_json_catalog_read_the_same() {
        let from_csv = parse(CSV, true).unwrap();
        let json = r#"[
            {"asin": "B0HOME0001", "title": "Dish tabs", "pack_size": 40, "unit": "count",
             "price": "11.49", "currency": "USD", "image_url": "https://shop.example/tabs.png"},
            {"asin": "B0HOME0002", "title": "Oat milk", "pack_size": 1000, "unit": "ml",
             "price": "2.5", "currency": "USD"}
        ]"#;
        assert_eq!(parse(json, false).unwrap(), from_csv);
        assert_eq!(from_csv[1].price.amount_minor, 250);
        assert_eq!(from_csv[1].image_url, None);
    }

    #[test]
    fn every_mistake_is_said_with_its_line() {
        let bad = "asin,title,pack_size,unit,price,currency\n\
            B0HOME0001,Dish tabs,40,box,11.49,USD\n\
            short,Oat milk,1000,ml,2.50,USD\n\
            B0HOME0003,Soap,lots,ml,3,USD\n\
            B0HOME0004,Salt,1,g,3,usd\n";
        let e = parse(bad, true).unwrap_err();
        assert!(e.starts_with("nothing was imported"), "{e}");
        assert!(e.contains("line 2: 'box' is not a unit"), "{e}");
        assert!(e.contains("line 3: 'short' is not a product code"), "{e}");
        assert!(e.contains("line 4: column 3"), "{e}");
        assert!(e.contains("line 5: 'usd' is not a currency"), "{e}");
        let twice = format!("{CSV}B0HOME0001,Again,1,count,1,USD,\n");
        assert!(parse(&twice, true)
            .unwrap_err()
            .contains("B0HOME0001 is in the file twice"));
        let e = parse(
            r#"[{"asin": "B0HOME0001", "title": "x", "colour": "red"}]"#,
            false,
        )
        .unwrap_err();
        assert!(e.contains("unknown field `colour`"), "{e}");
        assert!(parse("asin,title,pack_size,unit,price,currency\n", true)
            .unwrap_err()
            .contains("no products"));
    }
}
