//! Screened devices (a fridge's panel, a washer's screen): linked like any device, but with the
//! scope `refill:buttons`, they show the products the customer chose for them on the consent
//! page as one-tap buttons and order them when pressed. A press carries an idempotency key: a
//! retried press answers with the order it placed, never a second one.

use crate::store::devices::CallingDevice;
use crate::store::{price_and_pack, to_ms, DbConnection, StoreError, RECENT};
use crate::Store;
use refill_wire::{ScreenButton, ScreenButtons, SlotProduct};
use sqlx::Row;
use time::OffsetDateTime;

/// The most buttons one device shows.
pub const MAX_BUTTONS: usize = 12;

/// A product the customer may choose for a screened device on the consent page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ButtonChoice {
    /// ASIN.
    pub asin: String,
    /// Title.
    pub title: String,
    /// The customer ordered it in the last year (offered first, and chosen to start with).
    pub recent: bool,
}

impl Store {
    /// The catalog for the consent page of a screened device: the customer's recent items
    /// first (most recently ordered first), then the rest by title.
    pub async fn button_choices(
        &self,
        customer: i64,
        now: OffsetDateTime,
    ) -> Result<Vec<ButtonChoice>, sqlx::Error> {
        let rows = sqlx::query(
            "SELECT p.asin, p.title, \
                    MAX(CASE WHEN o.status != 'cancelled' AND o.placed_at_ms >= $2 \
                        THEN o.placed_at_ms END) AS last_ms \
             FROM products p LEFT JOIN orders o ON o.asin = p.asin AND o.customer_id = $1 \
             GROUP BY p.asin, p.title",
        )
        .bind(customer)
        .bind(to_ms(now - RECENT))
        .fetch_all(self.pool())
        .await?;
        let mut choices = rows
            .iter()
            .map(|row| {
                let last: Option<i64> = row.try_get("last_ms")?;
                Ok((
                    last,
                    ButtonChoice {
                        asin: row.try_get("asin")?,
                        title: row.try_get("title")?,
                        recent: last.is_some(),
                    },
                ))
            })
            .collect::<Result<Vec<_>, sqlx::Error>>()?;
        choices.sort_by(|(a_last, a), (b_last, b)| {
            b_last
                .cmp(a_last)
                .then_with(|| a.title.cmp(&b.title))
                .then_with(|| a.asin.cmp(&b.asin))
        });
        Ok(choices.into_iter().map(|(_, c)| c).collect())
    }

    /// The products of `device`'s buttons, in the order the customer chose them.
    pub async fn button_asins(&self, device: &CallingDevice) -> Result<Vec<String>, sqlx::Error> {
        sqlx::query_scalar("SELECT asin FROM device_buttons WHERE device_id = $1 ORDER BY position")
            .bind(device.id)
            .fetch_all(self.pool())
            .await
    }

    /// The buttons `device` shows, in the order the customer chose them.
    pub async fn screen_buttons(
        &self,
        device: &CallingDevice,
        now: OffsetDateTime,
    ) -> Result<ScreenButtons, sqlx::Error> {
        let device_name: String = sqlx::query_scalar("SELECT name FROM devices WHERE id = $1")
            .bind(device.id)
            .fetch_one(self.pool())
            .await?;
        // Read first: an event after it is one the listing may not show yet.
        let last_event_id: Option<i64> =
            sqlx::query_scalar("SELECT MAX(id) FROM events WHERE customer_id = $1")
                .bind(device.customer_id)
                .fetch_one(self.pool())
                .await?;
        let rows = sqlx::query(
            "SELECT p.asin, p.title, p.pack_quantity, p.unit, p.price_minor, p.currency, \
                    p.image_path \
             FROM device_buttons b JOIN products p ON p.asin = b.asin \
             WHERE b.device_id = $1 ORDER BY b.position",
        )
        .bind(device.id)
        .fetch_all(self.pool())
        .await?;
        let mut open = self.open_orders(device.customer_id, now).await?;
        let mut conn = self.pool().acquire().await?;
        let ask_first = crate::store::say::limits_in(&mut conn, device.id)
            .await?
            .ask_first;
        let mut pending =
            crate::store::say::pending_approvals_in(&mut conn, device.id, now).await?;
        // The price-rise rule of a press, for all the buttons in one query.
        let paid = crate::store::say::last_paid_in(&mut conn, device.customer_id).await?;
        drop(conn);
        let buttons = rows
            .iter()
            .map(|row| {
                let asin: String = row.try_get("asin")?;
                let (price, pack) = price_and_pack(row)?;
                let open_order = open.remove(&asin);
                let risen = open_order.is_none()
                    && paid
                        .get(&asin)
                        .is_some_and(|before| crate::store::say::rose(price.amount_minor, *before));
                Ok(ScreenButton {
                    needs_approval: ask_first || risen,
                    open_order,
                    pending_approval: pending.remove(&asin),
                    asin,
                    title: row.try_get("title")?,
                    image_url: row.try_get("image_path")?,
                    price,
                    pack,
                })
            })
            .collect::<Result<Vec<_>, sqlx::Error>>()?;
        Ok(ScreenButtons {
            device_name,
            buttons,
            last_event_id: last_event_id.unwrap_or(0),
        })
    }
}

