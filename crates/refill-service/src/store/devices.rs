//! Device registration, as Dash Replenishment does it: an authorization request with
//! `scope=dash:replenish` and `scope_data` naming the device's model and serial. The consent page
//! lets the customer choose a product for each slot of that model; allowing it registers the
//! device to the customer (DRS: "DeviceRegistered on code issuance"), and the device redeems the
//! code with its own PKCE verifier. Its tokens carry the same `scope_data`, so a token names its
//! device.

use crate::store::inventory::record_event;
use crate::store::{from_ms, to_ms};
use crate::Store;
use refill_wire::{DeviceList, DeviceView, SlotProduct, SlotView};
use serde_json::{json, Value};
use sqlx::Row;
use time::OffsetDateTime;

use crate::auth::{BUTTONS_SCOPE, DEVICE_SCOPE};

/// The device an authorization request names in its `scope_data`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceScope {
    /// `device_model`.
    pub model: String,
    /// `serial`.
    pub serial: String,
    /// `is_test_device`.
    pub is_test: bool,
    /// `device_key` and `possession`: the device's own Ed25519 public key and its signature of
    /// the authorization request's PKCE challenge (see [`DeviceScope::proven_key`]).
    pub possession: Option<Possession>,
}

/// A device's claim that it is the device it names: its public key and a signature.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Possession {
    /// Its Ed25519 public key, base64url.
    pub key: String,
    /// Its signature of the PKCE challenge, base64url.
    pub proof: String,
}

impl DeviceScope {
    /// Reads `scope_data`: `{"dash:replenish":{"device_model":…,"serial":…,"is_test_device":…}}`
    /// as DRS clients send it (`{"refill:buttons":{…}}` for a screened device), or the inner
    /// object alone. `is_test_device` may be `true` or
    /// `"true"`. The error says what is wrong, for the app's developer.
    pub fn parse(scope_data: &str) -> Result<Self, String> {
        let value: Value = serde_json::from_str(scope_data)
            .map_err(|_| "scope_data must be a JSON object.".to_owned())?;
        let inner = value
            .get(DEVICE_SCOPE)
            .or_else(|| value.get(BUTTONS_SCOPE))
            .unwrap_or(&value);
        let text = |key: &str| {
            inner
                .get(key)
                .and_then(Value::as_str)
                .map(str::trim)
                .filter(|v| !v.is_empty())
                .map(str::to_owned)
        };
        let model = text("device_model")
            .ok_or("scope_data must name the device_model of the device to register.")?;
        let serial =
            text("serial").ok_or("scope_data must name the serial of the device to register.")?;
        if !refill_core::catalog::is_valid_device_identifier(&serial) {
            return Err(format!(
                "The serial {serial:?} is not valid: use 1 to 64 letters, digits, '-', '+' or '_'."
            ));
        }
        let is_test = match inner.get("is_test_device") {
            None | Some(Value::Null) => false,
            Some(Value::Bool(b)) => *b,
            Some(Value::String(s)) if s == "true" => true,
            Some(Value::String(s)) if s == "false" => false,
            Some(_) => return Err("is_test_device must be true or false.".to_owned()),
        };
        let possession = match (text("device_key"), text("possession")) {
            (Some(key), Some(proof)) => Some(Possession { key, proof }),
            (None, None) => None,
            _ => {
                return Err(
                    "scope_data must name both the device_key and its possession \
                            proof, or neither."
                        .to_owned(),
                )
            }
        };
        Ok(Self {
            model,
            serial,
            is_test,
            possession,
        })
    }

    /// The device's key if its possession proof is a signature of `challenge` (the request's
    /// PKCE challenge) by that key: the device itself started this registration.
    pub fn proven_key(&self, challenge: Option<&str>) -> Option<&str> {
        let possession = self.possession.as_ref()?;
        crate::auth::crypto::possession_proven(&possession.key, challenge?, &possession.proof)
            .then_some(possession.key.as_str())
    }
}

/// A device that another customer holds: it can't be registered until they deregister it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DeviceTaken;

impl DeviceTaken {
    /// What the customer is told.
    pub const MESSAGE: &'static str = "This device is linked to another Refill account. Its \
         owner must remove it from their account first (or reset the device, which removes \
         it); then set it up again.";
}

