//! Items without a device: anything a customer buys again and again, tracked by hand. They
//! live in one device-less list per customer, "At home" (a device of the customer's own model
//! `home-{customer}`, serial [`HOME_SERIAL`]), one slot per item holding one pack, so that
//! everything a device slot has — inventory, forecast, low-supply notices, smart reorder, a
//! button — works the same for them. "Opened a new pack" is a refill report whose previous pack
//! was used up at that moment ([`refill_core::forecast::LevelReport::opened`]), "Ran out" a
//! report of an empty slot.

use crate::store::devices::CallingDevice;
use crate::store::inventory::{CustomerSlot, Outcome, Report, SlotReport};
use crate::store::{to_ms, StoreError};
use crate::Store;
use refill_core::{OrderPolicy, Unit};
use sqlx::Row;
use time::OffsetDateTime;

/// The serial of a customer's "At home" list.
pub const HOME_SERIAL: &str = "home";

/// The name the "At home" list goes by.
pub const HOME_NAME: &str = "At home";

/// An item's open pack is estimated down in steps of this share of the pack (a level is
/// recorded for each), and never below [`FLOOR_SHARE`]: only a person says it ran out.
pub const STEP_SHARE: f64 = 0.05;

/// The least an estimate says is left of an open pack, as a share of it.
pub const FLOOR_SHARE: f64 = 0.01;

/// The most items one list holds.
pub const MAX_ITEMS: i64 = 200;

/// The model id of `customer`'s "At home" list.
pub fn home_model(customer: i64) -> String {
    format!("home-{customer}")
}

/// What to track: a product of the catalog, or one the customer describes.
#[derive(Debug, Clone, PartialEq)]
pub enum NewItem {
    /// A product of the catalog, by ASIN: its title, pack size and unit.
    Product(String),
    /// A name, the size of one pack and its unit (no product: nothing to reorder).
    Described {
        /// "Dishwasher salt".
        name: String,
        /// One pack holds this much.
        size: f64,
        /// Of this unit.
        unit: Unit,
    },
}

/// An item added (or found already tracked).
#[derive(Debug, Clone)]
pub struct AddedItem {
    /// Its slot.
    pub slot: CustomerSlot,
    /// `false`: the product was already tracked, and this is that item.
    pub created: bool,
}

/// What a person says of an item.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ItemNews {
    /// "Opened a new pack".
    Opened,
    /// "Ran out".
    RanOut,
}

