//! The customer's say over what a screened device may order: a spending limit per order and per
//! calendar month (UTC), and "ask me first". A press that needs approval becomes an approval
//! request (`ApprovalRequested`), which the customer approves (the order is placed then) or
//! declines, or which expires unanswered (`ApprovalDecided` in each case, so the device's screen
//! and the app follow it).

use crate::store::devices::CallingDevice;
use crate::store::inventory::record_event;
use crate::store::{
    from_ms, open_order_in, order_in, place_in, to_ms, DbConnection, DbRow, NewOrder, StoreError,
};
use crate::Store;
use rand::distributions::Alphanumeric;
use rand::Rng;
use refill_core::{Currency, Money, OrderPolicy};
use refill_wire::{
    ApprovalStatus, ApprovalView, DetailCode, DeviceLimits, DeviceRef, LimitsChange,
    ScreenPressResult,
};
use sqlx::Row;
use time::OffsetDateTime;

/// A one-tap order asks first when its price is more than this many percent above what the
/// customer paid for a pack last time.
pub const PRICE_RISE_PERCENT: i64 = 10;

/// A price that rose more than [`PRICE_RISE_PERCENT`] since the customer last paid for the
/// product.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PriceRise {
    /// The product's title.
    pub title: String,
    /// A pack's price now, in minor units.
    pub now: i64,
    /// What the customer paid for a pack last time, in minor units.
    pub before: i64,
    /// The currency of both.
    pub currency: Currency,
}

impl PriceRise {
    /// How much more it costs now, in percent (rounded).
    pub fn percent(&self) -> i64 {
        ((self.now - self.before) * 100 + self.before / 2) / self.before.max(1)
    }

    /// "Coffee beans costs $21.99 now, 16 % more than the $18.99 you paid last time."
    pub fn in_words(&self) -> String {
        format!(
            "{} costs {} now, {} % more than the {} you paid last time.",
            self.title,
            Money::new(self.now, self.currency).in_words(),
            self.percent(),
            Money::new(self.before, self.currency).in_words()
        )
    }
}

/// Whether a pack at `now` costs more than [`PRICE_RISE_PERCENT`] above `before` (minor units).
pub(crate) fn rose(now: i64, before: i64) -> bool {
    before > 0 && now * 100 > before * (100 + PRICE_RISE_PERCENT)
}

/// What `customer` paid for a pack of each product in their latest order of it that was not
/// cancelled (minor units), in one query (a screen lists up to 12 products at a time).
pub(crate) async fn last_paid_in(
    conn: &mut DbConnection,
    customer: i64,
) -> Result<std::collections::HashMap<String, i64>, sqlx::Error> {
    let rows = sqlx::query(
        "SELECT asin, price_minor, quantity FROM orders \
         WHERE customer_id = $1 AND status != 'cancelled' ORDER BY placed_at_ms, id",
    )
    .bind(customer)
    .fetch_all(&mut *conn)
    .await?;
    let mut paid = std::collections::HashMap::new();
    for row in rows {
        let quantity: i64 = row.try_get("quantity")?;
        // Oldest first: the latest order of a product is the one kept.
        paid.insert(
            row.try_get("asin")?,
            row.try_get::<i64, _>("price_minor")? / quantity.max(1),
        );
    }
    Ok(paid)
}

/// Whether `asin`'s price now is more than [`PRICE_RISE_PERCENT`] above what `customer` paid for
/// a pack in their latest order of it that was not cancelled; `None` when it is not, when they
/// never ordered it, or when an order of it is open (a press then answers with that order).
pub(crate) async fn price_rise_in(
    conn: &mut DbConnection,
    customer: i64,
    asin: &str,
) -> Result<Option<PriceRise>, sqlx::Error> {
    let open: Option<i64> = sqlx::query_scalar(
        "SELECT id FROM orders WHERE customer_id = $1 AND asin = $2 \
           AND status IN ('placed', 'shipped') LIMIT 1",
    )
    .bind(customer)
    .bind(asin)
    .fetch_optional(&mut *conn)
    .await?;
    if open.is_some() {
        return Ok(None);
    }
    let Some(product) = sqlx::query("SELECT title, price_minor FROM products WHERE asin = $1")
        .bind(asin)
        .fetch_optional(&mut *conn)
        .await?
    else {
        return Ok(None);
    };
    let last = sqlx::query(
        "SELECT price_minor, quantity, currency FROM orders \
         WHERE customer_id = $1 AND asin = $2 AND status != 'cancelled' \
         ORDER BY placed_at_ms DESC, id DESC LIMIT 1",
    )
    .bind(customer)
    .bind(asin)
    .fetch_optional(&mut *conn)
    .await?;
    let Some(last) = last else {
        return Ok(None);
    };
    let now: i64 = product.try_get("price_minor")?;
    let quantity: i64 = last.try_get("quantity")?;
    let before = last.try_get::<i64, _>("price_minor")? / quantity.max(1);
    let currency_text: String = last.try_get("currency")?;
    let currency = Currency::parse(&currency_text)
        .ok_or_else(|| crate::store::corrupt("currency", &currency_text))?;
    if !rose(now, before) {
        return Ok(None);
    }
    Ok(Some(PriceRise {
        title: product.try_get("title")?,
        now,
        before,
        currency,
    }))
}

