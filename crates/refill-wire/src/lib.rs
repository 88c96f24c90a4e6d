//! The JSON shapes of Refill's HTTP API.
//!
//! The service writes these, the client reads them, the app passes them on to its UI, and
//! `refill-commands` generates their TypeScript declarations (with ts-rs) into the UI's bindings,
//! so one definition serves every side. Field names are camelCase, as in DRS's own JSON.
//!
//! Errors carry a stable [`ErrorCode`] beside a message written for people: the UI and the CLI
//! decide what to do from the code and show the message, and never match on message text.

pub mod sse;

/// Percent-encodes a path segment so that ids can't change the path.
pub fn path_segment(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

use refill_core::{Handover, Money, OrderStatus, Quantity};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use ts_rs::TS;

/// Serde helpers for instants: RFC 3339 text on the wire.
pub use time::serde::rfc3339;

/// A stable, machine-readable error code. Never renamed once released.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// The request was malformed; the message says what to fix.
    BadRequest,
    /// The thing asked for does not exist.
    NotFound,
    /// The order can no longer be cancelled (shipped, or the window closed).
    OrderNotCancellable,
    /// The service failed on its side; nothing the caller sent was wrong.
    Internal,
    /// This service needs the customer to sign in first.
    SignInRequired,
    /// The sign-in presented is not (or no longer) valid: expired, revoked or unknown.
    InvalidToken,
    /// The sign-in presented is valid but not for this: a device's token, or one that only reads
    /// the profile.
    InsufficientScope,
    /// Over a limit (too many requests, or too many event streams open): try again later.
    TooManyRequests,
    /// A slot's settings or stock changed since they were read: the message says what they are
    /// now; nothing was saved.
    SlotChanged,
    /// Signing in did not work (refused, cancelled, timed out, keyring unavailable).
    SignInFailed,
    /// The app could not connect to the service at all: nothing was sent.
    ServiceUnreachable,
    /// The service did not answer in time: the request may or may not have taken effect.
    ServiceTimeout,
    /// The service answered with something the app does not understand.
    ServiceError,
    /// The app's built-in sandbox service could not start.
    SandboxFailed,
    /// Bluetooth is off, missing or not allowed, so no device can be found.
    BluetoothUnavailable,
    /// The device could not be reached, or the connection to it was lost.
    DeviceUnreachable,
    /// The device did not accept its proof of possession, or its username and password.
    DeviceRefused,
    /// The device cannot be set up by this app.
    DeviceUnsupported,
    /// The device could not join the Wi-Fi network: the password is wrong.
    WifiWrongPassword,
    /// The device could not find the Wi-Fi network.
    WifiNotFound,
    /// The device could not join the Wi-Fi network for another reason.
    WifiFailed,
    /// The device is on Wi-Fi but could not be linked to the account.
    DeviceLinkFailed,
    /// No device setup is under way (it was cancelled, or the app restarted).
    NoDeviceSetup,
    /// The app's settings could not be saved or applied; nothing changed.
    SettingsNotSaved,
    /// The order would pass a spending limit the customer set for the device; the message says
    /// which and how much is used.
    OverLimit,
    /// The approval request was answered already, or expired.
    ApprovalClosed,
    /// The price is more than 10 % above what the customer paid last time: the order waits
    /// until they confirm the new price (`?confirmPrice=`); the message says both prices.
    PriceRose,
    /// It clashes with what the service has (a name already taken, a product's unit that a
    /// device's slot depends on); the message says what.
    Conflict,
    /// The service's HTTPS certificate is not vouched for by an authority this computer trusts
    /// (a home server's own): nothing was sent. The message gives its fingerprint, to compare
    /// with the one the service printed before trusting it.
    CertificateUntrusted,
    /// The service presented a different certificate from the one trusted: nothing was sent
    /// (someone may be pretending to be it, or its operator replaced it).
    CertificateChanged,
}

/// The body of every error answer of the Refill API: DRS's `{"message": …}` plus a stable code.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct ErrorBody {
    /// What went wrong, in words for people.
    pub message: String,
    /// What went wrong, for programs.
    pub code: ErrorCode,
}

