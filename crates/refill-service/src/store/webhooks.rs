//! The webhook outbox: makers' webhooks and their deliveries, shaped as DRS's SNS
//! notifications (§2 of the protocol notes): `OrderPlacedNotification`,
//! `OrderCancelledNotification`, `DeviceRegisteredNotification`,
//! `DeviceDeregisteredNotification`, `SubscriptionChangedNotification` and
//! `ItemShippedNotification`, with v1 or v2 payloads per webhook. Refill's own events are
//! namespaced extensions: `Refill.ItemDeliveredNotification`, `Refill.LowSupplyNotification`,
//! `Refill.DeviceSilentNotification`.
//!
//! Delivery is at least once, from a durable outbox: each event's deliveries are written with
//! the event, and [`spawn`] POSTs the due ones, retrying with backoff (1 s doubling up to an
//! hour, on the service's clock) until the webhook answers 2xx; a restart picks up where it
//! stopped. Each POST carries `X-Refill-Signature-256: sha256=<hex HMAC-SHA256 of the body>`
//! and `x-amz-sns-message-type: Notification`, `x-amz-sns-message-id: <notificationId>`.
//! The maker's routes are in [`crate::http::webhooks`].

use crate::store::{from_ms, to_ms};
use crate::Store;
use hmac::{Hmac, Mac};
use refill_core::SharedClock;
use reqwest::header;
use serde_json::{json, Value};
use sha2::Sha256;
use sqlx::Row;
use time::{Duration, OffsetDateTime};

/// The header carrying the body's signature.
pub const SIGNATURE_HEADER: &str = "x-refill-signature-256";

/// The longest wait between two attempts.
pub const MAX_BACKOFF: Duration = Duration::hours(1);

/// How long a claimed delivery is left to the instance that claimed it (a round sends at most 50,
/// each given 10 s).
const CLAIM: Duration = Duration::minutes(10);

/// `sha256=<hex>`: the HMAC-SHA256 of `body` under `secret`.
pub fn signature(secret: &str, body: &[u8]) -> String {
    let mut mac =
        Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes a key of any length");
    mac.update(body);
    let digest = mac.finalize().into_bytes();
    format!("sha256={}", crate::auth::crypto::hex(&digest))
}

/// A maker's webhook, as the maker sees it (the secret is shown once, when it is added).
#[derive(Debug, Clone, serde::Serialize)]
pub struct Webhook {
    /// Its id.
    pub id: i64,
    /// Where notifications are POSTed.
    pub url: String,
    /// The DRS notification payload version, 1 or 2.
    pub version: i64,
}

fn webhook_from_row(row: &crate::store::db::DbRow) -> Result<Webhook, sqlx::Error> {
    Ok(Webhook {
        id: row.try_get("id")?,
        url: row.try_get("url")?,
        version: row.try_get("version")?,
    })
}

impl Store {
    /// The webhooks of the maker's client `client_id`, oldest first.
    pub async fn webhooks(&self, client_id: &str) -> Result<Vec<Webhook>, sqlx::Error> {
        sqlx::query("SELECT id, url, version FROM webhooks WHERE client_id = $1 ORDER BY id")
            .bind(client_id)
            .fetch_all(self.pool())
            .await?
            .iter()
            .map(webhook_from_row)
            .collect()
    }

    /// Adds a webhook for the maker's client `client_id`, signing with `secret`.
    pub async fn add_webhook(
        &self,
        client_id: &str,
        url: &str,
        version: i64,
        secret: &str,
        now: OffsetDateTime,
    ) -> Result<Webhook, sqlx::Error> {
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO webhooks (client_id, url, secret, version, created_at_ms) \
             VALUES ($1, $2, $3, $4, $5) RETURNING id",
        )
        .bind(client_id)
        .bind(url)
        .bind(secret)
        .bind(version)
        .bind(to_ms(now))
        .fetch_one(self.pool())
        .await?;
        Ok(Webhook {
            id,
            url: url.to_owned(),
            version,
        })
    }

    /// Removes the maker's webhook `id`; false if the maker has no such webhook.
    pub async fn remove_webhook(&self, client_id: &str, id: i64) -> Result<bool, sqlx::Error> {
        let removed = sqlx::query("DELETE FROM webhooks WHERE id = $1 AND client_id = $2")
            .bind(id)
            .bind(client_id)
            .execute(self.pool())
            .await?;
        Ok(removed.rows_affected() > 0)
    }
}

/// One due delivery with what its notification is built from.
struct Due {
    id: i64,
    attempts: i64,
    url: String,
    secret: String,
    version: i64,
    client_id: String,
    event_id: i64,
    kind: String,
    body: Value,
    at: OffsetDateTime,
    customer: i64,
    serial: String,
    model: String,
}