/// Why a press was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refused {
    /// The product is not one of the device's buttons.
    NotAButton,
    /// The order would pass a limit; the message says which, in words a screen can show.
    OverLimit(String),
}

/// The customer's limits for a device, as stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct Limits {
    pub(crate) per_order: Option<i64>,
    pub(crate) per_month: Option<i64>,
    pub(crate) ask_first: bool,
}

pub(crate) async fn limits_in(conn: &mut DbConnection, device: i64) -> Result<Limits, sqlx::Error> {
    let row = sqlx::query(
        "SELECT per_order_minor, per_month_minor, ask_first FROM device_limits \
         WHERE device_id = $1",
    )
    .bind(device)
    .fetch_optional(&mut *conn)
    .await?;
    row.map(|row| {
        Ok(Limits {
            per_order: row.try_get("per_order_minor")?,
            per_month: row.try_get("per_month_minor")?,
            ask_first: crate::store::db::flag(&row, "ask_first")?,
        })
    })
    .transpose()
    .map(Option::unwrap_or_default)
}

/// The first instant of `now`'s calendar month (UTC).
fn month_start(now: OffsetDateTime) -> OffsetDateTime {
    now.replace_day(1)
        .map(|d| d.replace_time(time::Time::MIDNIGHT))
        .unwrap_or(now)
}

/// What the device's orders this month cost (pressed on its screen, or for its slots; not
/// counting cancelled ones), in minor units.
async fn spent_in(
    conn: &mut DbConnection,
    device: i64,
    now: OffsetDateTime,
) -> Result<i64, sqlx::Error> {
    // Cast: PostgreSQL sums BIGINTs as NUMERIC.
    let spent: Option<i64> = sqlx::query_scalar(
        "SELECT CAST(SUM(price_minor) AS BIGINT) FROM orders \
         WHERE (pressed_on = $1 OR device_id = $1) AND status != 'cancelled' \
           AND placed_at_ms >= $2",
    )
    .bind(device)
    .bind(to_ms(month_start(now)))
    .fetch_one(&mut *conn)
    .await?;
    Ok(spent.unwrap_or(0))
}

/// The customer's currency.
async fn currency_in(conn: &mut DbConnection, customer: i64) -> Result<Currency, sqlx::Error> {
    let text: String = sqlx::query_scalar("SELECT currency FROM customers WHERE id = $1")
        .bind(customer)
        .fetch_one(&mut *conn)
        .await?;
    Currency::parse(&text).ok_or_else(|| crate::store::corrupt("currency", &text))
}

const APPROVAL_COLUMNS: &str = "a.request_id, a.asin, p.title, a.quantity, a.price_minor, \
     a.previous_price_minor, a.currency, a.status, a.created_at_ms, a.expires_at_ms, a.decided_at_ms, \
     a.event_instance_id, a.customer_id, a.slot_id, d.model_id, d.serial, d.name";

const APPROVAL_FROM: &str = "approvals a JOIN products p ON p.asin = a.asin \
     JOIN devices d ON d.id = a.device_id";

