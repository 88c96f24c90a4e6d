//! Refill's own API for customers (`/v1/…`, the app and the CLI): buttons, devices, slots,
//! orders and events. Every route takes a [`Customer`]; errors are in the Refill dialect
//! (`{"message": …, "code": …}`, see [`super::error`]).
//!
//! | method | path | answer |
//! |---|---|---|
//! | GET | `/v1/buttons` | [`ButtonList`]: the virtual Dash buttons |
//! | POST | `/v1/buttons/{asin}/press` | [`PressResult`]: `STANDARD_ORDER_PLACED` or `ORDER_INPROGRESS` |
//! | GET | `/v1/devices` | [`DeviceList`]: the customer's registered devices and their slots |
//! | GET | `/v1/orders?limit=` | [`OrderList`]: the customer's orders, newest first |
//! | GET | `/v1/orders/{eventInstanceId}` | [`OrderView`] |
//! | POST | `/v1/orders/{eventInstanceId}/cancel` | [`OrderView`], or `409 order_not_cancellable` |
//! | POST | `/v1/orders/{eventInstanceId}/bought`, `/arrived` | [`OrderView`]: what the customer says of an order they buy themselves (shipped; delivered, its packs at home), or `409 conflict` (cancelled, already arrived, bought twice) |
//! | GET, PUT | `/v1/account/orders-go` | where the customer's orders go: manual or their automation's webhook (the secret in the answer to the change that made it); hosted only |
//! | POST | `/v1/fulfilment/orders/{eventInstanceId}` | the customer's automation (caller: the HMAC signature of the body under the customer's webhook secret, else `401`) says an order shipped, arrived or failed; hosted only |
//! | DELETE | `/v1/devices/{model}/{serial}?cancelOrders=` | `204`: the device is removed from the account, as its own DRS deregistration would; `cancelOrders=true` first cancels its orders that still can be |
//! | PATCH | `/v1/devices/{model}/{serial}` | [`DeviceView`]: renamed ([`DeviceChange`]) |
//! | GET, PATCH | `/v1/devices/{model}/{serial}/slots/{slotId}` | [`SlotInventory`]; [`SlotSettings`] changes it (its product too) |
//! | GET | `/v1/account/export` | [`AccountExport`]: everything kept about the customer |
//! | DELETE | `/v1/account` | `204`: the account deleted ([`AccountDeletion`]: its email typed again); signed-in customers only |
//! | GET | `/v1/products` | [`ProductList`]: the catalog |
//! | POST | `/v1/items` | [`ItemView`]: a product (or a name, size and unit) tracked without a device, `201` when new |
//! | POST | `/v1/items/{slotId}/opened`, `/ran-out` | [`SlotInventory`]: what the customer says of an item |
//! | DELETE | `/v1/items/{slotId}` | `204`: the item is no longer tracked |
//! | GET | `/v1/events?after=` | [`EventList`]: the customer's events after an id, oldest first |
//! | GET | `/v1/events/stream` | the same as server-sent events, `Last-Event-ID` to resume |

use super::caller::{Customer, SignedInCustomer};
use super::error::{Error, Kind};
use super::{json_body, AppState, Params};
use crate::store::inventory::SlotChange;
use crate::store::items::{home_model, ItemNews, NewItem, HOME_SERIAL};
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use axum::{Json, Router};
use refill_core::Asin;
use refill_wire::{
    AccountDeletion, AccountExport, ButtonList, DeviceChange, DeviceList, DeviceView, EventList,
    ItemView, OrderList, OrderStep, OrderView, PressResult, ProductList, SlotInventory, SlotMode,
    SlotSettings,
};
use std::sync::Arc;

/// The customer's routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/v1/buttons", get(buttons))
        .route("/v1/buttons/{asin}/press", post(press))
        .route("/v1/devices", get(devices))
        .route(
            "/v1/devices/{model}/{serial}",
            delete(remove_device).patch(change_device),
        )
        .route("/v1/account", delete(delete_account))
        .route("/v1/account/export", get(export_account))
        .route(
            "/v1/devices/{model}/{serial}/slots/{slot}",
            get(slot_inventory).patch(change_slot),
        )
        .route("/v1/products", get(products))
        .route("/v1/items", post(add_item))
        .route("/v1/items/{slot}", delete(remove_item))
        .route("/v1/items/{slot}/opened", post(item_opened))
        .route("/v1/items/{slot}/ran-out", post(item_ran_out))
        .route("/v1/events", get(events))
        .route("/v1/events/stream", get(event_stream))
        .route("/v1/orders", get(orders))
        .route("/v1/orders/{id}", get(order))
        .route("/v1/orders/{id}/cancel", post(cancel))
        .route("/v1/orders/{id}/bought", post(bought))
        .route("/v1/orders/{id}/arrived", post(arrived))
        .merge(handover_routes())
}

