//! The HTTP API. Routes (all JSON; errors are `{"message": …, "code": …}`):
//!
//! | method | path | answer |
//! |---|---|---|
//! | GET | `/health` | [`Health`] |
//! | GET | `/v1/buttons` | [`ButtonList`]: the virtual Dash buttons |
//! | POST | `/v1/buttons/{asin}/press` | [`PressResult`]: `STANDARD_ORDER_PLACED` or `ORDER_INPROGRESS` |
//! | GET | `/v1/devices` | [`DeviceList`]: the customer's registered devices and their slots |
//! | GET | `/v1/orders?limit=` | [`OrderList`]: the customer's orders, newest first |
//! | GET | `/v1/orders/{eventInstanceId}` | [`OrderView`] |
//! | POST | `/v1/orders/{eventInstanceId}/cancel` | [`OrderView`], or `409 order_not_cancellable` |
//! | GET | `/v1/catalog/images/{name}.svg` | a product picture |
//! | DELETE | `/v1/devices/{model}/{serial}` | `204`: the device is removed from the account |
//! | GET, PATCH | `/v1/devices/{model}/{serial}/slots/{slotId}` | [`SlotInventory`]; [`SlotSettings`] changes it |
//! | GET | `/v1/events?after=` | [`EventList`]: the customer's events after an id, oldest first |
//! | GET | `/v1/events/stream` | the same as server-sent events, `Last-Event-ID` to resume |
//!
//! The authorization server's routes (`/ap/oa`, `/auth/o2/token`, …) are in [`crate::auth`].

use crate::caller::Customer;
use crate::{images, ApiError, Store};
use axum::extract::{Path, Request, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use refill_core::{Asin, OrderPolicy, SharedClock};
use refill_wire::{
    ButtonList, DeviceList, EventList, Health, OrderList, OrderView, PressResult, SlotInventory,
    SlotMode, SlotSettings,
};
use std::sync::Arc;
use std::time::Instant;

/// The largest request body the API reads.
pub const MAX_BODY: usize = 64 * 1024;

/// What a request with a larger body is told.
pub const TOO_LARGE: &str = "The request body is over 64 KiB.";

/// What every handler shares.
#[derive(Clone)]
pub struct AppState {
    inner: Arc<Inner>,
}

struct Inner {
    store: Store,
    policy: OrderPolicy,
    clock: SharedClock,
    sandbox: bool,
    anonymous: bool,
    allow_private_webhooks: bool,
    throttle: crate::auth::guard::Throttle,
    streams: Streams,
    device_rate: Option<crate::serve::RateLimiter>,
    token_rate: Option<crate::serve::RateLimiter>,
}

impl AppState {
    /// The database.
    pub fn store(&self) -> &Store {
        &self.inner.store
    }

    /// The current time, from the service's clock.
    pub fn now(&self) -> time::OffsetDateTime {
        self.inner.clock.now()
    }

    /// When orders arrive and how long they can be cancelled.
    pub fn policy(&self) -> &OrderPolicy {
        &self.inner.policy
    }

    /// Whether this is a sandbox (which also lets new customers sign up).
    pub fn sandbox(&self) -> bool {
        self.inner.sandbox
    }

    /// Whether a request without a sign-in acts for the first customer (a sandbox on loopback,
    /// see [`crate::ServiceConfig::anonymous_allowed`]).
    pub fn anonymous(&self) -> bool {
        self.inner.anonymous
    }

    /// State over `store`, run as `config` says.
    pub fn new(store: Store, config: &crate::ServiceConfig) -> Self {
        Self {
            inner: Arc::new(Inner {
                store,
                policy: config.policy,
                clock: config.clock.clone(),
                sandbox: config.sandbox,
                anonymous: config.anonymous_allowed(),
                allow_private_webhooks: config.allow_private_webhooks,
                throttle: crate::auth::guard::Throttle::default(),
                streams: Streams::default(),
                device_rate: config
                    .limits
                    .device_requests
                    .map(crate::serve::RateLimiter::new),
                token_rate: config
                    .limits
                    .token_requests
                    .map(crate::serve::RateLimiter::new),
            }),
        }
    }

    /// Takes a DRS or sensor call of `device` from its rate: `Err(wait)` when it is over.
    pub fn take_device_request(&self, device: i64) -> Result<(), std::time::Duration> {
        self.inner
            .device_rate
            .as_ref()
            .map_or(Ok(()), |limiter| limiter.take(&device.to_string()))
    }

    /// Takes a token or revocation request from `address` from its rate.
    pub fn take_token_request(&self, address: std::net::IpAddr) -> Result<(), std::time::Duration> {
        self.inner
            .token_rate
            .as_ref()
            .map_or(Ok(()), |limiter| limiter.take(&address.to_string()))
    }

    /// Failed sign-ins per email and address.
    pub fn throttle(&self) -> &crate::auth::guard::Throttle {
        &self.inner.throttle
    }

    /// Whether makers' webhooks may reach private addresses (`--allow-private-webhooks`).
    pub fn private_webhooks_allowed(&self) -> bool {
        self.inner.allow_private_webhooks
    }
}

/// The API's router.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/health", get(health))
        .route("/v1/buttons", get(buttons))
        .route("/v1/buttons/{asin}/press", post(press))
        .route("/v1/devices", get(devices))
        .route(
            "/v1/devices/{model}/{serial}",
            axum::routing::delete(remove_device),
        )
        .route(
            "/v1/devices/{model}/{serial}/slots/{slot}",
            get(slot_inventory).patch(change_slot),
        )
        .route("/v1/events", get(events))
        .route("/v1/events/stream", get(event_stream))
        .route("/v1/orders", get(orders))
        .route("/v1/orders/{id}", get(order))
        .route("/v1/orders/{id}/cancel", post(cancel))
        .route("/v1/catalog/images/{file}", get(image))
        .merge(crate::auth::routes())
        .merge(crate::drs::routes())
        .merge(hosted_routes())
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(middleware::map_response(security_headers))
        .layer(middleware::from_fn(log_request))
        .with_state(state)
}

