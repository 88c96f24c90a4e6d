//! Desktop notifications through [`notify_rust`] as published: on Linux and the BSDs it speaks
//! the freedesktop notification protocol over libdbus (its `d` feature), the D-Bus library the
//! keyring and Bluetooth already link; on macOS and Windows it uses their notification centres.
//!
//! One thread raises the notifications in the order the notices came. On Linux each notification
//! with a button gets a thread of its own that waits for the server's `ActionInvoked` or
//! `NotificationClosed` on the connection that sent it (servers such as GNOME Shell send these
//! to the sender only). At most [`WAITING`] such threads wait at once: past that, notifications
//! come without buttons until earlier ones are answered or closed (the inbox has the same
//! actions), so notifications left unread for days cannot pile up threads.

use super::{act, Target};
use refill_commands::{AppCore, Notice};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc};
use tauri::{AppHandle, Runtime};

/// How many notifications may wait for a click at once.
#[cfg_attr(not(target_os = "linux"), allow(dead_code))]
const WAITING: usize = 24;

/// Raises notices as OS notifications, off the async runtime (raising one is a D-Bus round trip).
pub(super) struct Raiser {
    notices: mpsc::Sender<Notice>,
}

impl Raiser {
    /// Starts the thread that raises notifications and hands their clicks to [`act`].
    pub(super) fn start<R: Runtime>(app: &AppHandle<R>, core: &AppCore) -> Raiser {
        let (notices, queue) = mpsc::channel::<Notice>();
        let app = app.clone();
        let core = core.clone();
        let waiting = Arc::new(AtomicUsize::new(0));
        let spawned = std::thread::Builder::new()
            .name("refill-notifications".to_owned())
            .spawn(move || {
                for notice in queue {
                    raise(&app, &core, &waiting, &notice);
                }
            });
        if let Err(e) = spawned {
            tracing::warn!("OS notifications are off: {e}");
        }
        Raiser { notices }
    }

    /// Raises `notice`'s notification (soon, in order).
    pub(super) fn raise(&self, notice: Notice) {
        let _ = self.notices.send(notice);
    }
}

/// Raises one notification, and on Linux waits for its click on a thread of its own.
fn raise<R: Runtime>(
    app: &AppHandle<R>,
    core: &AppCore,
    waiting: &Arc<AtomicUsize>,
    notice: &Notice,
) {
    let target = Target::of(notice);
    let listens =
        cfg!(all(unix, not(target_os = "macos"))) && waiting.load(Ordering::SeqCst) < WAITING;
    let mut notification = notify_rust::Notification::new();
    notification
        .appname("Refill")
        .summary(&notice.title)
        .body(&notice.body);
    if listens {
        for (id, label) in target.buttons() {
            notification.action(id, label);
        }
        // A click on the notification itself (servers show no button for it).
        notification.action("default", "Open Refill");
    }
    #[cfg(all(unix, not(target_os = "macos")))]
    if listens {
        // The handle holds the D-Bus connection that hears the click, which cannot move between
        // threads: the waiting thread raises the notification too, and says when it has.
        waiting.fetch_add(1, Ordering::SeqCst);
        let (app, core, counted) = (app.clone(), core.clone(), waiting.clone());
        let (shown, raised) = mpsc::channel::<()>();
        let spawned = std::thread::Builder::new()
            .name("refill-notification".to_owned())
            .stack_size(256 * 1024)
            .spawn(move || {
                let handle = notification.show();
                let _ = shown.send(());
                match handle {
                    Ok(handle) => {
                        let answered = handle.wait_for_response(
                            |response: &notify_rust::NotificationResponse| {
                                if let Some(action) = clicked(response) {
                                    act(&app, &core, &target, action);
                                }
                            },
                        );
                        if let Err(e) = answered {
                            tracing::warn!("a notification's click was lost: {e}");
                        }
                    }
                    Err(e) => not_raised(&e),
                }
                counted.fetch_sub(1, Ordering::SeqCst);
            });
        match spawned {
            // In order: the next notice waits until this one is up.
            Ok(_) => {
                let _ = raised.recv();
            }
            Err(e) => {
                tracing::warn!("the notification could not be raised: {e}");
                waiting.fetch_sub(1, Ordering::SeqCst);
            }
        }
        return;
    }
    let _ = (app, core);
    if let Err(e) = notification.show() {
        not_raised(&e);
    }
}

/// Logs why a notification is not up (no notification server, or none that answered); the
/// inbox still has the notice.
fn not_raised(e: &notify_rust::error::Error) {
    tracing::warn!("the notification could not be raised: {e}");
}

/// The action a response from the notification server asks for, if it is a click.
#[cfg(all(unix, not(target_os = "macos")))]
fn clicked(response: &notify_rust::NotificationResponse) -> Option<&str> {
    match response {
        notify_rust::NotificationResponse::Default => Some("default"),
        notify_rust::NotificationResponse::Action(action) => Some(action),
        _ => None,
    }
}

#[cfg(all(test, unix, not(target_os = "macos")))]
mod tests {
    use super::*;
    use notify_rust::{CloseReason, NotificationResponse};

    #[test]
    fn buttons_and_the_notification_itself_are_clicks_and_a_close_is_not() {
        assert_eq!(
            clicked(&NotificationResponse::Action("reorder".into())),
            Some("reorder")
        );
        assert_eq!(clicked(&NotificationResponse::Default), Some("default"));
        assert_eq!(
            clicked(&NotificationResponse::Closed(CloseReason::Dismissed)),
            None
        );
    }
}
