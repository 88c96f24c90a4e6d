//! What a customer does to what is linked to their account: remove a device (as its own DRS
//! deregistration would, optionally cancelling its open orders), rename it, change the product a
//! slot reorders, download everything kept about them, and delete the account.

use super::db::{DbConnection, DbRow};
use super::devices::CallingDevice;
use super::inventory::{record_event, CustomerSlot};
use super::items::home_model;
use super::{to_ms, Store, StoreError};
use refill_core::OrderPolicy;
use refill_wire::{AccountExport, ExportedSlot};
use serde_json::json;
use sqlx::Row;
use time::OffsetDateTime;

/// Who cancelled orders, as the `OrderCancelled` event says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CancelledBy {
    /// A test device (DRS `DELETE /testOrders`).
    Device,
    /// The customer (an order cancelled, or a device removed).
    Customer,
    /// The customer's account was deleted.
    AccountDeleted,
}

impl CancelledBy {
    fn as_str(self) -> &'static str {
        match self {
            CancelledBy::Device => "device",
            CancelledBy::Customer => "customer",
            CancelledBy::AccountDeleted => "accountDeleted",
        }
    }
}

/// What an `UPDATE orders … RETURNING` gives [`record_cancelled`].
pub(crate) const CANCELLED: &str = "event_instance_id, device_id, slot_id, asin, \
     (SELECT title FROM products p WHERE p.asin = orders.asin) AS title";

/// Records `OrderCancelled` for an order of `customer` just cancelled (`row` has the columns of
/// [`CANCELLED`]), in the caller's transaction.
pub(crate) async fn record_cancelled(
    conn: &mut DbConnection,
    customer: i64,
    row: &DbRow,
    by: CancelledBy,
    now: OffsetDateTime,
) -> Result<(), sqlx::Error> {
    let body = json!({
        "eventInstanceId": row.try_get::<String, _>("event_instance_id")?,
        "asin": row.try_get::<String, _>("asin")?,
        "title": row.try_get::<Option<String>, _>("title")?,
        "slotId": row.try_get::<Option<String>, _>("slot_id")?,
        "by": by.as_str(),
    });
    let device: Option<i64> = row.try_get("device_id")?;
    crate::store::handover::cancelled_in(conn, &row.try_get::<String, _>("event_instance_id")?)
        .await?;
    record_event(conn, customer, device, "OrderCancelled", &body, now).await
}

/// Cancels the customer's orders that can still be cancelled (placed, inside their window),
/// all or those of `device`, with an `OrderCancelled` event each; how many.
async fn cancel_open_orders(
    conn: &mut DbConnection,
    customer: i64,
    device: Option<i64>,
    by: CancelledBy,
    now: OffsetDateTime,
) -> Result<u32, sqlx::Error> {
    // The device id is always bound (0 for all): see `Store::change_slot` on NULL parameters.
    let rows = sqlx::query(&format!(
        "UPDATE orders SET status = 'cancelled', updated_at_ms = $1 \
         WHERE customer_id = $2 AND ($3 = 0 OR device_id = $3) \
           AND status = 'placed' AND cancellable_until_ms > $1 \
         RETURNING {CANCELLED}"
    ))
    .bind(to_ms(now))
    .bind(customer)
    .bind(device.unwrap_or(0))
    .fetch_all(&mut *conn)
    .await?;
    for row in &rows {
        record_cancelled(conn, customer, row, by, now).await?;
    }
    Ok(u32::try_from(rows.len()).unwrap_or(u32::MAX))
}

/// The longest name a device may have.
pub const MAX_DEVICE_NAME: usize = 60;

impl Store {
    /// The customer removes `device` from their account: deregistered exactly as its own
    /// `DELETE /registration` does (its tokens revoked, `DeviceDeregistered` queued for its
    /// maker), after cancelling its open orders when `cancel_orders`. How many were cancelled.
    pub async fn remove_device(
        &self,
        device: &CallingDevice,
        cancel_orders: bool,
        now: OffsetDateTime,
    ) -> Result<u32, sqlx::Error> {
        let mut tx = self.write().await?;
        let cancelled = if cancel_orders {
            cancel_open_orders(
                &mut tx,
                device.customer_id,
                Some(device.id),
                CancelledBy::Customer,
                now,
            )
            .await?
        } else {
            0
        };
        super::devices::end_registration(&mut tx, device, now).await?;
        tx.commit().await?;
        self.forget_devices();
        self.events_committed();
        Ok(cancelled)
    }

