//! Alexa-style inventory sensor events: `POST /v3/events`, as devices send them to Alexa's
//! event gateway.
//!
//! * `Alexa.ChangeReport` with `Alexa.InventoryLevelSensor` `level` properties (in
//!   `payload.change.properties`, and unchanged ones in `context.properties`): what is left.
//! * `InventoryConsumed` from `Alexa.InventoryUsageSensor` or `Alexa.InventoryLevelUsageSensor`:
//!   how much was used (`payload.usage`).
//! * `InventoryReplaced` from `Alexa.InventoryLevelUsageSensor`: the consumable was replaced
//!   (`payload.newAbsoluteLevel`, full when left out).
//!
//! Measurements (Count, Percentage, Volume and Weight with Alexa's units) are converted to the
//! slot's unit. A sensor's `instance` is the slot id. The device is named by its bearer token
//! (the `Authorization` header, or `endpoint.scope.token` as the gateway takes it). Success is
//! `202 Accepted`; errors carry `{"message": …, "payload": {"code": …, "description": …}}` with
//! the gateway's codes.

use super::error::{self, Error};
use crate::http::AppState;
use crate::store::devices::CallingDevice;
use crate::store::inventory::{Report, SlotReport};
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::Router;
use refill_core::inventory::Measure;
use serde_json::Value;

/// The sensor event route.
pub fn routes() -> Router<AppState> {
    Router::new().route("/v3/events", post(events))
}

fn invalid(message: impl Into<String>) -> Error {
    Error::bad_request(message)
}

fn invalid_token() -> Error {
    Error::new(
        error::Kind::InvalidToken,
        "The access token is not valid: it has expired, was revoked or is not a device's.",
    )
}

/// One slot reading taken from an event, before conversion.
struct Sensed<'a> {
    instance: &'a str,
    kind: Kind,
    value: Option<&'a Value>,
}

#[derive(Clone, Copy)]
enum Kind {
    Level,
    Consumed,
    Replaced,
}

