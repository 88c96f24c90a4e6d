//! The maker's webhook routes. A maker (a confidential OAuth client, with HTTP Basic
//! `client_id:client_secret`) registers webhooks at `POST /v1/webhooks`
//! (`{"url": …, "version": 1|2}`; the answer carries the signing secret, shown once), lists them
//! at `GET /v1/webhooks` and removes one at `DELETE /v1/webhooks/{id}`. Its webhooks hear of the
//! devices registered through it; the outbox that sends them is [`crate::store::webhooks`].

use crate::http::caller::Maker;
use crate::http::error::Error;
use crate::http::AppState;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get};
use axum::{Json, Router};
use serde_json::{json, Value};

/// The webhook routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/v1/webhooks", get(list).post(create))
        .route("/v1/webhooks/{id}", delete(remove))
}

async fn list(
    State(state): State<AppState>,
    Maker { client_id }: Maker,
) -> Result<Json<Value>, Error> {
    let hooks = state.store().webhooks(&client_id).await?;
    Ok(Json(json!({ "webhooks": hooks })))
}

async fn create(
    State(state): State<AppState>,
    Maker { client_id }: Maker,
    body: axum::body::Bytes,
) -> Result<Response, Error> {
    #[derive(serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    struct NewWebhook {
        url: String,
        #[serde(default = "two")]
        version: i64,
    }
    fn two() -> i64 {
        2
    }
    let new: NewWebhook = super::json_body(&body)?;
    if let Some(problem) =
        crate::outbound::webhook_problem(&new.url, state.private_webhooks_allowed())
    {
        return Err(Error::bad_request(problem));
    }
    if !matches!(new.version, 1 | 2) {
        return Err(Error::bad_request(
            "version must be 1 or 2 (the DRS notification payload version).",
        ));
    }
    let secret: String = {
        use rand::Rng;
        rand::thread_rng()
            .sample_iter(&rand::distributions::Alphanumeric)
            .take(40)
            .map(char::from)
            .collect()
    };
    let hook = state
        .store()
        .add_webhook(&client_id, &new.url, new.version, &secret, state.now())
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({ "id": hook.id, "url": hook.url, "version": hook.version, "secret": secret })),
    )
        .into_response())
}

async fn remove(
    State(state): State<AppState>,
    Maker { client_id }: Maker,
    Path(id): Path<String>,
) -> Result<StatusCode, Error> {
    // An id that is not a number names no webhook either: 404, in JSON like every answer.
    let not_found = || Error::not_found(format!("You have no webhook {id}."));
    let number: i64 = id.parse().map_err(|_| not_found())?;
    if !state.store().remove_webhook(&client_id, number).await? {
        return Err(not_found());
    }
    Ok(StatusCode::NO_CONTENT)
}
