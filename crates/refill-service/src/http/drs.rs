//! The Dash Replenishment Service (DRS) v1 device API, wire-compatible: DRS client code works
//! against Refill by changing only its base URL.
//!
//! | method | path | what |
//! |---|---|---|
//! | POST | `/replenish/{slotId}` | order the slot's product (`STANDARD_ORDER_PLACED`, `TEST_ORDER_PLACED` or `ORDER_INPROGRESS`) |
//! | POST | `/slotStatus/{slotId}` | what is left in the slot |
//! | POST | `/deviceStatus` | the device was active |
//! | GET | `/subscriptionInfo` | which slots have a product (`…Result@1.0` or `@2.0`) |
//! | GET | `/getOrderInfo/{eventInstanceId}` | an order of the device |
//! | DELETE | `/registration`, `/deviceModels/{model}/devices/{serial}/registration` | deregister |
//! | DELETE | `/testOrders/slots/{slotId}` (also `/testOrders/{slotId}`), `/testOrders` | cancel test orders |
//!
//! Every call names its request and result versions in `x-amzn-type-version` and
//! `x-amzn-accept-type` (missing or unknown: `400`); answers echo the result type in
//! `x-amzn-type-version` and carry an `x-amzn-RequestId`. The bearer token identifies the device:
//! it was issued for `scope=dash:replenish` with `scope_data` naming the device's model and
//! serial (see [`crate::store::devices`]). Errors are `{"message": …}`, as DRS gives them; a bad or
//! expired token is `400 {"message":"Invalid token"}` with
//! `x-amzn-ErrorType: InvalidTokenException:…`, which DRS clients refresh on.

use super::error::{Error, Kind};
use crate::http::caller::Device;
use crate::http::AppState;
use crate::store::inventory::{Report, SlotReport};
use crate::store::say::SaidOrder;
use axum::body::Bytes;
use axum::extract::{Path, Request, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use axum::{Json, Router};
use refill_wire::DetailCode;
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;
use time::OffsetDateTime;

/// The prefix of every DRS type version.
pub const TYPE_PREFIX: &str = "com.amazon.dash.replenishment.";

/// The header naming a request's type (and, on answers, the result's type).
pub const TYPE_VERSION: &str = "x-amzn-type-version";
/// The header naming the result type the caller accepts.
pub const ACCEPT_TYPE: &str = "x-amzn-accept-type";
/// The header carrying each answer's request id.
pub const REQUEST_ID: &str = "x-amzn-requestid";
/// The header naming the kind of error (DRS clients refresh their token on `InvalidTokenException`).
pub const ERROR_TYPE: &str = "x-amzn-errortype";

/// The `x-amzn-ErrorType` of a bad or expired token, as DRS sends it.
pub const INVALID_TOKEN_ERROR_TYPE: &str =
    "InvalidTokenException:http://internal.amazon.com/coral/com.amazon.parkeraccioservice/";

/// The `x-amzn-ErrorType` of a call over its device's rate.
pub const THROTTLING_ERROR_TYPE: &str = "ThrottlingException:";

/// One DRS operation: the request versions it accepts and the result versions it can give.
#[derive(Debug, Clone, Copy)]
pub struct Operation {
    /// Its name in the docs.
    pub name: &'static str,
    /// `Drs…Input@v` values for `x-amzn-type-version`, without [`TYPE_PREFIX`].
    pub inputs: &'static [&'static str],
    /// `Drs…Result@v` values for `x-amzn-accept-type`, without [`TYPE_PREFIX`].
    pub results: &'static [&'static str],
}