async fn events(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, Error> {
    // The caller first: a token in the header is checked before the body is read (one in the
    // event's `endpoint.scope`, as the Alexa gateway also takes it, once the body is read).
    let from_header = match crate::http::caller::bearer(&headers) {
        Some(token) => Some(crate::http::caller::device_for_token(&state, token).await?),
        // Credentials of another kind are refused, not ignored.
        None if headers.contains_key(axum::http::header::AUTHORIZATION) => {
            return Err(invalid_token())
        }
        None => None,
    };
    let message: Value = crate::http::json_body(&body)?;
    let event = message
        .get("event")
        .filter(|e| e.is_object())
        .ok_or_else(|| invalid("The message has no event object."))?;
    let header = event
        .get("header")
        .ok_or_else(|| invalid("The event has no header."))?;
    let text = |v: &Value, key: &str| v.get(key).and_then(Value::as_str).map(str::to_owned);
    let namespace =
        text(header, "namespace").ok_or_else(|| invalid("The event header has no namespace."))?;
    let name = text(header, "name").ok_or_else(|| invalid("The event header has no name."))?;
    let payload = event.get("payload").unwrap_or(&Value::Null);

    let mut sensed = Vec::new();
    match (namespace.as_str(), name.as_str()) {
        ("Alexa", "ChangeReport") => {
            let changed = payload
                .pointer("/change/properties")
                .and_then(Value::as_array)
                .ok_or_else(|| invalid("A ChangeReport needs payload.change.properties."))?;
            let unchanged = message
                .pointer("/context/properties")
                .and_then(Value::as_array);
            for property in changed.iter().chain(unchanged.into_iter().flatten()) {
                if property.get("namespace").and_then(Value::as_str)
                    != Some("Alexa.InventoryLevelSensor")
                {
                    continue; // other capabilities of the device
                }
                if property.get("name").and_then(Value::as_str) != Some("level") {
                    return Err(invalid(
                        "An Alexa.InventoryLevelSensor property must be named \"level\".",
                    ));
                }
                let instance = property
                    .get("instance")
                    .and_then(Value::as_str)
                    .ok_or_else(|| invalid("An inventory level property has no instance."))?;
                sensed.push(Sensed {
                    instance,
                    kind: Kind::Level,
                    value: property.get("value"),
                });
            }
            if sensed.is_empty() {
                return Err(invalid(
                    "The ChangeReport has no Alexa.InventoryLevelSensor level property.",
                ));
            }
        }
        ("Alexa.InventoryUsageSensor" | "Alexa.InventoryLevelUsageSensor", "InventoryConsumed") => {
            sensed.push(Sensed {
                instance: header
                    .get("instance")
                    .and_then(Value::as_str)
                    .ok_or_else(|| invalid("An InventoryConsumed event needs header.instance."))?,
                kind: Kind::Consumed,
                value: Some(
                    payload.get("usage").ok_or_else(|| {
                        invalid("An InventoryConsumed event needs payload.usage.")
                    })?,
                ),
            });
        }
        ("Alexa.InventoryLevelUsageSensor", "InventoryReplaced") => {
            sensed.push(Sensed {
                instance: header
                    .get("instance")
                    .and_then(Value::as_str)
                    .ok_or_else(|| invalid("An InventoryReplaced event needs header.instance."))?,
                kind: Kind::Replaced,
                value: payload.get("newAbsoluteLevel"),
            });
        }
        (namespace, name) => {
            return Err(invalid(format!(
                "{namespace} {name} is not an inventory event: send an Alexa ChangeReport with \
                 Alexa.InventoryLevelSensor levels, InventoryConsumed or InventoryReplaced."
            )))
        }
    }

    let device = match from_header {
        Some(device) => device,
        None => {
            let token = event
                .pointer("/endpoint/scope/token")
                .and_then(Value::as_str)
                .ok_or(invalid_token())?;
            crate::http::caller::device_for_token(&state, token).await?
        }
    };

    // Every reading is checked before any is recorded: a bad one records nothing.
    let mut reports = Vec::new();
    for s in &sensed {
        reports.push((s.instance, reading(&state, &device, s).await?));
    }
    for (slot, report) in reports {
        let report = SlotReport {
            slot,
            report,
            on_hand: None,
            slot_status: false,
        };
        state
            .store()
            .report(&device, &report, state.now(), state.policy())
            .await?;
    }
    Ok(StatusCode::ACCEPTED.into_response())
}

/// The reading `s` in its slot's unit.
async fn reading(
    state: &AppState,
    device: &CallingDevice,
    s: &Sensed<'_>,
) -> Result<Report, Error> {
    let Some((unit, capacity)) = state.store().slot_unit(device, s.instance).await? else {
        let slots = state.store().slot_ids(&device.model).await?;
        return Err(invalid(format!(
            "The sensor instance {:?} is not a slot of {}: use one of {}.",
            s.instance,
            device.model,
            slots.join(", ")
        )));
    };
    let Some(value) = s.value else {
        // A replacement without a level: a full new one.
        return Ok(Report::Replaced(capacity));
    };
    let kind = value
        .get("@type")
        .and_then(Value::as_str)
        .ok_or_else(|| invalid(format!("The {} reading has no @type.", s.instance)))?;
    let measure = Measure::parse(kind, value.get("unit").and_then(Value::as_str))
        .map_err(|e| invalid(format!("The {} reading: {e}.", s.instance)))?;
    let amount = value
        .get("value")
        .and_then(Value::as_f64)
        .ok_or_else(|| invalid(format!("The {} reading needs a numeric value.", s.instance)))?;
    if matches!(measure, Measure::Count) && amount.fract() != 0.0 {
        return Err(invalid(format!(
            "The {} reading is a Count, which must be a whole number, not {amount}.",
            s.instance
        )));
    }
    let amount = measure
        .to_slot_unit(amount, unit, capacity)
        .map_err(|e| invalid(format!("The {} reading: {e}.", s.instance)))?;
    Ok(match s.kind {
        Kind::Level => Report::Level(amount),
        Kind::Consumed => Report::Consumed(amount),
        Kind::Replaced => Report::Replaced(amount),
    })
}
