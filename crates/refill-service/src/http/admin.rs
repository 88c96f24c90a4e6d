//! The admin API (`/admin/v1/…`): what the operator's commands do, for the operator's scripts
//! and tools, with an admin token (`refill-service admin-tokens create NAME`) and nothing else
//! ([`Admin`]). Each route runs the same operation as its command ([`crate::operator`]) and
//! answers its data as JSON; a refusal is the command's words with `400`, `404` or `409`.
//!
//! | route | command |
//! |---|---|
//! | `GET /admin/v1/customers` | `customers list` |
//! | `POST /admin/v1/invitations` `{"email", "days"?}` | `customers invite` |
//! | `POST /admin/v1/customers/{email}/disable`, `…/enable` | `customers disable`, `enable` |
//! | `DELETE /admin/v1/customers/{email}` | `customers delete --yes` |
//! | `GET /admin/v1/catalog` | `catalog list` |
//! | `POST /admin/v1/catalog` (a CSV or JSON catalog, by `Content-Type`) | `catalog import` |
//! | `GET /admin/v1/models` | `models list` |
//! | `POST /admin/v1/models` (a model file, TOML) | `models add` |
//! | `GET /admin/v1/clients`, `POST /admin/v1/clients` | `clients list`, `clients add` |
//! | `POST /admin/v1/clients/{id}/secret` | `clients new-secret` |
//!
//! Bodies are at most 64 KiB, like every request: a larger catalog is imported in parts.

use super::caller::Admin;
use super::error::{Error, Kind};
use super::{json_body, AppState};
use crate::operator::{Answer, Refused};
use crate::{catalog, clients, customers, models};
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use axum::{Json, Router};
use serde::Deserialize;

/// The admin routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/admin/v1/customers", get(list_customers))
        .route("/admin/v1/invitations", post(invite))
        .route("/admin/v1/customers/{email}/disable", post(disable))
        .route("/admin/v1/customers/{email}/enable", post(enable))
        .route("/admin/v1/customers/{email}", delete(delete_customer))
        .route("/admin/v1/catalog", get(list_catalog).post(import_catalog))
        .route("/admin/v1/models", get(list_models).post(add_model))
        .route("/admin/v1/clients", get(list_clients).post(add_client))
        .route("/admin/v1/clients/{id}/secret", post(new_secret))
}

/// An operation's answer as the API gives it.
fn answer(answer: Answer) -> Result<Response, Error> {
    match answer {
        Ok(done) => {
            let status = if done.created {
                StatusCode::CREATED
            } else {
                StatusCode::OK
            };
            Ok((status, Json(done.data)).into_response())
        }
        Err(refusal) => Err(match refusal.kind {
            Refused::Invalid => Error::bad_request(refusal.message),
            Refused::NotFound => Error::not_found(refusal.message),
            Refused::Conflict => Error::new(Kind::Conflict, refusal.message),
            Refused::Database => Error::internal(refusal.message),
        }),
    }
}

async fn customers_op(state: &AppState, command: customers::Command) -> Result<Response, Error> {
    answer(customers::run(state.store(), command, state.now()).await)
}

async fn list_customers(State(state): State<AppState>, _: Admin) -> Result<Response, Error> {
    customers_op(&state, customers::Command::List).await
}

async fn invite(State(state): State<AppState>, _: Admin, body: Bytes) -> Result<Response, Error> {
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Invite {
        email: String,
        #[serde(default = "week")]
        days: u32,
    }
    fn week() -> u32 {
        7
    }
    let Invite { email, days } = json_body(&body)?;
    customers_op(&state, customers::Command::Invite { email, days }).await
}

async fn disable(
    State(state): State<AppState>,
    _: Admin,
    Path(email): Path<String>,
) -> Result<Response, Error> {
    customers_op(&state, customers::Command::Disable(email)).await
}

async fn enable(
    State(state): State<AppState>,
    _: Admin,
    Path(email): Path<String>,
) -> Result<Response, Error> {
    customers_op(&state, customers::Command::Enable(email)).await
}

async fn delete_customer(
    State(state): State<AppState>,
    _: Admin,
    Path(email): Path<String>,
) -> Result<Response, Error> {
    // The request itself is the confirmation the command line asks for with --yes.
    customers_op(&state, customers::Command::Delete { email, yes: true }).await
}

async fn list_catalog(State(state): State<AppState>, _: Admin) -> Result<Response, Error> {
    answer(catalog::run(state.store(), catalog::Command::List).await)
}

/// The body as text, of one of `types` (by `Content-Type`, parameters ignored); which one.
fn text_of<'a>(
    headers: &HeaderMap,
    body: &'a [u8],
    types: &[&'static str],
) -> Result<(&'static str, &'a str), Error> {
    let given = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(|v| v.trim().to_ascii_lowercase())
        .unwrap_or_default();
    let Some(kind) = types.iter().find(|t| **t == given) else {
        return Err(Error::bad_request(format!(
            "Send the file with Content-Type {}.",
            types.join(" or ")
        )));
    };
    let text =
        std::str::from_utf8(body).map_err(|_| Error::bad_request("The file is not UTF-8 text."))?;
    Ok((kind, text))
}

async fn import_catalog(
    State(state): State<AppState>,
    _: Admin,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, Error> {
    let (kind, text) = text_of(&headers, &body, &["text/csv", "application/json"])?;
    let command = catalog::Command::Import {
        source: "the catalog".to_owned(),
        text: text.to_owned(),
        csv: kind == "text/csv",
    };
    answer(catalog::run(state.store(), command).await)
}

async fn list_models(State(state): State<AppState>, _: Admin) -> Result<Response, Error> {
    answer(models::run(state.store(), models::Command::List).await)
}

async fn add_model(
    State(state): State<AppState>,
    _: Admin,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, Error> {
    let (_, text) = text_of(&headers, &body, &["application/toml"])?;
    let command = models::Command::Add {
        source: "the model".to_owned(),
        text: text.to_owned(),
    };
    answer(models::run(state.store(), command).await)
}

async fn list_clients(State(state): State<AppState>, _: Admin) -> Result<Response, Error> {
    answer(clients::run(state.store(), clients::Command::List).await)
}

async fn add_client(
    State(state): State<AppState>,
    _: Admin,
    body: Bytes,
) -> Result<Response, Error> {
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct NewClient {
        id: String,
        name: String,
        redirect_uris: Vec<String>,
        #[serde(default)]
        public: bool,
    }
    let new: NewClient = json_body(&body)?;
    let command = clients::Command::Add(clients::NewClient {
        id: new.id,
        name: new.name,
        redirect_uris: new.redirect_uris,
        public: new.public,
    });
    answer(clients::run(state.store(), command).await)
}

async fn new_secret(
    State(state): State<AppState>,
    _: Admin,
    Path(id): Path<String>,
) -> Result<Response, Error> {
    answer(clients::run(state.store(), clients::Command::NewSecret(id)).await)
}