/// What a replenish (or button press) did. The DRS `detailCode` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, TS)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum DetailCode {
    /// A new order was placed.
    StandardOrderPlaced,
    /// A new test order was placed (test devices: not charged, not shipped).
    TestOrderPlaced,
    /// No order was placed because one for the same item is still open; it is returned instead.
    #[serde(rename = "ORDER_INPROGRESS")]
    OrderInProgress,
    /// No order was placed yet: the customer asked to approve this device's orders first. The
    /// approval request is returned; approved, it places the order.
    ApprovalRequired,
}

/// An amount of money in minor units (cents).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
#[ts(rename = "Money")]
pub struct MoneyView {
    /// The amount in the currency's minor unit.
    pub amount_minor: i64,
    /// ISO 4217 code, such as `USD`.
    pub currency: String,
}

impl From<Money> for MoneyView {
    fn from(m: Money) -> Self {
        Self {
            amount_minor: m.amount_minor,
            currency: m.currency.as_str().to_owned(),
        }
    }
}

/// An amount in a unit: `{ "value": 1000, "unit": "g" }`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, TS)]
#[ts(rename = "Quantity")]
pub struct QuantityView {
    /// How much.
    pub value: f64,
    /// `count`, `g` or `ml`.
    #[ts(type = "\"count\" | \"g\" | \"ml\"")]
    pub unit: refill_core::Unit,
}

impl From<Quantity> for QuantityView {
    fn from(q: Quantity) -> Self {
        Self {
            value: q.value,
            unit: q.unit,
        }
    }
}

/// Where an order is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "lowercase")]
pub enum OrderState {
    /// Accepted; can still be cancelled while `cancellableUntil` is set.
    Placed,
    /// On its way.
    Shipped,
    /// Arrived.
    Delivered,
    /// Cancelled.
    Cancelled,
}

/// What the customer says of an order they buy themselves (where the service does not fulfil
/// orders itself): `POST /v1/orders/{eventInstanceId}/{step}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "lowercase")]
pub enum OrderStep {
    /// They bought it: it is on its way (and can no longer be cancelled).
    Bought,
    /// It arrived: its packs join the home's stock.
    Arrived,
}

impl OrderStep {
    /// The step as its route names it.
    pub fn as_str(self) -> &'static str {
        match self {
            OrderStep::Bought => "bought",
            OrderStep::Arrived => "arrived",
        }
    }
}

impl From<OrderStatus> for OrderState {
    fn from(s: OrderStatus) -> Self {
        match s {
            OrderStatus::Placed => OrderState::Placed,
            OrderStatus::Shipped => OrderState::Shipped,
            OrderStatus::Delivered => OrderState::Delivered,
            OrderStatus::Cancelled => OrderState::Cancelled,
        }
    }
}

/// One order as the customer sees it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct OrderView {
    /// The order's id (DRS `eventInstanceId`).
    pub event_instance_id: String,
    /// What was ordered.
    pub asin: String,
    /// Its title.
    pub title: String,
    /// Where the order is.
    pub status: OrderState,
    /// How many packs.
    pub quantity: u32,
    /// What it costs.
    pub price: MoneyView,
    /// When it was placed.
    #[serde(with = "rfc3339")]
    #[ts(type = "string")]
    pub placed_at: OffsetDateTime,
    /// When it is expected to arrive.
    #[serde(with = "rfc3339")]
    #[ts(type = "string")]
    pub expected_delivery: OffsetDateTime,
    /// Until when it can be cancelled; absent once it no longer can be.
    #[serde(with = "rfc3339::option", default)]
    #[ts(type = "string | null")]
    pub cancellable_until: Option<OffsetDateTime>,
    /// When it shipped (or the customer bought it themselves), once it has.
    #[serde(with = "rfc3339::option", default)]
    #[ts(type = "string | null")]
    pub shipped_at: Option<OffsetDateTime>,
    /// When it arrived, once it has.
    #[serde(with = "rfc3339::option", default)]
    #[ts(type = "string | null")]
    pub delivered_at: Option<OffsetDateTime>,
    /// Where it went, on a service that does not fulfil orders itself; absent where the service
    /// does (the sandbox).
    #[serde(default)]
    pub handover: Option<Box<HandoverView>>,
}