    /// Gives the device `name` (checked by the caller).
    pub async fn rename_device(
        &self,
        device: &CallingDevice,
        name: &str,
    ) -> Result<(), sqlx::Error> {
        let mut tx = self.write().await?;
        sqlx::query("UPDATE devices SET name = $1 WHERE id = $2")
            .bind(name)
            .bind(device.id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        self.forget_devices();
        Ok(())
    }

    /// Why `slot` cannot reorder `asin`, if it cannot: the product is not in the catalog, is
    /// not measured in the slot's unit, or the slot is an item of the "At home" list (whose
    /// items are their products).
    pub async fn check_slot_product(
        &self,
        slot: &CustomerSlot,
        asin: &str,
    ) -> Result<(), StoreError> {
        let row = sqlx::query(
            "SELECT s.unit, s.name, m.home_of FROM devices d \
             JOIN slots s ON s.model_id = d.model_id \
             JOIN device_models m ON m.model_id = d.model_id \
             WHERE d.id = $1 AND s.slot_id = $2",
        )
        .bind(slot.device_id)
        .bind(&slot.slot_id)
        .fetch_one(self.pool())
        .await?;
        if row.try_get::<Option<i64>, _>("home_of")?.is_some() {
            return Err(StoreError::Refused(
                "An item of your \"At home\" list is its product: add the other product as an \
                 item instead."
                    .to_owned(),
            ));
        }
        let unit: String = row.try_get("unit")?;
        let slot_name: String = row.try_get("name")?;
        let product = sqlx::query("SELECT title, unit FROM products WHERE asin = $1")
            .bind(asin)
            .fetch_optional(self.pool())
            .await?
            .ok_or_else(|| {
                StoreError::Refused(format!("There is no product {asin} in the catalog."))
            })?;
        let product_unit: String = product.try_get("unit")?;
        if product_unit != unit {
            let title: String = product.try_get("title")?;
            return Err(StoreError::Refused(format!(
                "{title} is measured in {}, but {slot_name} holds {}: choose a product \
                 measured in {}.",
                unit_words(&product_unit),
                unit_words(&unit),
                unit_words(&unit)
            )));
        }
        Ok(())
    }

    /// Reorders `asin` for `slot` from now on (checked with [`Store::check_slot_product`]).
    pub async fn set_slot_product(
        &self,
        slot: &CustomerSlot,
        asin: &str,
    ) -> Result<(), sqlx::Error> {
        let mut tx = self.write().await?;
        sqlx::query(
            "INSERT INTO device_slots (device_id, slot_id, asin) VALUES ($1, $2, $3) \
             ON CONFLICT (device_id, slot_id) DO UPDATE SET asin = excluded.asin",
        )
        .bind(slot.device_id)
        .bind(&slot.slot_id)
        .bind(asin)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        self.forget_devices();
        Ok(())
    }

    /// Everything the service keeps about `customer`: account, devices and items, each slot's
    /// supply and levels, every order. `None` when there is no such customer.
    pub async fn export(
        &self,
        customer: i64,
        now: OffsetDateTime,
        policy: &OrderPolicy,
    ) -> Result<Option<AccountExport>, sqlx::Error> {
        let Some(account) = self.customer(customer).await? else {
            return Ok(None);
        };
        let devices = self.devices(customer).await?.devices;
        let mut slots = Vec::new();
        for device in &devices {
            for slot in &device.slots {
                let Some(found) = self
                    .customer_slot(customer, &device.model, &device.serial, &slot.slot_id)
                    .await?
                else {
                    continue;
                };
                slots.push(ExportedSlot {
                    model: device.model.clone(),
                    serial: device.serial.clone(),
                    inventory: self.slot_inventory(&found, now, policy).await?,
                });
            }
        }
        Ok(Some(AccountExport {
            exported_at: now,
            name: account.name,
            email: account.email,
            devices,
            slots,
            orders: self.orders(customer, u32::MAX, now).await?,
        }))
    }

    /// Deletes `customer`'s account: every device deregistered (their makers told, as by
    /// `DELETE /registration`), open orders cancelled, every token and code revoked, and their
    /// personal data removed: name, email, password, orders, levels, settings, items and
    /// events. What stays is a row with no data (so ids are never reused) and the
    /// `DeviceDeregistered` and `OrderCancelled` events still waiting for a maker's webhook.
    pub async fn delete_customer(
        &self,
        customer: i64,
        now: OffsetDateTime,
    ) -> Result<(), sqlx::Error> {
        let mut tx = self.write().await?;
        cancel_open_orders(&mut tx, customer, None, CancelledBy::AccountDeleted, now).await?;
        let devices = sqlx::query(
            "SELECT id, model_id, serial, is_test FROM devices \
             WHERE customer_id = $1 AND deregistered_at_ms IS NULL",
        )
        .bind(customer)
        .fetch_all(&mut *tx)
        .await?;
        for row in devices {
            let device = CallingDevice {
                id: row.try_get("id")?,
                customer_id: customer,
                model: row.try_get("model_id")?,
                serial: row.try_get("serial")?,
                is_test: super::db::flag(&row, "is_test")?,
            };
            super::devices::end_registration(&mut tx, &device, now).await?;
        }
        sqlx::query(
            "UPDATE oauth_tokens SET revoked_at_ms = $1 \
             WHERE customer_id = $2 AND revoked_at_ms IS NULL",
        )
        .bind(to_ms(now))
        .bind(customer)
        .execute(&mut *tx)
        .await?;
        for table in ["oauth_codes", "oauth_consents"] {
            sqlx::query(&format!("DELETE FROM {table} WHERE customer_id = $1"))
                .bind(customer)
                .execute(&mut *tx)
                .await?;
        }
        const DEVICES: &str = "SELECT id FROM devices WHERE customer_id = $1";
        for table in [
            "slot_levels",
            "slot_inventory",
            "device_slots",
            "device_buttons",
            "device_limits",
        ] {
            sqlx::query(&format!(
                "DELETE FROM {table} WHERE device_id IN ({DEVICES})"
            ))
            .bind(customer)
            .execute(&mut *tx)
            .await?;
        }
        sqlx::query("DELETE FROM approvals WHERE customer_id = $1")
            .bind(customer)
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "DELETE FROM order_handovers \
             WHERE order_id IN (SELECT id FROM orders WHERE customer_id = $1)",
        )
        .bind(customer)
        .execute(&mut *tx)
        .await?;
        sqlx::query("DELETE FROM orders WHERE customer_id = $1")
            .bind(customer)
            .execute(&mut *tx)
            .await?;
        // Events: only those a maker has still to hear of stay; deliveries of the others go.
        const WAITING: &str =
            "SELECT event_id FROM webhook_deliveries WHERE delivered_at_ms IS NULL";
        sqlx::query(
            "DELETE FROM webhook_deliveries WHERE event_id IN \
                 (SELECT id FROM events WHERE customer_id = $1 \
                    AND kind NOT IN ('DeviceDeregistered', 'OrderCancelled'))",
        )
        .bind(customer)
        .execute(&mut *tx)
        .await?;
        sqlx::query(&format!(
            "DELETE FROM events WHERE customer_id = $1 AND id NOT IN ({WAITING})"
        ))
        .bind(customer)
        .execute(&mut *tx)
        .await?;
        // The "At home" list: its device (no maker, no events left), its items and their names.
        let home = home_model(customer);
        sqlx::query("DELETE FROM devices WHERE model_id = $1")
            .bind(&home)
            .execute(&mut *tx)
            .await?;
        for table in ["slot_products", "slots", "device_models"] {
            sqlx::query(&format!("DELETE FROM {table} WHERE model_id = $1"))
                .bind(&home)
                .execute(&mut *tx)
                .await?;
        }
        sqlx::query("UPDATE devices SET name = '' WHERE customer_id = $1")
            .bind(customer)
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "UPDATE customers SET name = '', email = $1, password_hash = NULL WHERE id = $2",
        )
        .bind(deleted_email(customer))
        .bind(customer)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        self.forget_devices();
        self.events_committed();
        Ok(())
    }
}

/// What a deleted account's email becomes: no address anyone has (`.invalid` is reserved), so
/// that the address can sign up again and nobody can sign in to the old account.
pub fn deleted_email(customer: i64) -> String {
    format!("deleted-{customer}@deleted.invalid")
}

/// A unit as a person says it.
fn unit_words(unit: &str) -> &str {
    match unit {
        "g" => "grams",
        "ml" => "millilitres",
        _ => "pieces",
    }
}
