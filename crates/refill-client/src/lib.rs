//! HTTP client of the Refill service API.
//!
//! Every failure is classified into a [`ClientError`] that says whether the request could have
//! taken effect: [`ClientError::Unreachable`] means nothing reached the service (so nothing was
//! ordered), [`ClientError::NoAnswer`] means it may have.
//!
//! With a signed-in [`Session`], requests carry its bearer token; when the service answers that
//! the token is invalid, the session refreshes it (once, shared with concurrent requests) and the
//! request is sent again.
//!
//! [`Client::event_stream`] follows the customer's events as they happen (server-sent events);
//! an [`EventStream`] that breaks is opened again after the last event it gave, so nothing is
//! missed and nothing comes twice.

pub mod discover;

use refill_auth::{AuthError, Session};
pub use refill_tls::{CertificateProblem, Fingerprint, Trust};
use refill_wire::path_segment;
use refill_wire::{
    AccountDeletion, AccountExport, ApprovalList, ApprovalView, ButtonList, ButtonsChange,
    DeviceChange, DeviceLimits, DeviceList, DeviceView, ErrorBody, ErrorCode, EventList, EventView,
    Health, ItemView, LimitsChange, NewItem, OrderList, OrderStep, OrderView, OrdersGoChange,
    OrdersGoView, PressResult, ProductList, SlotInventory, SlotProduct, SlotSettings,
};
use serde::de::DeserializeOwned;
use std::sync::Arc;
use std::time::Duration;

/// How long to wait for a connection.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);
/// How long to wait for a whole answer.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(15);
/// How long an event stream may stay silent: the service sends a keep-alive every 15 s, so a
/// longer silence means the connection is gone without having been closed.
const STREAM_SILENCE: Duration = Duration::from_secs(45);

/// Why a call to the service failed.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// No connection could be made: the request never reached the service.
    #[error("Can't reach the Refill service at {url}.")]
    Unreachable {
        /// The service's base URL.
        url: String,
    },
    /// The request was sent but no answer came (timeout or dropped connection).
    #[error("The Refill service at {url} did not answer in time.")]
    NoAnswer {
        /// The service's base URL.
        url: String,
    },
    /// The service answered with an error.
    #[error("{}", body.message)]
    Api {
        /// The HTTP status.
        status: u16,
        /// The error it gave.
        body: ErrorBody,
    },
    /// The sign-in could not give a valid token (signed out, refresh refused, provider down).
    #[error("{0}")]
    SignIn(AuthError),
    /// The service's certificate was not accepted: nothing was sent.
    #[error("{0}")]
    Certificate(CertificateProblem),
    /// The service answered with something that is not the Refill API.
    #[error("The service at {url} gave an answer Refill does not understand ({detail}). Is this a Refill service?")]
    Protocol {
        /// The service's base URL.
        url: String,
        /// What was wrong.
        detail: String,
    },
}

impl ClientError {
    /// The stable code of this error.
    pub fn code(&self) -> ErrorCode {
        match self {
            ClientError::Unreachable { .. } => ErrorCode::ServiceUnreachable,
            ClientError::NoAnswer { .. } => ErrorCode::ServiceTimeout,
            ClientError::Api { body, .. } => body.code,
            ClientError::SignIn(
                AuthError::SignedOut | AuthError::SessionEnded | AuthError::Outdated,
            ) => ErrorCode::SignInRequired,
            ClientError::SignIn(AuthError::Unreachable { .. }) => ErrorCode::ServiceUnreachable,
            ClientError::SignIn(_) => ErrorCode::SignInFailed,
            ClientError::Protocol { .. } => ErrorCode::ServiceError,
            ClientError::Certificate(CertificateProblem::Changed { .. }) => {
                ErrorCode::CertificateChanged
            }
            ClientError::Certificate(_) => ErrorCode::CertificateUntrusted,
        }
    }
}

/// A client of one Refill service.
#[derive(Debug, Clone)]
pub struct Client {
    http: reqwest::Client,
    base: String,
    trust: Trust,
    session: Option<Arc<Session>>,
}

impl Client {
    /// A client of the service at `base_url` (such as `http://127.0.0.1:8750`), trusting the
    /// system's certificate authorities.
    pub fn new(base_url: &str) -> Self {
        Self::trusting(base_url, Trust::System)
    }

