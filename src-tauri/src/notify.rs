//! OS notifications for the app's notices (tauri-plugin-notification), with their actions:
//! "Reorder" on a low supply, "Cancel order" on a placed order. A click on a notification itself
//! brings the window forward and opens the in-app inbox, which offers the same actions where the
//! notification server shows no buttons. Every notice also goes to the UI as the `notice` event.

use crate::bring_forward;
use refill_commands::{notices, AppCore, Notice, NoticeKind};
use tauri::{AppHandle, Emitter, Runtime};
use tauri_plugin_notification::{Action, ActionType, NotificationExt};

/// The action type of low-supply notifications.
const LOW_SUPPLY: &str = "low-supply";
/// The action type of placed-order notifications.
const ORDER_PLACED: &str = "order-placed";
/// Orders the low item again.
const REORDER: &str = "reorder";
/// Cancels the placed order.
const CANCEL: &str = "cancel";

/// Raises a notification for every notice of `core` from now on, acts on their actions, and
/// starts following the service's events.
pub fn start<R: Runtime>(app: &AppHandle<R>, core: &AppCore) {
    let notification = app.notification();
    let registered = notification.register_action_types(vec![
        ActionType::builder(LOW_SUPPLY)
            .actions(vec![Action::builder(REORDER, "Reorder").build()])
            .build(),
        ActionType::builder(ORDER_PLACED)
            .actions(vec![Action::builder(CANCEL, "Cancel order")
                .destructive(true)
                .build()])
            .build(),
    ]);
    if let Err(e) = registered {
        tracing::warn!("notifications will have no actions: {e}");
    }
    let handle = app.clone();
    let acting = core.clone();
    let listening = notification.on_action(move |performed| {
        let extra = |key: &str| {
            performed
                .notification()
                .and_then(|n| n.extra().get(key))
                .and_then(|v| v.as_str())
                .map(str::to_owned)
        };
        let core = acting.clone();
        match (
            performed.action_id(),
            extra("asin"),
            extra("eventInstanceId"),
        ) {
            (REORDER, Some(asin), _) => {
                tracing::info!(asin, "reorder from a notification");
                tauri::async_runtime::spawn(async move {
                    if let Err(e) = core.press_button(asin).await {
                        core.announce(notices::problem("reorder", &e));
                    }
                });
            }
            (CANCEL, _, Some(id)) => {
                tracing::info!(order = id, "cancel from a notification");
                tauri::async_runtime::spawn(async move {
                    if let Err(e) = core.cancel_order(id).await {
                        core.announce(notices::problem("cancel the order", &e));
                    }
                });
            }
            _ => {
                bring_forward(&handle);
                let _ = handle.emit("open-inbox", ());
            }
        }
    });
    if let Err(e) = listening {
        tracing::warn!("notification actions will not reach Refill: {e}");
    }
    let mut notices = core.notices();
    let handle = app.clone();
    tauri::async_runtime::spawn(async move {
        use tokio::sync::broadcast::error::RecvError;
        loop {
            match notices.recv().await {
                Ok(notice) => show(&handle, &notice),
                Err(RecvError::Lagged(missed)) => {
                    tracing::warn!(missed, "notices came faster than they could be shown");
                }
                Err(RecvError::Closed) => return,
            }
        }
    });
    // follow_events spawns on the current Tokio runtime: start it from inside Tauri's.
    let core = core.clone();
    tauri::async_runtime::spawn(async move { core.follow_events() });
}

/// Tells the UI about `notice` and raises its OS notification.
fn show<R: Runtime>(app: &AppHandle<R>, notice: &Notice) {
    if let Err(e) = app.emit("notice", notice) {
        tracing::warn!("the window was not told of a notice: {e}");
    }
    let mut builder = app
        .notification()
        .builder()
        .id(i32::try_from(notice.id % i64::from(i32::MAX)).unwrap_or_default())
        .title(&notice.title)
        .body(&notice.body);
    match (notice.kind, &notice.asin, &notice.event_instance_id) {
        (NoticeKind::LowSupply, Some(asin), _) => {
            builder = builder
                .action_type_id(LOW_SUPPLY)
                .extra("asin", asin.as_str());
        }
        (NoticeKind::OrderPlaced, _, Some(id)) if notice.cancellable_until.is_some() => {
            builder = builder
                .action_type_id(ORDER_PLACED)
                .extra("eventInstanceId", id.as_str());
        }
        _ => {}
    }
    // The plugin reports success even when no notification server got it; the inbox has it.
    if let Err(e) = builder.show() {
        tracing::warn!("the notification could not be raised: {e}");
    }
    tracing::info!(kind = ?notice.kind, title = notice.title, "notice");
}