/// `POST /replenish/{slotId}`.
pub const REPLENISH: Operation = Operation {
    name: "Replenish",
    inputs: &["DrsReplenishInput@1.0"],
    results: &["DrsReplenishResult@1.0"],
};
/// `POST /slotStatus/{slotId}`.
pub const SLOT_STATUS: Operation = Operation {
    name: "SlotStatus",
    inputs: &["DrsSlotStatusInput@1.0"],
    results: &["DrsSlotStatusResult@1.0"],
};
/// `POST /deviceStatus`.
pub const DEVICE_STATUS: Operation = Operation {
    name: "DeviceStatus",
    inputs: &["DrsDeviceStatusInput@1.0"],
    results: &["DrsDeviceStatusResult@1.0"],
};
/// `GET /subscriptionInfo`.
pub const SUBSCRIPTION_INFO: Operation = Operation {
    name: "SubscriptionInfo",
    inputs: &["DrsSubscriptionInfoInput@1.0"],
    results: &[
        "DrsSubscriptionInfoResult@1.0",
        "DrsSubscriptionInfoResult@2.0",
    ],
};
/// `GET /getOrderInfo/{eventInstanceId}`.
pub const ORDER_INFO: Operation = Operation {
    name: "GetOrderInfo",
    inputs: &["DrsOrderInfoInput@1.0"],
    results: &["DrsOrderInfoResult@1.0"],
};
/// `DELETE /registration` (v2) and the v1 path.
pub const DEREGISTER: Operation = Operation {
    name: "Deregistration",
    inputs: &["DrsDeregisterInput@2.0", "DrsDeregisterInput@1.0"],
    results: &["DrsDeregisterResult@1.0"],
};
/// `DELETE /testOrders…`.
pub const CANCEL_TEST_ORDERS: Operation = Operation {
    name: "CancelTestOrder",
    inputs: &["DrsCancelTestOrdersInput@1.0"],
    results: &["DrsCancelTestOrdersResult@1.0"],
};

/// The DRS routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/replenish/{slot}", post(replenish))
        .route("/slotStatus/{slot}", post(slot_status))
        .route("/deviceStatus", post(device_status))
        .route("/subscriptionInfo", get(subscription_info))
        .route("/getOrderInfo/{id}", get(order_info))
        .route("/registration", delete(deregister))
        .route(
            "/deviceModels/{model}/devices/{serial}/registration",
            delete(deregister_v1),
        )
        .route("/testOrders", delete(cancel_all_test_orders))
        .route("/testOrders/slots/{slot}", delete(cancel_test_orders))
        .route("/testOrders/{slot}", delete(cancel_test_orders))
        .layer(middleware::from_fn(request_id))
}

/// Gives every DRS answer an `x-amzn-RequestId`.
async fn request_id(request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    if let Ok(value) = HeaderValue::from_str(&new_request_id()) {
        response
            .headers_mut()
            .insert(HeaderName::from_static(REQUEST_ID), value);
    }
    response
}

fn new_request_id() -> String {
    let bytes: [u8; 16] = rand::random();
    let hex = crate::auth::crypto::hex(&bytes);
    format!(
        "{}-{}-{}-{}-{}",
        &hex[..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..]
    )
}

