//! Where a customer's orders go on a service that does not fulfil them itself (issue 20), and
//! the outbox that takes them there.
//!
//! Each customer chooses (`PUT /v1/account/orders-go`; the operator's `--orders-go` is the
//! default): **manual**, the order waits in the app for them to buy it ("Bought it", "It
//! arrived"); **webhook**, it is POSTed to their own automation (Home Assistant, n8n, …), signed
//! as makers' notifications are (`X-Refill-Signature-256: sha256=<hex HMAC-SHA256 of the body>`
//! under the customer's webhook secret), and the automation may call back at
//! `POST /v1/fulfilment/orders/{eventInstanceId}` (signed the same way) to say it shipped,
//! arrived or could not be bought; **email**, it is mailed to their shopping address (else their
//! account's) through the operator's mail server ([`crate::mail`]), and they say "Bought it" in
//! the app as for manual. Email is offered only where the operator gave a mail server.
//!
//! The method is fixed when the order is placed (`orders.handover`). A webhook or email hand-over is
//! written with the order, in its transaction, and is due when the order can no longer be
//! cancelled; a cancelled order's pending hand-over is deleted with the cancellation. Due ones
//! are sent at least once, retried with backoff (1 s doubling to an hour) up to
//! [`MAX_ATTEMPTS`] times (about nine hours); after the last failed try the order says "Could not
//! send this order to …", the customer is told (`HandoverFailed` event), and the order can be
//! cancelled again for a new window; a mail server's refusal for good (a 5xx answer, such as no
//! such mailbox) is the last try at once. Nothing is dropped silently.

use crate::store::db::{DbConnection, DbRow};
use crate::store::{corrupt, from_ms, StoreError};
use crate::Store;
use refill_core::Handover;
use refill_wire::{HandoverView, OrdersGo, OrdersGoChange, OrdersGoView};
use sqlx::Row;

/// How many times a hand-over is tried before the customer is told it failed (the waits add up
/// to about nine hours).
pub const MAX_ATTEMPTS: i64 = 20;

/// The path an automation calls back at for the order `event_instance_id`.
pub fn callback_path(event_instance_id: &str) -> String {
    format!(
        "/v1/fulfilment/orders/{}",
        refill_wire::path_segment(event_instance_id)
    )
}

/// The customer's method, when the service's default is `default`.
fn method_of(chosen: Option<&str>, default: Handover) -> Option<OrdersGo> {
    chosen
        .and_then(OrdersGo::parse)
        .or(OrdersGo::chosen(default))
}

/// The hand-over of an order row read with [`super::ORDER_COLUMNS`].
pub(crate) fn view_of(row: &DbRow) -> Result<Option<Box<HandoverView>>, sqlx::Error> {
    let Some(method) = row.try_get::<Option<String>, _>("handover")? else {
        return Ok(None);
    };
    let method = OrdersGo::parse(&method).ok_or_else(|| corrupt("handover", &method))?;
    let failed = row
        .try_get::<Option<i64>, _>("handover_failed_ms")?
        .is_some();
    Ok(Some(Box::new(HandoverView {
        method,
        to: row.try_get("handover_to")?,
        sent_at: row
            .try_get::<Option<i64>, _>("handover_sent_ms")?
            .map(from_ms),
        problem: if failed {
            row.try_get("handover_error")?
        } else {
            None
        },
    })))
}

/// Where an order placed now for the customer `$2` goes, as an SQL expression for `place_in`'s
/// INSERT (with `$14` the service's default method, or NULL): the customer's choice, else the
/// default; a webhook without an address is manual (the order waits in the app). An email goes
/// to the customer's shopping address, else their account's ([`queue_in`]).
macro_rules! handover_of_customer {
    () => {
        "(SELECT CASE \
             WHEN COALESCE(c.orders_go, $14) = 'webhook' AND c.orders_webhook_url IS NULL \
             THEN 'manual' ELSE COALESCE(c.orders_go, $14) END \
         FROM customers c WHERE c.id = $2)"
    };
}
pub(crate) use handover_of_customer;

/// The default method bound as `$14` of [`handover_of_customer`].
pub(crate) fn default_method(default: Handover) -> Option<&'static str> {
    method_of(None, default).map(OrdersGo::as_str)
}

