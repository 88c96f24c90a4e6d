//! One error type for every API of the service, spoken in each API's dialect.
//!
//! A handler or an extractor says *what* went wrong ([`Error`]: a [`Kind`] and a message for
//! people); the router it sits in says *how* its callers expect to hear it ([`Dialect`]):
//!
//! | kind | Refill (`/v1`) | DRS | sensor events | LwA (`/auth/o2`, `/user/profile`) |
//! |---|---|---|---|---|
//! | bad request | 400 `bad_request` | 400 | 400 `INVALID_REQUEST_EXCEPTION` | 400 `invalid_request` |
//! | no sign-in | 401 `sign_in_required` | 400 `Invalid token` + `InvalidTokenException` | 401 `INVALID_ACCESS_TOKEN_EXCEPTION` | 401 `invalid_token` |
//! | bad token | 401 `invalid_token` | (as above) | (as above) | 401 `invalid_token` |
//! | wrong caller | 403 `insufficient_scope` | 403 | 403 `INSUFFICIENT_PERMISSIONS_EXCEPTION` | 403 `insufficient_scope` |
//! | not found | 404 `not_found` | 404 | 400 `INVALID_REQUEST_EXCEPTION` | 400 `invalid_request` |
//! | not cancellable | 409 `order_not_cancellable` | 400 | 400 | 400 |
//! | slot changed since read | 409 `slot_changed` | 400 | 400 | 400 |
//! | over a rate | 429 `too_many_requests` | 429 + `ThrottlingException` | 429 `THROTTLING_EXCEPTION` | 429 `temporarily_unavailable` |
//! | body too large | 413 `bad_request` | 413 | 413 `REQUEST_ENTITY_TOO_LARGE` | 413 `invalid_request` |
//! | service failed | 500 `internal` | 500 | 500 `INTERNAL_SERVICE_EXCEPTION` | 500 `server_error` |
//!
//! and the OAuth-only kinds ([`Kind::InvalidGrant`], [`Kind::InvalidClient`],
//! [`Kind::UnsupportedGrantType`]) by their RFC 6749 names. A wait is sent as `Retry-After`.
//!
//! How it works: [`Error`]'s own answer is the Refill dialect, and carries the error in the
//! response's extensions; [`Dialect::layer`] on a router answers it again in that router's
//! dialect. So an extractor such as [`super::caller::Device`] rejects once, and the DRS and
//! sensor routes each answer in their own words.

use axum::http::{header, HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use refill_wire::{ErrorBody, ErrorCode};
use serde_json::json;
use std::time::Duration;

/// What went wrong, in terms every API can say.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// The request is malformed or not allowed.
    BadRequest,
    /// No credential where one is needed.
    SignInRequired,
    /// A credential that is unknown, expired or revoked.
    InvalidToken,
    /// A valid credential of another kind of caller.
    Forbidden,
    /// No such thing.
    NotFound,
    /// The order can no longer be cancelled.
    NotCancellable,
    /// The order would pass a spending limit the customer set.
    OverLimit,
    /// The approval request was answered already, or expired.
    ApprovalClosed,
    /// The price rose more than 10 % since the customer last paid: they confirm it first.
    PriceRose,
    /// A slot's settings changed since the caller read them.
    SlotChanged,
    /// It clashes with what the service has (a name taken, a unit a slot depends on).
    Conflict,
    /// Over a rate or a limit; the message says which.
    TooMany,
    /// The body is over 64 KiB.
    TooLarge,
    /// OAuth `invalid_grant`: a code or refresh token that is unknown, used or expired.
    InvalidGrant,
    /// OAuth `invalid_client`: the client failed to authenticate.
    InvalidClient,
    /// OAuth `unsupported_grant_type`.
    UnsupportedGrantType,
    /// The service failed; logged, never shown in detail.
    Internal,
}

/// The message shown for [`Kind::Internal`], whatever the cause.
pub const INTERNAL: &str = "The Refill service ran into a problem on its side. Please try again.";

/// The message of [`Kind::TooLarge`].
pub const TOO_LARGE: &str = "The request body is over 64 KiB.";

/// An error answer of any API: a [`Kind`], a message saying what to fix, and, for a rate, how
/// long to wait.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{message}")]
pub struct Error {
    kind: Kind,
    message: String,
    retry_after: Option<Duration>,
}

impl Error {
    /// An error of `kind` with a message for people.
    pub fn new(kind: Kind, message: impl Into<String>) -> Self {
        Error {
            kind,
            message: message.into(),
            retry_after: None,
        }
    }

