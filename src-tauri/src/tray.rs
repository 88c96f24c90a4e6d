//! The tray icon (Tauri's tray: a StatusNotifierItem through libayatana-appindicator on Linux)
//! and what closing the window does. The menu's content comes from
//! [`refill_commands::tray`]: what is low, the five supplies most likely needed soon (a click
//! orders, as a tap in the grid), Open Refill, pausing notifications, Quit. It is rebuilt after
//! every notice, after a pause, and every ten minutes (days left change with time).
//!
//! Closing the window hides it: Refill keeps following the service and raising notifications
//! in the background (the first time, a notification says so); "Quit Refill" really quits.

use crate::bring_forward;
use refill_commands::tray::{Pause, TrayMenu};
use refill_commands::AppCore;
use std::sync::Arc;
use std::time::Duration;
use tauri::menu::{IsMenuItem, Menu, MenuBuilder, MenuItem, SubmenuBuilder};
use tauri::tray::{TrayIcon, TrayIconBuilder};
use tauri::{AppHandle, Manager, Runtime, WindowEvent};

/// Menu ids.
const SUMMARY: &str = "summary";
const PAUSED: &str = "paused";
const OPEN: &str = "open";
const PAUSE_HOUR: &str = "pause-hour";
const PAUSE_TOMORROW: &str = "pause-tomorrow";
const RESUME: &str = "resume";
const QUIT: &str = "quit";
/// Followed by the product's ASIN.
const ORDER: &str = "order:";

/// How often the menu is rebuilt when nothing happens.
const REFRESH_EVERY: Duration = Duration::from_secs(600);

/// Puts Refill in the tray and keeps its menu current. Errors when the platform has no tray.
pub fn start<R: Runtime>(app: &AppHandle<R>, core: &AppCore) -> tauri::Result<()> {
    // Wakes the task that keeps the menu current (after a pause is chosen).
    let refresh = Arc::new(tokio::sync::Notify::new());
    let starting = TrayMenu {
        summary: "Refill is starting…".to_owned(),
        orders: Vec::new(),
        paused: None,
    };
    let menu = build_menu(app, &starting)?;
    let (acting, waking) = (core.clone(), refresh.clone());
    let mut builder = TrayIconBuilder::with_id("refill")
        .menu(&menu)
        .tooltip("Refill")
        .show_menu_on_left_click(true)
        .on_menu_event(move |app, event| chosen(app, &acting, &waking, event.id().as_ref()));
    if let Some(icon) = app.default_window_icon() {
        builder = builder.icon(icon.clone());
    }
    let tray = builder.build(app)?;
    let core = core.clone();
    let mut notices = core.notices();
    tauri::async_runtime::spawn(async move {
        use tokio::sync::broadcast::error::RecvError;
        let mut shown = starting;
        core.first_paint().await;
        loop {
            update(&tray, &core, &mut shown).await;
            tokio::select! {
                heard = notices.recv() => {
                    if matches!(heard, Err(RecvError::Closed)) {
                        return;
                    }
                }
                () = refresh.notified() => {}
                () = tokio::time::sleep(REFRESH_EVERY) => {}
            }
        }
    });
    Ok(())
}

/// Rebuilds the menu and tooltip from the grid as it is now, if that changed what `shown` shows
/// (a new menu gives its entries new ids, under the pointer of someone choosing one).
async fn update<R: Runtime>(tray: &TrayIcon<R>, core: &AppCore, shown: &mut TrayMenu) {
    let content = core.tray_menu().await;
    if content == *shown {
        return;
    }
    let updated = build_menu(tray.app_handle(), &content).and_then(|menu| {
        tray.set_menu(Some(menu))?;
        tray.set_tooltip(Some(format!("Refill: {}", content.summary)))
    });
    match updated {
        Ok(()) => *shown = content,
        Err(e) => tracing::warn!("the tray menu could not be updated: {e}"),
    }
}

/// The menu for `content`.
fn build_menu<R: Runtime>(app: &AppHandle<R>, content: &TrayMenu) -> tauri::Result<Menu<R>> {
    let line = |id: &str, text: &str| MenuItem::with_id(app, id, text, false, None::<&str>);
    let summary = line(SUMMARY, &content.summary)?;
    let paused = content
        .paused
        .as_deref()
        .map(|text| line(PAUSED, text))
        .transpose()?;
    let orders = content
        .orders
        .iter()
        .map(|order| {
            MenuItem::with_id(
                app,
                format!("{ORDER}{}", order.asin),
                &order.label,
                true,
                None::<&str>,
            )
        })
        .collect::<tauri::Result<Vec<_>>>()?;
    let pause = if content.paused.is_some() {
        SubmenuBuilder::new(app, "Notifications")
            .text(RESUME, "Resume notifications")
            .build()?
    } else {
        SubmenuBuilder::new(app, "Pause notifications")
            .text(PAUSE_HOUR, "For an hour")
            .text(PAUSE_TOMORROW, "Until tomorrow morning")
            .build()?
    };
    let mut menu = MenuBuilder::new(app).item(&summary);
    if let Some(paused) = &paused {
        menu = menu.item(paused);
    }
    if !orders.is_empty() {
        let items: Vec<&dyn IsMenuItem<R>> =
            orders.iter().map(|o| o as &dyn IsMenuItem<R>).collect();
        menu = menu.separator().items(&items);
    }
    menu.separator()
        .text(OPEN, "Open Refill")
        .item(&pause)
        .separator()
        .text(QUIT, "Quit Refill")
        .build()
}

/// Acts on a menu entry.
fn chosen<R: Runtime>(app: &AppHandle<R>, core: &AppCore, refresh: &tokio::sync::Notify, id: &str) {
    match id {
        OPEN => bring_forward(app),
        QUIT => {
            tracing::info!("quit from the tray");
            app.exit(0);
        }
        PAUSE_HOUR | PAUSE_TOMORROW | RESUME => {
            core.pause_notifications(match id {
                PAUSE_HOUR => Some(Pause::Hour),
                PAUSE_TOMORROW => Some(Pause::UntilTomorrow),
                _ => None,
            });
            refresh.notify_one();
        }
        _ => {
            if let Some(asin) = id.strip_prefix(ORDER) {
                let (core, asin) = (core.clone(), asin.to_owned());
                tauri::async_runtime::spawn(async move { core.order_from_tray(asin).await });
            }
        }
    }
}

/// Closing the main window hides it instead, while the tray is there and the settings say so;
/// the first time, a notification says that Refill is still running.
pub fn keep_running_when_closed<R: Runtime>(window: &tauri::Window<R>, event: &WindowEvent) {
    let WindowEvent::CloseRequested { api, .. } = event else {
        return;
    };
    let app = window.app_handle();
    let Some(core) = app.try_state::<AppCore>() else {
        return;
    };
    if app.tray_by_id("refill").is_none() || !core.settings().close_to_tray {
        return;
    }
    api.prevent_close();
    let _ = window.hide();
    tracing::info!("window closed: Refill keeps running in the tray");
    if core.first_close_to_tray() {
        core.announce(refill_commands::tray::still_running());
    }
}
