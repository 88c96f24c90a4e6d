//! OS notifications of the real app, caught on the session bus by a notification server the
//! tests run (`tests/rig/notifications.py`, a fake daemon: there is no desktop here; the fast
//! sandbox's with its window closed, Refill in a fake tray), and their
//! buttons clicked through D-Bus as a desktop user would.

use anyhow::Result;
use refill_e2e::{close_window, count_orders, App, AppHome, Notifications, Tray};
use std::time::Duration;

const BEANS: &str = "B0RFBEAN01";

#[tokio::test]
#[ignore = "needs a display, a session bus and tauri-driver: run by `cargo xtask test`"]
async fn an_order_raises_a_notification_whose_cancel_button_cancels_it() -> Result<()> {
    let home = AppHome::new()?;
    let bus = Notifications::start(&home).await?;
    let app = App::launch(&home, "notify-cancel", &[]).await?;
    app.click(&format!("tap-{BEANS}")).await?;
    let placed = bus
        .wait_for(Duration::from_secs(20), |n| n.summary == "Order placed")
        .await?;
    assert!(
        placed.body.starts_with("Refill Roasters Whole Bean Coffee"),
        "{placed:?}"
    );
    assert!(
        placed
            .actions
            .windows(2)
            .any(|a| a == ["cancel", "Cancel order"]),
        "the notification has a Cancel order button: {placed:?}"
    );
    assert_eq!(
        count_orders(&home.sandbox_db(), BEANS, &["placed"]).await?,
        1
    );

    bus.click(placed.id, "cancel").await?;
    bus.wait_for(Duration::from_secs(20), |n| n.summary == "Order cancelled")
        .await?;
    assert_eq!(
        count_orders(&home.sandbox_db(), BEANS, &["placed"]).await?,
        0
    );
    assert_eq!(
        count_orders(&home.sandbox_db(), BEANS, &["cancelled"]).await?,
        1
    );
    // The grid heard of it too, and the inbox has both, newest first.
    app.wait_text(&format!("status-{BEANS}"), |t| !t.starts_with("Ordered"))
        .await?;
    app.click("inbox-button").await?;
    app.find("[data-testid='inbox']").await?;
    let titles = app
        .client
        .find_all(fantoccini::Locator::Css("[data-testid^='notice-title-']"))
        .await?;
    let mut seen = Vec::new();
    for t in titles {
        seen.push(t.text().await?);
    }
    assert_eq!(seen[..2], ["Order cancelled", "Order placed"]);
    assert!(
        !app.exists("[data-testid^='notice-cancel-']").await?,
        "a cancelled order offers no Cancel any more"
    );
    // Each event raised once.
    let all = bus.all()?;
    assert_eq!(
        all.iter().filter(|n| n.summary == "Order placed").count(),
        1,
        "{all:#?}"
    );
    app.screenshot("notify-cancel").await?;
    app.quit().await?;
    bus.stop().await;
    Ok(())
}

#[tokio::test]
#[ignore = "needs a display, a session bus and tauri-driver: run by `cargo xtask test`"]
async fn the_fast_sandbox_runs_low_then_reorders_and_delivers_by_itself() -> Result<()> {
    let home = AppHome::new()?;
    let bus = Notifications::start(&home).await?;
    // A day of the sandbox's time every second.
    let app = App::launch_with(
        &home,
        "notify-sandbox",
        &[],
        &[("REFILL_SANDBOX_SPEED", "86400")],
    )
    .await?;
    app.find("[data-testid='grid']").await?;
    // All of it with the window closed: Refill goes on in the tray.
    let tray = Tray::start().await?;
    tray.wait_for(|e| e.label == "Quit Refill").await?;
    close_window("Refill").await?;
    let minute = Duration::from_secs(90);
    // A slot in notify-only mode runs low: a notification with a Reorder button, which orders.
    let low = bus.wait_for(minute, |n| n.summary.contains(" low")).await?;
    assert!(
        low.actions.windows(2).any(|a| a == ["reorder", "Reorder"]),
        "{low:?}"
    );
    bus.click(low.id, "reorder").await?;
    // Only Refill's own taps place real orders in the sandbox (the coffee maker's are tests).
    bus.wait_for(minute, |n| n.summary == "Order placed")
        .await?;
    // The coffee maker's beans are in smart-reorder mode: ordered, shipped, delivered by itself
    // (the sandbox's coffee maker is a test device: its orders are test orders).
    bus.wait_for(minute, |n| {
        n.summary == "Test order placed" && n.body.starts_with("Refill Roasters")
    })
    .await?;
    bus.wait_for(minute, |n| {
        n.summary == "Delivered" && n.body.starts_with("Refill Roasters")
    })
    .await?;
    app.screenshot("notify-sandbox").await?;
    app.quit().await?;
    tray.stop().await;
    bus.stop().await;
    Ok(())
}

#[tokio::test]
#[ignore = "needs a display, a session bus and tauri-driver: run by `cargo xtask test`"]
async fn a_device_turned_quiet_in_the_settings_raises_nothing_but_the_inbox_has_it() -> Result<()> {
    let home = AppHome::new()?;
    // The coffee maker's notifications off, as the settings page saves it.
    let config = home.xdg_config().join(refill_e2e::APP_IDENTIFIER);
    std::fs::create_dir_all(&config)?;
    std::fs::write(
        config.join("settings.json"),
        r#"{"quietDevices":[{"model":"RefillBrew-200","serial":"SANDBOX-0001"}]}"#,
    )?;
    let bus = Notifications::start(&home).await?;
    let app = App::launch_with(
        &home,
        "notify-quiet-device",
        &[],
        &[("REFILL_SANDBOX_SPEED", "86400")],
    )
    .await?;
    app.find("[data-testid='grid']").await?;
    app.click("inbox-button").await?;
    app.find("[data-testid='inbox']").await?;
    // The coffee maker reorders its beans by itself: the inbox tells of it...
    let started = std::time::Instant::now();
    loop {
        let page = app.client.source().await?;
        if page.contains("Test order placed") {
            break;
        }
        anyhow::ensure!(
            started.elapsed() < Duration::from_secs(90),
            "the coffee maker's order never reached the inbox"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    // ... while the other devices' notices still come to the desktop (the fast sandbox runs
    // them low too), and nothing of the quiet coffee maker does.
    bus.wait_for(Duration::from_secs(90), |n| n.summary.contains(" low"))
        .await?;
    let raised = bus.all()?;
    anyhow::ensure!(
        !raised.iter().any(|n| n.summary == "Test order placed"
            || n.body.starts_with("Refill Roasters")
            || ["Coffee beans", "Paper filters", "Water filter"]
                .iter()
                .any(|slot| n.summary.starts_with(slot))),
        "the quiet coffee maker raised {raised:?}"
    );
    app.quit().await?;
    bus.stop().await;
    Ok(())
}