/// The version headers of a request, checked against `op`: the result type to answer with.
pub fn negotiate(headers: &HeaderMap, op: &Operation) -> Result<&'static str, Error> {
    // Whitespace is dropped (an older doc has a stray space in a value), and so is a repeated
    // header name (a known client sends "x-amzn-accept-type: …" as the value).
    let read = |name: &str| {
        headers.get(name).map(|v| {
            let value = v
                .to_str()
                .unwrap_or_default()
                .replace(char::is_whitespace, "");
            match value.get(..name.len() + 1) {
                Some(head) if head.eq_ignore_ascii_case(&format!("{name}:")) => {
                    value[name.len() + 1..].to_owned()
                }
                _ => value,
            }
        })
    };
    let known = |list: &'static [&'static str], value: &str| {
        list.iter()
            .copied()
            .find(|v| value.strip_prefix(TYPE_PREFIX) == Some(v))
    };
    let expected = |list: &[&str]| {
        list.iter()
            .map(|v| format!("{TYPE_PREFIX}{v}"))
            .collect::<Vec<_>>()
            .join(" or ")
    };
    let input = read(TYPE_VERSION).ok_or_else(|| {
        Error::bad_request(format!(
            "The x-amzn-type-version header is missing: {} needs {}.",
            op.name,
            expected(op.inputs)
        ))
    })?;
    if known(op.inputs, &input).is_none() {
        return Err(Error::bad_request(format!(
            "x-amzn-type-version {input:?} is not a version of {} this service knows: send {}.",
            op.name,
            expected(op.inputs)
        )));
    }
    let accept = read(ACCEPT_TYPE).ok_or_else(|| {
        Error::bad_request(format!(
            "The x-amzn-accept-type header is missing: {} answers {}.",
            op.name,
            expected(op.results)
        ))
    })?;
    known(op.results, &accept).ok_or_else(|| {
        Error::bad_request(format!(
            "x-amzn-accept-type {accept:?} is not a result of {} this service knows: accept {}.",
            op.name,
            expected(op.results)
        ))
    })
}

/// An answer with its result type in `x-amzn-type-version`.
fn answer(result: &str, status: StatusCode, body: Option<Value>) -> Response {
    let mut response = match body {
        Some(body) => (status, Json(body)).into_response(),
        None => status.into_response(),
    };
    if let Ok(value) = HeaderValue::from_str(&format!("{TYPE_PREFIX}{result}")) {
        response
            .headers_mut()
            .insert(HeaderName::from_static(TYPE_VERSION), value);
    }
    response
}

use crate::store::devices::{CallingDevice, DeviceOrder};

/// A body of at most 64 KiB, as JSON (an empty body reads as `{}`) or, as Amazon's endpoints
/// took it and some DRS client libraries send it, form-encoded (`Content-Type:
/// application/x-www-form-urlencoded`): the same fields, every value a string, which
/// [`number`] and [`date`] read.
fn fields(headers: &HeaderMap, body: &Bytes) -> Result<Map<String, Value>, Error> {
    if body.len() <= crate::http::MAX_BODY && body.iter().all(u8::is_ascii_whitespace) {
        return Ok(Map::new());
    }
    if form_encoded(headers) {
        if body.len() > crate::http::MAX_BODY {
            return Err(Error::too_large());
        }
        let pairs: Vec<(String, String)> = serde_urlencoded::from_bytes(body).map_err(|_| {
            Error::bad_request("The form-encoded request body is not properly encoded.")
        })?;
        let mut map = Map::new();
        for (key, value) in pairs {
            if map.insert(key.clone(), Value::String(value)).is_some() {
                return Err(Error::bad_request(format!(
                    "The field {key} is given more than once."
                )));
            }
        }
        return Ok(map);
    }
    match crate::http::json_body::<Value>(body)? {
        Value::Object(map) => Ok(map),
        _ => Err(Error::bad_request(
            "The request body must be a JSON object.".to_owned(),
        )),
    }
}

/// Whether the request says its body is form-encoded.
fn form_encoded(headers: &HeaderMap) -> bool {
    headers
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|v| {
            v.trim()
                .eq_ignore_ascii_case("application/x-www-form-urlencoded")
        })
}

/// A number field (DRS documents integers but sends fractions too; a numeric string is read).
fn number(body: &Map<String, Value>, key: &str, required: bool) -> Result<Option<f64>, Error> {
    let value = match body.get(key) {
        None | Some(Value::Null) if required => {
            return Err(Error::bad_request(format!("{key} is missing.")))
        }
        None | Some(Value::Null) => return Ok(None),
        Some(v) => v,
    };
    let n = match value {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse::<f64>().ok(),
        _ => None,
    };
    match n {
        Some(n) if n.is_finite() && n >= 0.0 => Ok(Some(n)),
        _ => Err(Error::bad_request(format!(
            "{key} must be a number of zero or more, not {value}."
        ))),
    }
}