/// A slot of a model and the products it can be refilled with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SlotChoice {
    /// The slot's id.
    pub slot_id: String,
    /// Its name.
    pub name: String,
    /// Compatible products: (ASIN, title), the default first.
    pub products: Vec<(String, String)>,
}

/// A device model as the consent page shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModelChoices {
    /// The model's name.
    pub name: String,
    /// Its slots.
    pub slots: Vec<SlotChoice>,
}

impl Store {
    /// The model's name and its slots with their compatible products; `None` for an unknown
    /// model.
    pub async fn model_choices(&self, model: &str) -> Result<Option<ModelChoices>, sqlx::Error> {
        let Some(name) =
            sqlx::query_scalar::<_, String>("SELECT name FROM device_models WHERE model_id = $1")
                .bind(model)
                .fetch_optional(self.pool())
                .await?
        else {
            return Ok(None);
        };
        let rows = sqlx::query(
            "SELECT s.slot_id, s.name, p.asin, p.title FROM slots s \
             LEFT JOIN slot_products sp ON sp.model_id = s.model_id AND sp.slot_id = s.slot_id \
             LEFT JOIN products p ON p.asin = sp.asin \
             WHERE s.model_id = $1 ORDER BY s.position, p.asin",
        )
        .bind(model)
        .fetch_all(self.pool())
        .await?;
        let mut slots: Vec<SlotChoice> = Vec::new();
        for row in rows {
            let slot_id: String = row.try_get("slot_id")?;
            if slots.last().is_none_or(|s| s.slot_id != slot_id) {
                slots.push(SlotChoice {
                    slot_id,
                    name: row.try_get("name")?,
                    products: Vec::new(),
                });
            }
            let asin: Option<String> = row.try_get("asin")?;
            let title: Option<String> = row.try_get("title")?;
            if let (Some(asin), Some(title), Some(slot)) = (asin, title, slots.last_mut()) {
                slot.products.push((asin, title));
            }
        }
        Ok(Some(ModelChoices { name, slots }))
    }

    /// Whether `customer` may register `device` with an authorization request whose PKCE
    /// challenge is `challenge`: not while another customer holds it, unless the device itself
    /// proves that it is the device that registration was made with (see [`Self::register_device`]).
    pub async fn may_register(
        &self,
        customer: i64,
        device: &DeviceScope,
        challenge: Option<&str>,
    ) -> Result<Result<(), DeviceTaken>, sqlx::Error> {
        let mut conn = self.pool().acquire().await?;
        let proven = device.proven_key(challenge).zip(challenge);
        Ok(match current_registration(&mut conn, device).await? {
            Some(current) if current.customer_id != customer => {
                if hands_over(&mut conn, &current, device, proven).await? {
                    Ok(())
                } else {
                    Err(DeviceTaken)
                }
            }
            _ => Ok(()),
        })
    }