/// Where a customer's orders go, on a service that does not fulfil them itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "lowercase")]
pub enum OrdersGo {
    /// The customer buys them where they like and says so in the app.
    Manual,
    /// POSTed, signed, to the customer's own automation (Home Assistant, n8n, …).
    Webhook,
    /// Mailed to the customer's shopping address.
    Email,
}

impl OrdersGo {
    /// Its name in the API and the database (the hand-over's, [`Handover::as_str`]).
    pub fn as_str(self) -> &'static str {
        Handover::from(self).as_str()
    }

    /// The method named `s`.
    pub fn parse(s: &str) -> Option<Self> {
        Handover::parse(s).and_then(Self::chosen)
    }

    /// Where `handover` sends orders, as a customer's choice: none for the service's own
    /// fulfilment, which no customer chooses.
    pub fn chosen(handover: Handover) -> Option<Self> {
        match handover {
            Handover::Service => None,
            Handover::Manual => Some(OrdersGo::Manual),
            Handover::Webhook => Some(OrdersGo::Webhook),
            Handover::Email => Some(OrdersGo::Email),
        }
    }
}

impl From<OrdersGo> for Handover {
    fn from(go: OrdersGo) -> Self {
        match go {
            OrdersGo::Manual => Handover::Manual,
            OrdersGo::Webhook => Handover::Webhook,
            OrdersGo::Email => Handover::Email,
        }
    }
}

/// How one order was handed over.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct HandoverView {
    /// Where it went.
    pub method: OrdersGo,
    /// To what: the webhook's address or the email address (absent for manual).
    pub to: Option<String>,
    /// When it was handed over; absent while it waits (until it can no longer be cancelled) or
    /// after the last try failed.
    #[serde(with = "rfc3339::option", default)]
    #[ts(type = "string | null")]
    pub sent_at: Option<OffsetDateTime>,
    /// Why it could not be handed over, in words ("Could not send this order to …"), once the
    /// last try failed or the automation said it could not buy it.
    pub problem: Option<String>,
}

/// `GET`/`PUT /v1/account/orders-go`: where the customer's orders go.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct OrdersGoView {
    /// Where they go; absent on a service that fulfils orders itself (the sandbox) unless the
    /// customer chose.
    pub method: Option<OrdersGo>,
    /// Whether the customer chose it (otherwise it is the service's default).
    pub chosen: bool,
    /// What this service offers: manual and webhook, and email where it has a mail server.
    pub offered: Vec<OrdersGo>,
    /// The automation's address, for `webhook`.
    pub webhook_url: Option<String>,
    /// The secret the service signs each order with (`X-Refill-Signature-256`), and the
    /// automation signs its calls back with: only in the answer to the change that made it.
    pub webhook_secret: Option<String>,
    /// The address orders are mailed to, for `email`: the one given, else the account's.
    pub email: Option<String>,
}

/// A change of where the customer's orders go.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct OrdersGoChange {
    /// Where they go from now on.
    pub method: OrdersGo,
    /// The automation's address (`https://…`, or `http://` on a home network), for `webhook`.
    #[serde(default)]
    pub webhook_url: Option<String>,
    /// The address orders are mailed to, for `email` (kept from before, else the account's,
    /// when not given).
    #[serde(default)]
    pub email: Option<String>,
    /// Make a new webhook secret (the old one stops working at once).
    #[serde(default)]
    pub new_secret: bool,
}

