//! Moving orders along: placed → shipped once the cancellation window has closed, shipped →
//! delivered at the expected delivery time. A delivery for a device slot adds its packs to the
//! stock on hand in the home, and teaches the product's lead time (placed → delivered, see
//! [`refill_core::replenish::LeadTime`]), which the reorder rule plans with. Each step records its event (`ItemShipped`, `ItemDelivered`) in the
//! same transaction. The sandbox runs this on a schedule (see [`spawn`]); tests call
//! [`Store::fulfil`] with their own clock.

use crate::store::inventory::record_event;
use crate::store::to_ms;
use crate::Store;
use refill_core::replenish::LeadTime;
use refill_core::SharedClock;
use serde_json::json;
use sqlx::Row;
use time::OffsetDateTime;

/// What one round of fulfilment did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Fulfilled {
    /// Orders that shipped.
    pub shipped: usize,
    /// Orders that arrived.
    pub delivered: usize,
}

impl Store {
    /// Ships the orders whose cancellation window has closed and delivers the shipped ones
    /// that are due, as of `now`.
    pub async fn fulfil(&self, now: OffsetDateTime) -> Result<Fulfilled, sqlx::Error> {
        let mut done = Fulfilled::default();
        let mut tx = self.write().await?;
        let due = sqlx::query(
            "SELECT o.id, o.event_instance_id, o.customer_id, o.device_id, o.slot_id, o.asin, \
                    o.quantity, o.kind, o.status, o.placed_at_ms, o.expected_delivery_ms, \
                    p.pack_quantity, p.title \
             FROM orders o JOIN products p ON p.asin = o.asin \
             WHERE (o.status = 'placed' AND o.cancellable_until_ms <= $1) \
                OR (o.status = 'shipped' AND o.expected_delivery_ms <= $1) \
             ORDER BY o.id",
        )
        .bind(to_ms(now))
        .fetch_all(&mut *tx)
        .await?;
        for row in due {
            let id: i64 = row.try_get("id")?;
            let status: String = row.try_get("status")?;
            let device: Option<i64> = row.try_get("device_id")?;
            let slot: Option<String> = row.try_get("slot_id")?;
            let quantity: i64 = row.try_get("quantity")?;
            let pack: f64 = row.try_get("pack_quantity")?;
            let delivered_too =
                status == "placed" && row.try_get::<i64, _>("expected_delivery_ms")? <= to_ms(now);
            let body = json!({
                "eventInstanceId": row.try_get::<String, _>("event_instance_id")?,
                "asin": row.try_get::<String, _>("asin")?,
                "title": row.try_get::<String, _>("title")?,
                "slotId": slot,
                "quantity": quantity,
                "test": row.try_get::<String, _>("kind")? == "test",
                "expectedDelivery": crate::store::from_ms(row.try_get("expected_delivery_ms")?)
                    .format(&time::format_description::well_known::Rfc3339)
                    .unwrap_or_default(),
            });
            let customer: i64 = row.try_get("customer_id")?;
            if status == "placed" {
                sqlx::query(
                    "UPDATE orders SET status = 'shipped', updated_at_ms = $1 WHERE id = $2",
                )
                .bind(to_ms(now))
                .bind(id)
                .execute(&mut *tx)
                .await?;
                record_event(&mut tx, customer, device, "ItemShipped", &body, now).await?;
                done.shipped += 1;
            }
            if status == "shipped" || delivered_too {
                sqlx::query(
                    "UPDATE orders SET status = 'delivered', updated_at_ms = $1 WHERE id = $2",
                )
                .bind(to_ms(now))
                .bind(id)
                .execute(&mut *tx)
                .await?;
                if let (Some(device), Some(slot)) = (device, &slot) {
                    sqlx::query(
                        "INSERT INTO slot_inventory (device_id, slot_id, on_hand, updated_at_ms) \
                         VALUES ($1, $2, $3, $4) \
                         ON CONFLICT (device_id, slot_id) DO UPDATE SET \
                             on_hand = slot_inventory.on_hand + excluded.on_hand, \
                             settings_version = slot_inventory.settings_version + 1, \
                             updated_at_ms = excluded.updated_at_ms",
                    )
                    .bind(device)
                    .bind(slot)
                    .bind(pack * quantity as f64)
                    .bind(to_ms(now))
                    .execute(&mut *tx)
                    .await?;
                }
                let asin: String = row.try_get("asin")?;
                let placed = crate::store::from_ms(row.try_get("placed_at_ms")?);
                let promised = crate::store::from_ms(row.try_get("expected_delivery_ms")?);
                learn_lead_time(&mut tx, &asin, promised - placed, now - placed).await?;
                record_event(&mut tx, customer, device, "ItemDelivered", &body, now).await?;
                done.delivered += 1;
            }
        }
        tx.commit().await?;
        if done != Fulfilled::default() {
            self.events_committed();
        }
        Ok(done)
    }
}

/// Teaches `asin`'s lead time a delivery that took `took` (the first one starting from the
/// `promised` time), in the caller's transaction.
async fn learn_lead_time(
    conn: &mut crate::store::db::DbConnection,
    asin: &str,
    promised: time::Duration,
    took: time::Duration,
) -> Result<(), sqlx::Error> {
    let days = |d: time::Duration| d.as_seconds_f64() / 86_400.0;
    let known =
        sqlx::query("SELECT mean_days, sd_days, deliveries FROM lead_times WHERE asin = $1")
            .bind(asin)
            .fetch_optional(&mut *conn)
            .await?;
    let mut lead = match known {
        Some(row) => LeadTime {
            mean_days: row.try_get("mean_days")?,
            sd_days: row.try_get("sd_days")?,
            deliveries: u32::try_from(row.try_get::<i64, _>("deliveries")?).unwrap_or(u32::MAX),
        },
        None => LeadTime::prior(days(promised)),
    };
    lead.observe(days(took));
    sqlx::query(
        "INSERT INTO lead_times (asin, mean_days, sd_days, deliveries) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (asin) DO UPDATE SET mean_days = excluded.mean_days, \
             sd_days = excluded.sd_days, deliveries = excluded.deliveries",
    )
    .bind(asin)
    .bind(lead.mean_days)
    .bind(lead.sd_days)
    .bind(i64::from(lead.deliveries))
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Runs [`Store::fulfil`] every `every` (real time) on `clock` until the task is dropped.
pub fn spawn(
    store: Store,
    clock: SharedClock,
    every: std::time::Duration,
) -> tokio::task::JoinHandle<()> {
    crate::spawn_rounds(
        every,
        clock,
        "orders could not be moved along",
        move |now| {
            let store = store.clone();
            async move { store.fulfil(now).await }
        },
    )
}
