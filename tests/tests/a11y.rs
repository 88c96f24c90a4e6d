//! The app from the keyboard and for screen readers, through the real binary: the grid with the
//! arrow keys, a dialog opened from the keyboard trapping focus, closed with Escape, focus given
//! back; and every page checked by axe-core (zero serious or critical violations) in the dark
//! theme too (the desktop's dark preference, which WebKitGTK gives the page as
//! `prefers-color-scheme: dark`). Light pages are checked by every test's screenshots (see
//! `App::screenshot`). Run by `cargo xtask test`.

use anyhow::{ensure, Result};
use fantoccini::key::Key;
use refill_e2e::{App, AppHome};

/// The `data-testid` of the element that has the keyboard focus.
async fn focused(app: &App) -> Result<String> {
    Ok(app
        .client
        .active_element()
        .await?
        .attr("data-testid")
        .await?
        .unwrap_or_default())
}

/// Presses `key` where the focus is.
async fn press(app: &App, key: Key) -> Result<()> {
    app.client
        .active_element()
        .await?
        .send_keys(&char::from(key).to_string())
        .await?;
    Ok(())
}

/// Gives the keyboard focus to the element with `data-testid="{test_id}"`.
async fn focus_on(app: &App, test_id: &str) -> Result<()> {
    app.client
        .execute(
            &format!("document.querySelector(\"[data-testid='{test_id}']\").focus()"),
            vec![],
        )
        .await?;
    Ok(())
}

/// Presses Escape in the open dialog `what` (`data-testid`), which must close it and give the
/// focus back to `opener`.
async fn escape_closes(app: &App, what: &str, opener: &str) -> Result<()> {
    press(app, Key::Escape).await?;
    let css = format!("[data-testid='{what}']");
    for _ in 0..50 {
        if !app.exists(&css).await? && focused(app).await? == opener {
            return Ok(());
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    ensure!(!app.exists(&css).await?, "Escape left {what} open");
    anyhow::bail!(
        "closing {what} gave the focus to {:?}, not to {opener}",
        focused(app).await?
    )
}

#[tokio::test]
#[ignore = "needs a display and tauri-driver: run by `cargo xtask test`"]
async fn the_grid_and_the_dialogs_work_from_the_keyboard() -> Result<()> {
    let home = AppHome::new()?;
    let app = App::launch(&home, "keyboard", &[]).await?;
    app.find("[data-testid='grid']").await?;
    let taps: Vec<String> = {
        let mut ids = Vec::new();
        for el in app
            .client
            .find_all(fantoccini::Locator::Css("button.tap"))
            .await?
        {
            ids.push(el.attr("data-testid").await?.unwrap_or_default());
        }
        ids
    };
    ensure!(taps.len() >= 5, "{taps:?}");
    focus_on(&app, &taps[0]).await?;
    assert_eq!(focused(&app).await?, taps[0]);
    press(&app, Key::Right).await?;
    assert_eq!(focused(&app).await?, taps[1], "Right goes to the next tile");
    press(&app, Key::Left).await?;
    assert_eq!(focused(&app).await?, taps[0], "Left goes back");
    press(&app, Key::End).await?;
    assert_eq!(
        focused(&app).await?,
        taps[taps.len() - 1],
        "End goes to the last"
    );
    press(&app, Key::Home).await?;
    press(&app, Key::Down).await?;
    let below = focused(&app).await?;
    ensure!(
        below != taps[0] && taps.contains(&below),
        "Down goes to the row below: {below}"
    );

    // The inbox, opened from the keyboard: focus inside, Tab kept inside, Escape closes and
    // gives the focus back to the button that opened it.
    focus_on(&app, "inbox-button").await?;
    press(&app, Key::Enter).await?;
    app.find("[role='dialog'][aria-modal='true'][aria-labelledby='inbox-title']")
        .await?;
    for _ in 0..6 {
        let inside: bool = app
            .client
            .execute(
                "return !!document.activeElement.closest(\"[data-testid='inbox']\")",
                vec![],
            )
            .await?
            .as_bool()
            .unwrap_or(false);
        ensure!(inside, "Tab left the open inbox");
        press(&app, Key::Tab).await?;
    }
    app.check_accessibility("inbox").await?;
    escape_closes(&app, "inbox", "inbox-button").await?;

    // The device setup wizard: Escape closes it too.
    focus_on(&app, "add-device").await?;
    press(&app, Key::Enter).await?;
    app.find("[data-testid='setup'][aria-modal='true']").await?;
    app.check_accessibility("setup").await?;
    escape_closes(&app, "setup", "add-device").await?;
    app.quit().await
}

#[tokio::test]
#[ignore = "needs a display and tauri-driver: run by `cargo xtask test`"]
async fn every_page_is_accessible_in_the_dark_theme() -> Result<()> {
    let home = AppHome::new()?;
    let app = App::launch_with(&home, "dark", &[], &[("GTK_THEME", "Adwaita:dark")]).await?;
    app.find("[data-testid='grid']").await?;
    let dark = app
        .client
        .execute(
            "return window.matchMedia('(prefers-color-scheme: dark)').matches",
            vec![],
        )
        .await?;
    ensure!(
        dark.as_bool() == Some(true),
        "the page did not get the desktop's dark preference"
    );
    let background = app
        .client
        .execute(
            "return getComputedStyle(document.documentElement).backgroundColor",
            vec![],
        )
        .await?;
    ensure!(
        background.as_str() == Some("rgb(15, 22, 21)"),
        "the dark theme's background is not in use: {background}"
    );
    app.screenshot("dark-home").await?;
    app.click("nav-orders").await?;
    app.find("[data-testid='orders-page']").await?;
    app.screenshot("dark-orders").await?;
    app.click("nav-settings").await?;
    app.find("[data-testid='settings-page']").await?;
    app.screenshot("dark-settings").await?;
    app.click("nav-home").await?;
    app.click("open-device-SANDBOX-0001").await?;
    app.wait_text("level-brew-water-filter", |t| !t.is_empty())
        .await?;
    app.screenshot("dark-device").await?;
    app.click("inbox-button").await?;
    app.find("[data-testid='inbox']").await?;
    app.screenshot("dark-inbox").await?;
    app.click("inbox-close").await?;
    app.click("add-device").await?;
    app.find("[data-testid='setup']").await?;
    app.screenshot("dark-setup").await?;
    app.quit().await
}
