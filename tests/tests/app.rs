//! End-to-end tests of the real Refill binary, driven through tauri-driver and WebKitWebDriver
//! under Xvfb. Run by `cargo xtask test`; ignored by a plain `cargo test`, which has no display.

use anyhow::Result;
use refill_e2e::{
    change_stock_elsewhere, count_orders, item_reports, run_item_down_elsewhere, slot_settings,
    App, AppHome,
};
use refill_service::sandbox::{HISTORY, PRODUCTS};

const BEANS: &str = "B0RFBEAN01";
const OPEN: &[&str] = &["placed", "shipped"];

/// The titles of the sandbox's recent items, sorted (the grid ranks them by need, which the
/// service's tests check).
fn expected_titles() -> Vec<String> {
    let mut titles: Vec<String> = PRODUCTS
        .iter()
        .filter(|p| HISTORY.iter().any(|(asin, _)| *asin == p.asin))
        .map(|p| p.title.to_owned())
        .collect();
    titles.sort();
    titles
}

/// The grid's titles, sorted.
async fn sorted_titles(app: &App) -> Result<Vec<String>> {
    let mut titles = titles(app).await?;
    titles.sort();
    Ok(titles)
}

/// Taps the beans' tile and waits until it shows the order.
async fn order_beans(app: &App) -> Result<String> {
    app.click(&format!("tap-{BEANS}")).await?;
    app.wait_text(&format!("status-{BEANS}"), |t| {
        t.starts_with("Ordered, arrives ")
    })
    .await
}

async fn titles(app: &App) -> Result<Vec<String>> {
    app.find("[data-testid='grid']").await?;
    let mut out = Vec::new();
    for el in app
        .client
        .find_all(fantoccini::Locator::Css("[data-testid^='title-']"))
        .await?
    {
        out.push(el.text().await?);
    }
    Ok(out)
}

#[tokio::test]
#[ignore = "needs a display and tauri-driver: run by `cargo xtask test`"]
async fn the_grid_shows_the_seeded_recent_items() -> Result<()> {
    let home = AppHome::new()?;
    let app = App::launch(&home, "grid", &[]).await?;
    assert_eq!(sorted_titles(&app).await?, expected_titles());
    assert_eq!(app.text("service").await?, "Sandbox");
    assert!(app
        .text(&format!("status-{BEANS}"))
        .await?
        .starts_with("Last ordered "));
    // The water filter has no picture: a placeholder stands in.
    app.find("[data-testid='placeholder-B0RFWATR02']").await?;
    app.screenshot("grid").await?;
    app.quit().await?;
    assert!(
        home.sandbox_db().is_file(),
        "the sandbox database lives in the app's data folder"
    );
    Ok(())
}

#[tokio::test]
#[ignore = "needs a display and tauri-driver: run by `cargo xtask test`"]
async fn a_tap_places_exactly_one_order() -> Result<()> {
    let home = AppHome::new()?;
    let app = App::launch(&home, "tap", &[]).await?;
    app.find("[data-testid='grid']").await?;
    assert_eq!(count_orders(&home.sandbox_db(), BEANS, OPEN).await?, 0);
    order_beans(&app).await?;
    app.find(&format!("[data-testid='cancel-{BEANS}']")).await?;
    assert_eq!(
        count_orders(&home.sandbox_db(), BEANS, &["placed"]).await?,
        1
    );
    app.screenshot("tap").await?;
    app.quit().await
}