/// A virtual Dash button: one recently ordered item that one tap orders again.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct ButtonTile {
    /// The product's ASIN.
    pub asin: String,
    /// Its title.
    pub title: String,
    /// Its picture, if it has one: an absolute URL, or a path on the service that served the
    /// tile (the client resolves paths, so the app always sees an absolute URL).
    pub image_url: Option<String>,
    /// The price of one pack.
    pub price: MoneyView,
    /// What one pack holds.
    pub pack: QuantityView,
    /// When it was last ordered (not counting cancelled orders).
    #[serde(with = "rfc3339::option", default)]
    #[ts(type = "string | null")]
    pub last_ordered_at: Option<OffsetDateTime>,
    /// The order for this item that is still under way, if any.
    pub open_order: Option<OrderView>,
    /// When the supply it refills runs out at its forecast use, counting the packs at home but
    /// not the orders on their way (the soonest of the slots it fills); `null` when no slot
    /// tracks it or its use is not known yet.
    #[serde(with = "rfc3339::option", default)]
    #[ts(type = "string | null")]
    pub runs_out: Option<OffsetDateTime>,
    /// Days from the answer to `runsOut` by the service's clock (which a sandbox may run fast);
    /// at or below 0 when it has probably run out; `null` with `runsOut`.
    #[serde(default)]
    pub days_left: Option<f64>,
    /// A slot it refills reported empty and nothing is at home for it: it has run out (not
    /// only "probably, by its forecast").
    #[serde(default)]
    pub ran_out: bool,
}

/// `GET /v1/buttons`: the customer's virtual Dash buttons, ranked by need.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct ButtonList {
    /// Those that run out within 30 days first, soonest first; then the others, most recently
    /// ordered first; then products tracked at home and never ordered.
    pub tiles: Vec<ButtonTile>,
}

/// `GET /v1/orders`: the customer's orders, newest first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct OrderList {
    /// At most the `limit` asked for (50 by default).
    pub orders: Vec<OrderView>,
}

/// One of the buttons a screened device shows: a product the customer chose for that device.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct ScreenButton {
    /// The product's ASIN.
    pub asin: String,
    /// Its title.
    pub title: String,
    /// Its picture, if it has one: an absolute URL, or a path on the service.
    pub image_url: Option<String>,
    /// The price of one pack now.
    pub price: MoneyView,
    /// What one pack holds.
    pub pack: QuantityView,
    /// The customer's order for this product that is still under way, if any (from this
    /// device or anywhere else: one open order per product).
    pub open_order: Option<OrderView>,
    /// Whether a press asks the customer first instead of ordering at once.
    pub needs_approval: bool,
    /// A press of this button on this device that still waits for the customer's answer.
    #[serde(default)]
    pub pending_approval: Option<ApprovalView>,
}

/// Where an approval request stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub enum ApprovalStatus {
    /// Waiting for the customer.
    Pending,
    /// Approved: the order was placed (or the open one for the product stood for it).
    Approved,
    /// Declined by the customer: nothing was ordered.
    Declined,
    /// Not answered in time: nothing was ordered.
    Expired,
}

/// A press that waits for (or got) the customer's answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct ApprovalView {
    /// Its id.
    pub id: String,
    /// What it would order.
    pub asin: String,
    /// Its title.
    pub title: String,
    /// Packs.
    pub quantity: u32,
    /// What it costs, all packs, at the price when it was pressed.
    pub price: MoneyView,
    /// What the customer paid for a pack last time, when it asks because the price rose more
    /// than 10 % since.
    #[serde(default)]
    pub previous_price: Option<MoneyView>,
    /// The device it was pressed on.
    pub device: DeviceRef,
    /// That device's name.
    pub device_name: String,
    /// Where it stands.
    pub status: ApprovalStatus,
    /// When it was pressed.
    #[serde(with = "rfc3339")]
    #[ts(type = "string")]
    pub created_at: OffsetDateTime,
    /// When it expires unanswered.
    #[serde(with = "rfc3339")]
    #[ts(type = "string")]
    pub expires_at: OffsetDateTime,
    /// When it was answered (or expired).
    #[serde(with = "rfc3339::option", default)]
    #[ts(type = "string | null")]
    pub decided_at: Option<OffsetDateTime>,
    /// The order its approval placed (or the one already open for the product).
    pub order: Option<OrderView>,
}

/// `GET /v1/approvals`: the customer's approval requests, pending first, then the latest.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct ApprovalList {
    /// The requests.
    pub approvals: Vec<ApprovalView>,
}