    /// `400`: the request is malformed.
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(Kind::BadRequest, message)
    }

    /// `404`: no such thing.
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(Kind::NotFound, message)
    }

    /// `403`: a credential of another kind of caller.
    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(Kind::Forbidden, message)
    }

    /// `429`: over a limit; with `wait`, when to try again.
    pub fn too_many(message: impl Into<String>, wait: Option<Duration>) -> Self {
        Error {
            retry_after: wait,
            ..Self::new(Kind::TooMany, message)
        }
    }

    /// `413`: the body is over 64 KiB.
    pub fn too_large() -> Self {
        Self::new(Kind::TooLarge, TOO_LARGE)
    }

    /// `500`: logs `cause` (never shown to the caller).
    pub fn internal(cause: impl std::fmt::Display) -> Self {
        tracing::error!("request failed: {cause}");
        Self::new(Kind::Internal, INTERNAL)
    }

    /// What went wrong.
    pub fn kind(&self) -> Kind {
        self.kind
    }

    /// The message for people.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The answer in `dialect`.
    pub fn answer(&self, dialect: Dialect) -> Response {
        let mut response = match dialect {
            Dialect::Refill => self.refill(),
            Dialect::Drs => self.drs(),
            Dialect::Sensors => self.sensors(),
            Dialect::Lwa => self.lwa(),
        };
        if let Some(wait) = self.retry_after {
            if let Ok(value) = HeaderValue::from_str(&retry_after(wait)) {
                response.headers_mut().insert(header::RETRY_AFTER, value);
            }
        }
        response
    }

    fn refill(&self) -> Response {
        let (status, code) = match self.kind {
            Kind::BadRequest | Kind::UnsupportedGrantType => {
                (StatusCode::BAD_REQUEST, ErrorCode::BadRequest)
            }
            Kind::InvalidGrant => (StatusCode::BAD_REQUEST, ErrorCode::InvalidToken),
            Kind::SignInRequired => (StatusCode::UNAUTHORIZED, ErrorCode::SignInRequired),
            Kind::InvalidToken | Kind::InvalidClient => {
                (StatusCode::UNAUTHORIZED, ErrorCode::InvalidToken)
            }
            Kind::Forbidden => (StatusCode::FORBIDDEN, ErrorCode::InsufficientScope),
            Kind::NotFound => (StatusCode::NOT_FOUND, ErrorCode::NotFound),
            Kind::NotCancellable => (StatusCode::CONFLICT, ErrorCode::OrderNotCancellable),
            Kind::OverLimit => (StatusCode::CONFLICT, ErrorCode::OverLimit),
            Kind::ApprovalClosed => (StatusCode::CONFLICT, ErrorCode::ApprovalClosed),
            Kind::PriceRose => (StatusCode::CONFLICT, ErrorCode::PriceRose),
            Kind::SlotChanged => (StatusCode::CONFLICT, ErrorCode::SlotChanged),
            Kind::Conflict => (StatusCode::CONFLICT, ErrorCode::Conflict),
            Kind::TooMany => (StatusCode::TOO_MANY_REQUESTS, ErrorCode::TooManyRequests),
            Kind::TooLarge => (StatusCode::PAYLOAD_TOO_LARGE, ErrorCode::BadRequest),
            Kind::Internal => (StatusCode::INTERNAL_SERVER_ERROR, ErrorCode::Internal),
        };
        let body = ErrorBody {
            message: self.message.clone(),
            code,
        };
        let mut response = (status, Json(body)).into_response();
        if status == StatusCode::UNAUTHORIZED {
            let challenge = if code == ErrorCode::InvalidToken {
                "Bearer error=\"invalid_token\""
            } else {
                "Bearer"
            };
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static(challenge),
            );
        }
        response
    }

    /// DRS: `{"message": …}`, and `x-amzn-ErrorType` on the errors DRS names.
    fn drs(&self) -> Response {
        let (status, error_type, message) = match self.kind {
            // DRS answers a bad token with a 400 and a fixed message.
            Kind::SignInRequired | Kind::InvalidToken => (
                StatusCode::BAD_REQUEST,
                Some(super::drs::INVALID_TOKEN_ERROR_TYPE),
                "Invalid token",
            ),
            Kind::Forbidden => (StatusCode::FORBIDDEN, None, self.message.as_str()),
            Kind::NotFound => (StatusCode::NOT_FOUND, None, self.message.as_str()),
            Kind::TooMany => (
                StatusCode::TOO_MANY_REQUESTS,
                Some(super::drs::THROTTLING_ERROR_TYPE),
                self.message.as_str(),
            ),
            Kind::TooLarge => (StatusCode::PAYLOAD_TOO_LARGE, None, TOO_LARGE),
            Kind::Internal => (StatusCode::INTERNAL_SERVER_ERROR, None, INTERNAL),
            Kind::InvalidClient => (StatusCode::UNAUTHORIZED, None, self.message.as_str()),
            Kind::BadRequest
            | Kind::NotCancellable
            | Kind::OverLimit
            | Kind::ApprovalClosed
            | Kind::PriceRose
            | Kind::SlotChanged
            | Kind::Conflict
            | Kind::InvalidGrant
            | Kind::UnsupportedGrantType => (StatusCode::BAD_REQUEST, None, self.message.as_str()),
        };
        let mut response = (status, Json(json!({ "message": message }))).into_response();
        if let Some(error_type) = error_type {
            response.headers_mut().insert(
                HeaderName::from_static(super::drs::ERROR_TYPE),
                HeaderValue::from_static(error_type),
            );
        }
        response
    }

    /// The Alexa event gateway: `{"message", "payload": {"code", "description"}}`.
    fn sensors(&self) -> Response {
        let (status, code, message) = match self.kind {
            Kind::SignInRequired | Kind::InvalidToken | Kind::InvalidClient => (
                StatusCode::UNAUTHORIZED,
                "INVALID_ACCESS_TOKEN_EXCEPTION",
                "The access token is not valid: it has expired, was revoked or is not a device's.",
            ),
            Kind::Forbidden => (
                StatusCode::FORBIDDEN,
                "INSUFFICIENT_PERMISSIONS_EXCEPTION",
                self.message.as_str(),
            ),
            Kind::TooMany => (
                StatusCode::TOO_MANY_REQUESTS,
                "THROTTLING_EXCEPTION",
                self.message.as_str(),
            ),
            Kind::TooLarge => (
                StatusCode::PAYLOAD_TOO_LARGE,
                "REQUEST_ENTITY_TOO_LARGE",
                TOO_LARGE,
            ),
            Kind::Internal => (
                StatusCode::INTERNAL_SERVER_ERROR,
                "INTERNAL_SERVICE_EXCEPTION",
                INTERNAL,
            ),
            Kind::BadRequest
            | Kind::NotFound
            | Kind::NotCancellable
            | Kind::OverLimit
            | Kind::ApprovalClosed
            | Kind::PriceRose
            | Kind::SlotChanged
            | Kind::Conflict
            | Kind::InvalidGrant
            | Kind::UnsupportedGrantType => (
                StatusCode::BAD_REQUEST,
                "INVALID_REQUEST_EXCEPTION",
                self.message.as_str(),
            ),
        };
        (
            status,
            Json(json!({
                "message": message,
                "payload": { "code": code, "description": message },
            })),
        )
            .into_response()
    }

    /// LwA: `{"error", "error_description"}` (RFC 6749 §5.2), never cached.
    fn lwa(&self) -> Response {
        let (status, error) = match self.kind {
            Kind::BadRequest
            | Kind::NotFound
            | Kind::NotCancellable
            | Kind::OverLimit
            | Kind::ApprovalClosed
            | Kind::PriceRose
            | Kind::SlotChanged
            | Kind::Conflict => (StatusCode::BAD_REQUEST, "invalid_request"),
            Kind::SignInRequired | Kind::InvalidToken => {
                (StatusCode::UNAUTHORIZED, "invalid_token")
            }
            Kind::InvalidClient => (StatusCode::UNAUTHORIZED, "invalid_client"),
            Kind::InvalidGrant => (StatusCode::BAD_REQUEST, "invalid_grant"),
            Kind::UnsupportedGrantType => (StatusCode::BAD_REQUEST, "unsupported_grant_type"),
            Kind::Forbidden => (StatusCode::FORBIDDEN, "insufficient_scope"),
            Kind::TooMany => (StatusCode::TOO_MANY_REQUESTS, "temporarily_unavailable"),
            Kind::TooLarge => (StatusCode::PAYLOAD_TOO_LARGE, "invalid_request"),
            Kind::Internal => (StatusCode::INTERNAL_SERVER_ERROR, "server_error"),
        };
        let mut response = (
            status,
            [
                (header::CACHE_CONTROL, "no-store"),
                (header::PRAGMA, "no-cache"),
            ],
            Json(json!({ "error": error, "error_description": self.message })),
        )
            .into_response();
        if status == StatusCode::UNAUTHORIZED {
            let challenge = if self.kind == Kind::InvalidClient {
                "Basic realm=\"refill\""
            } else {
                "Bearer error=\"invalid_token\""
            };
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static(challenge),
            );
        }
        response
    }
}