/// A date field: ISO 8601 date-time, or a date alone (`2017-04-01`, even `2017-04-7`).
fn date(body: &Map<String, Value>, key: &str) -> Result<Option<OffsetDateTime>, Error> {
    match body.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => parse_date(s).map(Some).ok_or_else(|| {
            Error::bad_request(format!(
                "{key} must be an ISO 8601 date such as 2015-12-21T10:00:00Z, not {s:?}."
            ))
        }),
        Some(other) => Err(Error::bad_request(format!(
            "{key} must be an ISO 8601 date such as 2015-12-21T10:00:00Z, not {other}."
        ))),
    }
}

/// Reads an ISO 8601 date-time or a date alone (midnight UTC), leniently as DRS clients send
/// them.
pub fn parse_date(text: &str) -> Option<OffsetDateTime> {
    let text = text.trim();
    if let Ok(t) = OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339) {
        return Some(t);
    }
    let mut parts = text.splitn(3, '-');
    let year: i32 = parts.next()?.parse().ok()?;
    let month: u8 = parts.next()?.parse().ok()?;
    let day: u8 = parts.next()?.parse().ok()?;
    let date =
        time::Date::from_calendar_date(year, time::Month::try_from(month).ok()?, day).ok()?;
    Some(date.midnight().assume_utc())
}

/// What a SlotStatus call says that Refill keeps: what is left in the slot and, when the device
/// knows, what is on hand in the home. The other documented fields are checked, since a client
/// sending them wrong has a bug to hear about, and the forecast comes from Refill's own history.
#[derive(Debug, Clone, PartialEq)]
struct SlotStatus {
    remaining: f64,
    on_hand: Option<f64>,
}

impl SlotStatus {
    fn parse(body: &Map<String, Value>) -> Result<Self, Error> {
        let remaining = number(body, "remainingQuantityInUnit", true)?.unwrap_or_default();
        number(body, "originalQuantityInUnit", false)?;
        date(body, "lastUseDate")?;
        date(body, "expectedReplenishmentDate")?;
        Ok(Self {
            remaining,
            on_hand: number(body, "totalQuantityOnHand", false)?,
        })
    }
}

/// The DRS answer to a replenish call.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct ReplenishResult {
    /// The order placed, or the open one.
    pub event_instance_id: String,
    /// What happened.
    pub detail_code: DetailCode,
}

async fn replenish(
    State(state): State<AppState>,
    Device(device): Device,
    headers: HeaderMap,
    Path(slot): Path<String>,
    body: Bytes,
) -> Result<Response, Error> {
    let result = negotiate(&headers, &REPLENISH)?;
    fields(&headers, &body)?;
    let store = state.store();
    let chosen = store
        .device_slot(&device, &slot)
        .await?
        .ok_or_else(|| Error::not_found(format!("There is no slot {slot} on this device.")))?;
    let asin = chosen.asin.ok_or_else(|| {
        Error::bad_request(format!(
            "Unable to place order - slot : <{slot}> is unsubscribed."
        ))
    })?;
    // Under the customer's say: their limits for this device, "ask me first", a price that
    // rose. A request that waits for them answers `APPROVAL_REQUIRED` with its id (Refill's
    // extension of DRS's codes; a device whose customer set none never sees it).
    let said = store
        .order_for_device(
            &device,
            &crate::store::NewOrder {
                customer: device.customer_id,
                asin: &asin,
                device: Some((device.id, &slot)),
                test: device.is_test,
                quantity: 1,
                pressed_on: None,
            },
            (state.now(), state.policy()),
        )
        .await?;
    let body = match said {
        SaidOrder::Placed(placed) => ReplenishResult {
            event_instance_id: placed.event_instance_id,
            detail_code: placed.detail_code,
        },
        SaidOrder::Asked(approval) => ReplenishResult {
            event_instance_id: approval.id,
            detail_code: DetailCode::ApprovalRequired,
        },
        SaidOrder::Refused(words) => return Err(Error::new(Kind::OverLimit, words)),
    };
    Ok(answer(result, StatusCode::OK, Some(json!(body))))
}