/// The routes only a hosted service has: makers' webhooks, sensor events, and the API's OpenAPI
/// description.
#[cfg(feature = "hosted")]
fn hosted_routes() -> Router<AppState> {
    Router::new()
        .route("/openapi.yaml", get(openapi))
        .merge(crate::sensors::routes())
        .merge(crate::webhooks::routes())
}

/// The OpenAPI description of the whole HTTP API (`crates/refill-service/openapi.yaml`).
#[cfg(feature = "hosted")]
pub const OPENAPI: &str = include_str!("../openapi.yaml");

#[cfg(feature = "hosted")]
async fn openapi() -> Response {
    ([(header::CONTENT_TYPE, "application/yaml")], OPENAPI).into_response()
}

#[cfg(not(feature = "hosted"))]
fn hosted_routes() -> Router<AppState> {
    Router::new()
}

/// On every answer: no content-type sniffing, and no `Referer` sent from the pages (the sign-in
/// pages' addresses carry the authorization request).
async fn security_headers(mut response: Response) -> Response {
    let headers = response.headers_mut();
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        header::HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        header::HeaderValue::from_static("no-referrer"),
    );
    response
}

async fn log_request(request: Request, next: Next) -> Response {
    let method = request.method().clone();
    let path = request.uri().path().to_owned();
    let started = Instant::now();
    let response = next.run(request).await;
    tracing::info!(
        %method,
        path,
        status = response.status().as_u16(),
        ms = started.elapsed().as_secs_f64() * 1000.0,
        "request"
    );
    response
}

async fn not_found() -> ApiError {
    ApiError::NotFound("There is no such page in the Refill API.".to_owned())
}

async fn method_not_allowed() -> Response {
    let body = refill_wire::ErrorBody {
        message: "This method is not allowed on this path of the Refill API.".to_owned(),
        code: refill_wire::ErrorCode::BadRequest,
    };
    (StatusCode::METHOD_NOT_ALLOWED, Json(body)).into_response()
}

async fn health(State(state): State<AppState>) -> Json<Health> {
    Json(Health {
        status: "ok".to_owned(),
        version: env!("CARGO_PKG_VERSION").to_owned(),
        sandbox: state.inner.sandbox,
    })
}

async fn buttons(
    State(state): State<AppState>,
    Customer { id: customer }: Customer,
) -> Result<Json<ButtonList>, ApiError> {
    let now = state.inner.clock.now();
    let tiles = state.inner.store.buttons(customer, now).await?;
    Ok(Json(ButtonList { tiles }))
}

async fn devices(
    State(state): State<AppState>,
    Customer { id: customer }: Customer,
) -> Result<Json<DeviceList>, ApiError> {
    Ok(Json(state.inner.store.devices(customer).await?))
}

