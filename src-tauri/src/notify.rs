//! OS notifications for the app's notices, with their actions: "Reorder" on a low supply,
//! "Cancel order" on a placed order, "Approve" / "Decline" on a device's press that asks first. A click on a notification itself brings the window forward
//! and opens the in-app inbox, which offers the same actions where the notification server shows
//! no buttons. Every notice also goes to the UI as the `notice` event.
//!
//! Desktop: [`notify_rust`] (on Linux over libdbus, see `desktop.rs`). Mobile: the published
//! tauri-plugin-notification (`mobile.rs`).

#[cfg(desktop)]
mod desktop;
#[cfg(mobile)]
mod mobile;

use crate::bring_forward;
use refill_commands::{notices, AppCore, Notice, NoticeKind};
use tauri::{AppHandle, Emitter, Runtime};

/// The action that orders the low item again.
const REORDER: &str = "reorder";
/// The action that cancels the placed order.
const CANCEL: &str = "cancel";
/// The action that orders at a price that rose, as the notification names it.
const CONFIRM: &str = "confirm";
/// The action that approves a device's press (the order is placed).
const APPROVE: &str = "approve";
/// The action that declines a device's press.
const DECLINE: &str = "decline";

/// What a notification's button acts on.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Target {
    /// "Reorder": orders this product.
    Reorder { asin: String },
    /// "Cancel order": cancels this order.
    Cancel { event_instance_id: String },
    /// "Approve" / "Decline": answers this approval request.
    Answer { approval_id: String },
    /// "Order anyway": orders this product at this price (minor units), which rose.
    Confirm { asin: String, price: i64 },
    /// No button: a click opens the inbox.
    Nothing,
}

impl Target {
    /// The button `notice` gets, if any.
    fn of(notice: &Notice) -> Target {
        match (notice.kind, &notice.asin, &notice.event_instance_id) {
            (NoticeKind::LowSupply, Some(asin), _) => Target::Reorder { asin: asin.clone() },
            (NoticeKind::OrderPlaced, _, Some(id)) if notice.cancellable_until.is_some() => {
                Target::Cancel {
                    event_instance_id: id.clone(),
                }
            }
            (NoticeKind::PriceRose, Some(asin), _) => match notice.confirm_price {
                Some(price) => Target::Confirm {
                    asin: asin.clone(),
                    price,
                },
                None => Target::Nothing,
            },
            (NoticeKind::ApprovalNeeded, _, _) => match &notice.approval_id {
                Some(id) => Target::Answer {
                    approval_id: id.clone(),
                },
                None => Target::Nothing,
            },
            _ => Target::Nothing,
        }
    }

    /// The buttons' action ids and labels.
    fn buttons(&self) -> &'static [(&'static str, &'static str)] {
        match self {
            Target::Reorder { .. } => &[(REORDER, "Reorder")],
            Target::Cancel { .. } => &[(CANCEL, "Cancel order")],
            Target::Answer { .. } => &[(APPROVE, "Approve"), (DECLINE, "Decline")],
            Target::Confirm { .. } => &[(CONFIRM, "Order anyway")],
            Target::Nothing => &[],
        }
    }
}

/// Acts on a click on `target`'s notification: its button (`action`), or anything else (the
/// notification itself) brings the window forward with the inbox open.
fn act<R: Runtime>(app: &AppHandle<R>, core: &AppCore, target: &Target, action: &str) {
    let core = core.clone();
    match (target, action) {
        (Target::Reorder { asin }, REORDER) => {
            tracing::info!(asin, "reorder from a notification");
            let asin = asin.clone();
            tauri::async_runtime::spawn(async move {
                core.reorder_unattended(asin, None, "reorder").await;
            });
        }
        (Target::Confirm { asin, price }, CONFIRM) => {
            tracing::info!(asin, price, "order at a new price from a notification");
            let (asin, price) = (asin.clone(), *price);
            tauri::async_runtime::spawn(async move {
                core.reorder_unattended(asin, Some(price), "order").await;
            });
        }
        (Target::Answer { approval_id }, action @ (APPROVE | DECLINE)) => {
            let approve = action == APPROVE;
            tracing::info!(approve, "approval answered from a notification");
            let id = approval_id.clone();
            tauri::async_runtime::spawn(async move {
                if let Err(e) = core.decide_approval(id, approve).await {
                    let what = if approve {
                        "approve the order"
                    } else {
                        "decline the order"
                    };
                    core.announce(notices::problem(what, &e));
                }
            });
        }
        (Target::Cancel { event_instance_id }, CANCEL) => {
            tracing::info!(order = event_instance_id, "cancel from a notification");
            let id = event_instance_id.clone();
            tauri::async_runtime::spawn(async move {
                if let Err(e) = core.cancel_order(id).await {
                    core.announce(notices::problem("cancel the order", &e));
                }
            });
        }
        _ => {
            bring_forward(app);
            let _ = app.emit("open-inbox", ());
        }
    }
}