/// `POST /v1/screen/buttons/{asin}/press`: what a press on a device's screen did.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct ScreenPressResult {
    /// `STANDARD_ORDER_PLACED`, `ORDER_INPROGRESS` (with the open order), or
    /// `APPROVAL_REQUIRED` (with the approval request).
    pub detail_code: DetailCode,
    /// The order placed, or the open one; `null` while approval is required.
    pub event_instance_id: Option<String>,
    /// That order.
    pub order: Option<OrderView>,
    /// The approval request, when approval is required.
    pub approval: Option<ApprovalView>,
}

/// What a screened device may order: the customer's limits, and how much of the month's is
/// used.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct DeviceLimits {
    /// The most one order may cost; `null`: no limit.
    pub per_order: Option<MoneyView>,
    /// The most its orders may cost in a calendar month (UTC); `null`: no limit.
    pub per_month: Option<MoneyView>,
    /// Whether each of its presses waits for the customer's approval.
    pub ask_first: bool,
    /// What its orders this month cost (not counting cancelled ones).
    pub spent_this_month: MoneyView,
}

/// `PUT /v1/devices/{model}/{serial}/limits`: the customer's limits for a device, in the minor
/// units of the customer's currency.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LimitsChange {
    /// The most one order may cost; `null`: no limit.
    pub per_order_minor: Option<i64>,
    /// The most its orders may cost in a calendar month; `null`: no limit.
    pub per_month_minor: Option<i64>,
    /// Whether each press waits for approval.
    pub ask_first: bool,
}

/// `PUT /v1/devices/{model}/{serial}/buttons`: the products a screened device shows, in order
/// (1 to 12 of the catalog's).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ButtonsChange {
    /// ASINs, in the order the screen shows them.
    pub asins: Vec<String>,
}

/// `GET /v1/screen/buttons`: what a screened device shows, in the customer's order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct ScreenButtons {
    /// The device's name, as the customer calls it.
    pub device_name: String,
    /// Its buttons.
    pub buttons: Vec<ScreenButton>,
    /// The newest event when this was read: the event stream from here
    /// (`?after=lastEventId`) tells what changes next, without what came before.
    #[serde(default)]
    pub last_event_id: i64,
}

/// `POST /v1/buttons/{asin}/press`: what the press did.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct PressResult {
    /// `STANDARD_ORDER_PLACED`, or `ORDER_INPROGRESS` when an order for the item was already open.
    pub detail_code: DetailCode,
    /// The id of the order placed, or of the open one.
    pub event_instance_id: String,
    /// That order.
    pub order: OrderView,
}

/// The product chosen for a slot.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct SlotProduct {
    /// Its ASIN.
    pub asin: String,
    /// Its title.
    pub title: String,
}

/// One slot of a registered device: a supply it uses up.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct SlotView {
    /// The slot's id within its model (DRS `slotId`).
    pub slot_id: String,
    /// What it holds, in words ("Coffee beans").
    pub name: String,
    /// The product reordered for it; `null` when none was chosen.
    pub product: Option<SlotProduct>,
}

/// A device registered to the customer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct DeviceView {
    /// Its model id (DRS `device_model`).
    pub model: String,
    /// Its model's name ("Brewmaster 200 coffee maker").
    pub model_name: String,
    /// Its serial.
    pub serial: String,
    /// Its name.
    pub name: String,
    /// Whether it is a test device (its orders are test orders).
    pub is_test: bool,
    /// Not a device: the customer's list of items without one ("At home"), one slot per
    /// item, told of by hand (`POST /v1/items/{slotId}/opened` and `/ran-out`).
    #[serde(default)]
    pub home: bool,
    /// Its slots, in the model's order (none for a screened device).
    pub slots: Vec<SlotView>,
    /// A screened device (linked with the scope `refill:buttons`): it shows `buttons` on its
    /// screen instead of reordering by itself.
    #[serde(default)]
    pub screen: bool,
    /// The products a screened device shows as buttons, in its order.
    #[serde(default)]
    pub buttons: Vec<SlotProduct>,
}

