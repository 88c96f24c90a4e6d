//! A Login-with-Amazon-compatible authorization server (OAuth 2.0 authorization code grant with
//! PKCE; RFC 6749, 7636, 7009, 8252).
//!
//! | method | path | what |
//! |---|---|---|
//! | GET | `/ap/oa` | authorization request → sign-in page (or an error) |
//! | POST | `/ap/signin`, `/ap/signup` | sign in / create an account → consent page |
//! | POST | `/ap/cancel` | the customer cancels → back to the app with `access_denied` |
//! | POST | `/ap/consent` | Allow → back to the app with `code`; Deny → `access_denied` |
//! | POST | `/auth/o2/token` | `authorization_code` and `refresh_token` grants |
//! | POST | `/auth/o2/revoke` | token revocation (RFC 7009) |
//! | GET | `/user/profile` | `user_id`, `name`, `email` for a bearer token |
//!
//! An unknown `client_id` or a `redirect_uri` the client did not register shows an error page and
//! never redirects (RFC 6749 §4.1.2.1). Loopback redirect URIs match on any port (RFC 8252 §7.3).
//! Codes are single-use and live 5 minutes; replaying one revokes what it issued.

// Handlers here return `Result<_, Response>` to answer early with a page, a redirect or an OAuth
// error. A response is built once per request, on the error path; boxing it would gain nothing.
#![allow(clippy::result_large_err)]

use super::caller::{PeerAddr, ProfileReader};
use super::error::{Error, Kind};
use super::pages;
use crate::auth::crypto;
use crate::auth::ClientKind;
use crate::http::AppState;
use crate::store::accounts as store;
use crate::store::accounts::{Client, PendingGrant, RedeemError, SignInRefused, SignUpError};
use crate::store::devices::{DeviceScope, DeviceTaken, ModelChoices};
use crate::store::screen::ButtonChoice;
use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use refill_core::Sensitive;
use serde::Serialize;
use std::collections::HashMap;

/// The sign-in pages, for people in a browser (they answer in HTML pages and redirects).
pub fn page_routes() -> Router<AppState> {
    Router::new()
        .route("/ap/oa", get(authorize))
        .route("/ap/signin", post(sign_in))
        .route("/ap/signup", post(sign_up))
        .route("/ap/cancel", post(cancel))
        .route("/ap/consent", post(consent))
}

/// The token, revocation and profile endpoints, for programs (errors in the LwA dialect, see
/// [`Dialect::Lwa`](super::error::Dialect::Lwa)).
pub fn token_routes() -> Router<AppState> {
    Router::new()
        .route("/auth/o2/token", post(token))
        .route("/auth/O2/token", post(token))
        .route("/auth/o2/revoke", post(revoke))
        .route("/user/profile", get(profile))
}

/// Request parameters; a parameter given twice is an error (RFC 6749 §3.1).
struct Params(HashMap<String, String>);

impl Params {
    fn parse(raw: &[u8]) -> Result<Self, String> {
        let pairs: Vec<(String, String)> = serde_urlencoded::from_bytes(raw)
            .map_err(|_| "The request's parameters are not properly encoded.".to_owned())?;
        let mut map = HashMap::new();
        for (k, v) in pairs {
            if map.insert(k.clone(), v).is_some() {
                return Err(format!("The parameter {k} was given more than once."));
            }
        }
        Ok(Params(map))
    }

    fn get(&self, name: &str) -> Option<&str> {
        self.0
            .get(name)
            .map(String::as_str)
            .filter(|v| !v.is_empty())
    }
}

/// Whether `requested` is one of the client's redirect URIs; a registered loopback URI matches the
/// same URI on any port.
fn redirect_allowed(client: &Client, requested: &str) -> bool {
    client.redirect_uris.iter().any(|registered| {
        registered == requested
            || match (loopback_parts(registered), loopback_parts(requested)) {
                (Some(a), Some(b)) => a == b,
                _ => false,
            }
    })
}

/// `http://127.0.0.1[:port]/rest` or `http://[::1][:port]/rest` → (host, rest).
fn loopback_parts(uri: &str) -> Option<(&str, &str)> {
    let rest = uri.strip_prefix("http://")?;
    let (host, after) = if let Some(r) = rest.strip_prefix("127.0.0.1") {
        ("127.0.0.1", r)
    } else if let Some(r) = rest.strip_prefix("[::1]") {
        ("[::1]", r)
    } else {
        return None;
    };
    let after = match after.strip_prefix(':') {
        Some(port_and_rest) => {
            let digits = port_and_rest.bytes().take_while(u8::is_ascii_digit).count();
            if digits == 0 {
                return None;
            }
            &port_and_rest[digits..]
        }
        None => after,
    };
    (after.is_empty() || after.starts_with('/') || after.starts_with('?')).then_some((host, after))
}

