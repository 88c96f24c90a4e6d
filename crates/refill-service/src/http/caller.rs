//! Who is calling: one typed extractor per kind of caller, each checking the credential's kind
//! and scope before a handler runs. Every route takes exactly one of them (or none, for the
//! public routes: `/health`, the OpenAPI description, product pictures and the sign-in pages), so
//! no handler can forget a check.
//!
//! | caller | credential | may call |
//! |---|---|---|
//! | [`Customer`] | access token with [`CUSTOMER_SCOPE`] (and without `dash:replenish`) | `/v1/…` |
//! | [`Device`] | access token with `dash:replenish` naming a registered device (also in `x-amz-access-token`) | the DRS API, `/v3/events` |
//! | [`ScreenDevice`] | access token with `refill:buttons` naming a registered device | `/v1/screen/…` |
//! | [`Maker`] | HTTP Basic of a confidential OAuth client | `/v1/webhooks` |
//! | [`Admin`] | an admin token (`refill-service admin-tokens create NAME`) | `/admin/v1/…` |
//! | [`ProfileReader`] | access token with `profile` or `profile:user_id` (also in `x-amz-access-token`) | `/user/profile` only |
//!
//! A valid token of the wrong kind is refused with `403` and a message saying what it is for;
//! a missing, expired or revoked one with `401` (on the DRS API: `400 Invalid token`, as DRS
//! does, which DRS clients answer by refreshing).
//!
//! Without any credential, [`Customer`] acts for the service's first customer only where the
//! service allows anonymous callers: a sandbox listening on a loopback address (see
//! [`crate::ServiceConfig::anonymous_allowed`]), and then only for requests whose `Host` is a
//! loopback name, so that a web page elsewhere cannot reach it through DNS rebinding.

use super::error::{Error, Kind};
use super::AppState;
use crate::auth::{BUTTONS_SCOPE, CUSTOMER_SCOPE, DEVICE_SCOPE};
use crate::store::accounts::TokenGrant;
use crate::store::devices::{CallingDevice, DeviceScope};
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{header, HeaderMap};
use base64::Engine;

/// What a token is for, from its scopes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenKind {
    /// A customer's app (`refill:customer`).
    Customer,
    /// A device (`dash:replenish`).
    Device,
    /// A screened device showing the customer's buttons (`refill:buttons`).
    Buttons,
    /// Only reads the customer's profile (`profile`, `profile:user_id`).
    Profile,
}

impl TokenKind {
    /// The kind of a token granted `scope` (space-separated). A device's scope wins: a device
    /// token never acts for the customer.
    pub fn of(scope: &str) -> Self {
        let has = |wanted: &str| scope.split_whitespace().any(|s| s == wanted);
        if has(DEVICE_SCOPE) {
            TokenKind::Device
        } else if has(BUTTONS_SCOPE) {
            TokenKind::Buttons
        } else if has(CUSTOMER_SCOPE) {
            TokenKind::Customer
        } else {
            TokenKind::Profile
        }
    }

    /// Why a token of this kind may not act for the customer.
    fn not_customer(self) -> &'static str {
        match self {
            TokenKind::Device => {
                "This is a device's token: it may only use the Dash Replenishment API \
                 (replenish, slotStatus, …), not act for the customer."
            }
            TokenKind::Buttons => {
                "This is a screened device's token: it may only show and press the buttons the \
                 customer chose for it (/v1/screen/…), not act for the customer."
            }
            _ => {
                "This sign-in only lets an app read your profile. Sign in to Refill again to \
                 see your orders and devices."
            }
        }
    }
}

/// The bearer token of `Authorization: Bearer …`, if any.
pub fn bearer(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|h| h.to_str().ok())
        .and_then(|h| {
            h.strip_prefix("Bearer ")
                .or_else(|| h.strip_prefix("bearer "))
        })
        .map(str::trim)
        .filter(|t| !t.is_empty())
}

/// The access token of a device or profile request: `Authorization: Bearer …`, or the
/// `x-amz-access-token` header that Amazon's DRS and profile endpoints also took.
pub fn access_token(headers: &HeaderMap) -> Option<&str> {
    bearer(headers).or_else(|| {
        headers
            .get("x-amz-access-token")
            .and_then(|h| h.to_str().ok())
            .map(str::trim)
            .filter(|t| !t.is_empty())
    })
}