/// Raises a notification for every notice of `core` from now on, acts on their actions, and
/// starts following the service's events.
pub fn start<R: Runtime>(app: &AppHandle<R>, core: &AppCore) {
    #[cfg(desktop)]
    let raiser = desktop::Raiser::start(app, core);
    #[cfg(mobile)]
    let raiser = mobile::Raiser::start(app, core);
    let mut notices = core.notices();
    let handle = app.clone();
    let pausing = core.clone();
    tauri::async_runtime::spawn(async move {
        use tokio::sync::broadcast::error::RecvError;
        loop {
            match notices.recv().await {
                Ok(notice) => {
                    if let Err(e) = handle.emit("notice", &notice) {
                        tracing::warn!("the window was not told of a notice: {e}");
                    }
                    tracing::info!(kind = ?notice.kind, title = notice.title, "notice");
                    // Paused from the tray, or that kind or that device turned off in the
                    // settings: the inbox has it, the desktop stays quiet.
                    if pausing.notifications_paused_until().is_none()
                        && pausing.settings().raises(&notice)
                    {
                        raiser.raise(notice);
                    }
                }
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

#[cfg(test)]
mod tests {
    use super::*;

    fn notice(kind: NoticeKind) -> Notice {
        Notice {
            id: 1,
            kind,
            title: "t".into(),
            body: "b".into(),
            at: time::OffsetDateTime::UNIX_EPOCH,
            asin: Some("B0RFBEAN01".into()),
            event_instance_id: Some("order-1".into()),
            cancellable_until: None,
            slot: None,
            device: None,
            approval_id: None,
            confirm_price: None,
        }
    }

    #[test]
    fn a_low_supply_offers_reorder_and_only_a_cancellable_order_offers_cancel() {
        let low = Target::of(&notice(NoticeKind::LowSupply));
        assert_eq!(
            low,
            Target::Reorder {
                asin: "B0RFBEAN01".into()
            }
        );
        assert_eq!(low.buttons(), &[(REORDER, "Reorder")]);
        let mut placed = notice(NoticeKind::OrderPlaced);
        assert_eq!(
            Target::of(&placed),
            Target::Nothing,
            "no longer cancellable"
        );
        placed.cancellable_until = Some(time::OffsetDateTime::UNIX_EPOCH);
        let cancel = Target::of(&placed);
        assert_eq!(cancel.buttons(), &[(CANCEL, "Cancel order")]);
        let mut low_without_product = notice(NoticeKind::LowSupply);
        low_without_product.asin = None;
        assert!(Target::of(&low_without_product).buttons().is_empty());
    }

    #[test]
    fn a_press_that_asks_first_offers_approve_and_decline_until_answered() {
        let mut asked = notice(NoticeKind::ApprovalNeeded);
        asked.approval_id = Some("refill.v1.a.1".into());
        let answer = Target::of(&asked);
        assert_eq!(
            answer,
            Target::Answer {
                approval_id: "refill.v1.a.1".into()
            }
        );
        assert_eq!(
            answer.buttons(),
            &[(APPROVE, "Approve"), (DECLINE, "Decline")]
        );
        asked.approval_id = None;
        assert_eq!(Target::of(&asked), Target::Nothing);
    }

    #[test]
    fn a_price_that_rose_offers_to_order_at_the_price_it_names() {
        let mut rose = notice(NoticeKind::PriceRose);
        rose.confirm_price = Some(2199);
        let confirm = Target::of(&rose);
        assert_eq!(
            confirm,
            Target::Confirm {
                asin: "B0RFBEAN01".into(),
                price: 2199
            }
        );
        assert_eq!(confirm.buttons(), &[(CONFIRM, "Order anyway")]);
        rose.confirm_price = None;
        assert!(Target::of(&rose).buttons().is_empty());
    }
}