/// `uri` with `pairs` added to its query.
fn with_query(uri: &str, pairs: &[(&str, &str)]) -> String {
    let query = serde_urlencoded::to_string(pairs).unwrap_or_default();
    let separator = if uri.contains('?') { '&' } else { '?' };
    format!("{uri}{separator}{query}")
}

/// Sends the browser back to the app with an error (RFC 6749 §4.1.2.1).
fn redirect_error(grant: &PendingGrant, error: &str, description: &str) -> Response {
    let mut pairs = vec![("error", error), ("error_description", description)];
    if let Some(state) = &grant.state {
        pairs.push(("state", state));
    }
    Redirect::to(&with_query(&grant.redirect_uri, &pairs)).into_response()
}

/// Checks an authorization request. `Err` is the answer to give: an error page when the client or
/// redirect URI can't be trusted, otherwise a redirect with the error.
async fn check_request(
    state: &AppState,
    params: &Params,
) -> Result<(Client, PendingGrant), Response> {
    let Some(client_id) = params.get("client_id") else {
        return Err(pages::error(
            StatusCode::BAD_REQUEST,
            "Can't sign in",
            "The app did not say which app it is (client_id is missing).",
        ));
    };
    let client = match state.store().client(client_id).await {
        Ok(Some(client)) => client,
        Ok(None) => {
            return Err(pages::error(
                StatusCode::BAD_REQUEST,
                "Can't sign in",
                "This app is not registered with this Refill service.",
            ))
        }
        Err(e) => return Err(internal(e)),
    };
    let redirect_uri = match params.get("redirect_uri") {
        Some(uri) if redirect_allowed(&client, uri) => uri.to_owned(),
        Some(_) => {
            return Err(pages::error(
                StatusCode::BAD_REQUEST,
                "Can't sign in",
                "The app asked to be sent back to an address it is not registered for.",
            ))
        }
        None => {
            return Err(pages::error(
                StatusCode::BAD_REQUEST,
                "Can't sign in",
                "The app did not say where to send you back to (redirect_uri is missing).",
            ))
        }
    };
    let grant = PendingGrant {
        client_id: client.client_id.clone(),
        redirect_uri,
        scope: params.get("scope").unwrap_or_default().to_owned(),
        scope_data: params.get("scope_data").map(str::to_owned),
        state: params.get("state").map(str::to_owned),
        code_challenge: params.get("code_challenge").map(str::to_owned),
        code_challenge_method: params.get("code_challenge_method").map(str::to_owned),
    };
    let fail = |error: &str, description: &str| Err(redirect_error(&grant, error, description));
    if params.get("response_type") != Some("code") {
        return fail(
            "unsupported_response_type",
            "Only response_type=code (the authorization code grant) is supported.",
        );
    }
    if grant.scope.split_whitespace().next().is_none() {
        return fail("invalid_scope", "The request has no scope.");
    }
    if let Some(unknown) = grant
        .scope
        .split_whitespace()
        .find(|s| !crate::auth::SCOPES.contains(s))
    {
        return fail("invalid_scope", &format!("Unknown scope: {unknown}."));
    }
    if let Some(data) = &grant.scope_data {
        if !serde_json::from_str::<serde_json::Value>(data).is_ok_and(|v| v.is_object()) {
            return fail("invalid_request", "scope_data must be a JSON object.");
        }
    }
    let has = |wanted: &str| grant.scope.split_whitespace().any(|s| s == wanted);
    if has(crate::auth::DEVICE_SCOPE) && has(crate::auth::BUTTONS_SCOPE) {
        return fail(
            "invalid_scope",
            "A device is linked either to reorder by itself (dash:replenish) or to show the \
             customer's buttons (refill:buttons): ask for one of them.",
        );
    }
    if grant.device_scope() {
        let Some(data) = &grant.scope_data else {
            return fail(
                "invalid_request",
                if grant.buttons_scope() {
                    "refill:buttons links a device: scope_data must name its device_model and serial."
                } else {
                    "dash:replenish registers a device: scope_data must name its device_model and serial."
                },
            );
        };
        let device = match DeviceScope::parse(data) {
            Ok(device) => device,
            Err(message) => return fail("invalid_request", &message),
        };
        match state.store().model_choices(&device.model).await {
            Ok(Some(_)) => {}
            Ok(None) => {
                return fail(
                    "invalid_request",
                    &format!(
                        "This Refill service does not know the device model {:?}.",
                        device.model
                    ),
                )
            }
            Err(e) => return Err(internal(e)),
        }
    }
    match (
        &grant.code_challenge,
        grant.code_challenge_method.as_deref(),
    ) {
        (None, Some(_)) => {
            return fail(
                "invalid_request",
                "code_challenge_method was given without code_challenge.",
            )
        }
        (None, None) if client.kind == ClientKind::Public => {
            return fail(
                "invalid_request",
                "This app must use PKCE: code_challenge is required.",
            )
        }
        // S256 only: `plain` (the default when no method is named) would hand the verifier to
        // anyone who sees the authorization request.
        (Some(_), m) if m != Some("S256") => {
            return fail(
                "invalid_request",
                "code_challenge_method must be S256 (plain is not accepted).",
            )
        }
        (Some(c), _) if !crypto::valid_verifier(c) => {
            return fail("invalid_request", "code_challenge is not well formed.")
        }
        _ => {}
    }
    Ok((client, grant))
}