    /// A client of the service at `base_url` that trusts its certificate as `trust` says (a
    /// home server's own certificate, pinned).
    pub fn trusting(base_url: &str, trust: Trust) -> Self {
        let http = trust
            .client_builder()
            .connect_timeout(CONNECT_TIMEOUT)
            .timeout(REQUEST_TIMEOUT)
            .build()
            .unwrap_or_default();
        Self {
            http,
            base: base_url.trim_end_matches('/').to_owned(),
            trust,
            session: None,
        }
    }

    /// The same client, sending `session`'s token with every request.
    pub fn with_session(mut self, session: Arc<Session>) -> Self {
        self.session = Some(session);
        self
    }

    /// The service's base URL.
    pub fn base_url(&self) -> &str {
        &self.base
    }

    /// `GET /health`.
    pub async fn health(&self) -> Result<Health, ClientError> {
        self.send(|| self.http.get(self.url("/health"))).await
    }

    /// `GET /v1/buttons`: the virtual Dash buttons, with picture paths made absolute URLs.
    pub async fn buttons(&self) -> Result<ButtonList, ClientError> {
        let mut list: ButtonList = self.send(|| self.http.get(self.url("/v1/buttons"))).await?;
        for tile in &mut list.tiles {
            if let Some(path) = tile.image_url.take() {
                tile.image_url = Some(if path.starts_with('/') {
                    self.url(&path)
                } else {
                    path
                });
            }
        }
        Ok(list)
    }

    /// `GET /v1/devices`: the customer's registered devices and their slots.
    pub async fn devices(&self) -> Result<DeviceList, ClientError> {
        self.send(|| self.http.get(self.url("/v1/devices"))).await
    }

    /// `POST /v1/buttons/{asin}/press`: order the item again (or get its open order).
    pub async fn press(&self, asin: &str) -> Result<PressResult, ClientError> {
        self.press_at(asin, None).await
    }

    /// [`Client::press`], with the price of a pack the customer confirmed (minor units) after
    /// the service answered `price_rose`.
    pub async fn press_at(
        &self,
        asin: &str,
        confirm_price: Option<i64>,
    ) -> Result<PressResult, ClientError> {
        let mut path = format!("/v1/buttons/{}/press", path_segment(asin));
        if let Some(price) = confirm_price {
            path.push_str(&format!("?confirmPrice={price}"));
        }
        self.send(|| self.http.post(self.url(&path))).await
    }

    /// `GET /v1/orders/{id}`.
    pub async fn order(&self, event_instance_id: &str) -> Result<OrderView, ClientError> {
        let path = format!("/v1/orders/{}", path_segment(event_instance_id));
        self.send(|| self.http.get(self.url(&path))).await
    }

    /// `POST /v1/orders/{id}/cancel`.
    pub async fn cancel(&self, event_instance_id: &str) -> Result<OrderView, ClientError> {
        self.order_action(event_instance_id, "cancel").await
    }

    /// `POST /v1/orders/{eventInstanceId}/bought` or `/arrived`: what the customer says of an
    /// order they buy themselves.
    pub async fn order_step(
        &self,
        event_instance_id: &str,
        step: OrderStep,
    ) -> Result<OrderView, ClientError> {
        self.order_action(event_instance_id, step.as_str()).await
    }

    /// `POST /v1/orders/{eventInstanceId}/{action}`.
    async fn order_action(
        &self,
        event_instance_id: &str,
        action: &str,
    ) -> Result<OrderView, ClientError> {
        let path = format!("/v1/orders/{}/{action}", path_segment(event_instance_id));
        self.send(|| self.http.post(self.url(&path))).await
    }

    /// `GET /v1/orders?limit=`: the customer's latest orders, newest first.
    pub async fn orders(&self, limit: u32) -> Result<OrderList, ClientError> {
        let path = format!("/v1/orders?limit={limit}");
        self.send(|| self.http.get(self.url(&path))).await
    }

    /// `GET /v1/devices/{model}/{serial}/slots/{slot}`: a slot's supply, settings and forecast.
    pub async fn slot(
        &self,
        model: &str,
        serial: &str,
        slot: &str,
    ) -> Result<SlotInventory, ClientError> {
        let path = slot_path(model, serial, slot);
        self.send(|| self.http.get(self.url(&path))).await
    }

    /// `PATCH /v1/devices/{model}/{serial}/slots/{slot}`: changes a slot's settings.
    pub async fn change_slot(
        &self,
        model: &str,
        serial: &str,
        slot: &str,
        settings: &SlotSettings,
    ) -> Result<SlotInventory, ClientError> {
        let path = slot_path(model, serial, slot);
        self.send(|| self.http.patch(self.url(&path)).json(settings))
            .await
    }

