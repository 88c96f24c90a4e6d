//! The HTTP layer: routes, the callers they serve, and their answers. It sits above the storage
//! layer ([`crate::store`]), which never imports it.
//!
//! * [`caller`]: the kinds of caller (customer, device, maker) as extractors, each checking its
//!   credential's kind and scope; every route takes one, so no handler can forget.
//! * [`error`]: one error type, answered in the dialect of the API whose route failed.
//! * [`refill`]: Refill's own customer API (`/v1/…`).
//! * [`drs`] and [`sensors`]: the device APIs (Dash Replenishment, Alexa-style sensor events).
//! * [`lwa`] and [`pages`]: the Login-with-Amazon-compatible authorization server.
//! * [`webhooks`]: makers' webhook routes.
//! * [`serve`]: the connection loop, timeouts, caps and rates.
//!
//! `GET /health` answers [`Health`]; `GET /openapi.yaml` describes every route.

#[cfg(feature = "hosted")]
pub mod admin;
pub mod caller;
pub mod drs;
pub mod error;
pub mod lwa;
mod pages;
pub mod refill;
pub mod say;
pub mod screen;
#[cfg(feature = "hosted")]
pub mod sensors;
pub mod serve;
#[cfg(feature = "tls")]
pub mod tls;
#[cfg(feature = "hosted")]
pub mod webhooks;

use crate::{images, Store};
use axum::extract::{Path, Request, State};
use axum::http::{header, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use error::{Dialect, Error};
use refill_core::{OrderPolicy, SharedClock};
use refill_wire::Health;
use std::sync::Arc;
use std::time::Instant;

/// The largest request body the API reads.
pub const MAX_BODY: usize = 64 * 1024;

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
    /// Whether orders can go by email (a mail server was given).
    email_offered: bool,
    throttle: crate::auth::guard::Throttle,
    streams: refill::Streams,
    /// Open event streams per screened device.
    screen_streams: refill::Streams,
    device_rate: Option<crate::http::serve::RateLimiter>,
    token_rate: Option<crate::http::serve::RateLimiter>,
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
                #[cfg(feature = "hosted")]
                email_offered: config.mail.is_some(),
                #[cfg(not(feature = "hosted"))]
                email_offered: false,
                throttle: crate::auth::guard::Throttle::default(),
                streams: refill::Streams::default(),
                screen_streams: refill::Streams::default(),
                device_rate: config
                    .limits
                    .device_requests
                    .map(crate::http::serve::RateLimiter::new),
                token_rate: config
                    .limits
                    .token_requests
                    .map(crate::http::serve::RateLimiter::new),
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

    /// Where this service lets customers' orders go.
    pub fn orders_offer(&self) -> crate::store::handover::OrdersOffer {
        crate::store::handover::OrdersOffer {
            default: self.inner.policy.handover,
            email: self.inner.email_offered,
            private_webhooks: self.inner.allow_private_webhooks,
        }
    }
}

/// The API's router.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/health", get(health))
        .route("/v1/catalog/images/{file}", get(image))
        .merge(refill::routes())
        .merge(screen::routes())
        .merge(say::routes())
        .merge(Dialect::Lwa.layer(lwa::token_routes()))
        .merge(lwa::page_routes())
        .merge(Dialect::Drs.layer(drs::routes()))
        .merge(hosted_routes())
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(middleware::map_response(security_headers))
        .layer(middleware::from_fn(log_request))
        .with_state(state)
}

/// The device API alone: the token endpoint (a device redeems its code and refreshes its
/// tokens) and DRS, nothing a customer's sign-in or a browser uses. What the home network
/// reaches of the app's embedded service ([`crate::RunningService::serve_network`]).
pub fn device_router(state: AppState) -> Router {
    Router::new()
        .route("/health", get(health))
        .merge(Dialect::Lwa.layer(lwa::token_routes()))
        .merge(Dialect::Drs.layer(drs::routes()))
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
        .merge(Dialect::Sensors.layer(sensors::routes()))
        .merge(webhooks::routes())
        .merge(admin::routes())
}

/// The OpenAPI description of the whole HTTP API (`crates/refill-service/openapi.yaml`).
#[cfg(feature = "hosted")]
pub const OPENAPI: &str = include_str!("../../openapi.yaml");

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

async fn not_found() -> Error {
    Error::not_found("There is no such page in the Refill API.".to_owned())
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

/// A JSON body of at most [`MAX_BODY`] bytes, read as `T`; what is wrong is said in words.
pub fn json_body<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, Error> {
    if body.len() > MAX_BODY {
        return Err(Error::too_large());
    }
    serde_json::from_slice(body)
        .map_err(|e| Error::bad_request(format!("The request body is not what was expected: {e}.")))
}

/// A request's query string read as `T`, or `None` when it does not read (each handler says why
/// in its own words). Read with serde_urlencoded directly: axum's `Query` wraps every type's
/// deserialiser to report the failing field's path, which no answer here uses and which costs
/// the app's binary (it has a size budget).
pub struct Params<T>(pub Option<T>);

impl<T, S> axum::extract::FromRequestParts<S> for Params<T>
where
    T: serde::de::DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        _state: &S,
    ) -> Result<Self, Self::Rejection> {
        Ok(Params(
            serde_urlencoded::from_str(parts.uri.query().unwrap_or_default()).ok(),
        ))
    }
}

async fn image(Path(file): Path<String>) -> Result<Response, Error> {
    let svg = file
        .strip_suffix(".svg")
        .and_then(images::svg)
        .ok_or_else(|| Error::not_found(format!("There is no picture {file}.")))?;
    Ok((
        [
            (header::CONTENT_TYPE, "image/svg+xml"),
            (header::CACHE_CONTROL, "public, max-age=86400"),
        ],
        svg,
    )
        .into_response())
}