fn internal(e: sqlx::Error) -> Response {
    tracing::error!("authorization request failed: {e}");
    pages::error(
        StatusCode::INTERNAL_SERVER_ERROR,
        "Something went wrong",
        "The Refill service ran into a problem on its side. Please try again.",
    )
}

async fn authorize(State(state): State<AppState>, RawQuery(query): RawQuery) -> Response {
    let params = match Params::parse(query.unwrap_or_default().as_bytes()) {
        Ok(p) => p,
        Err(message) => return pages::error(StatusCode::BAD_REQUEST, "Can't sign in", &message),
    };
    match check_request(&state, &params).await {
        Ok((client, grant)) => pages::sign_in(&client.name, &grant, None, state.sandbox()),
        Err(response) => response,
    }
}

async fn parse_form_request(
    state: &AppState,
    headers: &HeaderMap,
    body: &Bytes,
) -> Result<(Params, Client, PendingGrant), Response> {
    same_origin(headers)?;
    let params = Params::parse(body)
        .map_err(|message| pages::error(StatusCode::BAD_REQUEST, "Can't sign in", &message))?;
    let (client, grant) = check_request(state, &params).await?;
    Ok((params, client, grant))
}

/// The cookie that ties a consent ticket to the browser that signed in.
const BROWSER_COOKIE: &str = "refill_signin";

/// `403` unless a form was sent from one of this service's own pages. A browser says where a
/// request comes from in `Sec-Fetch-Site` (which must be `same-origin`); one that does not,
/// in `Origin`, which must be this service's (`Host`). The pages' `Referrer-Policy:
/// no-referrer` makes browsers send `Origin: null` even for their own forms, so `null` counts
/// only together with `Sec-Fetch-Site`. Requests with neither (not from a browser) pass; the
/// consent ticket's cookie still binds them to a browser.
fn same_origin(headers: &HeaderMap) -> Result<(), Response> {
    let text = |name: &str| headers.get(name).and_then(|h| h.to_str().ok());
    let allowed = match (text("sec-fetch-site"), headers.get(header::ORIGIN)) {
        (Some(site), _) => site.eq_ignore_ascii_case("same-origin"),
        (None, Some(origin)) => {
            let origin_host = origin
                .to_str()
                .ok()
                .and_then(|o| o.split_once("://"))
                .map(|(_, host)| host);
            matches!((origin_host, text("host")), (Some(a), Some(b)) if a.eq_ignore_ascii_case(b))
        }
        (None, None) => true,
    };
    if allowed {
        return Ok(());
    }
    Err(pages::error(
        StatusCode::FORBIDDEN,
        "Can't sign in",
        "This form was sent from another site, so it was not accepted. Go back to the app and \
         sign in again.",
    ))
}

/// The value of the browser cookie, if the request carries it.
fn browser_cookie(headers: &HeaderMap) -> Option<&str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|h| h.to_str().ok())
        .flat_map(|h| h.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == BROWSER_COOKIE)
        .map(|(_, value)| value)
        .filter(|v| !v.is_empty())
}

/// Whether the browser reached this service over HTTPS (directly or through a proxy that says
/// so), so that the cookie is marked `Secure`.
fn over_https(headers: &HeaderMap) -> bool {
    let says = |name: &str, prefix: &str| {
        headers
            .get(name)
            .and_then(|h| h.to_str().ok())
            .is_some_and(|v| v.to_ascii_lowercase().starts_with(prefix))
    };
    says("x-forwarded-proto", "https") || says("origin", "https://")
}