/// `GET /v1/devices`: the customer's registered devices.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct DeviceList {
    /// Most recently registered first.
    pub devices: Vec<DeviceView>,
}

/// `POST /v1/items`: something the customer buys again and again, to track without a device:
/// a product of the catalog (`asin`), or a `name` with the `size` of one pack and its `unit`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NewItem {
    /// A product of the catalog (`GET /v1/products`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub asin: Option<String>,
    /// What it is, without a product ("Dishwasher salt").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub name: Option<String>,
    /// What one pack holds, in `unit`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub size: Option<f64>,
    /// `count`, `g` or `ml`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub unit: Option<String>,
}

/// An item in the customer's "At home" list: where it lives, and its supply.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct ItemView {
    /// The list's model id (`/v1/devices/{model}/{serial}/slots/{slotId}` reads and changes it).
    pub model: String,
    /// The list's serial.
    pub serial: String,
    /// `false` when the product was already in the list: this is that item.
    pub created: bool,
    /// Its supply, settings and forecast.
    pub item: SlotInventory,
}

/// A product of the catalog.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct CatalogProduct {
    /// Its ASIN.
    pub asin: String,
    /// Its title.
    pub title: String,
    /// What one pack holds.
    pub pack: QuantityView,
    /// The price of one pack.
    pub price: MoneyView,
}

/// `GET /v1/products`: the catalog, by title.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct ProductList {
    /// Every product.
    pub products: Vec<CatalogProduct>,
}

/// How a slot's low supply is handled, chosen by the customer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub enum SlotMode {
    /// A low-supply notification (the default).
    Notify,
    /// An order, placed as the device's replenish call would place it ("smart reorder").
    Reorder,
}

/// One level of a slot's history.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct LevelPoint {
    /// When.
    #[serde(with = "rfc3339")]
    #[ts(type = "string")]
    pub at: OffsetDateTime,
    /// What was left, in the slot's unit.
    pub remaining: f64,
}

/// An order of a slot's product, as its chart marks it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct OrderMark {
    /// When it was placed.
    #[serde(with = "rfc3339")]
    #[ts(type = "string")]
    pub placed: OffsetDateTime,
    /// When it was delivered; `null` while it is on its way (or after it was cancelled).
    #[serde(with = "rfc3339::option", default)]
    #[ts(type = "string | null")]
    pub delivered: Option<OffsetDateTime>,
    /// When it is expected, while it is on its way.
    #[serde(with = "rfc3339::option", default)]
    #[ts(type = "string | null")]
    pub expected: Option<OffsetDateTime>,
    /// Where it is now.
    pub status: OrderState,
    /// How many packs.
    pub quantity: u32,
}

/// How a slot's use is forecast, and when it runs out.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct ForecastView {
    /// `smooth`, `erratic`, `intermittent` or `lumpy`; `null` with too little history to say.
    pub demand: Option<String>,
    /// Days of observed use behind it; under 7, the usual use for such a slot counts as much.
    pub history_days: u32,
    /// The use per day it assumes while history is short (a month per fill).
    pub usual_use: f64,
    /// The use per day it expects: the slot's own, leaning on the usual use while it has
    /// under 7 days of history.
    pub rate: f64,
    /// When it most likely runs out (`null`: not in sight).
    #[serde(with = "rfc3339::option", default)]
    #[ts(type = "string | null")]
    pub likely: Option<OffsetDateTime>,
    /// When it runs out: it runs out this early one time in ten (`null`: not in sight).
    #[serde(with = "rfc3339::option", default)]
    #[ts(type = "string | null")]
    pub earliest: Option<OffsetDateTime>,
    /// …and this late one time in ten (`null`: not in sight).
    #[serde(with = "rfc3339::option", default)]
    #[ts(type = "string | null")]
    pub latest: Option<OffsetDateTime>,
    /// When the slot ran empty, while it is empty.
    #[serde(with = "rfc3339::option", default)]
    #[ts(type = "string | null")]
    pub ran_out: Option<OffsetDateTime>,
    /// The last report, if any.
    #[serde(with = "rfc3339::option", default)]
    #[ts(type = "string | null")]
    pub last_report: Option<OffsetDateTime>,
    /// Set while the device is silent (no report for twice its usual interval, or a day): its
    /// last report. The run-out range widens the longer it lasts.
    #[serde(with = "rfc3339::option", default)]
    #[ts(type = "string | null")]
    pub silent_since: Option<OffsetDateTime>,
}