/// `Retry-After` in whole seconds, at least 1.
pub fn retry_after(wait: Duration) -> String {
    wait.as_secs_f64().ceil().max(1.0).to_string()
}

impl IntoResponse for Error {
    fn into_response(self) -> Response {
        let mut response = self.answer(Dialect::Refill);
        response.extensions_mut().insert(self);
        response
    }
}

impl From<sqlx::Error> for Error {
    fn from(e: sqlx::Error) -> Self {
        Error::internal(e)
    }
}

impl From<crate::store::StoreError> for Error {
    fn from(e: crate::store::StoreError) -> Self {
        match e {
            crate::store::StoreError::NotFound(m) => Error::not_found(m),
            crate::store::StoreError::NotCancellable(m) => Error::new(Kind::NotCancellable, m),
            crate::store::StoreError::ApprovalClosed(m) => Error::new(Kind::ApprovalClosed, m),
            crate::store::StoreError::Conflict(m) => Error::new(Kind::Conflict, m),
            crate::store::StoreError::Refused(m) => Error::bad_request(m),
            crate::store::StoreError::Database(e) => Error::internal(e),
        }
    }
}

/// The API a router answers for, which decides the shape of its errors.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    /// Refill's own API: [`refill_wire::ErrorBody`].
    Refill,
    /// The DRS device API.
    Drs,
    /// The Alexa-style sensor event gateway.
    Sensors,
    /// The LwA token, revoke and profile endpoints.
    Lwa,
}