/// `client_id` and secret of `Authorization: Basic …`, if any.
pub fn basic(headers: &HeaderMap) -> Option<(String, String)> {
    let encoded = headers
        .get(header::AUTHORIZATION)?
        .to_str()
        .ok()?
        .strip_prefix("Basic ")?;
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let (id, secret) = text.split_once(':')?;
    Some((id.to_owned(), secret.to_owned()))
}

/// Whether `Host` names this machine (`localhost`, `127.x.x.x`, `[::1]`, with any port).
fn host_is_loopback(headers: &HeaderMap) -> bool {
    let Some(host) = headers.get(header::HOST).and_then(|h| h.to_str().ok()) else {
        // HTTP/1.0 without Host, or HTTP/2 (the authority is in the URI): allowed, since the
        // listener itself is on loopback.
        return true;
    };
    let name = match host.strip_prefix('[') {
        Some(rest) => rest.split(']').next().unwrap_or_default(),
        None => host.rsplit_once(':').map_or(host, |(name, _)| name),
    };
    name.eq_ignore_ascii_case("localhost")
        || name
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// The address a request came from (the TCP peer); unspecified when the service was not given
/// it (a router driven without a listener).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PeerAddr(pub std::net::IpAddr);

impl<S: Send + Sync> FromRequestParts<S> for PeerAddr {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(PeerAddr(
            parts
                .extensions
                .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
                .map_or(std::net::Ipv4Addr::UNSPECIFIED.into(), |c| c.0.ip()),
        ))
    }
}

/// The customer a `/v1` request acts for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Customer {
    /// The customer's id.
    pub id: i64,
}

impl FromRequestParts<AppState> for Customer {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Error> {
        let headers = &parts.headers;
        if let Some(token) = bearer(headers) {
            let grant = valid_grant(state, token).await?;
            return match TokenKind::of(&grant.scope) {
                TokenKind::Customer => Ok(Customer {
                    id: grant.customer_id,
                }),
                other => Err(Error::forbidden(other.not_customer().to_owned())),
            };
        }
        // Credentials of another kind are refused, not ignored: acting for the service's first
        // customer instead would hide the client's mistake.
        if headers.contains_key(header::AUTHORIZATION) {
            return Err(Error::new(
                Kind::InvalidToken,
                "Send your sign-in as 'Authorization: Bearer' and your access token.",
            ));
        }
        if !state.anonymous() || !host_is_loopback(headers) {
            return Err(Error::new(
                Kind::SignInRequired,
                "This Refill service needs you to sign in.",
            ));
        }
        let id = state
            .store()
            .default_customer()
            .await?
            .ok_or_else(|| Error::not_found("This Refill service has no customers yet."))?;
        Ok(Customer { id })
    }
}

/// A customer who signed in (a customer's bearer token), never the anonymous caller a sandbox
/// on loopback allows: for what only the account's owner may do, such as deleting it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SignedInCustomer {
    /// The customer's id.
    pub id: i64,
}

impl FromRequestParts<AppState> for SignedInCustomer {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Error> {
        if bearer(&parts.headers).is_none() {
            return Err(Error::new(
                Kind::SignInRequired,
                "Sign in first: only the account's owner, signed in, can do this.",
            ));
        }
        let Customer { id } = Customer::from_request_parts(parts, state).await?;
        Ok(SignedInCustomer { id })
    }
}

/// What an unexpired, unrevoked access token grants, or `401 invalid_token`.
async fn valid_grant(state: &AppState, token: &str) -> Result<TokenGrant, Error> {
    state
        .store()
        .access_grant(token, state.now())
        .await?
        .ok_or_else(|| {
            Error::new(
                Kind::InvalidToken,
                "Your sign-in has expired or was revoked. Please sign in again.",
            )
        })
}

/// The device a DRS request comes from, named by its bearer token.
#[derive(Debug, Clone)]
pub struct Device(pub CallingDevice);