/// `GET /v1/devices/{model}/{serial}/slots/{slotId}`: a slot's supply, settings and forecast.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct SlotInventory {
    /// The slot's id.
    pub slot_id: String,
    /// What it holds, in words.
    pub name: String,
    /// `count`, `g` or `ml`.
    pub unit: String,
    /// What it holds when full.
    pub capacity: f64,
    /// Left in the device; `null` until the device has reported.
    pub remaining: Option<f64>,
    /// On hand in the home, not yet in the device.
    pub on_hand: f64,
    /// What happens when it runs low.
    pub mode: SlotMode,
    /// The customer's own low level of the device; `null`: when the device, the home's packs and
    /// the orders on their way would not last until a new order arrived.
    pub minimum: Option<f64>,
    /// The level a reorder brings the slot and the home's stock up to; `null`: one pack.
    pub target: Option<f64>,
    /// Whether it is low now (the last reports were at or below the threshold).
    pub low: bool,
    /// Recent use per day; `null` until there is a day of history.
    pub daily_use: Option<f64>,
    /// When it runs out at that rate; `null` when not in sight.
    #[serde(with = "rfc3339::option", default)]
    #[ts(type = "string | null")]
    pub runs_out: Option<OffsetDateTime>,
    /// Its levels over the last 14 days, oldest first.
    pub levels: Vec<LevelPoint>,
    /// Its orders placed in those 14 days, and any still on their way, oldest first.
    #[serde(default)]
    pub orders: Vec<OrderMark>,
    /// What its use and run-out forecast rest on.
    pub forecast: ForecastView,
    /// The version of its settings and stock at home: send it back with a change, which is
    /// refused (`409 slot_changed`) if they changed since.
    #[ts(type = "number")]
    pub version: i64,
}

/// `PATCH /v1/devices/{model}/{serial}/slots/{slotId}`: what to change (absent: unchanged;
/// `minimum` or `target` `null`: back to the default).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SlotSettings {
    /// Notify or reorder.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mode: Option<SlotMode>,
    /// The customer's low level.
    #[serde(
        default,
        with = "double_option",
        skip_serializing_if = "Option::is_none"
    )]
    #[ts(optional, type = "number | null")]
    pub minimum: Option<Option<f64>>,
    /// The target level.
    #[serde(
        default,
        with = "double_option",
        skip_serializing_if = "Option::is_none"
    )]
    #[ts(optional, type = "number | null")]
    pub target: Option<Option<f64>>,
    /// The stock on hand in the home, corrected by hand ("bought some elsewhere").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub on_hand: Option<f64>,
    /// The [`SlotInventory::version`] the change was made against; absent: no check.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional, type = "number")]
    pub version: Option<i64>,
    /// The product to reorder for the slot from now on: any product of the catalog
    /// (`GET /v1/products`) measured in the slot's unit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub asin: Option<String>,
}

/// `PATCH /v1/devices/{model}/{serial}`: what to change of a device.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DeviceChange {
    /// Its new name (1 to 60 characters, no line breaks).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub name: Option<String>,
}

/// `DELETE /v1/account`: the account's email address, typed again to confirm.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AccountDeletion {
    /// The account's email address, as the customer typed it.
    pub confirm_email: String,
}

/// `GET /v1/account/export`: everything the service keeps about the customer ("Download my
/// data").
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct AccountExport {
    /// When it was made.
    #[serde(with = "rfc3339")]
    #[ts(type = "string")]
    pub exported_at: OffsetDateTime,
    /// The account's name.
    pub name: String,
    /// The account's email address.
    pub email: String,
    /// The registered devices and the "At home" list, with their slots.
    pub devices: Vec<DeviceView>,
    /// Each slot's supply, settings, forecast and levels of the last 14 days.
    pub slots: Vec<ExportedSlot>,
    /// Every order, newest first.
    pub orders: Vec<OrderView>,
}