impl Store {
    /// The catalog, by title.
    pub async fn catalog(&self) -> Result<Vec<refill_wire::CatalogProduct>, sqlx::Error> {
        let rows = sqlx::query(
            "SELECT asin, title, pack_quantity, unit, price_minor, currency FROM products \
             ORDER BY title, asin",
        )
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|row| {
                let (price, pack) = crate::store::price_and_pack(row)?;
                Ok(refill_wire::CatalogProduct {
                    asin: row.try_get("asin")?,
                    title: row.try_get("title")?,
                    pack,
                    price,
                })
            })
            .collect()
    }

    /// Adds `item` to `customer`'s "At home" list (made on first use), or finds the catalog
    /// product already in it.
    pub async fn add_item(
        &self,
        customer: i64,
        item: &NewItem,
        now: OffsetDateTime,
    ) -> Result<AddedItem, StoreError> {
        let mut tx = self.write().await?;
        let (name, size, unit, asin) = match item {
            NewItem::Product(asin) => {
                let row =
                    sqlx::query("SELECT title, pack_quantity, unit FROM products WHERE asin = $1")
                        .bind(asin)
                        .fetch_optional(&mut *tx)
                        .await?
                        .ok_or_else(|| {
                            StoreError::NotFound(format!("No product {asin} in the catalog."))
                        })?;
                let unit: String = row.try_get("unit")?;
                (
                    row.try_get::<String, _>("title")?,
                    row.try_get::<f64, _>("pack_quantity")?,
                    unit,
                    Some(asin.as_str()),
                )
            }
            NewItem::Described { name, size, unit } => {
                (name.clone(), *size, unit.as_str().to_owned(), None)
            }
        };
        let model = home_model(customer);
        sqlx::query(
            "INSERT INTO device_models (model_id, name, home_of) VALUES ($1, $2, $3) \
             ON CONFLICT (model_id) DO NOTHING",
        )
        .bind(&model)
        .bind(HOME_NAME)
        .bind(customer)
        .execute(&mut *tx)
        .await?;
        let device: Option<i64> = sqlx::query_scalar(
            "SELECT id FROM devices WHERE model_id = $1 AND deregistered_at_ms IS NULL",
        )
        .bind(&model)
        .fetch_optional(&mut *tx)
        .await?;
        let device = match device {
            Some(id) => id,
            None => {
                sqlx::query_scalar(
                    "INSERT INTO devices (customer_id, model_id, serial, name, is_test, \
                         registered_at_ms) VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
                )
                .bind(customer)
                .bind(&model)
                .bind(HOME_SERIAL)
                .bind(HOME_NAME)
                // Not a test device (an integer flag in both databases).
                .bind(0_i64)
                .bind(to_ms(now))
                .fetch_one(&mut *tx)
                .await?
            }
        };
        if let Some(asin) = asin {
            let known: Option<String> = sqlx::query_scalar(
                "SELECT slot_id FROM device_slots WHERE device_id = $1 AND asin = $2",
            )
            .bind(device)
            .bind(asin)
            .fetch_optional(&mut *tx)
            .await?;
            if let Some(slot_id) = known {
                return Ok(AddedItem {
                    slot: CustomerSlot {
                        device_id: device,
                        slot_id,
                    },
                    created: false,
                });
            }
        }
        let next: i64 = sqlx::query_scalar(
            "SELECT COALESCE(MAX(position), 0) + 1 FROM slots WHERE model_id = $1",
        )
        .bind(&model)
        .fetch_one(&mut *tx)
        .await?;
        if next > MAX_ITEMS {
            return Err(StoreError::Refused(format!(
                "Your list is full ({MAX_ITEMS} items)."
            )));
        }
        let slot_id = format!("item-{next}");
        sqlx::query(
            "INSERT INTO slots (model_id, slot_id, name, unit, capacity, position) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(&model)
        .bind(&slot_id)
        .bind(&name)
        .bind(&unit)
        .bind(size)
        .bind(next)
        .execute(&mut *tx)
        .await?;
        if let Some(asin) = asin {
            sqlx::query("INSERT INTO slot_products (model_id, slot_id, asin) VALUES ($1, $2, $3)")
                .bind(&model)
                .bind(&slot_id)
                .bind(asin)
                .execute(&mut *tx)
                .await?;
        }
        sqlx::query("INSERT INTO device_slots (device_id, slot_id, asin) VALUES ($1, $2, $3)")
            .bind(device)
            .bind(&slot_id)
            .bind(asin)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(AddedItem {
            slot: CustomerSlot {
                device_id: device,
                slot_id,
            },
            created: true,
        })
    }

    /// `customer`'s item `slot_id`, when it exists.
    pub async fn item(
        &self,
        customer: i64,
        slot_id: &str,
    ) -> Result<Option<CustomerSlot>, sqlx::Error> {
        self.customer_slot(customer, &home_model(customer), HOME_SERIAL, slot_id)
            .await
    }

    /// Stops tracking `slot`: its levels, stock and settings go; its orders stay in the
    /// customer's order list, no longer tied to it (so that an item added later under the same
    /// id starts afresh).
    pub async fn remove_item(&self, slot: &CustomerSlot) -> Result<(), StoreError> {
        let mut tx = self.write().await?;
        let model: String = sqlx::query_scalar("SELECT model_id FROM devices WHERE id = $1")
            .bind(slot.device_id)
            .fetch_one(&mut *tx)
            .await?;
        sqlx::query("UPDATE orders SET device_id = NULL, slot_id = NULL WHERE device_id = $1 AND slot_id = $2")
            .bind(slot.device_id)
            .bind(&slot.slot_id)
            .execute(&mut *tx)
            .await?;
        for table in ["slot_levels", "slot_inventory", "device_slots"] {
            sqlx::query(&format!(
                "DELETE FROM {table} WHERE device_id = $1 AND slot_id = $2"
            ))
            .bind(slot.device_id)
            .bind(&slot.slot_id)
            .execute(&mut *tx)
            .await?;
        }
        for table in ["slot_products", "slots"] {
            sqlx::query(&format!(
                "DELETE FROM {table} WHERE model_id = $1 AND slot_id = $2"
            ))
            .bind(&model)
            .bind(&slot.slot_id)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Records what a person says of their item: a new pack opened (one fewer at home), or it
    /// ran out. The reorder rule runs as for a device's report.
    pub async fn tell_item(
        &self,
        customer: i64,
        slot: &CustomerSlot,
        news: ItemNews,
        now: OffsetDateTime,
        policy: &OrderPolicy,
    ) -> Result<Option<Outcome>, StoreError> {
        let capacity: f64 = sqlx::query_scalar(
            "SELECT s.capacity FROM devices d \
             JOIN slots s ON s.model_id = d.model_id AND s.slot_id = $2 WHERE d.id = $1",
        )
        .bind(slot.device_id)
        .bind(&slot.slot_id)
        .fetch_one(self.pool())
        .await?;
        let device = home_device(customer, slot);
        let report = match news {
            ItemNews::Opened => Report::Replaced(capacity),
            ItemNews::RanOut => Report::Level(0.0),
        };
        self.report(
            &device,
            &SlotReport {
                slot: &slot.slot_id,
                report,
                on_hand: None,
                slot_status: false,
            },
            now,
            policy,
        )
        .await
    }

    /// Works out what is left of every open pack of every item without a device from its
    /// forecast (a pack lasts as long as the packs before it did) and records it when it went
    /// down a [`STEP_SHARE`]; the reorder rule then runs as for a device's report, so that items
    /// get low-supply notices and smart reorders between what their owner says. Returns how many
    /// items were brought up to date.
    pub async fn review_items(
        &self,
        now: OffsetDateTime,
        policy: &OrderPolicy,
    ) -> Result<u32, StoreError> {
        let rows = sqlx::query(
            "SELECT d.id, d.customer_id, s.slot_id, s.capacity, i.remaining, i.last_report_ms, \
                    i.forecast_rate \
             FROM device_models m JOIN devices d ON d.model_id = m.model_id \
             JOIN customers c ON c.id = d.customer_id \
             JOIN slots s ON s.model_id = m.model_id \
             JOIN slot_inventory i ON i.device_id = d.id AND i.slot_id = s.slot_id \
             WHERE m.home_of IS NOT NULL AND d.deregistered_at_ms IS NULL \
               AND c.disabled_at_ms IS NULL \
               AND i.remaining > s.capacity * $1 AND i.last_report_ms IS NOT NULL",
        )
        .bind(FLOOR_SHARE)
        .fetch_all(self.pool())
        .await?;
        let mut updated = 0;
        for row in rows {
            let capacity: f64 = row.try_get("capacity")?;
            let remaining: f64 = row.try_get("remaining")?;
            let last = crate::store::from_ms(row.try_get("last_report_ms")?);
            // Until the first fit, a pack is taken to last a month.
            let rate = row
                .try_get::<Option<f64>, _>("forecast_rate")?
                .filter(|r| *r > 0.0)
                .unwrap_or(capacity / 30.0);
            let days = (now - last).as_seconds_f64() / 86_400.0;
            let floor = capacity * FLOOR_SHARE;
            // To a thousandth of a pack: no more than a person could tell.
            let estimate = ((remaining - rate * days.max(0.0)).max(floor) * 1000.0 / capacity)
                .round()
                * capacity
                / 1000.0;
            if remaining - estimate < capacity * STEP_SHARE && estimate > floor {
                continue;
            }
            let customer: i64 = row.try_get("customer_id")?;
            let slot = CustomerSlot {
                device_id: row.try_get("id")?,
                slot_id: row.try_get("slot_id")?,
            };
            self.report(
                &home_device(customer, &slot),
                &SlotReport {
                    slot: &slot.slot_id,
                    report: Report::Level(estimate),
                    on_hand: None,
                    slot_status: false,
                },
                now,
                policy,
            )
            .await?;
            updated += 1;
        }
        Ok(updated)
    }
}

/// `customer`'s "At home" list as the report writer takes a device.
fn home_device(customer: i64, slot: &CustomerSlot) -> CallingDevice {
    CallingDevice {
        id: slot.device_id,
        customer_id: customer,
        model: home_model(customer),
        serial: HOME_SERIAL.to_owned(),
        is_test: false,
    }
}