/// The consent page for `customer`, who just signed in; `failures`: wrong passwords tried for
/// their account since they last did, which they are told of.
async fn to_consent(
    state: &AppState,
    headers: &HeaderMap,
    (client, grant): (&Client, &PendingGrant),
    customer: store::Customer,
    failures: u32,
) -> Response {
    let device = match device_of(state, grant).await {
        Ok(device) => device,
        Err(response) => return response,
    };
    if let Some((scope, _)) = &device {
        match state
            .store()
            .may_register(customer.id, scope, grant.code_challenge.as_deref())
            .await
        {
            Ok(Ok(())) => {}
            Ok(Err(DeviceTaken)) => return device_taken(),
            Err(e) => return internal(e),
        }
    }
    let buttons = if device.is_some() && grant.buttons_scope() {
        match state.store().button_choices(customer.id, state.now()).await {
            Ok(choices) => Some(choices),
            Err(e) => return internal(e),
        }
    } else {
        None
    };
    // The ticket works only with this browser's cookie: a ticket seen elsewhere (a shared
    // screen, a log) can't be used from another browser. A browser keeps its cookie for later
    // sign-ins; it is only ever combined with a new ticket.
    let (browser, new_cookie) = match browser_cookie(headers) {
        Some(value) => (value.to_owned(), false),
        None => (crypto::new_ticket().into_inner(), true),
    };
    let mut response = match state
        .store()
        .open_consent(customer.id, grant, &browser, state.now())
        .await
    {
        Ok(ticket) => pages::consent(
            (&client.name, &customer.name),
            grant,
            (device.as_ref(), buttons.as_deref()),
            ticket.expose(),
            failures,
        ),
        Err(e) => return internal(e),
    };
    if new_cookie {
        let secure = if over_https(headers) { "; Secure" } else { "" };
        let cookie =
            format!("{BROWSER_COOKIE}={browser}; Path=/ap; HttpOnly; SameSite=Lax{secure}");
        if let Ok(value) = cookie.parse() {
            response.headers_mut().append(header::SET_COOKIE, value);
        }
    }
    response
}

/// `409`: the device belongs to someone else.
fn device_taken() -> Response {
    pages::error(
        StatusCode::CONFLICT,
        "Can't link the device",
        DeviceTaken::MESSAGE,
    )
}

/// The device a grant registers, with its model's slots and products.
async fn device_of(
    state: &AppState,
    grant: &PendingGrant,
) -> Result<Option<(DeviceScope, ModelChoices)>, Response> {
    let Some(data) = grant.scope_data.as_deref().filter(|_| grant.device_scope()) else {
        return Ok(None);
    };
    let device = DeviceScope::parse(data).map_err(|message| {
        pages::error(StatusCode::BAD_REQUEST, "Can't link the device", &message)
    })?;
    if device.possession.is_some() && device.proven_key(grant.code_challenge.as_deref()).is_none() {
        return Err(pages::error(
            StatusCode::BAD_REQUEST,
            "Can't link the device",
            "The device's proof that it is the device it names does not check out. Reset the \
             device and set it up again; if this keeps happening, contact its maker.",
        ));
    }
    match state.store().model_choices(&device.model).await {
        Ok(Some(model)) => Ok(Some((device, model))),
        Ok(None) => Err(pages::error(
            StatusCode::BAD_REQUEST,
            "Can't link the device",
            "This Refill service does not know this kind of device.",
        )),
        Err(e) => Err(internal(e)),
    }
}

/// The product chosen for each slot on the consent form (`slot.<slotId>` = ASIN); a slot left
/// out gets its model's default. A product that does not fit the slot is an error.
fn chosen_products(
    params: &Params,
    model: &ModelChoices,
) -> Result<Vec<(String, Option<String>)>, String> {
    model
        .slots
        .iter()
        .map(|slot| {
            let chosen = match params.get(&format!("slot.{}", slot.slot_id)) {
                Some(asin) => {
                    if !slot.products.iter().any(|(a, _)| a == asin) {
                        return Err(format!(
                            "The product chosen for {} does not fit it. Go back and choose again.",
                            slot.name
                        ));
                    }
                    Some(asin.to_owned())
                }
                None => slot.products.first().map(|(a, _)| a.clone()),
            };
            Ok((slot.slot_id.clone(), chosen))
        })
        .collect()
}