/// Where the customer's orders go, and their automation's calls back: a hosted service's (the
/// app's sandbox fulfils its orders itself).
#[cfg(feature = "hosted")]
fn handover_routes() -> Router<AppState> {
    handover::routes()
}

#[cfg(not(feature = "hosted"))]
fn handover_routes() -> Router<AppState> {
    Router::new()
}

async fn buttons(
    State(state): State<AppState>,
    Customer { id: customer }: Customer,
) -> Result<Json<ButtonList>, Error> {
    let now = state.inner.clock.now();
    let tiles = state.inner.store.buttons(customer, now).await?;
    Ok(Json(ButtonList { tiles }))
}

async fn devices(
    State(state): State<AppState>,
    Customer { id: customer }: Customer,
) -> Result<Json<DeviceList>, Error> {
    Ok(Json(state.inner.store.devices(customer).await?))
}

/// `DELETE /v1/devices/{model}/{serial}`: the customer removes the device from their account (as
/// the device's own DRS deregistration does: its tokens revoked, its maker told), so that
/// someone else can set it up; `?cancelOrders=true` first cancels its orders that still can be.
/// Its other orders, levels and events stay with this customer.
async fn remove_device(
    State(state): State<AppState>,
    Customer { id: customer }: Customer,
    Path((model, serial)): Path<(String, String)>,
    Params(query): Params<RemoveQuery>,
) -> Result<StatusCode, Error> {
    let query = query.ok_or_else(|| {
        Error::bad_request(
            "Removing a device takes one parameter, cancelOrders: true or false.".to_owned(),
        )
    })?;
    let store = state.store();
    let device = store
        .registered_device(customer, &model, &serial)
        .await?
        .ok_or_else(|| Error::not_found(format!("You have no device {model} {serial}.")))?;
    store
        .remove_device(&device, query.cancel_orders, state.now())
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct RemoveQuery {
    #[serde(default)]
    cancel_orders: bool,
}

/// `PATCH /v1/devices/{model}/{serial}`: the customer renames their device.
async fn change_device(
    State(state): State<AppState>,
    Customer { id: customer }: Customer,
    Path((model, serial)): Path<(String, String)>,
    body: axum::body::Bytes,
) -> Result<Json<DeviceView>, Error> {
    let change: DeviceChange = json_body(&body)?;
    let name = change
        .name
        .as_deref()
        .map(str::trim)
        .ok_or_else(|| Error::bad_request("Say what to change: name.".to_owned()))?;
    let max = crate::store::manage::MAX_DEVICE_NAME;
    if name.is_empty() || name.chars().count() > max {
        return Err(Error::bad_request(format!(
            "A device's name has 1 to {max} characters."
        )));
    }
    if name.chars().any(char::is_control) {
        return Err(Error::bad_request(
            "A device's name can't hold line breaks or control characters.".to_owned(),
        ));
    }
    let store = state.store();
    let device = store
        .registered_device(customer, &model, &serial)
        .await?
        .filter(|d| d.model != crate::store::items::home_model(customer))
        .ok_or_else(|| Error::not_found(format!("You have no device {model} {serial}.")))?;
    store.rename_device(&device, name).await?;
    store
        .devices(customer)
        .await?
        .devices
        .into_iter()
        .find(|d| d.model == model && d.serial == serial)
        .map(Json)
        .ok_or_else(|| Error::not_found(format!("You have no device {model} {serial}.")))
}

/// `GET /v1/account/export`: "Download my data", as a JSON file.
async fn export_account(
    State(state): State<AppState>,
    Customer { id: customer }: Customer,
) -> Result<Response, Error> {
    let now = state.now();
    let export: AccountExport = state
        .store()
        .export(customer, now, &state.inner.policy)
        .await?
        .ok_or_else(|| Error::not_found("This account no longer exists.".to_owned()))?;
    let file = format!(
        "attachment; filename=\"refill-data-{:04}-{:02}-{:02}.json\"",
        now.year(),
        u8::from(now.month()),
        now.day()
    );
    Ok((
        [(axum::http::header::CONTENT_DISPOSITION, file)],
        Json(export),
    )
        .into_response())
}

/// `DELETE /v1/account`: the signed-in customer deletes their account, confirmed by typing its
/// email address: every device deregistered, open orders cancelled, tokens revoked, personal
/// data removed.
async fn delete_account(
    State(state): State<AppState>,
    SignedInCustomer { id: customer }: SignedInCustomer,
    body: axum::body::Bytes,
) -> Result<StatusCode, Error> {
    let confirm: AccountDeletion = json_body(&body)?;
    let store = state.store();
    let account = store
        .customer(customer)
        .await?
        .ok_or_else(|| Error::not_found("This account no longer exists.".to_owned()))?;
    if !confirm
        .confirm_email
        .trim()
        .eq_ignore_ascii_case(&account.email)
    {
        return Err(Error::bad_request(format!(
            "That is not this account's email address, so nothing was deleted. Type {} to \
             delete the account.",
            account.email
        )));
    }
    store.delete_customer(customer, state.now()).await?;
    tracing::info!(customer, "account deleted at the customer's request");
    Ok(StatusCode::NO_CONTENT)
}

async fn products(
    State(state): State<AppState>,
    Customer { .. }: Customer,
) -> Result<Json<ProductList>, Error> {
    Ok(Json(ProductList {
        products: state.store().catalog().await?,
    }))
}

/// The longest name an item may have.
const MAX_ITEM_NAME: usize = 80;

/// What `body` asks to track, checked.
fn new_item(body: &refill_wire::NewItem) -> Result<NewItem, Error> {
    match (&body.asin, &body.name, body.size, &body.unit) {
        (Some(asin), None, None, None) => {
            let asin = Asin::parse(asin).map_err(|e| Error::bad_request(format!("{e}.")))?;
            Ok(NewItem::Product(asin.as_str().to_owned()))
        }
        (None, Some(name), Some(size), Some(unit)) => {
            let name = name.trim();
            if name.is_empty() || name.chars().count() > MAX_ITEM_NAME {
                return Err(Error::bad_request(format!(
                    "An item's name has 1 to {MAX_ITEM_NAME} characters."
                )));
            }
            if name.chars().any(char::is_control) {
                return Err(Error::bad_request(
                    "An item's name can't hold line breaks or control characters.".to_owned(),
                ));
            }
            if !size.is_finite() || size <= 0.0 || size > 1_000_000.0 {
                return Err(Error::bad_request(
                    "size is what one pack holds: a number above 0, up to 1 000 000.".to_owned(),
                ));
            }
            let unit = refill_core::Unit::parse(unit).ok_or_else(|| {
                Error::bad_request(format!("unit is count, g or ml, not {unit:?}."))
            })?;
            Ok(NewItem::Described {
                name: name.to_owned(),
                size,
                unit,
            })
        }
        _ => Err(Error::bad_request(
            "Give a product of the catalog (asin), or a name with the size of one pack and its \
             unit (name, size, unit), not both."
                .to_owned(),
        )),
    }
}

/// `POST /v1/items`: tracks an item without a device in the customer's "At home" list.
async fn add_item(
    State(state): State<AppState>,
    Customer { id: customer }: Customer,
    body: axum::body::Bytes,
) -> Result<Response, Error> {
    let item = new_item(&json_body(&body)?)?;
    let store = state.store();
    let now = state.now();
    let added = store.add_item(customer, &item, now).await?;
    let inventory = store
        .slot_inventory(&added.slot, now, &state.inner.policy)
        .await?;
    let status = if added.created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    let view = ItemView {
        model: home_model(customer),
        serial: HOME_SERIAL.to_owned(),
        created: added.created,
        item: inventory,
    };
    Ok((status, Json(view)).into_response())
}

/// `DELETE /v1/items/{slot}`: the customer stops tracking an item. Its history goes with it;
/// its orders stay in the order list.
async fn remove_item(
    State(state): State<AppState>,
    Customer { id: customer }: Customer,
    Path(slot): Path<String>,
) -> Result<StatusCode, Error> {
    let store = state.store();
    let item = store
        .item(customer, &slot)
        .await?
        .ok_or_else(|| Error::not_found(format!("You have no item {slot}.")))?;
    store.remove_item(&item).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn item_opened(
    state: State<AppState>,
    customer: Customer,
    slot: Path<String>,
) -> Result<Json<SlotInventory>, Error> {
    tell_item(state, customer, slot, ItemNews::Opened).await
}

async fn item_ran_out(
    state: State<AppState>,
    customer: Customer,
    slot: Path<String>,
) -> Result<Json<SlotInventory>, Error> {
    tell_item(state, customer, slot, ItemNews::RanOut).await
}

/// What the customer says of their item `slot`, recorded; its supply after.
async fn tell_item(
    State(state): State<AppState>,
    Customer { id: customer }: Customer,
    Path(slot): Path<String>,
    news: ItemNews,
) -> Result<Json<SlotInventory>, Error> {
    let store = state.store();
    let item = store
        .item(customer, &slot)
        .await?
        .ok_or_else(|| Error::not_found(format!("You have no item {slot}.")))?;
    let now = state.now();
    let policy = state.inner.policy;
    store.tell_item(customer, &item, news, now, &policy).await?;
    Ok(Json(store.slot_inventory(&item, now, &policy).await?))
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct PressQuery {
    /// The price of a pack the customer confirmed, in minor units, after a price rise.
    confirm_price: Option<i64>,
}

async fn press(
    State(state): State<AppState>,
    Customer { id: customer }: Customer,
    Path(asin): Path<String>,
    Params(query): Params<PressQuery>,
) -> Result<Json<PressResult>, Error> {
    let asin = Asin::parse(&asin).map_err(|e| Error::bad_request(format!("{e}.")))?;
    let confirmed = query
        .ok_or_else(|| {
            Error::bad_request(
                "A press takes one parameter, confirmPrice: the price of a pack the customer \
                 confirmed, in minor units (a whole number)."
                    .to_owned(),
            )
        })?
        .confirm_price;
    // More than 10 % above what the customer paid last time: asks first, with both prices.
    if let Some(rise) = state.store().price_rise(customer, asin.as_str()).await? {
        if confirmed != Some(rise.now) {
            return Err(Error::new(
                Kind::PriceRose,
                format!(
                    "{} Order it at this price? (Nothing was ordered yet.)",
                    rise.in_words()
                ),
            ));
        }
    }
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
    Params(query): Params<OrdersQuery>,
) -> Result<Json<OrderList>, Error> {
    let limit = query
        .map(|q| q.limit)
        .filter(|l| (1..=500).contains(l))
        .ok_or_else(|| {
            Error::bad_request(
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
) -> Result<Json<OrderView>, Error> {
    let now = state.inner.clock.now();
    state
        .inner
        .store
        .order(customer, &id, now)
        .await?
        .map(Json)
        .ok_or_else(|| Error::not_found(format!("There is no order {id}.")))
}

async fn cancel(
    State(state): State<AppState>,
    Customer { id: customer }: Customer,
    Path(id): Path<String>,
) -> Result<Json<OrderView>, Error> {
    let now = state.inner.clock.now();
    Ok(Json(state.inner.store.cancel(customer, &id, now).await?))
}

async fn bought(
    state: State<AppState>,
    customer: Customer,
    id: Path<String>,
) -> Result<Json<OrderView>, Error> {
    order_step(state, customer, id, OrderStep::Bought).await
}

async fn arrived(
    state: State<AppState>,
    customer: Customer,
    id: Path<String>,
) -> Result<Json<OrderView>, Error> {
    order_step(state, customer, id, OrderStep::Arrived).await
}

/// What the customer says of an order they buy themselves.
async fn order_step(
    State(state): State<AppState>,
    Customer { id: customer }: Customer,
    Path(id): Path<String>,
    step: OrderStep,
) -> Result<Json<OrderView>, Error> {
    let now = state.inner.clock.now();
    let order = state.inner.store.order_step(customer, &id, step, now);
    Ok(Json(order.await?))
}

async fn customer_slot(
    state: &AppState,
    customer: i64,
    (model, serial, slot): &(String, String, String),
) -> Result<crate::store::inventory::CustomerSlot, Error> {
    state
        .inner
        .store
        .customer_slot(customer, model, serial, slot)
        .await?
        .ok_or_else(|| {
            Error::not_found(format!(
                "You have no device {model} {serial} with a slot {slot}."
            ))
        })
}

async fn slot_inventory(
    State(state): State<AppState>,
    Customer { id: customer }: Customer,
    Path(path): Path<(String, String, String)>,
) -> Result<Json<SlotInventory>, Error> {
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
) -> Result<Json<SlotInventory>, Error> {
    let settings: SlotSettings = json_body(&body)?;
    for (name, value) in [
        ("minimum", settings.minimum.flatten()),
        ("target", settings.target.flatten()),
        ("onHand", settings.on_hand),
    ] {
        if value.is_some_and(|v| !v.is_finite() || v < 0.0) {
            return Err(Error::bad_request(format!(
                "{name} must be a number of zero or more."
            )));
        }
    }
    let slot = customer_slot(&state, customer, &path).await?;
    let store = &state.inner.store;
    let asin = settings
        .asin
        .as_deref()
        .map(|a| Asin::parse(a).map_err(|e| Error::bad_request(format!("{e}."))))
        .transpose()?;
    // Checked before anything is saved, so that a refused product saves nothing.
    if let Some(asin) = &asin {
        store.check_slot_product(&slot, asin.as_str()).await?;
    }
    let change = SlotChange {
        reorder: settings.mode.map(|m| m == SlotMode::Reorder),
        minimum: settings.minimum,
        target: settings.target,
        on_hand: settings.on_hand,
    };
    let now = state.now();
    let refused = store
        .change_slot(
            (slot.device_id, &slot.slot_id),
            &change,
            settings.version,
            now,
        )
        .await?;
    if let (Ok(()), Some(asin)) = (&refused, &asin) {
        store.set_slot_product(&slot, asin.as_str()).await?;
    }
    let inventory = store
        .slot_inventory(&slot, now, &state.inner.policy)
        .await?;
    if refused.is_err() {
        return Err(Error::new(Kind::SlotChanged, changed_message(&inventory)));
    }
    Ok(Json(inventory))
}

/// What a refused change is told: the slot's values now.
fn changed_message(now: &SlotInventory) -> String {
    let amount = |v: f64| amount_text(v, &now.unit);
    let low = now
        .minimum
        .map_or("in time for a delivery".to_owned(), |m| {
            format!("at {}", amount(m))
        });
    let target = now
        .target
        .map_or("one pack".to_owned(), |t| format!("up to {}", amount(t)));
    format!(
        "This slot changed since you opened it, so nothing was saved. Now: {} at home, low {low}, \
         reorders {target}, {}. Check the values and save again.",
        amount(now.on_hand),
        if now.mode == SlotMode::Reorder {
            "smart reorder"
        } else {
            "tells you when low"
        }
    )
}

/// `value` in the slot's `unit`, with the decimals the unit needs: "2 564.9 g", "3 pcs".
fn amount_text(value: f64, unit: &str) -> String {
    let (decimals, suffix) = match unit {
        "count" => (0, "pcs"),
        "ml" => (1, "ml"),
        _ => (1, "g"),
    };
    let text = format!("{value:.decimals$}");
    let text = text.strip_suffix(".0").map_or(text.clone(), str::to_owned);
    format!("{text} {suffix}")
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct EventsQuery {
    #[serde(default)]
    after: i64,
}

impl EventsQuery {
    /// `after`, unless it is negative.
    pub(super) fn read(query: Option<Self>) -> Result<i64, Error> {
        query
            .map(|q| q.after)
            .filter(|after| *after >= 0)
            .ok_or_else(|| Error::bad_request(BAD_AFTER.to_owned()))
    }
}

/// What a bad `?after=` is told.
const BAD_AFTER: &str = "The events take one parameter, after: an event id (a number, 0 or more).";

async fn events(
    State(state): State<AppState>,
    Customer { id: customer }: Customer,
    Params(query): Params<EventsQuery>,
) -> Result<Json<EventList>, Error> {
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
pub(super) struct Streams(Arc<std::sync::Mutex<std::collections::HashMap<i64, usize>>>);

/// One open stream of a customer, counted until dropped.
pub(super) struct OpenStream(
    Arc<std::sync::Mutex<std::collections::HashMap<i64, usize>>>,
    i64,
);

impl Streams {
    /// Counts one more stream of `owner` (a customer, or a screened device), unless it has
    /// `max` open already.
    pub(super) fn open(&self, owner: i64, max: usize) -> Option<OpenStream> {
        let mut map = self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let open = map.entry(owner).or_insert(0);
        if *open >= max {
            return None;
        }
        *open += 1;
        Some(OpenStream(self.0.clone(), owner))
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
    Params(query): Params<EventsQuery>,
) -> Result<Response, Error> {
    let after = resume_after(&headers, EventsQuery::read(query)?)?;
    // Held while the stream is open: the stream's place in the customer's count.
    let open = state
        .inner
        .streams
        .open(customer, MAX_STREAMS)
        .ok_or_else(|| {
            Error::too_many(
                format!(
                "You have {MAX_STREAMS} event streams open already. Close one (another copy of \
                 the app?) and try again."
                ),
                None,
            )
        })?;
    Ok(stream_events(&state, customer, after, open, |_| true))
}

/// Where a stream resumes: after `Last-Event-ID` when the client sends it, else `after`.
pub(super) fn resume_after(headers: &HeaderMap, after: i64) -> Result<i64, Error> {
    match headers.get("last-event-id") {
        None => Ok(after),
        Some(last) => last
            .to_str()
            .ok()
            .and_then(|v| v.trim().parse().ok())
            .filter(|after: &i64| *after >= 0)
            .ok_or_else(|| {
                Error::bad_request("Last-Event-ID must be an event id (a number).".to_owned())
            }),
    }
}

/// `customer`'s events after `after` that `keep` keeps, as server-sent events, each with its
/// id, for as long as the client stays (and `open` with it).
pub(super) fn stream_events(
    state: &AppState,
    customer: i64,
    after: i64,
    open: OpenStream,
    keep: impl Fn(&refill_wire::EventView) -> bool + Clone + Send + Sync + 'static,
) -> Response {
    use axum::response::sse::{Event, KeepAlive, Sse};
    let store = state.inner.store.clone();
    let signal = store.event_signal();
    let closing = store.closing();
    let pending = std::collections::VecDeque::new();
    let stream = futures_util::stream::unfold(
        (store, signal, closing, after, pending, open),
        move |(store, mut signal, mut closing, mut after, mut pending, open)| {
            let keep = keep.clone();
            async move {
                loop {
                    if *closing.borrow() {
                        return None; // the service is shutting down
                    }
                    if let Some(event) = pending.pop_front() {
                        let event: refill_wire::EventView = event;
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
                        Ok(events) if !events.is_empty() => {
                            // Past the last one read, even when none of them is kept.
                            after = events.last().map_or(after, |e| e.id);
                            pending.extend(events.into_iter().filter(|e| keep(e)));
                        }
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
            }
        },
    );
    Sse::new(stream)
        .keep_alive(KeepAlive::new().interval(std::time::Duration::from_secs(15)))
        .into_response()
}

/// The routes of [`crate::store::handover`].
#[cfg(feature = "hosted")]
mod handover {
    use super::super::caller::Customer;
    use super::super::error::{Error, Kind};
    use super::super::{json_body, AppState};
    use axum::extract::{Path, State};
    use axum::routing::{get, post};
    use axum::{Json, Router};
    use refill_wire::{OrderView, OrdersGoChange, OrdersGoView};

    pub(super) fn routes() -> Router<AppState> {
        Router::new()
            .route(
                "/v1/account/orders-go",
                get(orders_go).put(change_orders_go),
            )
            .route("/v1/fulfilment/orders/{id}", post(fulfilment_callback))
    }

    /// `GET /v1/account/orders-go`: where the customer's orders go.
    async fn orders_go(
        State(state): State<AppState>,
        Customer { id: customer }: Customer,
    ) -> Result<Json<OrdersGoView>, Error> {
        let offer = state.orders_offer();
        Ok(Json(state.store().orders_go(customer, &offer).await?))
    }

    /// `PUT /v1/account/orders-go`: the customer chooses where their orders go.
    async fn change_orders_go(
        State(state): State<AppState>,
        Customer { id: customer }: Customer,
        body: axum::body::Bytes,
    ) -> Result<Json<OrdersGoView>, Error> {
        let change: OrdersGoChange = json_body(&body)?;
        let offer = state.orders_offer();
        let view = state.store().set_orders_go(customer, &change, &offer);
        Ok(Json(view.await?))
    }

    /// `POST /v1/fulfilment/orders/{eventInstanceId}`: the customer's automation, which was handed
    /// the order, says it shipped, arrived or could not be bought. Its caller is that automation,
    /// known by the signature of the body under the customer's webhook secret, and nothing else.
    async fn fulfilment_callback(
        State(state): State<AppState>,
        Path(id): Path<String>,
        headers: axum::http::HeaderMap,
        body: axum::body::Bytes,
    ) -> Result<Json<OrderView>, Error> {
        let given = headers
            .get(crate::store::webhooks::SIGNATURE_HEADER)
            .and_then(|v| v.to_str().ok());
        let answered = state
            .store()
            .handover_callback(&id, given, &body, state.now(), state.policy())
            .await?;
        answered.map(Json).ok_or_else(|| {
            Error::new(
                Kind::InvalidToken,
                "Sign the body with the webhook secret of the order's customer \
                 (X-Refill-Signature-256: sha256=<hex HMAC-SHA256>), for an order that was handed \
                 to a webhook.",
            )
        })
    }
}