async fn approval_from_row(
    conn: &mut DbConnection,
    row: &DbRow,
    now: OffsetDateTime,
) -> Result<ApprovalView, sqlx::Error> {
    let status_text: String = row.try_get("status")?;
    let expires_at = from_ms(row.try_get("expires_at_ms")?);
    let status = match status_text.as_str() {
        "pending" if expires_at <= now => ApprovalStatus::Expired,
        "pending" => ApprovalStatus::Pending,
        "approved" => ApprovalStatus::Approved,
        "declined" => ApprovalStatus::Declined,
        "expired" => ApprovalStatus::Expired,
        other => return Err(crate::store::corrupt("status", &other)),
    };
    let currency_text: String = row.try_get("currency")?;
    let currency = Currency::parse(&currency_text)
        .ok_or_else(|| crate::store::corrupt("currency", &currency_text))?;
    let order_id: Option<String> = row.try_get("event_instance_id")?;
    let customer: i64 = row.try_get("customer_id")?;
    let order = match order_id {
        Some(id) => order_in(conn, customer, &id, now).await?,
        None => None,
    };
    let quantity: i64 = row.try_get("quantity")?;
    Ok(ApprovalView {
        id: row.try_get("request_id")?,
        asin: row.try_get("asin")?,
        title: row.try_get("title")?,
        quantity: u32::try_from(quantity).unwrap_or(1),
        price: Money::new(row.try_get("price_minor")?, currency).into(),
        previous_price: row
            .try_get::<Option<i64>, _>("previous_price_minor")?
            .map(|minor| Money::new(minor, currency).into()),
        device: DeviceRef {
            model: row.try_get("model_id")?,
            serial: row.try_get("serial")?,
        },
        device_name: row.try_get("name")?,
        status,
        created_at: from_ms(row.try_get("created_at_ms")?),
        expires_at,
        decided_at: row
            .try_get::<Option<i64>, _>("decided_at_ms")?
            .map(from_ms)
            .or((status == ApprovalStatus::Expired).then_some(expires_at)),
        order,
    })
}

async fn approval_where(
    conn: &mut DbConnection,
    condition: &str,
    binds: (i64, &str),
    now: OffsetDateTime,
) -> Result<Option<ApprovalView>, sqlx::Error> {
    let row = sqlx::query(&format!(
        "SELECT {APPROVAL_COLUMNS} FROM {APPROVAL_FROM} WHERE {condition}"
    ))
    .bind(binds.0)
    .bind(binds.1)
    .fetch_optional(&mut *conn)
    .await?;
    match row {
        Some(row) => Ok(Some(approval_from_row(conn, &row, now).await?)),
        None => Ok(None),
    }
}

/// The body of an approval's events: what a screen or the app needs to say what happened.
fn approval_body(approval: &ApprovalView) -> serde_json::Value {
    serde_json::json!({
        "approvalId": approval.id,
        "asin": approval.asin,
        "title": approval.title,
        "status": approval.status,
        "price": approval.price,
        "previousPrice": approval.previous_price,
        "deviceName": approval.device_name,
        "eventInstanceId": approval.order.as_ref().map(|o| o.event_instance_id.clone()),
    })
}

fn new_request_id() -> String {
    let suffix: String = rand::thread_rng()
        .sample_iter(&Alphanumeric)
        .take(24)
        .map(char::from)
        .collect();
    format!("refill.v1.a.{suffix}")
}

/// `device`'s approval requests still waiting for the customer, by product.
pub(crate) async fn pending_approvals_in(
    conn: &mut DbConnection,
    device: i64,
    now: OffsetDateTime,
) -> Result<std::collections::HashMap<String, ApprovalView>, sqlx::Error> {
    let ids: Vec<String> = sqlx::query_scalar(
        "SELECT request_id FROM approvals WHERE device_id = $1 AND status = 'pending' \
           AND expires_at_ms > $2",
    )
    .bind(device)
    .bind(to_ms(now))
    .fetch_all(&mut *conn)
    .await?;
    let mut pending = std::collections::HashMap::new();
    for id in ids {
        if let Some(approval) = approval_where(
            conn,
            "a.device_id = $1 AND a.request_id = $2",
            (device, &id),
            now,
        )
        .await?
        {
            pending.insert(approval.asin.clone(), approval);
        }
    }
    Ok(pending)
}

/// What the customer's say makes of an order a device asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Say {
    /// Within the limits, and nothing to ask: order it.
    Order,
    /// It would pass a limit; the words say which, for the device and the app.
    Refuse(String),
    /// Ask the customer first (they asked to be, or the price rose since they last paid): the
    /// price of a pack now and, after a rise, what they paid last time.
    Ask {
        price: i64,
        currency: Currency,
        previous: Option<i64>,
    },
}

