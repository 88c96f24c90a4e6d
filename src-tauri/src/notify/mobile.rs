//! Mobile notifications through tauri-plugin-notification as published (Android and iOS have
//! their own notification APIs; the plugin speaks them). Not compiled on the desktop.

use super::{act, Target, APPROVE, CANCEL, CONFIRM, DECLINE, REORDER};
use refill_commands::{AppCore, Notice};
use tauri::{AppHandle, Runtime};
use tauri_plugin_notification::{Action, ActionType, NotificationExt};

/// The action type of notifications with a Reorder button.
const WITH_REORDER: &str = "low-supply";
/// The action type of notifications with a Cancel order button.
const WITH_CANCEL: &str = "order-placed";
/// The action type of notifications with an Order anyway button.
const WITH_CONFIRM: &str = "price-rose";
/// The action type of notifications with Approve and Decline buttons.
const WITH_ANSWER: &str = "approval-needed";

/// Raises notices through the plugin.
pub(super) struct Raiser<R: Runtime> {
    app: AppHandle<R>,
}

impl<R: Runtime> Raiser<R> {
    /// Registers the buttons and follows their clicks.
    pub(super) fn start(app: &AppHandle<R>, core: &AppCore) -> Raiser<R> {
        let notification = app.notification();
        let registered = notification.register_action_types(vec![
            ActionType::builder(WITH_REORDER)
                .actions(vec![Action::builder(REORDER, "Reorder").build()])
                .build(),
            ActionType::builder(WITH_CANCEL)
                .actions(vec![Action::builder(CANCEL, "Cancel order")
                    .destructive(true)
                    .build()])
                .build(),
            ActionType::builder(WITH_CONFIRM)
                .actions(vec![Action::builder(CONFIRM, "Order anyway").build()])
                .build(),
            ActionType::builder(WITH_ANSWER)
                .actions(vec![
                    Action::builder(APPROVE, "Approve").build(),
                    Action::builder(DECLINE, "Decline")
                        .destructive(true)
                        .build(),
                ])
                .build(),
        ]);
        if let Err(e) = registered {
            tracing::warn!("notifications will have no buttons: {e}");
        }
        let handle = app.clone();
        let core = core.clone();
        let listening = notification.on_action(move |performed| {
            let extra = |key: &str| {
                performed
                    .notification()
                    .and_then(|n| n.extra().get(key))
                    .and_then(|v| v.as_str())
                    .map(str::to_owned)
            };
            let price = extra("confirmPrice").and_then(|p| p.parse().ok());
            let target = match (extra("asin"), extra("eventInstanceId"), extra("approvalId")) {
                (_, _, Some(approval_id)) => Target::Answer { approval_id },
                (Some(asin), _, _) if price.is_some() => Target::Confirm {
                    asin,
                    price: price.unwrap_or_default(),
                },
                (Some(asin), _, _) => Target::Reorder { asin },
                (_, Some(event_instance_id), _) => Target::Cancel { event_instance_id },
                _ => Target::Nothing,
            };
            act(&handle, &core, &target, performed.action_id());
        });
        if let Err(e) = listening {
            tracing::warn!("notification buttons will not reach Refill: {e}");
        }
        Raiser { app: app.clone() }
    }

    /// Raises `notice`'s notification.
    pub(super) fn raise(&self, notice: Notice) {
        let mut builder = self
            .app
            .notification()
            .builder()
            .id(i32::try_from(notice.id % i64::from(i32::MAX)).unwrap_or_default())
            .title(&notice.title)
            .body(&notice.body);
        match Target::of(&notice) {
            Target::Reorder { asin } => {
                builder = builder.action_type_id(WITH_REORDER).extra("asin", asin);
            }
            Target::Cancel { event_instance_id } => {
                builder = builder
                    .action_type_id(WITH_CANCEL)
                    .extra("eventInstanceId", event_instance_id);
            }
            Target::Confirm { asin, price } => {
                builder = builder
                    .action_type_id(WITH_CONFIRM)
                    .extra("asin", asin)
                    .extra("confirmPrice", price.to_string());
            }
            Target::Answer { approval_id } => {
                builder = builder
                    .action_type_id(WITH_ANSWER)
                    .extra("approvalId", approval_id);
            }
            Target::Nothing => {}
        }
        if let Err(e) = builder.show() {
            tracing::warn!("the notification could not be raised: {e}");
        }
    }
}