#[tokio::test]
#[ignore = "needs a display and tauri-driver: run by `cargo xtask test`"]
async fn a_double_tap_still_holds_exactly_one_order() -> Result<()> {
    let home = AppHome::new()?;
    let app = App::launch(&home, "double-tap", &[]).await?;
    let tap = app.find(&format!("[data-testid='tap-{BEANS}']")).await?;
    tap.click().await?;
    tap.click().await?;
    // Whether the second click lands while the first is under way (ignored by the tile) or after
    // it (answered ORDER_INPROGRESS by the service) depends on timing; either way one order.
    app.wait_text(&format!("status-{BEANS}"), |t| {
        t.starts_with("Ordered, arrives ") || t.starts_with("Already ordered, arrives ")
    })
    .await?;
    // A tap once the order is confirmed reaches the service, which answers ORDER_INPROGRESS.
    app.click(&format!("tap-{BEANS}")).await?;
    app.wait_text(&format!("status-{BEANS}"), |t| {
        t.starts_with("Already ordered, arrives ")
    })
    .await?;
    assert_eq!(count_orders(&home.sandbox_db(), BEANS, OPEN).await?, 1);
    assert_eq!(
        count_orders(&home.sandbox_db(), BEANS, &["cancelled"]).await?,
        0
    );
    app.screenshot("double-tap").await?;
    app.quit().await
}

#[tokio::test]
#[ignore = "needs a display and tauri-driver: run by `cargo xtask test`"]
async fn cancel_works() -> Result<()> {
    let home = AppHome::new()?;
    let app = App::launch(&home, "cancel", &[]).await?;
    order_beans(&app).await?;
    app.click(&format!("cancel-{BEANS}")).await?;
    app.wait_text(&format!("status-{BEANS}"), |t| t == "Order cancelled")
        .await?;
    assert!(
        !app.exists(&format!("[data-testid='cancel-{BEANS}']"))
            .await?
    );
    assert_eq!(count_orders(&home.sandbox_db(), BEANS, OPEN).await?, 0);
    assert_eq!(
        count_orders(&home.sandbox_db(), BEANS, &["cancelled"]).await?,
        1
    );
    app.screenshot("cancel").await?;
    app.quit().await
}

#[tokio::test]
#[ignore = "needs a display and tauri-driver: run by `cargo xtask test`"]
async fn a_restarted_app_shows_the_same_state() -> Result<()> {
    let home = AppHome::new()?;
    let app = App::launch(&home, "restart-1", &[]).await?;
    let before = order_beans(&app).await?;
    app.quit().await?;

    let app = App::launch(&home, "restart-2", &[]).await?;
    let after = app
        .wait_text(&format!("status-{BEANS}"), |t| {
            t.starts_with("Ordered, arrives ")
        })
        .await?;
    assert_eq!(after, before);
    app.find(&format!("[data-testid='cancel-{BEANS}']")).await?;
    assert_eq!(count_orders(&home.sandbox_db(), BEANS, OPEN).await?, 1);
    app.screenshot("restart").await?;
    app.quit().await
}

#[tokio::test]
#[ignore = "needs a display and tauri-driver: run by `cargo xtask test`"]
async fn an_unreachable_service_is_shown_on_the_tile_and_nothing_is_ordered() -> Result<()> {
    let service_dir = tempfile::tempdir()?;
    let db = service_dir.path().join("external.sqlite");
    let service = refill_service::start(refill_service::ServiceConfig::sandbox(&db)).await?;
    let url = service.base_url();
    let home = AppHome::new()?;
    let app = App::launch(&home, "unreachable", &["--service", &url]).await?;
    assert_eq!(sorted_titles(&app).await?, expected_titles());
    assert_eq!(
        app.text("service").await?,
        url.trim_start_matches("http://")
    );
    service.shutdown().await;

    app.click(&format!("tap-{BEANS}")).await?;
    let status = app
        .wait_text(&format!("status-{BEANS}"), |t| {
            t.starts_with("Can't reach the Refill service")
        })
        .await?;
    assert!(status.contains("nothing was ordered"), "{status}");
    assert!(
        !app.exists(&format!("[data-testid='cancel-{BEANS}']"))
            .await?
    );
    app.screenshot("unreachable").await?;
    app.quit().await?;
    assert_eq!(count_orders(&db, BEANS, OPEN).await?, 0);
    assert!(
        !home.sandbox_db().exists(),
        "with an external service no sandbox is started"
    );
    Ok(())
}