    /// Registers the device to `customer` with a product per slot (`choices`: slot id → ASIN,
    /// already checked against the model) and, for a screened device, the products its buttons
    /// show (`buttons`, in order, checked against the catalog), and returns its registration's
    /// id. A device that
    /// `customer` holds keeps its registration with the new choices; one that `customer` had
    /// before gets that registration back (with its history); one that is new to `customer`
    /// gets a new registration, which starts empty.
    ///
    /// A device that another customer holds is refused ([`DeviceTaken`]): its owner deregisters
    /// it first, or the device proves possession. A device may name its own Ed25519 key in
    /// `scope_data` with a signature of the request's PKCE `challenge`; a registration made so
    /// keeps the key. Later, the same device (after a factory reset, say, with a new verifier)
    /// signs its new challenge with that key: the previous owner's registration ends as if they
    /// had removed the device (its tokens revoked, their history kept with them), and the new
    /// owner starts empty. A signature is good once: replayed, it is refused.
    pub async fn register_device(
        &self,
        customer: i64,
        client_id: &str,
        (device, challenge): (&DeviceScope, Option<&str>),
        model_name: &str,
        (choices, buttons): (&[(String, Option<String>)], &[String]),
        now: OffsetDateTime,
    ) -> Result<Result<i64, DeviceTaken>, sqlx::Error> {
        let mut tx = self.write().await?;
        // The device's key and the challenge it signed, when its proof checks out.
        let proven = device.proven_key(challenge).zip(challenge);
        let current = current_registration(&mut tx, device).await?;
        let earlier = match current {
            Some(current) if current.customer_id != customer => {
                if !hands_over(&mut tx, &current, device, proven).await? {
                    return Ok(Err(DeviceTaken));
                }
                end_registration(&mut tx, &current.device, now).await?;
                tracing::info!(
                    model = device.model,
                    serial = device.serial,
                    "a device that proved possession changed hands"
                );
                earlier_registration(&mut tx, customer, device).await?
            }
            Some(current) => Some(current.device.id),
            None => earlier_registration(&mut tx, customer, device).await?,
        };
        let (proven, key_challenge) = proven.unzip();
        let id: i64 = match earlier {
            Some(id) => {
                sqlx::query(
                    "UPDATE devices SET is_test = $1, registered_at_ms = $2, \
                         deregistered_at_ms = NULL, client_id = $3, \
                         device_key = COALESCE($4, device_key), \
                         key_challenge = COALESCE($5, key_challenge) WHERE id = $6",
                )
                .bind(i64::from(device.is_test))
                .bind(to_ms(now))
                .bind(client_id)
                .bind(proven)
                .bind(key_challenge)
                .bind(id)
                .execute(&mut *tx)
                .await?;
                id
            }
            None => {
                sqlx::query_scalar(
                    "INSERT INTO devices (customer_id, model_id, serial, name, is_test, \
                         registered_at_ms, client_id, device_key, key_challenge) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id",
                )
                .bind(customer)
                .bind(&device.model)
                .bind(&device.serial)
                .bind(model_name)
                .bind(i64::from(device.is_test))
                .bind(to_ms(now))
                .bind(client_id)
                .bind(proven)
                .bind(key_challenge)
                .fetch_one(&mut *tx)
                .await?
            }
        };
        sqlx::query("DELETE FROM device_slots WHERE device_id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        crate::store::screen::set_buttons(&mut tx, id, buttons).await?;
        for (slot, asin) in choices {
            sqlx::query("INSERT INTO device_slots (device_id, slot_id, asin) VALUES ($1, $2, $3)")
                .bind(id)
                .bind(slot)
                .bind(asin)
                .execute(&mut *tx)
                .await?;
        }
        let slots: Vec<_> = choices
            .iter()
            .map(|(slot, asin)| serde_json::json!({ "slotId": slot, "asin": asin }))
            .collect();
        let body = serde_json::json!({ "model": device.model, "serial": device.serial });
        record_event(&mut tx, customer, Some(id), "DeviceRegistered", &body, now).await?;
        let body = serde_json::json!({ "slots": slots });
        record_event(
            &mut tx,
            customer,
            Some(id),
            "SubscriptionChanged",
            &body,
            now,
        )
        .await?;
        tx.commit().await?;
        self.forget_devices();
        self.events_committed();
        Ok(Ok(id))
    }

    /// The customer's devices with their slots, most recently registered first, and their "At
    /// home" list of items without a device last.
    pub async fn devices(&self, customer: i64) -> Result<DeviceList, sqlx::Error> {
        let rows = sqlx::query(
            "SELECT d.id, d.model_id, m.name AS model_name, d.serial, d.name, d.is_test, \
                    m.home_of, s.slot_id, s.name AS slot_name, p.asin, p.title, \
                    CAST(CASE WHEN EXISTS (SELECT 1 FROM device_buttons b WHERE b.device_id = d.id) \
                        THEN 1 ELSE 0 END AS BIGINT) AS screen \
             FROM devices d JOIN device_models m ON m.model_id = d.model_id \
             LEFT JOIN slots s ON s.model_id = d.model_id \
             LEFT JOIN device_slots ds ON ds.device_id = d.id AND ds.slot_id = s.slot_id \
             LEFT JOIN products p ON p.asin = ds.asin \
             WHERE d.customer_id = $1 AND d.deregistered_at_ms IS NULL \
             ORDER BY CASE WHEN m.home_of IS NULL THEN 0 ELSE 1 END, \
                 COALESCE(d.registered_at_ms, 0) DESC, d.id DESC, s.position",
        )
        .bind(customer)
        .fetch_all(self.pool())
        .await?;
        let mut devices: Vec<(i64, DeviceView)> = Vec::new();
        for row in rows {
            let id: i64 = row.try_get("id")?;
            if devices.last().is_none_or(|(last, _)| *last != id) {
                devices.push((
                    id,
                    DeviceView {
                        model: row.try_get("model_id")?,
                        model_name: row.try_get("model_name")?,
                        serial: row.try_get("serial")?,
                        name: row.try_get("name")?,
                        is_test: crate::store::db::flag(&row, "is_test")?,
                        home: row.try_get::<Option<i64>, _>("home_of")?.is_some(),
                        slots: Vec::new(),
                        screen: crate::store::db::flag(&row, "screen")?,
                        buttons: Vec::new(),
                    },
                ));
            }
            let slot_id: Option<String> = row.try_get("slot_id")?;
            let asin: Option<String> = row.try_get("asin")?;
            let title: Option<String> = row.try_get("title")?;
            if let (Some((_, device)), Some(slot_id)) = (devices.last_mut(), slot_id) {
                device.slots.push(SlotView {
                    slot_id,
                    name: row.try_get("slot_name")?,
                    product: asin
                        .zip(title)
                        .map(|(asin, title)| SlotProduct { asin, title }),
                });
            }
        }
        if devices.iter().any(|(_, d)| d.screen) {
            let buttons = sqlx::query(
                "SELECT b.device_id, p.asin, p.title FROM device_buttons b \
                 JOIN products p ON p.asin = b.asin JOIN devices d ON d.id = b.device_id \
                 WHERE d.customer_id = $1 ORDER BY b.device_id, b.position",
            )
            .bind(customer)
            .fetch_all(self.pool())
            .await?;
            for row in buttons {
                let id: i64 = row.try_get("device_id")?;
                if let Some((_, device)) = devices.iter_mut().find(|(d, _)| *d == id) {
                    device.buttons.push(SlotProduct {
                        asin: row.try_get("asin")?,
                        title: row.try_get("title")?,
                    });
                }
            }
        }
        Ok(DeviceList {
            devices: devices.into_iter().map(|(_, d)| d).collect(),
        })
    }
}

/// A device's current registration, as a DRS call's bearer token names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallingDevice {
    /// Internal id.
    pub id: i64,
    /// Whose device it is.
    pub customer_id: i64,
    /// Model id.
    pub model: String,
    /// Serial.
    pub serial: String,
    /// Registered as a test device: its orders are test orders.
    pub is_test: bool,
}