/// Makes `asins` the buttons of `device`, in that order (inside the registration's
/// transaction).
pub(crate) async fn set_buttons(
    conn: &mut DbConnection,
    device: i64,
    asins: &[String],
) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM device_buttons WHERE device_id = $1")
        .bind(device)
        .execute(&mut *conn)
        .await?;
    for (position, asin) in asins.iter().enumerate() {
        sqlx::query("INSERT INTO device_buttons (device_id, asin, position) VALUES ($1, $2, $3)")
            .bind(device)
            .bind(asin)
            .bind(position as i64)
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}

impl Store {
    /// Makes `asins` (known to be ASINs, without repeats) what `device`'s screen shows, in that
    /// order, and tells the screen (`ButtonsChanged`). A device that shows no buttons (one that
    /// reorders by itself) is refused: its slots say what it orders. So is a product not in the
    /// catalog.
    pub async fn change_buttons(
        &self,
        device: &CallingDevice,
        asins: &[String],
        now: OffsetDateTime,
    ) -> Result<Vec<SlotProduct>, StoreError> {
        let mut tx = self.write().await?;
        let shows: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM device_buttons WHERE device_id = $1")
                .bind(device.id)
                .fetch_one(&mut *tx)
                .await?;
        if shows == 0 {
            return Err(StoreError::Refused(
                "This device has no screen of buttons: what it orders is chosen per slot."
                    .to_owned(),
            ));
        }
        let mut shown = Vec::with_capacity(asins.len());
        for asin in asins {
            let title: Option<String> =
                sqlx::query_scalar("SELECT title FROM products WHERE asin = $1")
                    .bind(asin)
                    .fetch_optional(&mut *tx)
                    .await?;
            let title = title.ok_or_else(|| {
                StoreError::Refused(format!("There is no product {asin} in the catalog."))
            })?;
            shown.push(SlotProduct {
                asin: asin.clone(),
                title,
            });
        }
        set_buttons(&mut tx, device.id, asins).await?;
        crate::store::inventory::record_event(
            &mut tx,
            device.customer_id,
            Some(device.id),
            "ButtonsChanged",
            &serde_json::json!({ "asins": asins }),
            now,
        )
        .await?;
        tx.commit().await?;
        self.forget_devices();
        self.events_committed();
        Ok(shown)
    }

    /// Cancels an order pressed on `device`'s screen while it can be cancelled (as the
    /// customer's own cancel does); an order placed anywhere else is not the device's to cancel.
    pub async fn cancel_on_screen(
        &self,
        device: &CallingDevice,
        event_instance_id: &str,
        now: OffsetDateTime,
    ) -> Result<refill_wire::OrderView, StoreError> {
        let pressed_here: Option<i64> = sqlx::query_scalar(
            "SELECT id FROM orders WHERE event_instance_id = $1 AND pressed_on = $2",
        )
        .bind(event_instance_id)
        .bind(device.id)
        .fetch_optional(self.pool())
        .await?;
        if pressed_here.is_none() {
            return Err(StoreError::NotFound(format!(
                "There is no order {event_instance_id} pressed on this device."
            )));
        }
        self.cancel(device.customer_id, event_instance_id, now)
            .await
    }
}