/// The products chosen for a screened device's buttons on the consent form (`button.<ASIN>`),
/// in the order they were offered: at least one, at most [`MAX_BUTTONS`], each from the
/// catalog.
///
/// [`MAX_BUTTONS`]: crate::store::screen::MAX_BUTTONS
fn chosen_buttons(params: &Params, offered: &[ButtonChoice]) -> Result<Vec<String>, String> {
    if let Some(unknown) = params
        .0
        .keys()
        .filter_map(|k| k.strip_prefix("button."))
        .find(|asin| !offered.iter().any(|c| c.asin == *asin))
    {
        return Err(format!(
            "There is no product {unknown} to choose. Go back and choose again."
        ));
    }
    let chosen: Vec<String> = offered
        .iter()
        .filter(|c| params.get(&format!("button.{}", c.asin)).is_some())
        .map(|c| c.asin.clone())
        .collect();
    if chosen.is_empty() {
        return Err("Choose at least one product for the device's screen to show.".to_owned());
    }
    if chosen.len() > crate::store::screen::MAX_BUTTONS {
        return Err(format!(
            "A device's screen shows at most {} buttons: you chose {}. Go back and choose fewer.",
            crate::store::screen::MAX_BUTTONS,
            chosen.len()
        ));
    }
    Ok(chosen)
}

/// The sign-in page again, with why the attempt did not work.
fn sign_in_again(
    state: &AppState,
    client: &Client,
    grant: &PendingGrant,
    why: Refusal,
) -> Response {
    let (status, message, retry_after) = match why {
        Refusal::Wrong => (
            StatusCode::UNAUTHORIZED,
            "Wrong email or password.".to_owned(),
            None,
        ),
        Refusal::Disabled => (
            StatusCode::FORBIDDEN,
            "This account is disabled. Ask whoever runs this Refill service to enable it again."
                .to_owned(),
            None,
        ),
        Refusal::Wait(until) => {
            let seconds = (until - state.now()).whole_seconds().max(1);
            let wait = if seconds < 90 {
                format!("{seconds} seconds")
            } else {
                format!("{} minutes", (seconds + 59) / 60)
            };
            (
                StatusCode::TOO_MANY_REQUESTS,
                format!(
                    "Too many wrong passwords were tried for this account or from this network, \
                     so sign-in is paused. Try again in {wait}."
                ),
                Some(seconds.unsigned_abs()),
            )
        }
        Refusal::Busy => (
            StatusCode::SERVICE_UNAVAILABLE,
            "Refill is handling many sign-ins right now. Please try again in a few seconds."
                .to_owned(),
            Some(crate::auth::guard::PasswordPool::RETRY_AFTER),
        ),
    };
    let mut response = pages::sign_in(
        &client.name,
        grant,
        Some((status, &message)),
        state.sandbox(),
    );
    if let Some(seconds) = retry_after {
        if let Ok(value) = seconds.to_string().parse() {
            response.headers_mut().insert(header::RETRY_AFTER, value);
        }
    }
    response
}

/// Why a sign-in or sign-up form is shown again.
enum Refusal {
    Wrong,
    Disabled,
    Wait(time::OffsetDateTime),
    Busy,
}

/// Checks `email` and `password` through the throttle: the customer, or why not.
async fn check_password(
    state: &AppState,
    peer: std::net::IpAddr,
    email: &str,
    password: Sensitive<String>,
) -> Result<Result<(store::Customer, u32), Refusal>, sqlx::Error> {
    let throttle = state.throttle();
    if let crate::auth::guard::Verdict::Wait(until) = throttle.verdict(email, peer, state.now()) {
        return Ok(Err(Refusal::Wait(until)));
    }
    Ok(match state.store().sign_in(email, password).await? {
        Ok(customer) => {
            let failures = throttle.succeeded(email, state.now());
            Ok((customer, failures))
        }
        Err(SignInRefused::Wrong) => {
            throttle.failed(email, peer, state.now());
            Err(Refusal::Wrong)
        }
        Err(SignInRefused::Busy) => Err(Refusal::Busy),
        Err(SignInRefused::Disabled) => {
            throttle.succeeded(email, state.now());
            Err(Refusal::Disabled)
        }
    })
}

async fn sign_in(
    State(state): State<AppState>,
    PeerAddr(peer): PeerAddr,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let (params, client, grant) = match parse_form_request(&state, &headers, &body).await {
        Ok(parts) => parts,
        Err(response) => return response,
    };
    let email = params.get("email").unwrap_or_default();
    let password = Sensitive::new(params.get("password").unwrap_or_default().to_owned());
    match check_password(&state, peer, email, password).await {
        Ok(Ok((customer, failures))) => {
            to_consent(&state, &headers, (&client, &grant), customer, failures).await
        }
        Ok(Err(why)) => sign_in_again(&state, &client, &grant, why),
        Err(e) => internal(e),
    }
}