async fn slot_status(
    State(state): State<AppState>,
    Device(device): Device,
    headers: HeaderMap,
    Path(slot): Path<String>,
    body: Bytes,
) -> Result<Response, Error> {
    let result = negotiate(&headers, &SLOT_STATUS)?;
    let status = SlotStatus::parse(&fields(&headers, &body)?)?;
    let report = SlotReport {
        slot: &slot,
        report: Report::Level(status.remaining),
        on_hand: status.on_hand,
        slot_status: true,
    };
    let outcome = state
        .store()
        .report(&device, &report, state.now(), state.policy())
        .await?;
    if outcome.is_none() {
        return Err(Error::not_found(format!(
            "There is no slot {slot} on this device."
        )));
    }
    Ok(answer(result, StatusCode::OK, None))
}

async fn device_status(
    State(state): State<AppState>,
    Device(device): Device,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, Error> {
    let result = negotiate(&headers, &DEVICE_STATUS)?;
    let body = fields(&headers, &body)?;
    let active = date(&body, "mostRecentlyActiveDate")?
        .ok_or_else(|| Error::bad_request("mostRecentlyActiveDate is missing.".to_owned()))?;
    state.store().device_active(&device, active).await?;
    Ok(answer(result, StatusCode::OK, None))
}

async fn subscription_info(
    State(state): State<AppState>,
    Device(device): Device,
    headers: HeaderMap,
) -> Result<Response, Error> {
    let result = negotiate(&headers, &SUBSCRIPTION_INFO)?;
    let slots = state.store().subscriptions(&device).await?;
    let v2 = result.ends_with("@2.0");
    let mut status = BTreeMap::new();
    for (slot, product) in slots {
        let entry = if v2 {
            json!({
                "subscribed": product.is_some(),
                "productInfoList": product
                    .map(|(asin, quantity, unit)| vec![json!({
                        "asin": asin,
                        "quantity": quantity,
                        "unit": unit,
                    })])
                    .unwrap_or_default(),
            })
        } else {
            json!(product.is_some())
        };
        status.insert(slot, entry);
    }
    Ok(answer(
        result,
        StatusCode::OK,
        Some(json!({ "slotsSubscriptionStatus": status })),
    ))
}

/// DRS's order status: `Pending` while it can be cancelled, `Authorized` once it waits for
/// shipment, `Closed` once shipped, `Canceled`.
fn drs_order_status(order: &DeviceOrder, now: OffsetDateTime) -> &'static str {
    match order.status.as_str() {
        "placed" if now < order.cancellable_until => "Pending",
        "placed" => "Authorized",
        "shipped" | "delivered" => "Closed",
        "cancelled" => "Canceled",
        _ => "Unknown",
    }
}