    /// `DELETE /v1/devices/{model}/{serial}`: removes the device from the account as its own
    /// deregistration would (its tokens stop working, its maker is told), so that someone else
    /// can set it up; with `cancel_orders`, its orders that still can be are cancelled first.
    /// Its other orders and history stay.
    pub async fn remove_device(
        &self,
        model: &str,
        serial: &str,
        cancel_orders: bool,
    ) -> Result<(), ClientError> {
        let path = format!(
            "{}?cancelOrders={cancel_orders}",
            device_path(model, serial)
        );
        self.respond(&|| self.http.delete(self.url(&path)))
            .await
            .map(drop)
    }

    /// `GET /v1/devices/{model}/{serial}/limits`: what a screened device may spend, and what
    /// its orders cost this month.
    pub async fn device_limits(
        &self,
        model: &str,
        serial: &str,
    ) -> Result<DeviceLimits, ClientError> {
        let path = format!("{}/limits", device_path(model, serial));
        self.send(|| self.http.get(self.url(&path))).await
    }

    /// `PUT /v1/devices/{model}/{serial}/limits`: sets a screened device's limits.
    pub async fn set_device_limits(
        &self,
        model: &str,
        serial: &str,
        change: &LimitsChange,
    ) -> Result<DeviceLimits, ClientError> {
        let path = format!("{}/limits", device_path(model, serial));
        self.send(|| self.http.put(self.url(&path)).json(change))
            .await
    }

    /// `GET /v1/account/orders-go`: where the customer's orders go, or with `change`,
    /// `PUT`: where orders placed from now on go (a service without this route, such as the
    /// app's embedded sandbox, answers 404).
    pub async fn orders_go(
        &self,
        change: Option<&OrdersGoChange>,
    ) -> Result<OrdersGoView, ClientError> {
        let url = self.url("/v1/account/orders-go");
        self.send(|| match change {
            None => self.http.get(&url),
            Some(change) => self.http.put(&url).json(change),
        })
        .await
    }

    /// `PUT /v1/devices/{model}/{serial}/buttons`: what a screened device shows (and may order).
    pub async fn set_device_buttons(
        &self,
        model: &str,
        serial: &str,
        asins: &[String],
    ) -> Result<Vec<SlotProduct>, ClientError> {
        let path = format!("{}/buttons", device_path(model, serial));
        let change = ButtonsChange {
            asins: asins.to_vec(),
        };
        self.send(|| self.http.put(self.url(&path)).json(&change))
            .await
    }

    /// `GET /v1/approvals`: the presses waiting for the customer's answer (oldest first), then
    /// the latest answered ones.
    pub async fn approvals(&self) -> Result<ApprovalList, ClientError> {
        self.send(|| self.http.get(self.url("/v1/approvals"))).await
    }

    /// `POST /v1/approvals/{id}/approve` (or `/decline`): the customer's answer to a press.
    pub async fn decide_approval(
        &self,
        id: &str,
        approve: bool,
    ) -> Result<ApprovalView, ClientError> {
        let path = format!(
            "/v1/approvals/{}/{}",
            path_segment(id),
            if approve { "approve" } else { "decline" }
        );
        self.send(|| self.http.post(self.url(&path))).await
    }

    /// `PATCH /v1/devices/{model}/{serial}`: renames the device.
    pub async fn rename_device(
        &self,
        model: &str,
        serial: &str,
        name: &str,
    ) -> Result<DeviceView, ClientError> {
        let path = device_path(model, serial);
        let change = DeviceChange {
            name: Some(name.to_owned()),
        };
        self.send(|| self.http.patch(self.url(&path)).json(&change))
            .await
    }

    /// `GET /v1/account/export`: everything the service keeps about the customer.
    pub async fn export_account(&self) -> Result<AccountExport, ClientError> {
        self.send(|| self.http.get(self.url("/v1/account/export")))
            .await
    }

    /// `DELETE /v1/account`: deletes the signed-in customer's account, confirmed by its email
    /// address typed again.
    pub async fn delete_account(&self, confirm_email: &str) -> Result<(), ClientError> {
        let confirm = AccountDeletion {
            confirm_email: confirm_email.to_owned(),
        };
        self.respond(&|| self.http.delete(self.url("/v1/account")).json(&confirm))
            .await
            .map(drop)
    }