/// The customer's say over `quantity` packs of `asin` ordered by `device` now: its limits per
/// order and per calendar month, "ask me first", and a price more than
/// [`PRICE_RISE_PERCENT`] above the last one paid.
pub(crate) async fn say_in(
    conn: &mut DbConnection,
    device: &CallingDevice,
    (asin, quantity): (&str, u32),
    now: OffsetDateTime,
) -> Result<Say, StoreError> {
    let price: Option<i64> = sqlx::query_scalar("SELECT price_minor FROM products WHERE asin = $1")
        .bind(asin)
        .fetch_optional(&mut *conn)
        .await?;
    let price = price.ok_or_else(|| {
        StoreError::NotFound(format!("There is no product {asin} in the catalog."))
    })?;
    let total = price * i64::from(quantity.max(1));
    let limits = limits_in(conn, device.id).await?;
    let currency = currency_in(conn, device.customer_id).await?;
    let name: String = sqlx::query_scalar("SELECT name FROM devices WHERE id = $1")
        .bind(device.id)
        .fetch_one(&mut *conn)
        .await?;
    let money = |minor: i64| Money::new(minor, currency).in_words();
    if let Some(most) = limits.per_order.filter(|most| total > *most) {
        return Ok(Say::Refuse(format!(
            "Over the limit per order set for this {name}: this costs {}, the limit is {}.",
            money(total),
            money(most)
        )));
    }
    if let Some(most) = limits.per_month {
        let spent = spent_in(conn, device.id, now).await?;
        if spent + total > most {
            return Ok(Say::Refuse(format!(
                "Over the monthly limit set for this {name}: {} of {} used, and this costs {}.",
                money(spent),
                money(most),
                money(total)
            )));
        }
    }
    let rise = price_rise_in(conn, device.customer_id, asin).await?;
    if limits.ask_first || rise.is_some() {
        return Ok(Say::Ask {
            price,
            currency,
            previous: rise.map(|r| r.before),
        });
    }
    Ok(Say::Order)
}

/// What a device asks the customer to approve.
pub(crate) struct Asking<'a> {
    pub(crate) asin: &'a str,
    /// The slot it is for (a device that orders by itself), or none (a screen's press).
    pub(crate) slot: Option<&'a str>,
    pub(crate) quantity: u32,
    /// A pack's price now, its currency, and the price paid last time after a rise.
    pub(crate) price: (i64, Currency, Option<i64>),
    /// The press's idempotency key (a screen's), or none (a slot's: its request id).
    pub(crate) key: Option<&'a str>,
}

/// Records an approval request (with its `ApprovalRequested` event) in the caller's transaction.
pub(crate) async fn ask_in(
    conn: &mut DbConnection,
    device: &CallingDevice,
    asking: &Asking<'_>,
    (now, policy): (OffsetDateTime, &OrderPolicy),
) -> Result<ApprovalView, StoreError> {
    let id = new_request_id();
    let (price, currency, previous) = asking.price;
    let quantity = i64::from(asking.quantity.max(1));
    sqlx::query(
        "INSERT INTO approvals (request_id, customer_id, device_id, asin, quantity, \
             price_minor, currency, status, created_at_ms, expires_at_ms, press_key, \
             previous_price_minor, slot_id) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, 'pending', $8, $9, $10, $11, $12)",
    )
    .bind(&id)
    .bind(device.customer_id)
    .bind(device.id)
    .bind(asking.asin)
    .bind(quantity)
    .bind(price * quantity)
    .bind(currency.as_str())
    .bind(to_ms(now))
    .bind(to_ms(now + policy.approval_lifetime))
    .bind(asking.key.unwrap_or(&id))
    .bind(previous)
    .bind(asking.slot)
    .execute(&mut *conn)
    .await?;
    let approval = approval_where(
        conn,
        "a.device_id = $1 AND a.request_id = $2",
        (device.id, &id),
        now,
    )
    .await?
    .ok_or(StoreError::Database(sqlx::Error::RowNotFound))?;
    record_event(
        conn,
        device.customer_id,
        Some(device.id),
        "ApprovalRequested",
        &approval_body(&approval),
        now,
    )
    .await?;
    Ok(approval)
}

/// What an order a device asks for by itself (DRS replenish, or a smart reorder of one of its
/// slots) came to under the customer's say.
#[derive(Debug, Clone, PartialEq)]
pub enum SaidOrder {
    /// Placed, or the order open for the slot or product (`ORDER_INPROGRESS`).
    Placed(Box<refill_wire::PressResult>),
    /// Waiting for the customer's approval: this request (the one already waiting for the
    /// slot, if there is one).
    Asked(Box<ApprovalView>),
    /// Refused: it would pass a limit; the words say which.
    Refused(String),
}