fn rfc3339(t: OffsetDateTime) -> String {
    t.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

impl Store {
    /// Claims the deliveries due at `now`, each put off by [`CLAIM`] (see
    /// [`Store::claim_due`]).
    async fn due_deliveries(&self, now: OffsetDateTime) -> Result<Vec<Due>, sqlx::Error> {
        let rows = self
            .claim_due(
                "SELECT wd.id, wd.attempts, w.url, w.secret, w.version, w.client_id, \
                        e.id AS event_id, e.kind, e.body, e.created_at_ms, e.customer_id, \
                        d.serial, d.model_id \
                 FROM webhook_deliveries wd \
                 JOIN webhooks w ON w.id = wd.webhook_id \
                 JOIN events e ON e.id = wd.event_id \
                 JOIN devices d ON d.id = e.device_id \
                 WHERE wd.delivered_at_ms IS NULL AND wd.next_attempt_ms <= $1 \
                 ORDER BY wd.next_attempt_ms, wd.id LIMIT 50",
                "UPDATE webhook_deliveries SET next_attempt_ms = $1 WHERE id = $2",
                "id",
                now,
                CLAIM,
            )
            .await?;
        rows.iter()
            .map(|row| {
                let body: String = row.try_get("body")?;
                Ok(Due {
                    id: row.try_get("id")?,
                    attempts: row.try_get("attempts")?,
                    url: row.try_get("url")?,
                    secret: row.try_get("secret")?,
                    version: row.try_get("version")?,
                    client_id: row.try_get("client_id")?,
                    event_id: row.try_get("event_id")?,
                    kind: row.try_get("kind")?,
                    body: serde_json::from_str(&body).unwrap_or(Value::Null),
                    at: from_ms(row.try_get("created_at_ms")?),
                    customer: row.try_get("customer_id")?,
                    serial: row.try_get("serial")?,
                    model: row.try_get("model_id")?,
                })
            })
            .collect()
    }

    /// The pack quantity and unit of `asin`, for v2 product information.
    async fn pack_of(&self, asin: &str) -> Result<Option<(f64, String)>, sqlx::Error> {
        sqlx::query_as("SELECT pack_quantity, unit FROM products WHERE asin = $1")
            .bind(asin)
            .fetch_optional(self.pool())
            .await
    }

    /// Sends the deliveries that are due, once each; what was delivered.
    pub async fn deliver_webhooks(
        &self,
        http: &reqwest::Client,
        now: OffsetDateTime,
    ) -> Result<usize, sqlx::Error> {
        let mut delivered = 0;
        for due in self.due_deliveries(now).await? {
            let notification = self.notification(&due).await?;
            let body = notification.to_string();
            let sent = http
                .post(&due.url)
                .header(header::CONTENT_TYPE, "application/json")
                .header(SIGNATURE_HEADER, signature(&due.secret, body.as_bytes()))
                .header("x-amz-sns-message-type", "Notification")
                .header("x-amz-sns-message-id", notification_id(due.event_id))
                .header(
                    "x-refill-notification-version",
                    format!("{}.0", due.version),
                )
                .body(body)
                .send()
                .await;
            let failure = not_taken(&sent).map(|why| format!("the webhook {why}"));
            match failure {
                None => {
                    sqlx::query(
                        "UPDATE webhook_deliveries SET delivered_at_ms = $1, \
                             attempts = attempts + 1, last_error = NULL WHERE id = $2",
                    )
                    .bind(to_ms(now))
                    .bind(due.id)
                    .execute(self.pool())
                    .await?;
                    delivered += 1;
                }
                Some(error) => {
                    let wait = backoff(due.attempts + 1);
                    tracing::info!(
                        url = due.url,
                        error,
                        "webhook delivery failed; retrying later"
                    );
                    sqlx::query(
                        "UPDATE webhook_deliveries SET attempts = attempts + 1, \
                             next_attempt_ms = $1, last_error = $2 WHERE id = $3",
                    )
                    .bind(to_ms(now + wait))
                    .bind(error)
                    .bind(due.id)
                    .execute(self.pool())
                    .await?;
                }
            }
        }
        Ok(delivered)
    }

    /// The DRS-shaped notification for `due`, in its webhook's version.
    async fn notification(&self, due: &Due) -> Result<Value, sqlx::Error> {
        let v2 = due.version == 2;
        let (kind, extension) = match due.kind.as_str() {
            "OrderPlaced" => ("OrderPlacedNotification", false),
            "OrderCancelled" => ("OrderCancelledNotification", false),
            "ItemShipped" => ("ItemShippedNotification", false),
            "DeviceRegistered" => ("DeviceRegisteredNotification", false),
            "DeviceDeregistered" => ("DeviceDeregisteredNotification", false),
            "SubscriptionChanged" => ("SubscriptionChangedNotification", false),
            "ItemDelivered" => ("Refill.ItemDeliveredNotification", true),
            "LowSupply" => ("Refill.LowSupplyNotification", true),
            "DeviceSilent" => ("Refill.DeviceSilentNotification", true),
            _ => ("Refill.Notification", true),
        };
        let mut message = json!({
            "notificationInfo": {
                "notificationType": kind,
                "lwaClientId": due.client_id,
                "notificationTime": rfc3339(due.at),
                "notificationId": notification_id(due.event_id),
                "version": "2015-06-05",
            },
            "deviceInfo": {
                "deviceIdentifier": { "serialNumber": due.serial },
                "productIdentifier": { "modelId": due.model },
            },
            "customerInfo": { "directedCustomerId": format!("refill.account.{}", due.customer) },
        });
        let b = &due.body;
        match due.kind.as_str() {
            "OrderPlaced" | "ItemShipped" | "ItemDelivered" => {
                let quantity = b["quantity"].as_f64().unwrap_or(1.0);
                let delivery = b["expectedDelivery"].clone();
                message["orderInfo"] = if v2 {
                    json!({
                        "instanceId": b["eventInstanceId"],
                        "slotId": b["slotId"],
                        "productInfo": [{
                            "quantity": quantity,
                            "unit": "count",
                            "asin": b["asin"],
                            "estimatedDeliveryDate": delivery,
                        }],
                    })
                } else {
                    json!({
                        "instanceId": b["eventInstanceId"],
                        "slotId": b["slotId"],
                        "productInfo": [{ "quantity": quantity, "unit": "count" }],
                        "estimatedDeliveryDate": delivery,
                    })
                };
            }
            "OrderCancelled" => {
                message["orderInfo"] =
                    json!({ "instanceId": b["eventInstanceId"], "slotId": b["slotId"] });
            }
            "SubscriptionChanged" => {
                let mut status = serde_json::Map::new();
                for slot in b["slots"].as_array().into_iter().flatten() {
                    let id = slot["slotId"].as_str().unwrap_or_default().to_owned();
                    let asin = slot["asin"].as_str();
                    let entry = if v2 {
                        let mut products = Vec::new();
                        if let Some(asin) = asin {
                            if let Some((quantity, unit)) = self.pack_of(asin).await? {
                                products.push(
                                    json!({ "quantity": quantity, "unit": unit, "asin": asin }),
                                );
                            }
                        }
                        json!({ "subscribed": asin.is_some(), "productInfoList": products })
                    } else {
                        json!(asin.is_some())
                    };
                    status.insert(id, entry);
                }
                message["subscriptionInfo"] = json!({ "slotsSubscriptionStatus": status });
            }
            _ => {}
        }
        if extension {
            message["refillInfo"] = b.clone();
        }
        Ok(message)
    }
}

fn notification_id(event: i64) -> String {
    format!("refill.notification.v1.{event}")
}

/// The wait after `attempts` failed attempts: 1 s, doubling, at most [`MAX_BACKOFF`].
pub fn backoff(attempts: i64) -> Duration {
    let doublings = u32::try_from(attempts.saturating_sub(1).clamp(0, 20)).unwrap_or(20);
    (Duration::seconds(1) * 2_i32.pow(doublings)).min(MAX_BACKOFF)
}

/// Why a POST to a webhook was not taken, in words ("answered 500 Internal Server Error", "did
/// not answer in time", "could not be reached"); `None` once it answered 2xx.
pub(crate) fn not_taken(sent: &reqwest::Result<reqwest::Response>) -> Option<String> {
    match sent {
        Ok(res) if res.status().is_success() => None,
        Ok(res) => Some(format!("answered {}", res.status())),
        Err(e) if e.is_timeout() => Some("did not answer in time".to_owned()),
        Err(_) => Some("could not be reached".to_owned()),
    }
}

/// Delivers due notifications to makers' webhooks, and hands due orders over to customers'
/// automations and by email through `mail` ([`Store::hand_over`]), every `every` (real time) until the task is dropped.
/// `public_only`: the webhooks reach public addresses only (see [`crate::outbound`]).
pub fn spawn(
    store: Store,
    clock: SharedClock,
    policy: refill_core::OrderPolicy,
    every: std::time::Duration,
    public_only: bool,
    mail: Option<crate::mail::Mailer>,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut ticks = crate::rounds(every);
        // Made at the first round, not at start (it loads the system's certificates).
        ticks.tick().await;
        let http = crate::outbound::client(public_only);
        loop {
            if let Err(e) = store.deliver_webhooks(&http, clock.now()).await {
                tracing::warn!("webhook deliveries could not be read: {e}");
            }
            let handed = store.hand_over(&http, mail.as_ref(), clock.now(), &policy);
            if let Err(e) = handed.await {
                tracing::warn!("order hand-overs could not be read: {e}");
            }
            ticks.tick().await;
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_are_hmac_sha256_of_the_body() {
        // RFC 4231 test case 2.
        assert_eq!(
            signature("Jefe", b"what do ya want for nothing?"),
            "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn retries_back_off_to_an_hour() {
        assert_eq!(backoff(1), Duration::seconds(1));
        assert_eq!(backoff(2), Duration::seconds(2));
        assert_eq!(backoff(5), Duration::seconds(16));
        assert_eq!(backoff(40), MAX_BACKOFF);
    }
}