impl Dialect {
    /// A layer that answers every [`Error`] of the routes it wraps in this dialect.
    pub fn layer<S: Clone + Send + Sync + 'static>(
        self,
        routes: axum::Router<S>,
    ) -> axum::Router<S> {
        routes.layer(axum::middleware::map_response(
            move |mut response: Response| async move {
                match response.extensions_mut().remove::<Error>() {
                    Some(error) if self != Dialect::Refill => {
                        // The body is said again; headers that layers inside added (a
                        // request id, say) stay.
                        let mut again = error.answer(self);
                        for (name, value) in response.headers() {
                            if name != header::CONTENT_TYPE
                                && name != header::CONTENT_LENGTH
                                && !again.headers().contains_key(name)
                            {
                                again.headers_mut().insert(name, value.clone());
                            }
                        }
                        again
                    }
                    _ => response,
                }
            },
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn body(response: Response) -> serde_json::Value {
        let bytes = axum::body::to_bytes(response.into_body(), 1 << 16)
            .await
            .expect("body");
        serde_json::from_slice(&bytes).expect("json")
    }

    #[tokio::test]
    async fn one_error_is_said_in_each_dialect() {
        let e = Error::too_many("Slow down.", Some(Duration::from_millis(1500)));
        let refill = e.answer(Dialect::Refill);
        assert_eq!(refill.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(refill.headers()[header::RETRY_AFTER], "2");
        assert_eq!(body(refill).await["code"], "too_many_requests");
        let drs = e.answer(Dialect::Drs);
        assert_eq!(
            drs.headers()[super::super::drs::ERROR_TYPE],
            super::super::drs::THROTTLING_ERROR_TYPE
        );
        assert_eq!(body(drs).await, json!({ "message": "Slow down." }));
        let sensors = body(e.answer(Dialect::Sensors)).await;
        assert_eq!(sensors["payload"]["code"], "THROTTLING_EXCEPTION");
        let lwa = e.answer(Dialect::Lwa);
        assert_eq!(lwa.headers()[header::CACHE_CONTROL], "no-store");
        assert_eq!(body(lwa).await["error"], "temporarily_unavailable");
    }

    #[tokio::test]
    async fn a_bad_token_is_a_400_in_drs_words() {
        let e = Error::new(Kind::InvalidToken, "expired");
        let drs = e.answer(Dialect::Drs);
        assert_eq!(drs.status(), StatusCode::BAD_REQUEST);
        assert_eq!(body(drs).await["message"], "Invalid token");
        let refill = e.answer(Dialect::Refill);
        assert_eq!(refill.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(
            refill.headers()[header::WWW_AUTHENTICATE],
            "Bearer error=\"invalid_token\""
        );
    }

    #[tokio::test]
    async fn a_failure_never_shows_its_cause() {
        let e = Error::internal("disk full at /secret/path");
        for dialect in [
            Dialect::Refill,
            Dialect::Drs,
            Dialect::Sensors,
            Dialect::Lwa,
        ] {
            let response = e.answer(dialect);
            assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
            assert!(!body(response).await.to_string().contains("secret"));
        }
    }

    #[tokio::test]
    async fn a_router_answers_in_its_dialect() {
        use tower::ServiceExt;
        let routes = axum::Router::new().route(
            "/",
            axum::routing::get(|| async { Err::<(), _>(Error::forbidden("Devices only.")) }),
        );
        let response = Dialect::Sensors
            .layer(routes)
            .oneshot(axum::http::Request::new(axum::body::Body::empty()))
            .await
            .expect("answer");
        assert_eq!(response.status(), StatusCode::FORBIDDEN);
        assert_eq!(
            body(response).await["payload"]["code"],
            "INSUFFICIENT_PERMISSIONS_EXCEPTION"
        );
    }
}