/// `order` (for one of `device`'s slots) under the customer's say, in the caller's transaction:
/// the open order if there is one, the request already waiting for the slot, a refusal past a
/// limit, a new request when the customer is to be asked, else the order placed.
pub(crate) async fn device_order_in(
    conn: &mut DbConnection,
    device: &CallingDevice,
    order: &NewOrder<'_>,
    (now, policy): (OffsetDateTime, &OrderPolicy),
) -> Result<SaidOrder, StoreError> {
    let slot = order.device.map(|(_, slot)| slot).unwrap_or_default();
    if open_order_in(conn, order, now).await?.is_none() {
        if let Some(waiting) = approval_where(
            conn,
            "a.device_id = $1 AND a.slot_id = $2 AND a.status = 'pending'",
            (device.id, slot),
            now,
        )
        .await?
        .filter(|a| a.status == ApprovalStatus::Pending)
        {
            return Ok(SaidOrder::Asked(Box::new(waiting)));
        }
        match say_in(conn, device, (order.asin, order.quantity), now).await? {
            Say::Order => {}
            Say::Refuse(words) => return Ok(SaidOrder::Refused(words)),
            Say::Ask {
                price,
                currency,
                previous,
            } => {
                let asking = Asking {
                    asin: order.asin,
                    slot: Some(slot),
                    quantity: order.quantity,
                    price: (price, currency, previous),
                    key: None,
                };
                return Ok(SaidOrder::Asked(Box::new(
                    ask_in(conn, device, &asking, (now, policy)).await?,
                )));
            }
        }
    }
    Ok(SaidOrder::Placed(Box::new(
        place_in(conn, order, now, policy).await?,
    )))
}

impl Store {
    /// [`device_order_in`] in a transaction of its own (a DRS replenish call).
    pub async fn order_for_device(
        &self,
        device: &CallingDevice,
        order: &NewOrder<'_>,
        (now, policy): (OffsetDateTime, &OrderPolicy),
    ) -> Result<SaidOrder, StoreError> {
        let mut tx = self.write().await?;
        let answer = device_order_in(&mut tx, device, order, (now, policy)).await?;
        tx.commit().await?;
        self.events_committed();
        Ok(answer)
    }

    /// The price rise that makes a one-tap order of `asin` by `customer` ask first, if any.
    pub async fn price_rise(
        &self,
        customer: i64,
        asin: &str,
    ) -> Result<Option<PriceRise>, sqlx::Error> {
        let mut conn = self.pool().acquire().await?;
        price_rise_in(&mut conn, customer, asin).await
    }

    /// A press of `asin` on `device`'s screen with the press's idempotency `key`, under the
    /// customer's say: the order already open for the product (`ORDER_INPROGRESS`, whatever
    /// the limits), a refusal when a limit would be passed, an approval request when the
    /// customer asked to approve first (`APPROVAL_REQUIRED`), else the order. The same key
    /// again answers with what that press did.
    pub async fn press_on_screen(
        &self,
        device: &CallingDevice,
        asin: &str,
        key: &str,
        (now, policy): (OffsetDateTime, &OrderPolicy),
    ) -> Result<Result<ScreenPressResult, Refused>, StoreError> {
        let mut tx = self.write().await?;
        let shown: Option<i64> = sqlx::query_scalar(
            "SELECT position FROM device_buttons WHERE device_id = $1 AND asin = $2",
        )
        .bind(device.id)
        .bind(asin)
        .fetch_optional(&mut *tx)
        .await?;
        if shown.is_none() {
            return Ok(Err(Refused::NotAButton));
        }
        // This press, retried: what it did.
        if let Some(approval) = approval_where(
            &mut tx,
            "a.device_id = $1 AND a.press_key = $2",
            (device.id, key),
            now,
        )
        .await?
        {
            return Ok(Ok(asking_answer(approval)));
        }
        let order = NewOrder {
            customer: device.customer_id,
            asin,
            device: None,
            test: device.is_test,
            quantity: 1,
            pressed_on: Some((device.id, key)),
        };
        let pressed_before: Option<String> = sqlx::query_scalar(
            "SELECT event_instance_id FROM orders WHERE pressed_on = $1 AND press_key = $2",
        )
        .bind(device.id)
        .bind(key)
        .fetch_optional(&mut *tx)
        .await?;
        let open = open_order_in(&mut tx, &order, now).await?;
        if pressed_before.is_none() && open.is_none() {
            match say_in(&mut tx, device, (asin, 1), now).await? {
                Say::Order => {}
                Say::Refuse(words) => return Ok(Err(Refused::OverLimit(words))),
                Say::Ask {
                    price,
                    currency,
                    previous,
                } => {
                    let asking = Asking {
                        asin,
                        slot: None,
                        quantity: 1,
                        price: (price, currency, previous),
                        key: Some(key),
                    };
                    let approval = ask_in(&mut tx, device, &asking, (now, policy)).await?;
                    tx.commit().await?;
                    self.events_committed();
                    return Ok(Ok(asking_answer(approval)));
                }
            }
        }
        let placed = place_in(&mut tx, &order, now, policy).await?;
        tx.commit().await?;
        self.events_committed();
        Ok(Ok(ScreenPressResult {
            detail_code: placed.detail_code,
            event_instance_id: Some(placed.event_instance_id),
            order: Some(placed.order),
            approval: None,
        }))
    }

