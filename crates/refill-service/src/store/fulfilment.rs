//! Moving orders along: placed → shipped once the cancellation window has closed, shipped →
//! delivered at the expected delivery time (the sandbox's own fulfilment); or, where the service
//! does not fulfil orders itself, as the customer says ([`Store::order_step`]: bought, then
//! arrived). Each step's time is kept on the order (`shipped_at_ms`, `delivered_at_ms`). A
//! delivery for a device slot adds its packs to the stock on hand in the home, and teaches the
//! product's lead time (placed → delivered, see [`refill_core::replenish::LeadTime`]), which the
//! reorder rule plans with. Each step records its event (`ItemShipped`, `ItemDelivered`) in the
//! same transaction. The sandbox runs this on a schedule (see [`spawn`]); tests call
//! [`Store::fulfil`] with their own clock.

use crate::store::inventory::record_event;
use crate::store::to_ms;
use crate::store::StoreError;
use crate::Store;
use refill_core::replenish::LeadTime;
use refill_core::SharedClock;
use refill_wire::OrderStep;
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

/// What an order's steps read: orders `o` joined with products `p`.
const MOVING: &str = "o.id, o.event_instance_id, o.customer_id, o.device_id, o.slot_id, o.asin, \
     o.quantity, o.kind, o.status, o.placed_at_ms, o.expected_delivery_ms, p.pack_quantity, \
     p.title";

/// An order being moved along.
struct Moving {
    id: i64,
    customer: i64,
    device: Option<i64>,
    slot: Option<String>,
    asin: String,
    quantity: i64,
    pack: f64,
    status: String,
    placed: OffsetDateTime,
    promised: OffsetDateTime,
    /// What its events say.
    body: serde_json::Value,
}

impl Moving {
    fn of(row: &crate::store::db::DbRow) -> Result<Self, sqlx::Error> {
        let slot: Option<String> = row.try_get("slot_id")?;
        let quantity: i64 = row.try_get("quantity")?;
        let promised = crate::store::from_ms(row.try_get("expected_delivery_ms")?);
        Ok(Self {
            id: row.try_get("id")?,
            customer: row.try_get("customer_id")?,
            device: row.try_get("device_id")?,
            asin: row.try_get("asin")?,
            quantity,
            pack: row.try_get("pack_quantity")?,
            status: row.try_get("status")?,
            placed: crate::store::from_ms(row.try_get("placed_at_ms")?),
            promised,
            body: json!({
                "eventInstanceId": row.try_get::<String, _>("event_instance_id")?,
                "asin": row.try_get::<String, _>("asin")?,
                "title": row.try_get::<String, _>("title")?,
                "slotId": slot,
                "quantity": quantity,
                "test": row.try_get::<String, _>("kind")? == "test",
                "expectedDelivery": promised
                    .format(&time::format_description::well_known::Rfc3339)
                    .unwrap_or_default(),
            }),
            slot,
        })
    }

    /// Sets its status to `status` at `now`, the time kept in `at` (a column), in `tx`.
    async fn set(
        &self,
        tx: &mut crate::store::db::DbConnection,
        status: &str,
        at: &str,
        now: OffsetDateTime,
    ) -> Result<(), sqlx::Error> {
        sqlx::query(&format!(
            "UPDATE orders SET status = $1, {at} = $2, updated_at_ms = $2 WHERE id = $3"
        ))
        .bind(status)
        .bind(to_ms(now))
        .bind(self.id)
        .execute(&mut *tx)
        .await?;
        Ok(())
    }

    /// Marks it shipped (or bought by the customer) at `now`, with its event, in `tx`.
    async fn ship(
        &self,
        tx: &mut crate::store::db::DbConnection,
        now: OffsetDateTime,
    ) -> Result<(), sqlx::Error> {
        self.set(tx, "shipped", "shipped_at_ms", now).await?;
        record_event(
            tx,
            self.customer,
            self.device,
            "ItemShipped",
            &self.body,
            now,
        )
        .await
    }