/// One of the device's slots and the product chosen for it.
pub(crate) struct DeviceSlot {
    pub(crate) asin: Option<String>,
}

impl Store {
    /// Tells customers of their devices that went silent (see
    /// [`refill_core::forecast::silence_limit`]): one `DeviceSilent` event per silence, with the
    /// time of the last report. Returns how many were told.
    pub async fn watch_silence(&self, now: OffsetDateTime) -> Result<u32, sqlx::Error> {
        // Nothing under an hour is silence: only those are looked at closely.
        let quiet = sqlx::query(
            "SELECT d.id, d.customer_id, d.model_id, d.serial, d.name, d.silent_notice_ms, \
                    MAX(i.last_report_ms) AS last_ms \
             FROM devices d JOIN slot_inventory i ON i.device_id = d.id \
             JOIN device_models m ON m.model_id = d.model_id \
             WHERE d.deregistered_at_ms IS NULL AND m.home_of IS NULL \
             GROUP BY d.id, d.customer_id, d.model_id, d.serial, d.name, d.silent_notice_ms \
             HAVING MAX(i.last_report_ms) < $1",
        )
        .bind(to_ms(now - time::Duration::hours(1)))
        .fetch_all(self.pool())
        .await?;
        let mut told = 0;
        for row in quiet {
            let id: i64 = row.try_get("id")?;
            let last: i64 = row.try_get("last_ms")?;
            let noticed: Option<i64> = row.try_get("silent_notice_ms")?;
            if noticed.is_some_and(|n| n >= last) {
                continue;
            }
            let times: Vec<OffsetDateTime> = sqlx::query_scalar::<_, i64>(
                "SELECT at_ms FROM slot_levels WHERE device_id = $1 ORDER BY at_ms DESC LIMIT 100",
            )
            .bind(id)
            .fetch_all(self.pool())
            .await?
            .into_iter()
            .rev()
            .map(from_ms)
            .collect();
            if now - from_ms(last) <= refill_core::forecast::silence_limit(&times) {
                continue;
            }
            let customer: i64 = row.try_get("customer_id")?;
            let body = json!({
                "model": row.try_get::<String, _>("model_id")?,
                "serial": row.try_get::<String, _>("serial")?,
                "name": row.try_get::<String, _>("name")?,
                "since": from_ms(last)
                    .format(&time::format_description::well_known::Rfc3339)
                    .unwrap_or_default(),
            });
            let mut tx = self.write().await?;
            // Once per silence, even with two instances watching.
            let claimed = sqlx::query(
                "UPDATE devices SET silent_notice_ms = $1 WHERE id = $2 \
                   AND (silent_notice_ms IS NULL OR silent_notice_ms < $1)",
            )
            .bind(last)
            .bind(id)
            .execute(&mut *tx)
            .await?;
            if claimed.rows_affected() == 0 {
                continue;
            }
            record_event(&mut tx, customer, Some(id), "DeviceSilent", &body, now).await?;
            tx.commit().await?;
            told += 1;
        }
        if told > 0 {
            self.events_committed();
        }
        Ok(told)
    }