    /// The customer's limits for `device`, and what its orders cost this month.
    pub async fn device_limits(
        &self,
        device: &CallingDevice,
        now: OffsetDateTime,
    ) -> Result<DeviceLimits, sqlx::Error> {
        let mut conn = self.pool().acquire().await?;
        let limits = limits_in(&mut conn, device.id).await?;
        let currency = currency_in(&mut conn, device.customer_id).await?;
        let spent = spent_in(&mut conn, device.id, now).await?;
        let money = |minor: i64| Money::new(minor, currency).into();
        Ok(DeviceLimits {
            per_order: limits.per_order.map(money),
            per_month: limits.per_month.map(money),
            ask_first: limits.ask_first,
            spent_this_month: money(spent),
        })
    }

    /// Sets the customer's limits for `device` (checked by the caller: amounts above 0).
    pub async fn set_device_limits(
        &self,
        device: &CallingDevice,
        change: &LimitsChange,
        now: OffsetDateTime,
    ) -> Result<DeviceLimits, sqlx::Error> {
        let mut tx = self.write().await?;
        sqlx::query(
            "INSERT INTO device_limits (device_id, per_order_minor, per_month_minor, ask_first) \
             VALUES ($1, $2, $3, $4) \
             ON CONFLICT (device_id) DO UPDATE SET per_order_minor = excluded.per_order_minor, \
                 per_month_minor = excluded.per_month_minor, ask_first = excluded.ask_first",
        )
        .bind(device.id)
        .bind(change.per_order_minor)
        .bind(change.per_month_minor)
        .bind(i64::from(change.ask_first))
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        self.device_limits(device, now).await
    }

    /// The customer's approval requests: pending ones first (oldest first), then the latest
    /// 50 others.
    pub async fn approvals(
        &self,
        customer: i64,
        now: OffsetDateTime,
    ) -> Result<Vec<ApprovalView>, sqlx::Error> {
        let mut conn = self.pool().acquire().await?;
        let rows = sqlx::query(&format!(
            "SELECT {APPROVAL_COLUMNS} FROM {APPROVAL_FROM} WHERE a.customer_id = $1 \
             ORDER BY a.created_at_ms DESC, a.id DESC LIMIT 200"
        ))
        .bind(customer)
        .fetch_all(&mut *conn)
        .await?;
        let mut all = Vec::with_capacity(rows.len());
        for row in &rows {
            all.push(approval_from_row(&mut conn, row, now).await?);
        }
        let (mut pending, others): (Vec<_>, Vec<_>) = all
            .into_iter()
            .partition(|a| a.status == ApprovalStatus::Pending);
        pending.reverse();
        pending.extend(others.into_iter().take(50));
        Ok(pending)
    }