async fn order_info(
    State(state): State<AppState>,
    Device(device): Device,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Response, Error> {
    let result = negotiate(&headers, &ORDER_INFO)?;
    let order = state
        .store()
        .device_order(&device, &id)
        .await?
        .ok_or_else(|| Error::not_found(format!("There is no order {id} of this device.")))?;
    let status = drs_order_status(&order, state.now());
    let delivery = order
        .expected_delivery
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default();
    let body = json!({
        "orderInfoData": {
            "instanceId": id,
            "orderItems": [{
                "asin": order.asin,
                "expectedDeliveryDate": delivery,
                "quantity": order.quantity,
                "slotId": order.slot_id,
                "status": status,
            }],
        }
    });
    Ok(answer(result, StatusCode::OK, Some(body)))
}

async fn deregister(
    State(state): State<AppState>,
    Device(device): Device,
    headers: HeaderMap,
) -> Result<Response, Error> {
    let result = negotiate(&headers, &DEREGISTER)?;
    state
        .store()
        .deregister_device(&device, state.now())
        .await?;
    Ok(answer(result, StatusCode::OK, None))
}

async fn deregister_v1(
    State(state): State<AppState>,
    Device(device): Device,
    headers: HeaderMap,
    Path((model, serial)): Path<(String, String)>,
) -> Result<Response, Error> {
    let result = negotiate(&headers, &DEREGISTER)?;
    if device.model != model || device.serial != serial {
        return Err(Error::bad_request(format!(
            "This token belongs to device {}/{}, not {model}/{serial}.",
            device.model, device.serial
        )));
    }
    state
        .store()
        .deregister_device(&device, state.now())
        .await?;
    Ok(answer(result, StatusCode::OK, None))
}

async fn cancel_test_orders(
    State(state): State<AppState>,
    Device(device): Device,
    headers: HeaderMap,
    Path(slot): Path<String>,
) -> Result<Response, Error> {
    cancel_tests(&state, device, &headers, Some(slot)).await
}

async fn cancel_all_test_orders(
    State(state): State<AppState>,
    Device(device): Device,
    headers: HeaderMap,
) -> Result<Response, Error> {
    cancel_tests(&state, device, &headers, None).await
}

async fn cancel_tests(
    state: &AppState,
    device: CallingDevice,
    headers: &HeaderMap,
    slot: Option<String>,
) -> Result<Response, Error> {
    let result = negotiate(headers, &CANCEL_TEST_ORDERS)?;
    if !device.is_test {
        return Err(Error::bad_request(
            "Test orders can only be cancelled for a device registered as a test device \
             (is_test_device: true)."
                .to_owned(),
        ));
    }
    let slots: Vec<String> = match &slot {
        Some(slot) => {
            if state.store().device_slot(&device, slot).await?.is_none() {
                return Err(Error::not_found(format!(
                    "There is no slot {slot} on this device."
                )));
            }
            vec![slot.clone()]
        }
        None => state
            .store()
            .subscriptions(&device)
            .await?
            .into_iter()
            .map(|(slot, _)| slot)
            .collect(),
    };
    state
        .store()
        .cancel_test_orders(&device, slot.as_deref(), state.now())
        .await?;
    let statuses: Vec<Value> = slots
        .into_iter()
        .map(|slot| json!({ "orderStatus": "NO_ORDER_IN_PROGRESS", "slotId": slot }))
        .collect();
    Ok(answer(
        result,
        StatusCode::OK,
        Some(json!({ "slotOrderStatuses": statuses })),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (k, v) in pairs {
            map.insert(
                HeaderName::from_bytes(k.as_bytes()).unwrap(),
                HeaderValue::from_str(v).unwrap(),
            );
        }
        map
    }

    #[test]
    fn versions_are_checked_and_the_result_type_chosen() {
        let ok = headers(&[
            (
                TYPE_VERSION,
                "com.amazon.dash.replenishment.DrsSubscriptionInfoInput@1.0",
            ),
            (
                ACCEPT_TYPE,
                "com.amazon.dash.replenishment.DrsSubscriptionInfoResult@2.0",
            ),
        ]);
        assert_eq!(
            negotiate(&ok, &SUBSCRIPTION_INFO).unwrap(),
            "DrsSubscriptionInfoResult@2.0"
        );
        // The stray space of the older CancelTestOrder docs is accepted.
        let spaced = headers(&[
            (
                TYPE_VERSION,
                "com.amazon.dash.replenishment. DrsCancelTestOrdersInput@1.0",
            ),
            (
                ACCEPT_TYPE,
                "com.amazon.dash.replenishment.DrsCancelTestOrdersResult@1.0",
            ),
        ]);
        assert!(negotiate(&spaced, &CANCEL_TEST_ORDERS).is_ok());
        // A client that repeats the header's name in its value is understood.
        let repeated = headers(&[
            (
                TYPE_VERSION,
                "com.amazon.dash.replenishment.DrsReplenishInput@1.0",
            ),
            (
                ACCEPT_TYPE,
                "x-amzn-accept-type: com.amazon.dash.replenishment.DrsReplenishResult@1.0",
            ),
        ]);
        assert_eq!(
            negotiate(&repeated, &REPLENISH).unwrap(),
            "DrsReplenishResult@1.0"
        );
        let missing = headers(&[(ACCEPT_TYPE, "x")]);
        let e = negotiate(&missing, &REPLENISH).unwrap_err().to_string();
        assert!(e.contains("x-amzn-type-version header is missing"), "{e}");
        assert!(e.contains("DrsReplenishInput@1.0"), "{e}");
        let wrong = headers(&[
            (
                TYPE_VERSION,
                "com.amazon.dash.replenishment.DrsReplenishInput@9.0",
            ),
            (
                ACCEPT_TYPE,
                "com.amazon.dash.replenishment.DrsReplenishResult@1.0",
            ),
        ]);
        assert!(negotiate(&wrong, &REPLENISH).is_err());
        let no_accept = headers(&[(
            TYPE_VERSION,
            "com.amazon.dash.replenishment.DrsReplenishInput@1.0",
        )]);
        let e = negotiate(&no_accept, &REPLENISH).unwrap_err().to_string();
        assert!(e.contains("x-amzn-accept-type header is missing"), "{e}");
    }

    #[test]
    fn dates_are_read_leniently() {
        let t = parse_date("2015-12-21T10:00:00Z").unwrap();
        assert_eq!((t.year(), t.hour()), (2015, 10));
        let d = parse_date("2017-04-7").unwrap();
        assert_eq!((d.month() as u8, d.day()), (4, 7));
        assert!(parse_date("2017-13-01").is_none());
        assert!(parse_date("yesterday").is_none());
    }

    #[test]
    fn slot_status_bodies_take_fractions_and_name_what_is_wrong() {
        let json = HeaderMap::new();
        let json_body = |b: &'static [u8]| fields(&json, &Bytes::from_static(b));
        let body = json_body(
            br#"{"expectedReplenishmentDate":"2015-12-28T10:00:00Z","remainingQuantityInUnit":3.5,"originalQuantityInUnit":10,"totalQuantityOnHand":20,"lastUseDate":"2015-12-21T10:00:00Z"}"#,
        )
        .unwrap();
        let status = SlotStatus::parse(&body).unwrap();
        assert_eq!(status.remaining, 3.5);
        assert_eq!(status.on_hand, Some(20.0));
        let bad = json_body(br#"{"remainingQuantityInUnit":"lots"}"#).unwrap();
        let e = SlotStatus::parse(&bad).unwrap_err().to_string();
        assert!(e.contains("remainingQuantityInUnit"), "{e}");
        let e = SlotStatus::parse(&Map::new()).unwrap_err().to_string();
        assert!(e.contains("remainingQuantityInUnit is missing"), "{e}");
        assert!(json_body(b"{not json").is_err());
        assert!(json_body(b"[1]").is_err());
        assert!(json_body(b"").unwrap().is_empty());
        let mut form = HeaderMap::new();
        form.insert(
            axum::http::header::CONTENT_TYPE,
            HeaderValue::from_static("application/x-www-form-urlencoded; charset=utf-8"),
        );
        let body = fields(
            &form,
            &Bytes::from_static(b"remainingQuantityInUnit=2.5&lastUseDate=2017-04-01"),
        )
        .unwrap();
        assert_eq!(
            number(&body, "remainingQuantityInUnit", true).unwrap(),
            Some(2.5)
        );
        assert!(date(&body, "lastUseDate").unwrap().is_some());
        assert!(fields(&form, &Bytes::from_static(b"a=1&a=2")).is_err());
    }
}