/// `DELETE /v1/devices/{model}/{serial}`: the customer removes the device from their account (as
/// the device's own DRS deregistration does), so that someone else can set it up. Its orders,
/// levels and events stay with this customer.
async fn remove_device(
    State(state): State<AppState>,
    Customer { id: customer }: Customer,
    Path((model, serial)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    let store = state.store();
    let device = store
        .registered_device(customer, &model, &serial)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("You have no device {model} {serial}.")))?;
    store.deregister_device(&device, state.now()).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn press(
    State(state): State<AppState>,
    Customer { id: customer }: Customer,
    Path(asin): Path<String>,
) -> Result<Json<PressResult>, ApiError> {
    let asin = Asin::parse(&asin).map_err(|e| ApiError::BadRequest(format!("{e}.")))?;
    let now = state.inner.clock.now();
    let result = state
        .inner
        .store
        .press(customer, asin.as_str(), now, &state.inner.policy)
        .await?;
    Ok(Json(result))
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct OrdersQuery {
    #[serde(default = "default_limit")]
    limit: u32,
}

fn default_limit() -> u32 {
    50
}

async fn orders(
    State(state): State<AppState>,
    Customer { id: customer }: Customer,
    query: Result<axum::extract::Query<OrdersQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<OrderList>, ApiError> {
    let limit = query
        .ok()
        .map(|q| q.limit)
        .filter(|l| (1..=500).contains(l))
        .ok_or_else(|| {
            ApiError::BadRequest(
                "The order list takes one parameter, limit: a number from 1 to 500.".to_owned(),
            )
        })?;
    let now = state.inner.clock.now();
    let orders = state.inner.store.orders(customer, limit, now).await?;
    Ok(Json(OrderList { orders }))
}

async fn order(
    State(state): State<AppState>,
    Customer { id: customer }: Customer,
    Path(id): Path<String>,
) -> Result<Json<OrderView>, ApiError> {
    let now = state.inner.clock.now();
    state
        .inner
        .store
        .order(customer, &id, now)
        .await?
        .map(Json)
        .ok_or_else(|| ApiError::NotFound(format!("There is no order {id}.")))
}

async fn cancel(
    State(state): State<AppState>,
    Customer { id: customer }: Customer,
    Path(id): Path<String>,
) -> Result<Json<OrderView>, ApiError> {
    let now = state.inner.clock.now();
    Ok(Json(state.inner.store.cancel(customer, &id, now).await?))
}

async fn customer_slot(
    state: &AppState,
    customer: i64,
    (model, serial, slot): &(String, String, String),
) -> Result<crate::inventory::CustomerSlot, ApiError> {
    state
        .inner
        .store
        .customer_slot(customer, model, serial, slot)
        .await?
        .ok_or_else(|| {
            ApiError::NotFound(format!(
                "You have no device {model} {serial} with a slot {slot}."
            ))
        })
}

async fn slot_inventory(
    State(state): State<AppState>,
    Customer { id: customer }: Customer,
    Path(path): Path<(String, String, String)>,
) -> Result<Json<SlotInventory>, ApiError> {
    let slot = customer_slot(&state, customer, &path).await?;
    let store = &state.inner.store;
    Ok(Json(
        store
            .slot_inventory(&slot, state.now(), &state.inner.policy)
            .await?,
    ))
}

async fn change_slot(
    State(state): State<AppState>,
    Customer { id: customer }: Customer,
    Path(path): Path<(String, String, String)>,
    body: axum::body::Bytes,
) -> Result<Json<SlotInventory>, ApiError> {
    let settings: SlotSettings = json_body(&body)?;
    for (name, value) in [
        ("minimum", settings.minimum.flatten()),
        ("target", settings.target.flatten()),
        ("onHand", settings.on_hand),
    ] {
        if value.is_some_and(|v| !v.is_finite() || v < 0.0) {
            return Err(ApiError::BadRequest(format!(
                "{name} must be a number of zero or more."
            )));
        }
    }
    let slot = customer_slot(&state, customer, &path).await?;
    let store = &state.inner.store;
    if settings.mode.is_some() || settings.minimum.is_some() || settings.target.is_some() {
        store
            .set_slot_settings(
                slot.device_id,
                &slot.slot_id,
                settings.mode.map(|m| m == SlotMode::Reorder),
                settings.minimum,
                settings.target,
            )
            .await?;
    }
    if let Some(on_hand) = settings.on_hand {
        store
            .set_on_hand(slot.device_id, &slot.slot_id, on_hand, state.now())
            .await?;
    }
    Ok(Json(
        store
            .slot_inventory(&slot, state.now(), &state.inner.policy)
            .await?,
    ))
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct EventsQuery {
    #[serde(default)]
    after: i64,
}

impl EventsQuery {
    /// `after`, unless it is negative.
    fn read(
        query: Result<axum::extract::Query<Self>, axum::extract::rejection::QueryRejection>,
    ) -> Result<i64, ApiError> {
        query
            .ok()
            .map(|q| q.after)
            .filter(|after| *after >= 0)
            .ok_or_else(|| ApiError::BadRequest(BAD_AFTER.to_owned()))
    }
}

/// What a bad `?after=` is told.
const BAD_AFTER: &str = "The events take one parameter, after: an event id (a number, 0 or more).";

async fn events(
    State(state): State<AppState>,
    Customer { id: customer }: Customer,
    query: Result<axum::extract::Query<EventsQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<EventList>, ApiError> {
    let after = EventsQuery::read(query)?;
    let events = state.inner.store.events_after(customer, after, 500).await?;
    Ok(Json(EventList { events }))
}

/// How long an event stream waits for a wake-up before it looks at the database anyway: a safety
/// net only. Commits on this instance wake streams at once, and on PostgreSQL so do commits of
/// every other instance (NOTIFY, see [`crate::store`]).
const STREAM_RECHECK: std::time::Duration = std::time::Duration::from_secs(30);

/// The most event streams one customer may have open at once.
pub const MAX_STREAMS: usize = 8;

/// Open event streams per customer.
#[derive(Default)]
struct Streams(Arc<std::sync::Mutex<std::collections::HashMap<i64, usize>>>);

/// One open stream of a customer, counted until dropped.
struct OpenStream(
    Arc<std::sync::Mutex<std::collections::HashMap<i64, usize>>>,
    i64,
);

impl Streams {
    fn open(&self, customer: i64) -> Option<OpenStream> {
        let mut map = self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let open = map.entry(customer).or_insert(0);
        if *open >= MAX_STREAMS {
            return None;
        }
        *open += 1;
        Some(OpenStream(self.0.clone(), customer))
    }
}

impl Drop for OpenStream {
    fn drop(&mut self) {
        let mut map = self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(open) = map.get_mut(&self.1) {
            *open -= 1;
            if *open == 0 {
                map.remove(&self.1);
            }
        }
    }
}

/// `GET /v1/events/stream`: the customer's events as server-sent events, each with its id.
/// A client that reconnects with `Last-Event-ID` (or `?after=`) gets every event after it, once.
async fn event_stream(
    State(state): State<AppState>,
    Customer { id: customer }: Customer,
    headers: HeaderMap,
    query: Result<axum::extract::Query<EventsQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, ApiError> {
    use axum::response::sse::{Event, KeepAlive, Sse};
    let mut after = EventsQuery::read(query)?;
    if let Some(last) = headers.get("last-event-id") {
        after = last
            .to_str()
            .ok()
            .and_then(|v| v.trim().parse().ok())
            .filter(|after: &i64| *after >= 0)
            .ok_or_else(|| {
                ApiError::BadRequest("Last-Event-ID must be an event id (a number).".to_owned())
            })?;
    }
    // Held while the stream is open: the stream's place in the customer's count.
    let open = state.inner.streams.open(customer).ok_or_else(|| {
        ApiError::TooMany(format!(
            "You have {MAX_STREAMS} event streams open already. Close one (another copy of the \
             app?) and try again."
        ))
    })?;
    let store = state.inner.store.clone();
    let signal = store.event_signal();
    let closing = store.closing();
    let pending = std::collections::VecDeque::new();
    let stream = futures_util::stream::unfold(
        (store, signal, closing, after, pending, open),
        move |(store, mut signal, mut closing, mut after, mut pending, open)| async move {
            loop {
                if *closing.borrow() {
                    return None; // the service is shutting down
                }
                if let Some(event) = pending.pop_front() {
                    let event: refill_wire::EventView = event;
                    after = event.id;
                    let sse = Event::default()
                        .id(event.id.to_string())
                        .event(event.kind.clone())
                        .json_data(&event)
                        .unwrap_or_default();
                    return Some((
                        Ok::<_, std::convert::Infallible>(sse),
                        (store, signal, closing, after, pending, open),
                    ));
                }
                signal.borrow_and_update();
                match store.events_after(customer, after, 100).await {
                    Ok(events) if !events.is_empty() => pending.extend(events),
                    Ok(_) => {
                        tokio::select! {
                            changed = tokio::time::timeout(STREAM_RECHECK, signal.changed()) => {
                                if let Ok(Err(_)) = changed {
                                    return None; // the service is shutting down
                                }
                            }
                            _ = closing.wait_for(|c| *c) => return None,
                        }
                    }
                    Err(e) => {
                        tracing::warn!("an event stream stopped: {e}");
                        return None;
                    }
                }
            }
        },
    );
    Ok(Sse::new(stream)
        .keep_alive(KeepAlive::new().interval(std::time::Duration::from_secs(15)))
        .into_response())
}

/// A JSON body of at most [`MAX_BODY`] bytes, read as `T`; what is wrong is said in words.
pub fn json_body<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    if body.len() > MAX_BODY {
        return Err(ApiError::TooLarge);
    }
    serde_json::from_slice(body).map_err(|e| {
        ApiError::BadRequest(format!("The request body is not what was expected: {e}."))
    })
}

async fn image(Path(file): Path<String>) -> Result<Response, ApiError> {
    let svg = file
        .strip_suffix(".svg")
        .and_then(images::svg)
        .ok_or_else(|| ApiError::NotFound(format!("There is no picture {file}.")))?;
    Ok((
        [
            (header::CONTENT_TYPE, "image/svg+xml"),
            (header::CACHE_CONTROL, "public, max-age=86400"),
        ],
        svg,
    )
        .into_response())
}