async fn sign_up(
    State(state): State<AppState>,
    PeerAddr(peer): PeerAddr,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let (params, client, grant) = match parse_form_request(&state, &headers, &body).await {
        Ok(parts) => parts,
        Err(response) => return response,
    };
    let name = params.get("name").unwrap_or_default().trim().to_owned();
    let email = params.get("email").unwrap_or_default().trim().to_owned();
    // A sandbox takes anyone; another service, people its operator invited.
    let invitation = params
        .get("invitation")
        .unwrap_or_default()
        .trim()
        .to_owned();
    if !state.sandbox() {
        let invited = !invitation.is_empty()
            && match state
                .store()
                .invitation_valid(&email, &invitation, state.now())
                .await
            {
                Ok(valid) => valid,
                Err(e) => return internal(e),
            };
        if !invited {
            return pages::sign_in(
                &client.name,
                &grant,
                Some((
                    StatusCode::FORBIDDEN,
                    "This Refill service takes new accounts by invitation. That invitation code \
                     is not one for this email, or it was used or has expired: ask whoever runs \
                     the service for one.",
                )),
                false,
            );
        }
    }
    let password = params.get("password").unwrap_or_default().to_owned();
    let problem = if name.is_empty() {
        Some("Please enter your name.")
    } else if !email.contains('@') || email.len() > 254 {
        Some("Please enter a valid email address.")
    } else if password.chars().count() < 8 {
        Some("Please choose a password of 8 characters or more.")
    } else {
        None
    };
    if let Some(problem) = problem {
        return pages::sign_in(
            &client.name,
            &grant,
            Some((StatusCode::BAD_REQUEST, problem)),
            state.sandbox(),
        );
    }
    if let crate::auth::guard::Verdict::Wait(until) =
        state.throttle().verdict(&email, peer, state.now())
    {
        return sign_in_again(&state, &client, &grant, Refusal::Wait(until));
    }
    match state
        .store()
        .sign_up(&name, &email, Sensitive::new(password.clone()))
        .await
    {
        Ok(customer) => {
            if !invitation.is_empty() {
                if let Err(e) = state.store().use_invitation(&invitation, state.now()).await {
                    return internal(e);
                }
            }
            to_consent(&state, &headers, (&client, &grant), customer, 0).await
        }
        // The page never says that an email is taken: with the account's own password this
        // signs in, as a new account would; with another, it answers as a wrong sign-in does
        // (and counts as one).
        Err(SignUpError::EmailTaken) => {
            match check_password(&state, peer, &email, Sensitive::new(password)).await {
                Ok(Ok((customer, failures))) => {
                    to_consent(&state, &headers, (&client, &grant), customer, failures).await
                }
                Ok(Err(why)) => sign_in_again(&state, &client, &grant, why),
                Err(e) => internal(e),
            }
        }
        Err(SignUpError::Busy) => sign_in_again(&state, &client, &grant, Refusal::Busy),
        Err(SignUpError::Database(e)) => internal(e),
    }
}

async fn cancel(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    match parse_form_request(&state, &headers, &body).await {
        Ok((_, _, grant)) => {
            redirect_error(&grant, "access_denied", "The customer cancelled sign-in.")
        }
        Err(response) => response,
    }
}

async fn consent(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    if let Err(response) = same_origin(&headers) {
        return response;
    }
    let params = match Params::parse(&body) {
        Ok(p) => p,
        Err(message) => return pages::error(StatusCode::BAD_REQUEST, "Can't sign in", &message),
    };
    let Some(browser) = browser_cookie(&headers) else {
        return pages::error(
            StatusCode::BAD_REQUEST,
            "Can't sign in",
            "Your browser did not send back the sign-in cookie. Allow cookies for this site, \
             then go back to the app and sign in again.",
        );
    };
    let taken = match params.get("ticket") {
        Some(ticket) => {
            state
                .store()
                .take_consent(ticket, browser, state.now())
                .await
        }
        None => Ok(None),
    };
    let (customer, grant) = match taken {
        Ok(Some(found)) => found,
        Ok(None) => {
            return pages::error(
                StatusCode::BAD_REQUEST,
                "This page has expired",
                "Go back to the app and sign in again.",
            )
        }
        Err(e) => return internal(e),
    };
    if params.get("decision") != Some("allow") {
        return redirect_error(
            &grant,
            "access_denied",
            "The customer did not allow access.",
        );
    }
    if let Some((device, model)) = match device_of(&state, &grant).await {
        Ok(found) => found,
        Err(response) => return response,
    } {
        let chosen = if grant.buttons_scope() {
            match state.store().button_choices(customer, state.now()).await {
                Ok(offered) => chosen_buttons(&params, &offered).map(|b| (Vec::new(), b)),
                Err(e) => return internal(e),
            }
        } else {
            chosen_products(&params, &model).map(|c| (c, Vec::new()))
        };
        let (choices, buttons) = match chosen {
            Ok(chosen) => chosen,
            Err(message) => {
                return pages::error(StatusCode::BAD_REQUEST, "Can't link the device", &message)
            }
        };
        match state
            .store()
            .register_device(
                customer,
                &grant.client_id,
                (&device, grant.code_challenge.as_deref()),
                &model.name,
                (&choices, &buttons),
                state.now(),
            )
            .await
        {
            Ok(Ok(_)) => {}
            Ok(Err(DeviceTaken)) => return device_taken(),
            Err(e) => return internal(e),
        }
        tracing::info!(
            model = device.model,
            serial = device.serial,
            "device registered"
        );
    }
    match state
        .store()
        .create_code(customer, &grant, state.now())
        .await
    {
        Ok(code) => {
            let mut pairs = vec![
                ("code", code.expose().as_str()),
                ("scope", grant.scope.as_str()),
            ];
            if let Some(s) = &grant.state {
                pairs.push(("state", s));
            }
            Redirect::to(&with_query(&grant.redirect_uri, &pairs)).into_response()
        }
        Err(e) => internal(e),
    }
}

