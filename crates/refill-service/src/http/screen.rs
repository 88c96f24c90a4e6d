//! The button API for screened devices (`/v1/screen/…`): a fridge's panel or a washer's screen
//! shows the products the customer chose for it and orders one when pressed. Every route takes
//! a [`ScreenDevice`] (a device token with the scope `refill:buttons`); errors are in the
//! Refill dialect (`{"message": …, "code": …}`), written so that the device can show them.
//!
//! | method | path | answer |
//! |---|---|---|
//! | GET | `/v1/screen/buttons` | [`ScreenButtons`]: the device's buttons, each with its open order |
//! | POST | `/v1/screen/buttons/{asin}/press` | [`ScreenPressResult`]: `STANDARD_ORDER_PLACED`, `ORDER_INPROGRESS`, or `APPROVAL_REQUIRED` (the customer asked to approve first); `409 over_limit` past a spending limit; `Idempotency-Key` required, the same key answers the same way |
//! | POST | `/v1/screen/orders/{eventInstanceId}/cancel` | [`OrderView`]: an order pressed on this device, cancelled while it can be |
//! | GET | `/v1/screen/events/stream` | server-sent events of the orders of this device's products (placed, shipped, delivered, cancelled, from anywhere), its approval requests asked and answered, and `ButtonsChanged` when the customer changes what it shows; `Last-Event-ID` to resume |

use super::caller::ScreenDevice;
use super::error::Error;
use super::error::Kind;
use super::AppState;
use crate::store::say::Refused;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::routing::{get, post};
use axum::{Json, Router};
use refill_core::Asin;
use refill_wire::{OrderView, ScreenButtons, ScreenPressResult};

/// The screened devices' routes. A device's screen is a web page of the device's own (served
/// by the device, or a file), so these routes answer pages of any origin (CORS): the token is a
/// bearer token the page sends itself, never a cookie, so no other page can use it.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/v1/screen/buttons", get(buttons).options(preflight))
        .route(
            "/v1/screen/buttons/{asin}/press",
            post(press).options(preflight),
        )
        .route(
            "/v1/screen/orders/{id}/cancel",
            post(cancel).options(preflight),
        )
        .route(
            "/v1/screen/events/stream",
            get(event_stream).options(preflight),
        )
        .layer(axum::middleware::map_response(any_origin))
}

/// A browser's question before a page of another origin calls a screen route with a token.
async fn preflight() -> axum::response::Response {
    use axum::http::{header, HeaderValue};
    use axum::response::IntoResponse;
    (
        axum::http::StatusCode::NO_CONTENT,
        [
            (
                header::ACCESS_CONTROL_ALLOW_METHODS,
                HeaderValue::from_static("GET, POST"),
            ),
            (
                header::ACCESS_CONTROL_ALLOW_HEADERS,
                HeaderValue::from_static(
                    "authorization, content-type, idempotency-key, last-event-id",
                ),
            ),
            (
                header::ACCESS_CONTROL_MAX_AGE,
                HeaderValue::from_static("600"),
            ),
        ],
    )
        .into_response()
}

/// Lets a page of any origin read the answers of the screen routes.
async fn any_origin(mut response: axum::response::Response) -> axum::response::Response {
    response.headers_mut().insert(
        axum::http::header::ACCESS_CONTROL_ALLOW_ORIGIN,
        axum::http::HeaderValue::from_static("*"),
    );
    response
}

/// The most event streams one screened device may have open at once (its page, and the
/// page that replaces it while the first one closes).
pub const MAX_STREAMS: usize = 2;

/// The events a screen follows: an order of one of its products moving on, and its approval
/// requests asked and answered.
const ORDER_EVENTS: &[&str] = &[
    "OrderPlaced",
    "ItemShipped",
    "ItemDelivered",
    "OrderCancelled",
    "ApprovalRequested",
    "ApprovalDecided",
];

