//! The real app in the background: its tray icon registered with a fake desktop tray on the
//! tests' session bus (`tests/rig/tray.py`, a StatusNotifierWatcher and a panel that reads the
//! menu over com.canonical.dbusmenu: there is no desktop here), its window closed as a window
//! manager closes it, notifications caught by the fake notification server.

use anyhow::{ensure, Result};
use refill_e2e::{
    app_running, close_window, count_orders, App, AppHome, Notifications, Tray, TrayEntry,
};
use std::time::{Duration, Instant};

const BEANS: &str = "B0RFBEAN01";
const BEANS_TITLE: &str = "Refill Roasters";

#[tokio::test]
#[ignore = "needs a display, a session bus and tauri-driver: run by `cargo xtask test`"]
async fn the_tray_orders_with_the_window_closed_pauses_and_quits() -> Result<()> {
    let home = AppHome::new()?;
    let bus = Notifications::start(&home).await?;
    let tray = Tray::start().await?;
    let app = App::launch(&home, "tray", &[]).await?;
    app.find("[data-testid='grid']").await?;

    // The menu: what is low, the supplies most needed (at most five), Open, Pause, Quit.
    let beans = |e: &TrayEntry| e.label.starts_with(&format!("Order {BEANS_TITLE}"));
    tray.wait_for(beans).await?;
    let menu = tray.menu().await?;
    let labels: Vec<&str> = menu.iter().map(|e| e.label.as_str()).collect();
    ensure!(
        (menu[0].label == "Nothing is low" || menu[0].label.starts_with("Low: "))
            && !menu[0].enabled,
        "{labels:?}"
    );
    let orders = menu
        .iter()
        .filter(|e| e.label.starts_with("Order "))
        .count();
    ensure!((1..=5).contains(&orders), "{labels:?}");
    for wanted in ["Open Refill", "Pause notifications", "Quit Refill"] {
        ensure!(labels.contains(&wanted), "no {wanted}: {labels:?}");
    }
    // The picture in the README (docs/screenshots/tray-menu.svg is a copy).
    tray.picture("tray-menu").await?;

    // Closing the window keeps Refill running, and says so the first time.
    close_window("Refill").await?;
    bus.wait_for(Duration::from_secs(20), |n| {
        n.summary == "Refill is still running"
    })
    .await?;
    ensure!(app_running(&home).await?, "closing the window quit Refill");

    // With no window, one click in the tray orders, and the order's notification comes.
    tray.click(beans).await?;
    bus.wait_for(Duration::from_secs(20), |n| {
        n.summary == "Order placed" && n.body.starts_with(BEANS_TITLE)
    })
    .await?;
    assert_eq!(
        count_orders(&home.sandbox_db(), BEANS, &["placed"]).await?,
        1
    );
    // The menu now says it is on its way; another click orders nothing new, and says why.
    tray.click(|e| e.label.starts_with(BEANS_TITLE) && e.label.contains(": ordered, arrives "))
        .await?;
    bus.wait_for(Duration::from_secs(20), |n| n.summary == "Already ordered")
        .await?;
    assert_eq!(
        count_orders(&home.sandbox_db(), BEANS, &["placed"]).await?,
        1
    );

    // Paused for an hour: the next order is in the log (and the inbox), not on the desktop.
    let hour = tray.click(|e| e.label == "For an hour").await?;
    ensure!(hour.depth == 1, "in the Pause submenu: {hour:?}");
    tray.wait_for(|e| e.label.starts_with("Notifications paused until "))
        .await?;
    tray.click(|e| e.label.starts_with("Order ") && !e.label.contains(BEANS_TITLE))
        .await?;
    let started = Instant::now();
    while home.app_log()?.matches("title=\"Order placed\"").count() < 2 {
        ensure!(
            started.elapsed() < Duration::from_secs(20),
            "the second order's notice never came"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    let raised = bus
        .all()?
        .iter()
        .filter(|n| n.summary == "Order placed")
        .count();
    assert_eq!(raised, 1, "a notification was raised while paused");

    // "Quit Refill" really quits.
    tray.click(|e| e.label == "Quit Refill").await?;
    wait_until_stopped(&home, "Refill still runs after Quit").await?;
    let _ = app.quit().await;
    tray.stop().await;
    bus.stop().await;
    Ok(())
}

#[tokio::test]
#[ignore = "needs a display, a session bus and tauri-driver: run by `cargo xtask test`"]
async fn settings_start_refill_at_login_and_closing_the_window_can_quit() -> Result<()> {
    let home = AppHome::new()?;
    let tray = Tray::start().await?;
    let app = App::launch(&home, "settings", &[]).await?;
    // The header is laid out (the account's button is in) before a click lands in it.
    app.find("[data-testid='sign-in']").await?;
    app.click("nav-settings").await?;
    let entry = home.xdg_config().join("autostart/dev.refill.app.desktop");
    ensure!(
        !entry.exists(),
        "Refill starts at login before anyone asked"
    );

    // Start at login: the desktop's autostart entry starts this binary in the tray.
    app.click("setting-startAtLogin").await?;
    app.wait_text("setting-said-startAtLogin", |t| t == "Saved.")
        .await?;
    let text = std::fs::read_to_string(&entry)?;
    let bin = refill_e2e::app_binary()?;
    ensure!(
        text.contains(&format!("\nExec={} --hidden\n", bin.display())),
        "{text}"
    );
    // Off again: gone.
    app.click("setting-startAtLogin").await?;
    app.wait_text("setting-said-startAtLogin", |t| t == "Saved.")
        .await?;
    ensure!(!entry.exists(), "the autostart entry is still there");

    // Not kept in the tray: closing the window quits.
    app.click("setting-closeToTray").await?;
    app.wait_text("setting-said-closeToTray", |t| t == "Saved.")
        .await?;
    app.screenshot("settings").await?;
    let saved = std::fs::read_to_string(home.xdg_config().join("dev.refill.app/settings.json"))?;
    ensure!(saved.contains("\"closeToTray\": false"), "{saved}");
    tray.wait_for(|e| e.label == "Quit Refill").await?;
    close_window("Refill").await?;
    wait_until_stopped(&home, "Refill still runs after its window closed").await?;
    let _ = app.quit().await;

    // The settings are still there at the next start.
    let app = App::launch(&home, "settings-2", &[]).await?;
    // The header is laid out (the account's button is in) before a click lands in it.
    app.find("[data-testid='sign-in']").await?;
    app.click("nav-settings").await?;
    let tray_switch = app.find("[data-testid='setting-closeToTray']").await?;
    ensure!(tray_switch.prop("checked").await?.as_deref() == Some("false"));
    app.quit().await?;
    tray.stop().await;
    Ok(())
}

/// Waits (up to 20 s) until the app of `home` has ended; `why` says what it should have ended.
async fn wait_until_stopped(home: &AppHome, why: &str) -> Result<()> {
    let started = Instant::now();
    while app_running(home).await? {
        ensure!(started.elapsed() < Duration::from_secs(20), "{why}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Ok(())
}