    /// `GET /v1/products`: the catalog, by title.
    pub async fn products(&self) -> Result<ProductList, ClientError> {
        self.send(|| self.http.get(self.url("/v1/products"))).await
    }

    /// `POST /v1/items`: tracks an item without a device (a product of the catalog, or a name,
    /// pack size and unit) in the customer's "At home" list.
    pub async fn add_item(&self, item: &NewItem) -> Result<ItemView, ClientError> {
        self.send(|| self.http.post(self.url("/v1/items")).json(item))
            .await
    }

    /// `POST /v1/items/{slot}/opened` (`opened`) or `/ran-out`: what the customer says of an
    /// item without a device.
    pub async fn tell_item(&self, slot: &str, opened: bool) -> Result<SlotInventory, ClientError> {
        let path = format!(
            "/v1/items/{}/{}",
            path_segment(slot),
            if opened { "opened" } else { "ran-out" }
        );
        self.send(|| self.http.post(self.url(&path))).await
    }

    /// `DELETE /v1/items/{slot}`: stops tracking an item without a device.
    pub async fn remove_item(&self, slot: &str) -> Result<(), ClientError> {
        let path = format!("/v1/items/{}", path_segment(slot));
        self.respond(&|| self.http.delete(self.url(&path)))
            .await
            .map(drop)
    }

    /// `GET /v1/events?after=`: the customer's events after `after`, oldest first (a page).
    pub async fn events(&self, after: i64) -> Result<EventList, ClientError> {
        let path = format!("/v1/events?after={after}");
        self.send(|| self.http.get(self.url(&path))).await
    }