async fn event_stream(
    State(state): State<AppState>,
    ScreenDevice(device): ScreenDevice,
    headers: HeaderMap,
    super::Params(query): super::Params<super::refill::EventsQuery>,
) -> Result<axum::response::Response, Error> {
    let after = super::refill::resume_after(&headers, super::refill::EventsQuery::read(query)?)?;
    let open = state
        .inner
        .screen_streams
        .open(device.id, MAX_STREAMS)
        .ok_or_else(|| {
            Error::too_many(
                format!(
                    "This device has {MAX_STREAMS} event streams open already. Close one and \
                     try again."
                ),
                None,
            )
        })?;
    let shown: std::collections::HashSet<String> = state
        .store()
        .button_asins(&device)
        .await?
        .into_iter()
        .collect();
    // The customer may change the buttons while the stream is open: it follows.
    let shown = std::sync::Mutex::new(shown);
    let (model, serial) = (device.model.clone(), device.serial.clone());
    let keep = move |event: &refill_wire::EventView| {
        let this_device = event
            .device
            .as_ref()
            .is_some_and(|d| d.model == model && d.serial == serial);
        let mut shown = shown
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if event.kind == "ButtonsChanged" {
            if this_device {
                *shown = event.body["asins"]
                    .as_array()
                    .map(|asins| {
                        asins
                            .iter()
                            .filter_map(|a| a.as_str().map(str::to_owned))
                            .collect()
                    })
                    .unwrap_or_default();
            }
            return this_device;
        }
        // Approval requests: this device's own only.
        let mine = !event.kind.starts_with("Approval") || this_device;
        mine && ORDER_EVENTS.contains(&event.kind.as_str())
            && event.body["asin"]
                .as_str()
                .is_some_and(|asin| shown.contains(asin))
    };
    let keep = std::sync::Arc::new(keep);
    Ok(super::refill::stream_events(
        &state,
        device.customer_id,
        after,
        open,
        move |event| keep(event),
    ))
}

/// The longest idempotency key taken.
const MAX_KEY: usize = 128;

async fn buttons(
    State(state): State<AppState>,
    ScreenDevice(device): ScreenDevice,
) -> Result<Json<ScreenButtons>, Error> {
    Ok(Json(
        state.store().screen_buttons(&device, state.now()).await?,
    ))
}

/// The press's `Idempotency-Key`: 1 to 128 visible ASCII characters.
fn idempotency_key(headers: &HeaderMap) -> Result<&str, Error> {
    let key = headers
        .get("idempotency-key")
        .ok_or_else(|| {
            Error::bad_request(
                "A press needs an Idempotency-Key header (a new random value for each press, \
                 the same one when the press is retried), so that a retry never orders twice.",
            )
        })?
        .to_str()
        .ok()
        .map(str::trim)
        .filter(|k| !k.is_empty() && k.len() <= MAX_KEY && k.bytes().all(|b| b.is_ascii_graphic()))
        .ok_or_else(|| {
            Error::bad_request(format!(
                "The Idempotency-Key must be 1 to {MAX_KEY} visible ASCII characters."
            ))
        })?;
    Ok(key)
}

async fn press(
    State(state): State<AppState>,
    ScreenDevice(device): ScreenDevice,
    Path(asin): Path<String>,
    headers: HeaderMap,
) -> Result<Json<ScreenPressResult>, Error> {
    let asin = Asin::parse(&asin).map_err(|e| Error::bad_request(format!("{e}.")))?;
    let key = idempotency_key(&headers)?;
    match state
        .store()
        .press_on_screen(&device, asin.as_str(), key, (state.now(), state.policy()))
        .await?
    {
        Ok(result) => {
            tracing::info!(
                device = device.serial,
                asin = asin.as_str(),
                detail = ?result.detail_code,
                "pressed on a device's screen"
            );
            Ok(Json(result))
        }
        Err(Refused::OverLimit(message)) => Err(Error::new(Kind::OverLimit, message)),
        Err(Refused::NotAButton) => Err(Error::not_found(format!(
            "{} is not one of the buttons chosen for this device. The customer chooses them \
             when linking it.",
            asin.as_str()
        ))),
    }
}

async fn cancel(
    State(state): State<AppState>,
    ScreenDevice(device): ScreenDevice,
    Path(id): Path<String>,
) -> Result<Json<OrderView>, Error> {
    Ok(Json(
        state
            .store()
            .cancel_on_screen(&device, &id, state.now())
            .await?,
    ))
}