    /// Records when `device` was last active (DRS `deviceStatus`).
    pub async fn device_active(
        &self,
        device: &CallingDevice,
        at: OffsetDateTime,
    ) -> Result<(), sqlx::Error> {
        sqlx::query("UPDATE devices SET last_active_ms = $1 WHERE id = $2")
            .bind(to_ms(at))
            .bind(device.id)
            .execute(self.pool())
            .await?;
        Ok(())
    }

    /// The device `model`/`serial` while it is registered to `customer`.
    pub async fn registered_device(
        &self,
        customer: i64,
        model: &str,
        serial: &str,
    ) -> Result<Option<CallingDevice>, sqlx::Error> {
        let row = sqlx::query(
            "SELECT id, is_test FROM devices \
             WHERE customer_id = $1 AND model_id = $2 AND serial = $3 \
               AND deregistered_at_ms IS NULL",
        )
        .bind(customer)
        .bind(model)
        .bind(serial)
        .fetch_optional(self.pool())
        .await?;
        row.map(|row| {
            Ok(CallingDevice {
                id: row.try_get("id")?,
                customer_id: customer,
                model: model.to_owned(),
                serial: serial.to_owned(),
                is_test: crate::store::db::flag(&row, "is_test")?,
            })
        })
        .transpose()
    }

    /// The slot ids of `model`, in its order.
    pub async fn slot_ids(&self, model: &str) -> Result<Vec<String>, sqlx::Error> {
        sqlx::query_scalar("SELECT slot_id FROM slots WHERE model_id = $1 ORDER BY position")
            .bind(model)
            .fetch_all(self.pool())
            .await
    }

    pub(crate) async fn device_slot(
        &self,
        device: &CallingDevice,
        slot: &str,
    ) -> Result<Option<DeviceSlot>, sqlx::Error> {
        let row = sqlx::query(
            "SELECT ds.asin FROM slots s \
             LEFT JOIN device_slots ds ON ds.device_id = $1 AND ds.slot_id = s.slot_id \
             WHERE s.model_id = $2 AND s.slot_id = $3",
        )
        .bind(device.id)
        .bind(&device.model)
        .bind(slot)
        .fetch_optional(self.pool())
        .await?;
        row.map(|row| {
            Ok(DeviceSlot {
                asin: row.try_get("asin")?,
            })
        })
        .transpose()
    }