impl FromRequestParts<AppState> for Device {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Error> {
        let token = access_token(&parts.headers).ok_or_else(no_device_token)?;
        Ok(Device(device_for_token(state, token).await?))
    }
}

/// The registered device an access token was issued to (`scope=dash:replenish`): `400 Invalid
/// token` when the token is not valid (DRS clients refresh on it) or its device is no longer
/// registered, `403` when it is a valid token of a customer's app, `429` when the device calls
/// faster than its rate.
pub async fn device_for_token(state: &AppState, token: &str) -> Result<CallingDevice, Error> {
    let device = token_device(state, token).await?;
    state.take_device_request(device.id).map_err(|wait| {
        Error::too_many(
            "Rate exceeded: this device sends too many requests. Try again later.",
            Some(wait),
        )
    })?;
    Ok(device)
}

fn no_device_token() -> Error {
    Error::new(
        Kind::InvalidToken,
        "The access token is missing, not valid, or its device is no longer registered.",
    )
}

/// The device of [`device_for_token`], before its rate is counted.
async fn token_device(state: &AppState, token: &str) -> Result<CallingDevice, Error> {
    let digest = crate::auth::token_digest(token);
    let now = state.now();
    if let Some(device) = state.store().cached_device(&digest, now) {
        return Ok(device);
    }
    let grant = state
        .store()
        .access_grant(token, now)
        .await?
        .ok_or_else(no_device_token)?;
    if TokenKind::of(&grant.scope) != TokenKind::Device {
        return Err(Error::forbidden(
            "This token was not issued to a device: the Dash Replenishment API takes a \
             device's own token (scope dash:replenish).",
        ));
    }
    let device = registered_device_of(state, &grant)
        .await?
        .ok_or_else(no_device_token)?;
    if let Some(expires) = grant.expires_at {
        state.store().cache_device(
            digest,
            crate::store::CachedDevice {
                device: device.clone(),
                expires,
                found: std::time::Instant::now(),
            },
        );
    }
    Ok(device)
}

/// The screened device a `/v1/screen` request comes from, named by its bearer token
/// (`refill:buttons`): `401` when the token is missing, not valid, or its device is no longer
/// linked; `403` for a valid token of another kind (a DRS device's, a customer's app's).
#[derive(Debug, Clone)]
pub struct ScreenDevice(pub CallingDevice);

impl FromRequestParts<AppState> for ScreenDevice {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Error> {
        let unlinked = || {
            Error::new(
                Kind::InvalidToken,
                "The access token is missing, not valid, or this device is no longer linked to \
                 a Refill account. Link it again.",
            )
        };
        let token = bearer(&parts.headers).ok_or_else(unlinked)?;
        let grant = state
            .store()
            .access_grant(token, state.now())
            .await?
            .ok_or_else(unlinked)?;
        if TokenKind::of(&grant.scope) != TokenKind::Buttons {
            return Err(Error::forbidden(
                "This token was not issued to a screened device: the button API takes a \
                 device's own token with the scope refill:buttons.",
            ));
        }
        let device = registered_device_of(state, &grant)
            .await?
            .ok_or_else(unlinked)?;
        Ok(ScreenDevice(device))
    }
}

/// The device a device's token names in its `scope_data`, while that device is registered to
/// the token's customer.
async fn registered_device_of(
    state: &AppState,
    grant: &TokenGrant,
) -> Result<Option<CallingDevice>, Error> {
    let Some(scope) = grant
        .scope_data
        .as_deref()
        .and_then(|data| DeviceScope::parse(data).ok())
    else {
        return Ok(None);
    };
    Ok(state
        .store()
        .registered_device(grant.customer_id, &scope.model, &scope.serial)
        .await?)
}

/// A program reading the customer's profile (`/user/profile`): any valid access token with
/// `profile` (name, email and id) or `profile:user_id` (the id only).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProfileReader {
    /// Whose profile.
    pub customer_id: i64,
    /// Whether the token may read the name and email too (`profile`).
    pub full: bool,
}