#[tokio::test]
#[ignore = "needs a display and tauri-driver: run by `cargo xtask test`"]
async fn the_device_page_shows_each_slot_and_saves_its_settings() -> Result<()> {
    const BREWER: &str = "SANDBOX-0001";
    let home = AppHome::new()?;
    let app = App::launch(&home, "device-page", &[]).await?;
    app.click(&format!("open-device-{BREWER}")).await?;
    app.find("[data-testid='device-page']").await?;
    // The simulated coffee maker reports its slots through the DRS API: levels appear.
    app.wait_text("level-brew-beans", |t| t.contains(" left"))
        .await?;
    app.find("[data-testid='slot-brew-filters']").await?;
    app.find("[data-testid='forecast-brew-beans']").await?;
    assert_eq!(
        slot_settings(&home.sandbox_db(), BREWER, "brew-filters")
            .await?
            .0,
        "notify"
    );

    // Smart reorder for the filters: the choice reaches the service's database.
    app.click("mode-reorder-brew-filters").await?;
    let mut mode = String::new();
    for _ in 0..50 {
        mode = slot_settings(&home.sandbox_db(), BREWER, "brew-filters")
            .await?
            .0;
        if mode == "reorder" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(mode, "reorder");

    // A level that is not a number is refused in words, and nothing is saved.
    app.type_into("minimum-brew-filters", "lots").await?;
    app.click("save-brew-filters").await?;
    let error = app
        .wait_text("slot-error-brew-filters", |t| !t.is_empty())
        .await?;
    assert!(error.contains("must be a number"), "{error}");
    assert_eq!(
        slot_settings(&home.sandbox_db(), BREWER, "brew-filters")
            .await?
            .1,
        None
    );

    // A low level and a target are saved.
    app.type_into("minimum-brew-filters", "20").await?;
    app.type_into("target-brew-filters", "200").await?;
    app.click("save-brew-filters").await?;
    let mut saved = (String::new(), None, None);
    for _ in 0..50 {
        saved = slot_settings(&home.sandbox_db(), BREWER, "brew-filters").await?;
        if saved.1.is_some() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(saved, ("reorder".to_owned(), Some(20.0), Some(200.0)));
    app.screenshot("device-page").await?;

    // A save against a slot whose stock changed since the page read it (a delivery, another
    // window): refused in words, the new stock shown, nothing written over. (The page reads
    // its slots every 3 s; should it read the new stock between the change and the click, the
    // save is rightly taken, and the change is made again.)
    let mut refused = String::new();
    for attempt in 0..3u32 {
        let stock = 777.0 + f64::from(attempt);
        app.type_into("minimum-brew-beans", "30").await?;
        change_stock_elsewhere(&home.sandbox_db(), BREWER, "brew-beans", stock).await?;
        app.click("save-brew-beans").await?;
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
        if app.exists("[data-testid='slot-error-brew-beans']").await? {
            refused = app
                .wait_text("slot-error-brew-beans", |t| !t.is_empty())
                .await?;
            break;
        }
    }
    assert!(refused.contains("nothing was saved"), "{refused}");
    assert!(refused.contains("g at home"), "{refused}");
    let mut shown = String::new();
    for _ in 0..50 {
        shown = app.value("on-hand-brew-beans").await?;
        if shown.starts_with("77") {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(
        refused.contains(&format!("{shown} g at home")),
        "{shown}: {refused}"
    );
    app.click("device-back").await?;
    app.find("[data-testid='grid']").await?;

    // Removing it, after a second word: the service deregisters it, the list drops it.
    app.click(&format!("open-device-{BREWER}")).await?;
    // Once the slots have loaded, so that the button no longer moves down as they appear.
    app.wait_text("level-brew-water-filter", |t| !t.is_empty())
        .await?;
    app.click("remove-device").await?;
    app.click("remove-device-confirm").await?;
    app.find("[data-testid='grid']").await?;
    let mut registered = true;
    for _ in 0..50 {
        registered = refill_e2e::device_registered(&home.sandbox_db(), BREWER).await?;
        if !registered {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(!registered, "the service still has the device registered");
    for _ in 0..50 {
        if !app
            .exists(&format!("[data-testid='open-device-{BREWER}']"))
            .await?
        {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(
        !app.exists(&format!("[data-testid='open-device-{BREWER}']"))
            .await?
    );
    app.quit().await
}

#[tokio::test]
#[ignore = "needs a display and tauri-driver: run by `cargo xtask test`"]
async fn an_item_without_a_device_is_added_and_told_of() -> Result<()> {
    let home = AppHome::new()?;
    let app = App::launch(&home, "items", &[]).await?;
    app.click("add-item").await?;
    // The catalog is offered; this one is described by hand instead.
    app.find("[data-testid='add-item-product'] option[value='B0RFBEAN02']")
        .await?;
    app.find("[data-testid='add-item-product'] option[value='']")
        .await?
        .click()
        .await?;
    app.type_into("add-item-name", "Dishwasher salt").await?;
    app.type_into("add-item-size", "2000").await?;
    app.click("add-item-confirm").await?;
    app.wait_text("add-item-done", |t| t.contains("Dishwasher salt"))
        .await?;
    // "At home" joins the devices; its page has the item's own buttons.
    app.click("open-device-home").await?;
    app.wait_text("level-item-1", |t| t.contains("No pack opened yet"))
        .await?;
    app.click("opened-item-1").await?;
    app.wait_text("level-item-1", |t| t.contains("000 g left"))
        .await?;
    assert_eq!(item_reports(&home.sandbox_db(), "item-1").await?.0, 1);
    app.click("ran-out-item-1").await?;
    app.wait_text("level-item-1", |t| t.starts_with("0 g left"))
        .await?;
    assert_eq!(item_reports(&home.sandbox_db(), "item-1").await?, (1, 1));
    assert!(!app.exists("[data-testid='remove-device']").await?);
    app.screenshot("item-at-home").await?;

    // A product of the catalog tracked at home gets a button; once it is about to run out, the
    // grid puts it first and says so.
    app.click("device-back").await?;
    app.click("add-item").await?;
    app.find("[data-testid='add-item-product'] option[value='B0RFBEAN02']")
        .await?
        .click()
        .await?;
    app.click("add-item-confirm").await?;
    app.wait_text("add-item-done", |t| t.contains("tracked"))
        .await?;
    app.find("[data-testid='tap-B0RFBEAN02']").await?;
    app.click("open-device-home").await?;
    app.click("opened-item-2").await?;
    app.wait_text("level-item-2", |t| t.contains(" left"))
        .await?;
    run_item_down_elsewhere(&home.sandbox_db(), "item-2", 2.0).await?;
    app.click("device-back").await?;
    app.wait_text("need-B0RFBEAN02", |t| t.starts_with("About 2 days left"))
        .await?;
    let titles = titles(&app).await?;
    let dark = app.text("title-B0RFBEAN02").await?;
    assert_eq!(titles.first(), Some(&dark), "{titles:?}");
    app.screenshot("item-first-in-grid").await?;

    // The salt is no longer wanted: after asking, it goes, and the beans stay.
    app.click("open-device-home").await?;
    app.click("remove-item-item-1").await?;
    app.wait_text("remove-item-ask-item-1", |t| {
        t.contains("Stop tracking Dishwasher salt?")
    })
    .await?;
    app.click("remove-item-confirm-item-1").await?;
    app.find("[data-testid='device-page']").await?;
    let mut gone = false;
    for _ in 0..50 {
        if !app.exists("[data-testid='slot-item-1']").await? {
            gone = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(gone, "the salt is still listed");
    app.find("[data-testid='slot-item-2']").await?;
    assert_eq!(item_reports(&home.sandbox_db(), "item-1").await?, (0, 0));
    app.quit().await?;
    Ok(())
}