fn invalid_grant(parameter: &str) -> Error {
    Error::new(
        Kind::InvalidGrant,
        format!("The request has an invalid grant parameter : {parameter}"),
    )
}

fn missing(parameter: &str) -> Error {
    Error::bad_request(format!(
        "The request is missing a required parameter : {parameter}"
    ))
}

/// Authenticates the client of a token or revoke request (HTTP Basic, or `client_id` and
/// `client_secret` in the form).
async fn client_auth(
    state: &AppState,
    headers: &HeaderMap,
    params: &Params,
) -> Result<Client, Error> {
    let basic = crate::http::caller::basic(headers);
    let (client_id, secret) = match &basic {
        Some((id, secret)) => (Some(id.as_str()), Some(secret.as_str())),
        None => (params.get("client_id"), params.get("client_secret")),
    };
    let unauthorized = || Error::new(Kind::InvalidClient, "Client authentication failed.");
    let client = match client_id {
        Some(id) => state.store().client(id).await?,
        None => None,
    }
    .ok_or_else(unauthorized)?;
    if client.kind == ClientKind::Confidential && !secret.is_some_and(|s| client.secret_matches(s))
    {
        return Err(unauthorized());
    }
    Ok(client)
}

#[derive(Serialize)]
struct TokenResponse {
    access_token: String,
    refresh_token: String,
    token_type: &'static str,
    expires_in: i64,
    scope: String,
}

fn token_response(access: Sensitive<String>, refresh: String, scope: String) -> Response {
    (
        [
            (header::CACHE_CONTROL, "no-store"),
            (header::PRAGMA, "no-cache"),
        ],
        Json(TokenResponse {
            access_token: access.into_inner(),
            refresh_token: refresh,
            token_type: "bearer",
            expires_in: store::ACCESS_LIFETIME.whole_seconds(),
            scope,
        }),
    )
        .into_response()
}

/// The form of a token or revoke request, and the client it authenticates, once `peer` is within
/// its rate (`429 temporarily_unavailable` with `Retry-After` when it is over).
async fn client_request(
    state: &AppState,
    (peer, headers): (std::net::IpAddr, &HeaderMap),
    body: &Bytes,
) -> Result<(Params, Client), Error> {
    state.take_token_request(peer).map_err(|wait| {
        Error::too_many(
            "Too many token requests from this address. Try again shortly.",
            Some(wait),
        )
    })?;
    let params = Params::parse(body).map_err(Error::bad_request)?;
    let client = client_auth(state, headers, &params).await?;
    Ok((params, client))
}