    /// Every slot of the device's model with its chosen product (`None`: unsubscribed), in
    /// the model's order.
    pub(crate) async fn subscriptions(
        &self,
        device: &CallingDevice,
    ) -> Result<Vec<(String, Option<(String, f64, String)>)>, sqlx::Error> {
        let rows = sqlx::query(
            "SELECT s.slot_id, p.asin, p.pack_quantity, p.unit FROM slots s \
             LEFT JOIN device_slots ds ON ds.device_id = $1 AND ds.slot_id = s.slot_id \
             LEFT JOIN products p ON p.asin = ds.asin \
             WHERE s.model_id = $2 ORDER BY s.position",
        )
        .bind(device.id)
        .bind(&device.model)
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|row| {
                let asin: Option<String> = row.try_get("asin")?;
                let product = match asin {
                    Some(asin) => Some((asin, row.try_get("pack_quantity")?, row.try_get("unit")?)),
                    None => None,
                };
                Ok((row.try_get("slot_id")?, product))
            })
            .collect()
    }

    /// Deregisters the device: it leaves the customer's devices and every token it holds is
    /// revoked.
    pub async fn deregister_device(
        &self,
        device: &CallingDevice,
        now: OffsetDateTime,
    ) -> Result<(), sqlx::Error> {
        let mut tx = self.write().await?;
        end_registration(&mut tx, device, now).await?;
        tx.commit().await?;
        self.forget_devices();
        self.events_committed();
        Ok(())
    }

    /// Cancels the device's open test orders, for one slot or all; the slots it touched.
    pub(crate) async fn cancel_test_orders(
        &self,
        device: &CallingDevice,
        slot: Option<&str>,
        now: OffsetDateTime,
    ) -> Result<(), sqlx::Error> {
        let mut tx = self.write().await?;
        let cancelled = sqlx::query(&format!(
            "UPDATE orders SET status = 'cancelled', updated_at_ms = $1 \
             WHERE device_id = $2 AND kind = 'test' AND status IN ('placed', 'shipped') \
               AND ($3 IS NULL OR slot_id = $3) \
             RETURNING {}",
            crate::store::manage::CANCELLED
        ))
        .bind(to_ms(now))
        .bind(device.id)
        .bind(slot)
        .fetch_all(&mut *tx)
        .await?;
        for row in &cancelled {
            crate::store::manage::record_cancelled(
                &mut tx,
                device.customer_id,
                row,
                crate::store::manage::CancelledBy::Device,
                now,
            )
            .await?;
        }
        tx.commit().await?;
        self.events_committed();
        Ok(())
    }

    /// The device's order `event_instance_id`, for GetOrderInfo.
    pub(crate) async fn device_order(
        &self,
        device: &CallingDevice,
        event_instance_id: &str,
    ) -> Result<Option<DeviceOrder>, sqlx::Error> {
        let row = sqlx::query(
            "SELECT asin, slot_id, status, quantity, expected_delivery_ms, cancellable_until_ms \
             FROM orders WHERE device_id = $1 AND event_instance_id = $2",
        )
        .bind(device.id)
        .bind(event_instance_id)
        .fetch_optional(self.pool())
        .await?;
        row.map(|row| {
            Ok(DeviceOrder {
                asin: row.try_get("asin")?,
                slot_id: row.try_get("slot_id")?,
                status: row.try_get("status")?,
                quantity: row.try_get("quantity")?,
                expected_delivery: from_ms(row.try_get("expected_delivery_ms")?),
                cancellable_until: from_ms(row.try_get("cancellable_until_ms")?),
            })
        })
        .transpose()
    }
}

/// An order of a device, as GetOrderInfo tells it.
pub(crate) struct DeviceOrder {
    pub(crate) asin: String,
    pub(crate) slot_id: Option<String>,
    pub(crate) status: String,
    pub(crate) quantity: i64,
    pub(crate) expected_delivery: OffsetDateTime,
    pub(crate) cancellable_until: OffsetDateTime,
}

/// The current registration of a device: its holder, and its key if it named one.
struct Current {
    device: CallingDevice,
    customer_id: i64,
    key: Option<String>,
}

async fn current_registration(
    conn: &mut crate::store::db::DbConnection,
    device: &DeviceScope,
) -> Result<Option<Current>, sqlx::Error> {
    let row = sqlx::query(
        "SELECT id, customer_id, is_test, device_key FROM devices \
         WHERE model_id = $1 AND serial = $2 AND deregistered_at_ms IS NULL",
    )
    .bind(&device.model)
    .bind(&device.serial)
    .fetch_optional(&mut *conn)
    .await?;
    let Some(row) = row else {
        return Ok(None);
    };
    let customer_id: i64 = row.try_get("customer_id")?;
    Ok(Some(Current {
        device: CallingDevice {
            id: row.try_get("id")?,
            customer_id,
            model: device.model.clone(),
            serial: device.serial.clone(),
            is_test: crate::store::db::flag(&row, "is_test")?,
        },
        customer_id,
        key: row.try_get("device_key")?,
    }))
}