/// Queues the hand-over of the order `event_instance_id`, just placed with `method`, due when
/// it can no longer be cancelled. In the placing transaction.
pub(crate) async fn queue_in(
    conn: &mut DbConnection,
    event_instance_id: &str,
    method: Option<&str>,
) -> Result<(), sqlx::Error> {
    if !matches!(
        method.and_then(OrdersGo::parse),
        Some(OrdersGo::Webhook | OrdersGo::Email)
    ) {
        return Ok(());
    }
    sqlx::query(
        "INSERT INTO order_handovers (order_id, method, target, next_attempt_ms) \
         SELECT o.id, o.handover, \
                CASE o.handover WHEN 'webhook' THEN c.orders_webhook_url \
                     ELSE COALESCE(c.orders_email, c.email) END, \
                o.cancellable_until_ms \
         FROM orders o JOIN customers c ON c.id = o.customer_id \
         WHERE o.event_instance_id = $1",
    )
    .bind(event_instance_id)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Drops the pending hand-over of a cancelled order, in the cancelling transaction.
pub(crate) async fn cancelled_in(
    conn: &mut DbConnection,
    event_instance_id: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "DELETE FROM order_handovers WHERE sent_at_ms IS NULL AND failed_at_ms IS NULL \
           AND order_id = (SELECT id FROM orders WHERE event_instance_id = $1)",
    )
    .bind(event_instance_id)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Where a service lets its customers' orders go.
#[derive(Debug, Clone, Copy)]
pub struct OrdersOffer {
    /// Where they go unless the customer chooses (the operator's `--orders-go`).
    pub default: Handover,
    /// Whether they can go by email (the operator gave a mail server).
    pub email: bool,
    /// Whether a webhook may be on a home network (`--allow-private-webhooks`).
    pub private_webhooks: bool,
}

impl OrdersOffer {
    /// The methods a customer can choose.
    fn methods(&self) -> Vec<OrdersGo> {
        let mut methods = vec![OrdersGo::Manual, OrdersGo::Webhook];
        if self.email {
            methods.push(OrdersGo::Email);
        }
        methods
    }
}

/// Longest shopping address kept (RFC 5321's limit on a path).
const MAX_EMAIL: usize = 254;

impl Store {
    /// Where `customer`'s orders go, on a service offering `offer`.
    pub async fn orders_go(
        &self,
        customer: i64,
        offer: &OrdersOffer,
    ) -> Result<OrdersGoView, StoreError> {
        let row = sqlx::query(
            "SELECT orders_go, orders_webhook_url, orders_email, email FROM customers \
             WHERE id = $1",
        )
        .bind(customer)
        .fetch_optional(self.pool())
        .await?
        .ok_or_else(|| StoreError::NotFound("There is no such account.".to_owned()))?;
        let chosen: Option<String> = row.try_get("orders_go")?;
        let own: Option<String> = row.try_get("orders_email")?;
        Ok(OrdersGoView {
            method: method_of(chosen.as_deref(), offer.default),
            chosen: chosen.is_some(),
            offered: offer.methods(),
            webhook_url: row.try_get("orders_webhook_url")?,
            webhook_secret: None,
            email: Some(own.unwrap_or(row.try_get("email")?)),
        })
    }

    /// Changes where `customer`'s orders go (those placed from now on). A webhook needs an
    /// address the service may call and gets a secret the first time, or when `newSecret` asks:
    /// it is in the answer, only then. Email needs the service to have a mail server; the
    /// address is the one given, else the one given before, else the account's.
    pub async fn set_orders_go(
        &self,
        customer: i64,
        change: &OrdersGoChange,
        offer: &OrdersOffer,
    ) -> Result<OrdersGoView, StoreError> {
        let row = sqlx::query(
            "SELECT orders_webhook_url, orders_webhook_secret FROM customers WHERE id = $1",
        )
        .bind(customer)
        .fetch_optional(self.pool())
        .await?
        .ok_or_else(|| StoreError::NotFound("There is no such account.".to_owned()))?;
        let given = |text: &Option<String>| {
            text.as_deref()
                .map(str::trim)
                .filter(|t| !t.is_empty())
                .map(str::to_owned)
        };
        let mut secret = None;
        let mut url = None;
        let mut email = None;
        match change.method {
            OrdersGo::Manual => {}
            OrdersGo::Webhook => {
                let chosen = given(&change.webhook_url)
                    .or(row.try_get("orders_webhook_url")?)
                    .ok_or_else(|| {
                        StoreError::Refused(
                            "Give the address of your automation (webhookUrl) that orders \
                             are sent to."
                                .to_owned(),
                        )
                    })?;
                if let Some(problem) =
                    crate::outbound::webhook_problem(&chosen, offer.private_webhooks)
                {
                    return Err(StoreError::Refused(problem));
                }
                let old: Option<String> = row.try_get("orders_webhook_secret")?;
                if old.is_none() || change.new_secret {
                    secret = Some(crate::auth::crypto::new_client_secret().expose().clone());
                }
                url = Some(chosen);
            }
            OrdersGo::Email if !offer.email => {
                return Err(StoreError::Refused(
                    "This service has no mail server to send orders with: ask whoever runs \
                     it to set one up, or choose manual or webhook."
                        .to_owned(),
                ))
            }
            OrdersGo::Email => {
                if let Some(address) = given(&change.email) {
                    if address.len() > MAX_EMAIL || !looks_like_address(&address) {
                        return Err(StoreError::Refused(format!(
                            "'{address}' is not an email address, such as \
                             shopping@example.com."
                        )));
                    }
                    email = Some(address);
                }
            }
        }
        sqlx::query(
            "UPDATE customers SET orders_go = $1, \
                 orders_webhook_url = COALESCE($2, orders_webhook_url), \
                 orders_webhook_secret = COALESCE($3, orders_webhook_secret), \
                 orders_email = COALESCE($4, orders_email) \
             WHERE id = $5",
        )
        .bind(change.method.as_str())
        .bind(url)
        .bind(secret.as_deref())
        .bind(email)
        .bind(customer)
        .execute(self.pool())
        .await?;
        // Read back as `orders_go` answers (through sqlx on SQLite, an UPDATE … RETURNING here
        // answered without its column names).
        let mut view = self.orders_go(customer, offer).await?;
        view.webhook_secret = secret;
        Ok(view)
    }
}

/// Whether `text` is an email address orders can be mailed to.
fn looks_like_address(text: &str) -> bool {
    #[cfg(feature = "hosted")]
    {
        crate::mail::is_address(text)
    }
    // Without a mailer, email is never offered.
    #[cfg(not(feature = "hosted"))]
    {
        let _ = text;
        false
    }
}

/// Sending due hand-overs, and the automations' calls back: a hosted service's.
#[cfg(feature = "hosted")]
mod sending {
    use super::{callback_path, OrdersGo, MAX_ATTEMPTS};
    use crate::mail::{Mailer, NotSent};
    use crate::store::inventory::record_event;
    use crate::store::webhooks::{backoff, not_taken, signature, SIGNATURE_HEADER};
    use crate::store::{corrupt, to_ms, StoreError};
    use crate::Store;
    use refill_core::OrderPolicy;
    use refill_wire::{OrderStep, OrderView};
    use serde_json::json;
    use sqlx::Row;
    use time::{Duration, OffsetDateTime};

    /// How long a claimed hand-over is left to the instance that claimed it.
    const CLAIM: Duration = Duration::minutes(10);

    /// A hand-over due now.
    struct Due {
        order_id: i64,
        event_instance_id: String,
        customer: i64,
        method: OrdersGo,
        target: String,
        attempts: i64,
        secret: Option<String>,
    }

    impl Store {
        /// Claims the hand-overs due at `now` (see [`Store::claim_due`]).
        async fn due_handovers(&self, now: OffsetDateTime) -> Result<Vec<Due>, sqlx::Error> {
            let rows = self
                .claim_due(
                    "SELECT h.order_id, h.method, h.target, h.attempts, o.event_instance_id, \
                            o.customer_id, c.orders_webhook_secret \
                     FROM order_handovers h \
                     JOIN orders o ON o.id = h.order_id \
                     JOIN customers c ON c.id = o.customer_id \
                     WHERE h.sent_at_ms IS NULL AND h.failed_at_ms IS NULL \
                       AND h.next_attempt_ms <= $1 \
                     ORDER BY h.next_attempt_ms, h.order_id LIMIT 50",
                    "UPDATE order_handovers SET next_attempt_ms = $1 WHERE order_id = $2",
                    "order_id",
                    now,
                    CLAIM,
                )
                .await?;
            rows.iter()
                .map(|row| {
                    Ok(Due {
                        order_id: row.try_get("order_id")?,
                        event_instance_id: row.try_get("event_instance_id")?,
                        customer: row.try_get("customer_id")?,
                        method: {
                            let method: String = row.try_get("method")?;
                            OrdersGo::parse(&method).ok_or_else(|| corrupt("method", &method))?
                        },
                        target: row.try_get("target")?,
                        attempts: row.try_get("attempts")?,
                        secret: row.try_get("orders_webhook_secret")?,
                    })
                })
                .collect()
        }

        /// Hands over the orders that are due, once each, to webhooks through `http` and by
        /// email through `mail`: how many were handed over. A failure is retried later; after
        /// [`MAX_ATTEMPTS`], or at once when a mail server refuses it for good, the customer is
        /// told (see the module's notes).
        pub async fn hand_over(
            &self,
            http: &reqwest::Client,
            mail: Option<&Mailer>,
            now: OffsetDateTime,
            policy: &OrderPolicy,
        ) -> Result<usize, sqlx::Error> {
            let mut sent = 0;
            for due in self.due_handovers(now).await? {
                let Some(order) = self
                    .order(due.customer, &due.event_instance_id, now)
                    .await?
                else {
                    continue;
                };
                let failure = match (due.method, &due.secret, mail) {
                    (OrdersGo::Email, _, Some(mail)) => mail.send_order(&due.target, &order).await,
                    (OrdersGo::Email, _, None) => Some(NotSent {
                        words: "this service no longer has a mail server to send it with"
                            .to_owned(),
                        permanent: false,
                    }),
                    (_, None, _) => Some(NotSent {
                        words: "no webhook secret was set".to_owned(),
                        permanent: false,
                    }),
                    (_, Some(secret), _) => post_order(http, &due.target, secret, &order)
                        .await
                        .map(|words| NotSent {
                            words,
                            permanent: false,
                        }),
                };
                match failure {
                    None => {
                        sqlx::query(
                            "UPDATE order_handovers SET sent_at_ms = $1, attempts = attempts + 1, \
                                 last_error = NULL WHERE order_id = $2",
                        )
                        .bind(to_ms(now))
                        .bind(due.order_id)
                        .execute(self.pool())
                        .await?;
                        sent += 1;
                    }
                    Some(NotSent { words, permanent })
                        if permanent || due.attempts + 1 >= MAX_ATTEMPTS =>
                    {
                        let problem =
                            format!("Could not send this order to {}: {words}.", due.target);
                        self.handover_failed(&due, &order, &problem, now, policy)
                            .await?;
                    }
                    Some(NotSent { words: error, .. }) => {
                        tracing::info!(error, "an order's hand-over failed; retrying later");
                        sqlx::query(
                            "UPDATE order_handovers SET attempts = attempts + 1, \
                                 next_attempt_ms = $1, last_error = $2 WHERE order_id = $3",
                        )
                        .bind(to_ms(now + backoff(due.attempts + 1)))
                        .bind(error)
                        .bind(due.order_id)
                        .execute(self.pool())
                        .await?;
                    }
                }
            }
            Ok(sent)
        }

        /// Marks `due`'s hand-over failed for good with `problem` (words for the customer), tells
        /// the customer, and opens a new window to cancel the order.
        async fn handover_failed(
            &self,
            due: &Due,
            order: &OrderView,
            problem: &str,
            now: OffsetDateTime,
            policy: &OrderPolicy,
        ) -> Result<(), sqlx::Error> {
            let mut tx = self.write().await?;
            sqlx::query(
                "UPDATE order_handovers SET attempts = attempts + 1, failed_at_ms = $1, \
                     last_error = $2 WHERE order_id = $3",
            )
            .bind(to_ms(now))
            .bind(problem)
            .bind(due.order_id)
            .execute(&mut *tx)
            .await?;
            sqlx::query(
                "UPDATE orders SET cancellable_until_ms = $1, updated_at_ms = $2 \
                 WHERE id = $3 AND status = 'placed'",
            )
            .bind(to_ms(policy.cancellable_until(now)))
            .bind(to_ms(now))
            .bind(due.order_id)
            .execute(&mut *tx)
            .await?;
            let body = json!({
                "eventInstanceId": order.event_instance_id,
                "asin": order.asin,
                "title": order.title,
                "to": due.target,
                "problem": problem,
            });
            record_event(&mut tx, due.customer, None, "HandoverFailed", &body, now).await?;
            tx.commit().await?;
            self.events_committed();
            Ok(())
        }

        /// What a customer's automation says of an order it was handed, at
        /// `POST /v1/fulfilment/orders/{eventInstanceId}`: `body` is JSON
        /// (`{"status": "shipped" | "delivered" | "failed", "reason": …}`) signed with the
        /// customer's webhook secret (`signature`, as [`signature`] makes it). `Ok(None)`: no such
        /// order, or not signed with its customer's secret (the caller is told no more).
        pub async fn handover_callback(
            &self,
            event_instance_id: &str,
            given: Option<&str>,
            body: &[u8],
            now: OffsetDateTime,
            policy: &OrderPolicy,
        ) -> Result<Option<OrderView>, StoreError> {
            let row = sqlx::query(
                "SELECT o.id, o.customer_id, c.orders_webhook_secret, h.target, h.attempts \
                 FROM orders o JOIN customers c ON c.id = o.customer_id \
                 JOIN order_handovers h ON h.order_id = o.id AND h.method = 'webhook' \
                 WHERE o.event_instance_id = $1",
            )
            .bind(event_instance_id)
            .fetch_optional(self.pool())
            .await?;
            let Some(row) = row else { return Ok(None) };
            let Some(secret) = row.try_get::<Option<String>, _>("orders_webhook_secret")? else {
                return Ok(None);
            };
            let Some(given) = given else { return Ok(None) };
            if !crate::auth::crypto::constant_time_eq(
                signature(&secret, body).as_bytes(),
                given.as_bytes(),
            ) {
                return Ok(None);
            }
            let said: Callback = serde_json::from_slice(body).map_err(|e| {
                StoreError::Refused(format!(
                    "The body must be JSON: {{\"status\": \"shipped\" | \"delivered\" | \"failed\", \
                     \"reason\": \"…\"}} ({e})."
                ))
            })?;
            let customer: i64 = row.try_get("customer_id")?;
            let step = match said.status.as_str() {
                "shipped" => OrderStep::Bought,
                "delivered" => OrderStep::Arrived,
                "failed" => {
                    let order = self
                        .order(customer, event_instance_id, now)
                        .await?
                        .ok_or_else(|| StoreError::Database(sqlx::Error::RowNotFound))?;
                    let target: String = row.try_get("target")?;
                    let reason = said
                        .reason
                        .as_deref()
                        .map(str::trim)
                        .filter(|r| !r.is_empty())
                        .unwrap_or("it gave no reason");
                    let reason: String = reason.chars().take(300).collect();
                    let due = Due {
                        order_id: row.try_get("id")?,
                        event_instance_id: event_instance_id.to_owned(),
                        customer,
                        method: OrdersGo::Webhook,
                        target: target.clone(),
                        attempts: row.try_get("attempts")?,
                        secret: None,
                    };
                    let problem = format!("{target} could not buy this order: {reason}");
                    self.handover_failed(&due, &order, &problem, now, policy)
                        .await?;
                    return Ok(self.order(customer, event_instance_id, now).await?);
                }
                other => {
                    return Err(StoreError::Refused(format!(
                        "'{other}' is not an order status an automation can give: shipped, \
                         delivered or failed."
                    )))
                }
            };
            self.order_step(customer, event_instance_id, step, now)
                .await
                .map(Some)
        }
    }

    /// What an automation says of an order.
    #[derive(serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Callback {
        status: String,
        #[serde(default)]
        reason: Option<String>,
    }

    /// POSTs `order` to the automation at `url`, signed with `secret`; why it failed, in words, or
    /// `None` once it answered 2xx.
    async fn post_order(
        http: &reqwest::Client,
        url: &str,
        secret: &str,
        order: &OrderView,
    ) -> Option<String> {
        let body = json!({
            "type": "Refill.OrderToBuy",
            "order": order,
            "callback": callback_path(&order.event_instance_id),
        })
        .to_string();
        let sent = http
            .post(url)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .header(SIGNATURE_HEADER, signature(secret, body.as_bytes()))
            .header("x-refill-order", order.event_instance_id.as_str())
            .body(body)
            .send()
            .await;
        not_taken(&sent).map(|why| format!("it {why}"))
    }
}