    /// `GET /v1/events/stream`: follows the customer's events after `after` as they happen.
    pub async fn event_stream(&self, after: i64) -> Result<EventStream, ClientError> {
        let path = format!("/v1/events/stream?after={after}");
        // The stream lasts as long as it is followed; silence is watched instead (see next()).
        let response = self
            .respond(&|| {
                self.http
                    .get(self.url(&path))
                    .header("accept", "text/event-stream")
                    .timeout(Duration::from_secs(365 * 24 * 3600))
            })
            .await?;
        Ok(EventStream {
            response,
            base: self.base.clone(),
            frames: refill_wire::sse::SseFrames::default(),
            last: after,
        })
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Sends the request `make` builds, with the session's token if there is one; on an
    /// `invalid_token` answer, refreshes once and sends it again.
    async fn send<T: DeserializeOwned>(
        &self,
        make: impl Fn() -> reqwest::RequestBuilder + Sync,
    ) -> Result<T, ClientError> {
        let response = self.respond(&make).await?;
        let status = response.status();
        let bytes = response.bytes().await.map_err(|e| self.transport(&e))?;
        self.decode(status, &bytes)
    }

    /// Sends the request `make` builds as [`Client::send`] does, and returns a successful
    /// answer before its body is read.
    async fn respond(
        &self,
        make: &(impl Fn() -> reqwest::RequestBuilder + Sync),
    ) -> Result<reqwest::Response, ClientError> {
        let mut token = match &self.session {
            Some(session) => match session.access_token().await {
                Ok(token) => Some(token),
                // Not signed in: ask anonymously; the service says whether it needs a sign-in.
                Err(AuthError::SignedOut) => None,
                // A keyring that can't be read holds no sign-in we could use; signing in says why.
                Err(AuthError::Keyring(e)) => {
                    tracing::warn!(
                        "the keyring could not be read, so requests go without a sign-in: {e}"
                    );
                    None
                }
                Err(e) => return Err(ClientError::SignIn(e)),
            },
            None => None,
        };
        let mut retried = false;
        loop {
            let mut request = make();
            if let Some(token) = &token {
                request = request.bearer_auth(token.expose());
            }
            let response = match request.send().await {
                Ok(response) => response,
                Err(e) => return Err(self.failed(&e).await),
            };
            let status = response.status();
            if status.is_success() {
                return Ok(response);
            }
            let drs_rejection = is_drs_token_rejection(status, response.headers());
            let bytes = response.bytes().await.map_err(|e| self.transport(&e))?;
            let rejected = drs_rejection
                || (status == reqwest::StatusCode::UNAUTHORIZED
                    && serde_json::from_slice::<ErrorBody>(&bytes)
                        .is_ok_and(|b| b.code == ErrorCode::InvalidToken));
            // A valid sign-in that does not cover this (granted before the scope the service now
            // requires): refreshing gives the same grant, so it is forgotten and made again.
            let outdated = status == reqwest::StatusCode::FORBIDDEN
                && serde_json::from_slice::<ErrorBody>(&bytes)
                    .is_ok_and(|b| b.code == ErrorCode::InsufficientScope);
            if let (true, Some(session), Some(_)) = (outdated, &self.session, &token) {
                return Err(ClientError::SignIn(session.end_outdated().await));
            }
            if let (true, false, Some(session), Some(sent)) =
                (rejected, retried, &self.session, &token)
            {
                retried = true;
                token = Some(
                    session
                        .access_token_after_rejection(sent)
                        .await
                        .map_err(ClientError::SignIn)?,
                );
                continue;
            }
            return Err(self
                .decode::<serde::de::IgnoredAny>(status, &bytes)
                .err()
                .unwrap_or_else(|| ClientError::Protocol {
                    url: self.base.clone(),
                    detail: format!("HTTP {status}"),
                }));
        }
    }

    fn decode<T: DeserializeOwned>(
        &self,
        status: reqwest::StatusCode,
        bytes: &[u8],
    ) -> Result<T, ClientError> {
        if status.is_success() {
            return serde_json::from_slice(bytes).map_err(|e| ClientError::Protocol {
                url: self.base.clone(),
                detail: e.to_string(),
            });
        }
        match serde_json::from_slice::<ErrorBody>(bytes) {
            Ok(body) => Err(ClientError::Api {
                status: status.as_u16(),
                body,
            }),
            Err(_) => Err(ClientError::Protocol {
                url: self.base.clone(),
                detail: format!("HTTP {status}"),
            }),
        }
    }

    /// A request that could not be sent: [`Client::transport`]'s answer, unless the service's
    /// certificate was why (then looked at again, to say how).
    async fn failed(&self, e: &reqwest::Error) -> ClientError {
        if e.is_connect() && self.base.starts_with("https://") {
            if let Some(problem) = refill_tls::problem(&self.base, &self.trust).await {
                return ClientError::Certificate(problem);
            }
        }
        self.transport(e)
    }

    fn transport(&self, e: &reqwest::Error) -> ClientError {
        let url = self.base.clone();
        if e.is_connect() || e.is_builder() {
            ClientError::Unreachable { url }
        } else {
            ClientError::NoAnswer { url }
        }
    }
}

/// The customer's events as they happen, from [`Client::event_stream`].
#[derive(Debug)]
pub struct EventStream {
    response: reqwest::Response,
    base: String,
    frames: refill_wire::sse::SseFrames,
    last: i64,
}

impl EventStream {
    /// The next event; `Ok(None)` when the service ended the stream. A failure means the
    /// connection is gone: open a new stream after [`EventStream::last_id`].
    pub async fn next(&mut self) -> Result<Option<EventView>, ClientError> {
        loop {
            while let Some(data) = self.frames.next_data() {
                let event: EventView =
                    serde_json::from_str(&data).map_err(|e| ClientError::Protocol {
                        url: self.base.clone(),
                        detail: format!("an event that is not one: {e}"),
                    })?;
                if event.id <= self.last {
                    continue; // never the same event twice
                }
                self.last = event.id;
                return Ok(Some(event));
            }
            let chunk = tokio::time::timeout(STREAM_SILENCE, self.response.chunk())
                .await
                .map_err(|_| ClientError::NoAnswer {
                    url: self.base.clone(),
                })?
                .map_err(|_| ClientError::NoAnswer {
                    url: self.base.clone(),
                })?;
            match chunk {
                Some(bytes) => self.frames.push(&bytes),
                None => return Ok(None),
            }
        }
    }

    /// The id of the last event given (or the `after` the stream was opened with).
    pub fn last_id(&self) -> i64 {
        self.last
    }
}

/// The path of a device slot.
fn device_path(model: &str, serial: &str) -> String {
    format!(
        "/v1/devices/{}/{}",
        path_segment(model),
        path_segment(serial)
    )
}

fn slot_path(model: &str, serial: &str, slot: &str) -> String {
    format!(
        "{}/slots/{}",
        device_path(model, serial),
        path_segment(slot)
    )
}

/// Whether an answer is DRS's "invalid token": `400` with
/// `x-amzn-ErrorType: InvalidTokenException:…` (DRS never answers 401).
fn is_drs_token_rejection(
    status: reqwest::StatusCode,
    headers: &reqwest::header::HeaderMap,
) -> bool {
    status == reqwest::StatusCode::BAD_REQUEST
        && headers
            .get("x-amzn-ErrorType")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("InvalidTokenException"))
}