async fn token(
    State(state): State<AppState>,
    PeerAddr(peer): PeerAddr,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, Error> {
    let (params, client) = client_request(&state, (peer, &headers), &body).await?;
    let now = state.now();
    match params.get("grant_type") {
        Some("authorization_code") => {
            let code = params.get("code").ok_or_else(|| missing("code"))?;
            let redirect_uri = params
                .get("redirect_uri")
                .ok_or_else(|| missing("redirect_uri"))?;
            let redeemed = match state.store().redeem_code(code, now).await? {
                Ok(redeemed) => redeemed,
                Err(RedeemError::Invalid) => return Err(invalid_grant("code")),
                Err(RedeemError::Replayed { code_hash }) => {
                    state.store().revoke_code(&code_hash, now).await?;
                    tracing::warn!(
                        client = client.client_id,
                        "authorization code replayed; its tokens are revoked"
                    );
                    return Err(invalid_grant("code"));
                }
            };
            if redeemed.grant.client_id != client.client_id {
                return Err(invalid_grant("code"));
            }
            if redeemed.grant.redirect_uri != redirect_uri {
                return Err(invalid_grant("redirect_uri"));
            }
            if let Some(challenge) = &redeemed.grant.code_challenge {
                let ok = params.get("code_verifier").is_some_and(|v| {
                    crypto::valid_verifier(v) && crypto::pkce_matches(challenge, v)
                });
                if !ok {
                    return Err(invalid_grant("code_verifier"));
                }
            }
            let tokens = state.store().issue_tokens(&redeemed, now).await?;
            Ok(token_response(
                tokens.access_token,
                tokens.refresh_token.into_inner(),
                redeemed.grant.scope.clone(),
            ))
        }
        Some("refresh_token") => {
            let refresh = params
                .get("refresh_token")
                .ok_or_else(|| missing("refresh_token"))?;
            match state.store().refresh(refresh, &client.client_id, now).await? {
                Some((access, scope)) => Ok(token_response(access, refresh.to_owned(), scope)),
                None => Err(Error::new(
                    Kind::InvalidGrant,
                    "The request has an invalid grant parameter : refresh_token. User may have revoked or didn't grant the permission.",
                )),
            }
        }
        Some(_) => Err(Error::new(
            Kind::UnsupportedGrantType,
            "The authorization grant type is not supported by the authorization server.",
        )),
        None => Err(missing("grant_type")),
    }
}

async fn revoke(
    State(state): State<AppState>,
    PeerAddr(peer): PeerAddr,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, Error> {
    let (params, client) = client_request(&state, (peer, &headers), &body).await?;
    let token = params.get("token").ok_or_else(|| missing("token"))?;
    // RFC 7009 §2.2: an unknown or already revoked token is answered with 200 too.
    state
        .store()
        .revoke(token, &client.client_id, state.now())
        .await?;
    Ok((StatusCode::OK, [(header::CACHE_CONTROL, "no-store")]).into_response())
}

#[derive(Serialize)]
struct Profile {
    user_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    email: Option<String>,
}

async fn profile(
    State(state): State<AppState>,
    reader: ProfileReader,
) -> Result<Json<Profile>, Error> {
    let customer = state
        .store()
        .customer(reader.customer_id)
        .await?
        .ok_or_else(|| Error::new(Kind::InvalidToken, "This account no longer exists."))?;
    let full = reader.full;
    Ok(Json(Profile {
        user_id: crate::auth::user_id(customer.id),
        name: full.then(|| customer.name.clone()),
        email: full.then(|| customer.email.clone()),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::ClientRegistration;

    fn client(uris: &[&str]) -> Client {
        let reg = ClientRegistration {
            client_id: "c".into(),
            name: "C".into(),
            kind: ClientKind::Public,
            secret: None,
            redirect_uris: uris.iter().map(|s| (*s).to_owned()).collect(),
        };
        Client::for_tests(&reg)
    }

    #[test]
    fn loopback_redirects_match_on_any_port() {
        let c = client(&["http://127.0.0.1/callback", "refill://auth"]);
        assert!(redirect_allowed(&c, "http://127.0.0.1:49152/callback"));
        assert!(redirect_allowed(&c, "http://127.0.0.1/callback"));
        assert!(redirect_allowed(&c, "refill://auth"));
        assert!(!redirect_allowed(&c, "http://127.0.0.1:49152/other"));
        assert!(!redirect_allowed(
            &c,
            "http://127.0.0.1.evil.example/callback"
        ));
        assert!(!redirect_allowed(
            &c,
            "http://127.0.0.1:80@evil.example/callback"
        ));
        assert!(!redirect_allowed(&c, "http://localhost:49152/callback"));
        assert!(!redirect_allowed(&c, "https://127.0.0.1:49152/callback"));
        assert!(!redirect_allowed(&c, "refill://auth/extra"));
    }

    #[test]
    fn queries_are_appended() {
        assert_eq!(
            with_query("refill://auth", &[("code", "a b")]),
            "refill://auth?code=a+b"
        );
        assert_eq!(
            with_query("http://x/cb?v=1", &[("state", "s")]),
            "http://x/cb?v=1&state=s"
        );
    }

    #[test]
    fn repeated_parameters_are_refused() {
        assert!(Params::parse(b"a=1&b=2").is_ok());
        assert!(Params::parse(b"a=1&a=2").is_err());
    }
}