/// Whether the held registration `current` passes to whoever asks with `device` and `proven`
/// (the key whose signature of the request's challenge checked out, and that challenge): the
/// key is that registration's, and no registration of the device was made with this challenge
/// before (a replayed proof).
async fn hands_over(
    conn: &mut crate::store::db::DbConnection,
    current: &Current,
    device: &DeviceScope,
    proven: Option<(&str, &str)>,
) -> Result<bool, sqlx::Error> {
    let Some((key, challenge)) = proven else {
        return Ok(false);
    };
    if current.key.as_deref() != Some(key) {
        return Ok(false);
    }
    let replayed: Option<i64> = sqlx::query_scalar(
        "SELECT id FROM devices WHERE model_id = $1 AND serial = $2 AND key_challenge = $3",
    )
    .bind(&device.model)
    .bind(&device.serial)
    .bind(challenge)
    .fetch_optional(&mut *conn)
    .await?;
    Ok(replayed.is_none())
}

/// The latest registration `customer` had of `device`, to take up again.
async fn earlier_registration(
    conn: &mut crate::store::db::DbConnection,
    customer: i64,
    device: &DeviceScope,
) -> Result<Option<i64>, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT id FROM devices WHERE customer_id = $1 AND model_id = $2 \
           AND serial = $3 ORDER BY id DESC LIMIT 1",
    )
    .bind(customer)
    .bind(&device.model)
    .bind(&device.serial)
    .fetch_optional(&mut *conn)
    .await
}

/// Ends the registration `device`: it leaves its customer's devices (with its history, which
/// stays theirs), and every token it holds is revoked.
pub(crate) async fn end_registration(
    conn: &mut crate::store::db::DbConnection,
    device: &CallingDevice,
    now: OffsetDateTime,
) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE devices SET deregistered_at_ms = $1 WHERE id = $2")
        .bind(to_ms(now))
        .bind(device.id)
        .execute(&mut *conn)
        .await?;
    let body = json!({ "model": device.model, "serial": device.serial });
    record_event(
        conn,
        device.customer_id,
        Some(device.id),
        "DeviceDeregistered",
        &body,
        now,
    )
    .await?;
    let tokens = sqlx::query(
        "SELECT token_hash, scope_data FROM oauth_tokens \
         WHERE customer_id = $1 AND revoked_at_ms IS NULL AND scope_data IS NOT NULL",
    )
    .bind(device.customer_id)
    .fetch_all(&mut *conn)
    .await?;
    for row in tokens {
        let data: String = row.try_get("scope_data")?;
        let names_device = DeviceScope::parse(&data)
            .is_ok_and(|s| s.model == device.model && s.serial == device.serial);
        if names_device {
            let hash: String = row.try_get("token_hash")?;
            sqlx::query("UPDATE oauth_tokens SET revoked_at_ms = $1 WHERE token_hash = $2")
                .bind(to_ms(now))
                .bind(hash)
                .execute(&mut *conn)
                .await?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scope_data_is_read_in_both_shapes() {
        let drs = r#"{"dash:replenish":{"device_model":"RefillBrew-200","serial":"SN-1","is_test_device":"true"}}"#;
        assert_eq!(
            DeviceScope::parse(drs).unwrap(),
            DeviceScope {
                model: "RefillBrew-200".into(),
                serial: "SN-1".into(),
                is_test: true,
                possession: None,
            }
        );
        let bare = r#"{"device_model":"RefillBrew-200","serial":"SN-1"}"#;
        assert!(!DeviceScope::parse(bare).unwrap().is_test);
        assert!(DeviceScope::parse(r#"{"serial":"SN-1"}"#)
            .unwrap_err()
            .contains("device_model"));
        assert!(DeviceScope::parse(r#"{"device_model":"M","serial":"a b"}"#)
            .unwrap_err()
            .contains("not valid"));
        assert!(
            DeviceScope::parse(r#"{"device_model":"M","serial":"S","is_test_device":3}"#).is_err()
        );
        assert!(DeviceScope::parse("[]").is_err());
        assert!(
            DeviceScope::parse(r#"{"device_model":"M","serial":"S","device_key":"k"}"#)
                .unwrap_err()
                .contains("possession")
        );
    }
}
