//! API errors: a status, a stable code and a message for people.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use refill_wire::{ErrorBody, ErrorCode};

/// An error answer of the API. Bad input is always a `4xx` with a message saying what to fix.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// `400`: the request is malformed.
    #[error("{0}")]
    BadRequest(String),
    /// `404`: no such thing.
    #[error("{0}")]
    NotFound(String),
    /// `401`: no valid sign-in (`sign_in_required` or `invalid_token`).
    #[error("{1}")]
    Unauthorized(ErrorCode, String),
    /// `403 insufficient_scope`: a valid credential of another kind of caller.
    #[error("{0}")]
    Forbidden(String),
    /// `429 too_many_requests`: over a limit; the message says which.
    #[error("{0}")]
    TooMany(String),
    /// `409`: the order can no longer be cancelled.
    #[error("{0}")]
    NotCancellable(String),
    /// `413`: the body is over 64 KiB.
    #[error("{}", crate::api::TOO_LARGE)]
    TooLarge,
    /// `500`: the service failed; logged, never shown in detail.
    #[error("internal error: {0}")]
    Internal(#[from] sqlx::Error),
}

impl From<crate::store::StoreError> for ApiError {
    fn from(e: crate::store::StoreError) -> Self {
        match e {
            crate::store::StoreError::NotFound(m) => ApiError::NotFound(m),
            crate::store::StoreError::NotCancellable(m) => ApiError::NotCancellable(m),
            crate::store::StoreError::Database(e) => ApiError::Internal(e),
        }
    }
}

impl ApiError {
    fn parts(&self) -> (StatusCode, ErrorCode, String) {
        match self {
            ApiError::BadRequest(m) => (StatusCode::BAD_REQUEST, ErrorCode::BadRequest, m.clone()),
            ApiError::NotFound(m) => (StatusCode::NOT_FOUND, ErrorCode::NotFound, m.clone()),
            ApiError::Unauthorized(code, m) => (StatusCode::UNAUTHORIZED, *code, m.clone()),
            ApiError::Forbidden(m) => (
                StatusCode::FORBIDDEN,
                ErrorCode::InsufficientScope,
                m.clone(),
            ),
            ApiError::TooMany(m) => (
                StatusCode::TOO_MANY_REQUESTS,
                ErrorCode::TooManyRequests,
                m.clone(),
            ),
            ApiError::NotCancellable(m) => (
                StatusCode::CONFLICT,
                ErrorCode::OrderNotCancellable,
                m.clone(),
            ),
            ApiError::TooLarge => (
                StatusCode::PAYLOAD_TOO_LARGE,
                ErrorCode::BadRequest,
                self.to_string(),
            ),
            ApiError::Internal(_) => (
                StatusCode::INTERNAL_SERVER_ERROR,
                ErrorCode::Internal,
                "The Refill service ran into a problem on its side. Please try again.".to_owned(),
            ),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if let ApiError::Internal(e) = &self {
            tracing::error!("request failed: {e}");
        }
        let (status, code, message) = self.parts();
        let mut response = (status, Json(ErrorBody { message, code })).into_response();
        if status == StatusCode::UNAUTHORIZED {
            let challenge = if code == ErrorCode::InvalidToken {
                "Bearer error=\"invalid_token\""
            } else {
                "Bearer"
            };
            response.headers_mut().insert(
                axum::http::header::WWW_AUTHENTICATE,
                axum::http::HeaderValue::from_static(challenge),
            );
        }
        response
    }
}