/// A slot in an [`AccountExport`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct ExportedSlot {
    /// Its device's model id.
    pub model: String,
    /// Its device's serial.
    pub serial: String,
    /// Its supply and settings.
    pub inventory: SlotInventory,
}

/// `Option<Option<T>>` that tells an absent field (`None`) from `null` (`Some(None)`).
mod double_option {
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    pub fn serialize<S: Serializer, T: Serialize>(
        value: &Option<Option<T>>,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        match value {
            Some(inner) => inner.serialize(s),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>, T: Deserialize<'de>>(
        d: D,
    ) -> Result<Option<Option<T>>, D::Error> {
        Option::<T>::deserialize(d).map(Some)
    }
}

/// Something that happened to the customer's supplies or orders.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct EventView {
    /// Increasing; the stream resumes after the last one seen.
    pub id: i64,
    /// `LowSupply`, `OrderPlaced`, …
    pub kind: String,
    /// When.
    #[serde(with = "rfc3339")]
    #[ts(type = "string")]
    pub at: OffsetDateTime,
    /// The event's details (by kind).
    #[ts(type = "Record<string, unknown>")]
    pub body: serde_json::Value,
    /// The device it concerns, when it concerns one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub device: Option<DeviceRef>,
}

/// A device by its model and serial.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct DeviceRef {
    /// Its model id.
    pub model: String,
    /// Its serial.
    pub serial: String,
}

/// `GET /v1/events?after={id}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct EventList {
    /// Oldest first.
    pub events: Vec<EventView>,
}

/// `GET /health`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct Health {
    /// Always `ok` when the service answers.
    pub status: String,
    /// The service's version.
    pub version: String,
    /// Whether this is a sandbox (simulated devices, seeded data).
    pub sandbox: bool,
}

#[cfg(test)]
mod tests {
    #[test]
    fn path_segments_are_encoded() {
        assert_eq!(super::path_segment("refill.v1.o.AB12"), "refill.v1.o.AB12");
        assert_eq!(super::path_segment("../x y"), "..%2Fx%20y");
    }

    use super::*;
    use time::macros::datetime;

    #[test]
    fn detail_codes_use_drs_spelling() {
        let s = |c: DetailCode| serde_json::to_string(&c).unwrap();
        assert_eq!(
            s(DetailCode::StandardOrderPlaced),
            "\"STANDARD_ORDER_PLACED\""
        );
        assert_eq!(s(DetailCode::TestOrderPlaced), "\"TEST_ORDER_PLACED\"");
        assert_eq!(s(DetailCode::OrderInProgress), "\"ORDER_INPROGRESS\"");
    }

    #[test]
    fn error_codes_are_snake_case() {
        let body = ErrorBody {
            message: "x".into(),
            code: ErrorCode::OrderNotCancellable,
        };
        assert_eq!(
            serde_json::to_string(&body).unwrap(),
            r#"{"message":"x","code":"order_not_cancellable"}"#
        );
    }

    #[test]
    fn orders_serialize_instants_as_rfc3339() {
        let order = OrderView {
            event_instance_id: "refill.v1.o.1".into(),
            asin: "B0RFBEAN01".into(),
            title: "Beans".into(),
            status: OrderState::Placed,
            quantity: 1,
            price: MoneyView {
                amount_minor: 1899,
                currency: "USD".into(),
            },
            placed_at: datetime!(2026-11-22 10:00 UTC),
            expected_delivery: datetime!(2026-11-24 10:00 UTC),
            cancellable_until: None,
            shipped_at: None,
            delivered_at: None,
            handover: None,
        };
        let json = serde_json::to_value(&order).unwrap();
        assert_eq!(json["placedAt"], "2026-11-22T10:00:00Z");
        assert_eq!(json["cancellableUntil"], serde_json::Value::Null);
        assert_eq!(json["status"], "placed");
        let back: OrderView = serde_json::from_value(json).unwrap();
        assert_eq!(back, order);
    }
}