    /// Marks it delivered at `now`: its packs join the home's stock of its slot, the product's
    /// lead time learns how long it took, and its event is recorded, in `tx`.
    async fn deliver(
        &self,
        tx: &mut crate::store::db::DbConnection,
        now: OffsetDateTime,
    ) -> Result<(), sqlx::Error> {
        self.set(tx, "delivered", "delivered_at_ms", now).await?;
        if let (Some(device), Some(slot)) = (self.device, &self.slot) {
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
            .bind(self.pack * self.quantity as f64)
            .bind(to_ms(now))
            .execute(&mut *tx)
            .await?;
        }
        learn_lead_time(
            tx,
            &self.asin,
            self.promised - self.placed,
            now - self.placed,
        )
        .await?;
        record_event(
            tx,
            self.customer,
            self.device,
            "ItemDelivered",
            &self.body,
            now,
        )
        .await
    }
}

impl Store {
    /// Ships the orders whose cancellation window has closed and delivers the shipped ones
    /// that are due, as of `now`.
    pub async fn fulfil(&self, now: OffsetDateTime) -> Result<Fulfilled, sqlx::Error> {
        let mut done = Fulfilled::default();
        let mut tx = self.write().await?;
        let due = sqlx::query(&format!(
            "SELECT {MOVING} FROM orders o JOIN products p ON p.asin = o.asin \
             WHERE o.handover IS NULL \
               AND ((o.status = 'placed' AND o.cancellable_until_ms <= $1) \
                OR (o.status = 'shipped' AND o.expected_delivery_ms <= $1)) \
             ORDER BY o.id"
        ))
        .bind(to_ms(now))
        .fetch_all(&mut *tx)
        .await?;
        for row in due {
            let order = Moving::of(&row)?;
            if order.status == "placed" {
                order.ship(&mut tx, now).await?;
                done.shipped += 1;
            }
            if order.status == "shipped" || (order.status == "placed" && order.promised <= now) {
                order.deliver(&mut tx, now).await?;
                done.delivered += 1;
            }
        }
        tx.commit().await?;
        if done != Fulfilled::default() {
            self.events_committed();
        }
        Ok(done)
    }

    /// Moves `customer`'s order on as they say (`step`), at `now`: bought (shipped), or arrived
    /// (delivered: its packs join the home's stock). An order that was cancelled or already
    /// arrived, or bought twice, is refused in words.
    pub async fn order_step(
        &self,
        customer: i64,
        event_instance_id: &str,
        step: OrderStep,
        now: OffsetDateTime,
    ) -> Result<refill_wire::OrderView, StoreError> {
        let mut tx = self.write().await?;
        let row = sqlx::query(&format!(
            "SELECT {MOVING} FROM orders o JOIN products p ON p.asin = o.asin \
             WHERE o.customer_id = $1 AND o.event_instance_id = $2"
        ))
        .bind(customer)
        .bind(event_instance_id)
        .fetch_optional(&mut *tx)
        .await?
        .ok_or_else(|| StoreError::NotFound(format!("There is no order {event_instance_id}.")))?;
        let order = Moving::of(&row)?;
        let refused = |why: &str| Err(StoreError::Conflict(why.to_owned()));
        match (step, order.status.as_str()) {
            (_, "cancelled") => {
                return refused("This order was cancelled: there is nothing to buy or receive.")
            }
            (_, "delivered") => return refused("This order has already arrived."),
            (OrderStep::Bought, "shipped") => {
                return refused("This order is already bought: say when it arrives.")
            }
            (OrderStep::Bought, _) => order.ship(&mut tx, now).await?,
            (OrderStep::Arrived, "placed") => {
                order.ship(&mut tx, now).await?;
                order.deliver(&mut tx, now).await?;
            }
            (OrderStep::Arrived, _) => order.deliver(&mut tx, now).await?,
        }
        // Read in the same transaction, as it now is: no second round after the commit.
        let view = crate::store::order_in(&mut tx, customer, event_instance_id, now)
            .await?
            .ok_or_else(|| {
                StoreError::NotFound(format!("There is no order {event_instance_id}."))
            })?;
        tx.commit().await?;
        self.events_committed();
        Ok(view)
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