    /// The customer's answer to approval request `id`: approved places its order (or finds the
    /// one open for the product); declined orders nothing. An answered or expired request is
    /// refused ([`StoreError::NotCancellable`] carries the words).
    pub async fn decide_approval(
        &self,
        customer: i64,
        id: &str,
        approve: bool,
        (now, policy): (OffsetDateTime, &OrderPolicy),
    ) -> Result<ApprovalView, StoreError> {
        let mut tx = self.write().await?;
        let found = approval_where(
            &mut tx,
            "a.customer_id = $1 AND a.request_id = $2",
            (customer, id),
            now,
        )
        .await?
        .ok_or_else(|| StoreError::NotFound(format!("There is no approval request {id}.")))?;
        if found.status != ApprovalStatus::Pending {
            let what = match found.status {
                ApprovalStatus::Approved => "was approved already",
                ApprovalStatus::Declined => "was declined already",
                _ => "expired: nothing was ordered. Press the button on the device again",
            };
            return Err(StoreError::ApprovalClosed(format!(
                "This request for {} {what}.",
                found.title
            )));
        }
        let (device, key, is_test, slot): (i64, String, bool, Option<String>) = {
            let row = sqlx::query(
                "SELECT a.device_id, a.press_key, a.slot_id, d.is_test FROM approvals a \
                 JOIN devices d ON d.id = a.device_id WHERE a.request_id = $1",
            )
            .bind(id)
            .fetch_one(&mut *tx)
            .await?;
            (
                row.try_get("device_id")?,
                row.try_get("press_key")?,
                crate::store::db::flag(&row, "is_test")?,
                row.try_get("slot_id")?,
            )
        };
        let order_id = if approve {
            // A slot's order is the slot's (so that it counts as on its way to it); a screen's
            // press is found again by its key.
            let order = NewOrder {
                customer,
                asin: &found.asin,
                device: slot.as_deref().map(|slot| (device, slot)),
                test: is_test,
                quantity: found.quantity,
                pressed_on: match slot {
                    Some(_) => None,
                    None => Some((device, &key)),
                },
            };
            Some(
                place_in(&mut tx, &order, now, policy)
                    .await?
                    .event_instance_id,
            )
        } else {
            None
        };
        sqlx::query(
            "UPDATE approvals SET status = $1, decided_at_ms = $2, event_instance_id = $3 \
             WHERE request_id = $4",
        )
        .bind(if approve { "approved" } else { "declined" })
        .bind(to_ms(now))
        .bind(&order_id)
        .bind(id)
        .execute(&mut *tx)
        .await?;
        let decided = approval_where(
            &mut tx,
            "a.customer_id = $1 AND a.request_id = $2",
            (customer, id),
            now,
        )
        .await?
        .ok_or(StoreError::Database(sqlx::Error::RowNotFound))?;
        record_event(
            &mut tx,
            customer,
            Some(device),
            "ApprovalDecided",
            &approval_body(&decided),
            now,
        )
        .await?;
        tx.commit().await?;
        self.events_committed();
        Ok(decided)
    }

    /// Marks the approval requests left unanswered past their time as expired, each with its
    /// `ApprovalDecided` event. Returns how many.
    pub async fn expire_approvals(&self, now: OffsetDateTime) -> Result<u32, sqlx::Error> {
        let mut tx = self.write().await?;
        let due: Vec<(String, i64, i64)> = sqlx::query_as(
            "SELECT request_id, customer_id, device_id FROM approvals \
             WHERE status = 'pending' AND expires_at_ms <= $1",
        )
        .bind(to_ms(now))
        .fetch_all(&mut *tx)
        .await?;
        for (id, customer, device) in &due {
            sqlx::query(
                "UPDATE approvals SET status = 'expired', decided_at_ms = expires_at_ms \
                 WHERE request_id = $1",
            )
            .bind(id)
            .execute(&mut *tx)
            .await?;
            if let Some(expired) = approval_where(
                &mut tx,
                "a.customer_id = $1 AND a.request_id = $2",
                (*customer, id),
                now,
            )
            .await?
            {
                record_event(
                    &mut tx,
                    *customer,
                    Some(*device),
                    "ApprovalDecided",
                    &approval_body(&expired),
                    now,
                )
                .await?;
            }
        }
        tx.commit().await?;
        if !due.is_empty() {
            self.events_committed();
        }
        Ok(u32::try_from(due.len()).unwrap_or(u32::MAX))
    }
}

/// A press's answer while (or after) it waits for the customer: `APPROVAL_REQUIRED` with the
/// request, and its order once approved.
fn asking_answer(approval: ApprovalView) -> ScreenPressResult {
    ScreenPressResult {
        detail_code: DetailCode::ApprovalRequired,
        event_instance_id: approval.order.as_ref().map(|o| o.event_instance_id.clone()),
        order: approval.order.clone(),
        approval: Some(approval),
    }
}