impl FromRequestParts<AppState> for ProfileReader {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Error> {
        let invalid = || {
            Error::new(
                Kind::InvalidToken,
                "The access token is missing, invalid or expired.",
            )
        };
        let token = access_token(&parts.headers).ok_or_else(invalid)?;
        let grant = state
            .store()
            .access_grant(token, state.now())
            .await?
            .ok_or_else(invalid)?;
        let has = |wanted: &str| grant.scope.split_whitespace().any(|s| s == wanted);
        if !has("profile") && !has("profile:user_id") {
            return Err(Error::forbidden(
                "The access token does not allow reading the profile.",
            ));
        }
        Ok(ProfileReader {
            customer_id: grant.customer_id,
            full: has("profile"),
        })
    }
}

/// A device maker's server: HTTP Basic `client_id:client_secret` of a confidential client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Maker {
    /// The maker's OAuth client id.
    pub client_id: String,
}

impl FromRequestParts<AppState> for Maker {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Error> {
        let refused = || {
            Error::new(
                Kind::InvalidToken,
                "This is for a device maker's server: authenticate with HTTP Basic \
                 client_id:client_secret of a confidential client.",
            )
        };
        let (id, secret) = basic(&parts.headers).ok_or_else(refused)?;
        match state.store().client(&id).await? {
            Some(client) if client.secret_matches(&secret) => Ok(Maker {
                client_id: client.client_id,
            }),
            _ => Err(refused()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_device_scope_makes_a_device_token_whatever_else_it_has() {
        assert_eq!(TokenKind::of("refill:customer"), TokenKind::Customer);
        assert_eq!(
            TokenKind::of("profile refill:customer"),
            TokenKind::Customer
        );
        assert_eq!(
            TokenKind::of("dash:replenish refill:customer"),
            TokenKind::Device
        );
        assert_eq!(TokenKind::of("profile"), TokenKind::Profile);
        assert_eq!(TokenKind::of("profile:user_id"), TokenKind::Profile);
        assert_eq!(TokenKind::of("refill:customers"), TokenKind::Profile);
    }

    #[test]
    fn only_loopback_hosts_count_as_loopback() {
        let with = |host: &str| {
            let mut h = HeaderMap::new();
            h.insert(header::HOST, host.parse().unwrap());
            host_is_loopback(&h)
        };
        assert!(with("127.0.0.1:8750"));
        assert!(with("localhost:1"));
        assert!(with("[::1]:8750"));
        assert!(with("127.0.0.1"));
        assert!(!with("evil.example:8750"));
        assert!(!with("localhost.evil.example"));
        assert!(!with("192.168.1.2:8750"));
        assert!(!with("[fe80::1]:8750"));
    }
}

/// The operator's scripts and tools on the admin API (`/admin/v1/…`): an admin token, never a
/// customer's or a device's (`403`, saying so), and never nobody (`401`), on loopback too.
#[cfg(feature = "hosted")]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Admin {
    /// The token's name.
    pub token_name: String,
}

#[cfg(feature = "hosted")]
impl FromRequestParts<AppState> for Admin {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Error> {
        let Some(token) = bearer(&parts.headers) else {
            return Err(Error::new(
                Kind::SignInRequired,
                "The admin API takes an admin token: send 'Authorization: Bearer <token>' with \
                 a token made by `refill-service admin-tokens create NAME`.",
            ));
        };
        let now = state.now();
        if let Some(token_name) = state.store().admin_token_in_use(token, now).await? {
            return Ok(Admin { token_name });
        }
        if !token.starts_with(crate::admin_tokens::PREFIX) {
            if let Some(grant) = state.store().access_grant(token, now).await? {
                let whose = match TokenKind::of(&grant.scope) {
                    TokenKind::Device | TokenKind::Buttons => "a device's",
                    TokenKind::Customer | TokenKind::Profile => "a customer's",
                };
                return Err(Error::forbidden(format!(
                    "This is {whose} token: the admin API takes only an admin token, made by \
                     `refill-service admin-tokens create NAME`."
                )));
            }
        }
        Err(Error::new(
            Kind::InvalidToken,
            "This admin token is not valid, or it was revoked (see `refill-service admin-tokens \
             list`).",
        ))
    }
}
