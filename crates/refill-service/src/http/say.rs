//! The customer's say over what screened devices may order (`/v1/…`, for a [`Customer`]): each
//! device's spending limits and "ask me first", and the approval requests its presses made.
//!
//! | method | path | answer |
//! |---|---|---|
//! | GET, PUT | `/v1/devices/{model}/{serial}/limits` | [`DeviceLimits`]; [`LimitsChange`] sets them |
//! | PUT | `/v1/devices/{model}/{serial}/buttons` | [`ButtonsChange`]: the products a screened device shows (1 to 12 of the catalog's); the device's [`SlotProduct`]s as they are now, and its screen is told (`ButtonsChanged`) |
//! | GET | `/v1/approvals` | [`ApprovalList`]: pending requests first, then the latest answered |
//! | POST | `/v1/approvals/{id}/approve`, `/decline` | [`ApprovalView`]: answered (approved: its order placed); `409 approval_closed` when it was answered already or expired |

use super::caller::Customer;
use super::error::Error;
use super::{json_body, AppState};
use crate::store::devices::CallingDevice;
use axum::extract::{Path, State};
use axum::routing::{get, post};
use axum::{Json, Router};
use refill_wire::{
    ApprovalList, ApprovalView, ButtonsChange, DeviceLimits, LimitsChange, SlotProduct,
};

/// The customer's routes for limits and approvals.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/v1/devices/{model}/{serial}/limits",
            get(limits).put(set_limits),
        )
        .route(
            "/v1/devices/{model}/{serial}/buttons",
            axum::routing::put(set_buttons),
        )
        .route("/v1/approvals", get(approvals))
        .route("/v1/approvals/{id}/approve", post(approve))
        .route("/v1/approvals/{id}/decline", post(decline))
}

/// The largest limit taken, in minor units (ten million in the major unit).
const MAX_LIMIT_MINOR: i64 = 1_000_000_000;

async fn device_of(
    state: &AppState,
    customer: i64,
    (model, serial): (&str, &str),
) -> Result<CallingDevice, Error> {
    state
        .store()
        .registered_device(customer, model, serial)
        .await?
        .filter(|d| d.model != crate::store::items::home_model(customer))
        .ok_or_else(|| Error::not_found(format!("You have no device {model} {serial}.")))
}

async fn limits(
    State(state): State<AppState>,
    Customer { id: customer }: Customer,
    Path((model, serial)): Path<(String, String)>,
) -> Result<Json<DeviceLimits>, Error> {
    let device = device_of(&state, customer, (&model, &serial)).await?;
    Ok(Json(
        state.store().device_limits(&device, state.now()).await?,
    ))
}

async fn set_limits(
    State(state): State<AppState>,
    Customer { id: customer }: Customer,
    Path((model, serial)): Path<(String, String)>,
    body: axum::body::Bytes,
) -> Result<Json<DeviceLimits>, Error> {
    let change: LimitsChange = json_body(&body)?;
    for (name, amount) in [
        ("perOrderMinor", change.per_order_minor),
        ("perMonthMinor", change.per_month_minor),
    ] {
        if amount.is_some_and(|a| !(1..=MAX_LIMIT_MINOR).contains(&a)) {
            return Err(Error::bad_request(format!(
                "{name} is a limit in cents (1 to {MAX_LIMIT_MINOR}), or null for none."
            )));
        }
    }
    let device = device_of(&state, customer, (&model, &serial)).await?;
    Ok(Json(
        state
            .store()
            .set_device_limits(&device, &change, state.now())
            .await?,
    ))
}

async fn set_buttons(
    State(state): State<AppState>,
    Customer { id: customer }: Customer,
    Path((model, serial)): Path<(String, String)>,
    body: axum::body::Bytes,
) -> Result<Json<Vec<SlotProduct>>, Error> {
    let change: ButtonsChange = json_body(&body)?;
    let max = crate::store::screen::MAX_BUTTONS;
    if change.asins.is_empty() || change.asins.len() > max {
        return Err(Error::bad_request(format!(
            "Choose 1 to {max} products for the device's screen."
        )));
    }
    let mut asins: Vec<String> = Vec::with_capacity(change.asins.len());
    for asin in &change.asins {
        let asin = refill_core::Asin::parse(asin)
            .map_err(|e| Error::bad_request(format!("{e}.")))?
            .as_str()
            .to_owned();
        if !asins.contains(&asin) {
            asins.push(asin);
        }
    }
    let device = device_of(&state, customer, (&model, &serial)).await?;
    let shown = state
        .store()
        .change_buttons(&device, &asins, state.now())
        .await?;
    Ok(Json(shown))
}

async fn approvals(
    State(state): State<AppState>,
    Customer { id: customer }: Customer,
) -> Result<Json<ApprovalList>, Error> {
    Ok(Json(ApprovalList {
        approvals: state.store().approvals(customer, state.now()).await?,
    }))
}

async fn decide(
    state: &AppState,
    customer: i64,
    id: &str,
    approve: bool,
) -> Result<Json<ApprovalView>, Error> {
    let decided = state
        .store()
        .decide_approval(customer, id, approve, (state.now(), state.policy()))
        .await?;
    tracing::info!(approval = id, approve, "approval request answered");
    Ok(Json(decided))
}

async fn approve(
    State(state): State<AppState>,
    Customer { id: customer }: Customer,
    Path(id): Path<String>,
) -> Result<Json<ApprovalView>, Error> {
    decide(&state, customer, &id, true).await
}

async fn decline(
    State(state): State<AppState>,
    Customer { id: customer }: Customer,
    Path(id): Path<String>,
) -> Result<Json<ApprovalView>, Error> {
    decide(&state, customer, &id, false).await
}
