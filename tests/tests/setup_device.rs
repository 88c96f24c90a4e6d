//! Setting up a sandbox device through the real app binary: the wizard from "Add a device" to the
//! device linked to the account, with a wrong Wi-Fi password corrected on the way and the right
//! one remembered in a real Secret Service; then an Improv device, proven by a press of its
//! button, joining with the remembered password. The devices are the sandbox's simulated devices
//! on the in-process simulated link (this machine has no Bluetooth radio). Then a device on the
//! fake Bluetooth radio (BlueZoo on a private system bus, which the app's real btleplug code
//! scans), set up next to the sandbox's own and reporting its levels to the app's service by
//! itself. Run by `cargo xtask test`.

use anyhow::{ensure, Context, Result};
use refill_auth::{KeyringStore, WifiPasswords};
use refill_device_sim::{rig::Rig, serve_http, Protection, SimDevice, HOME_PASSWORD};
use refill_e2e::{App, AppHome};
use refill_service::sandbox::{CUSTOMER_EMAIL, CUSTOMER_PASSWORD};
use refill_testkit::{Browser, Person};
use std::time::Duration;

/// The customer allows the link at `url` in a browser; the wizard's last words once it is set up.
async fn allow_link(app: &App, url: &str, person: &Person<'_>) -> Result<String> {
    let browser = Browser::default();
    let callback = browser
        .sign_in(url, person, "allow")
        .await
        .map_err(anyhow::Error::msg)?;
    browser.visit(&callback).await.map_err(anyhow::Error::msg)?;
    app.wait_text("setup-done", |t| t.contains("is set up"))
        .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs a display, tauri-driver and a Secret Service: run by `cargo xtask test`"]
async fn a_simulated_device_is_set_up_and_linked_through_the_wizard() -> Result<()> {
    ensure!(
        std::env::var("REFILL_KEYRING_ISOLATED").as_deref() == Ok("1"),
        "run through `cargo xtask test`"
    );
    KeyringStore::use_os_keyring()?;
    let home = AppHome::new()?;
    let app = App::launch(&home, "setup-device", &[]).await?;
    app.find("[data-testid='grid']").await?;
    app.click("add-device").await?;
    ensure!(app.text("why-bluetooth").await?.contains("Bluetooth"));
    app.click("setup-start").await?;

    // The strongest device first; its sandbox label carries the proof of possession.
    let first = app.find("[data-testid^='found-PROV_']").await?;
    let test_id = first.attr("data-testid").await?.context("a test id")?;
    let name = test_id.trim_start_matches("found-").to_owned();
    let label: serde_json::Value =
        serde_json::from_str(&app.text(&format!("label-{name}")).await?)?;
    let pop = label["pop"]
        .as_str()
        .context("a proof of possession")?
        .to_owned();
    app.screenshot("setup-1-devices").await?;
    first.click().await?;

    // A mistyped code is refused; the right one opens the Wi-Fi list.
    app.type_into("pop", "00000000").await?;
    app.click("secure").await?;
    ensure!(app.wait_attr("setup-error", "data-code").await? == "device_refused");
    app.type_into("pop", &pop).await?;
    app.click("secure").await?;
    app.click("network-Refill Home").await?;
    app.screenshot("setup-2-password").await?;

    // A wrong password is typed again in the same session; the right one is remembered.
    app.type_into("password", "not-the-password").await?;
    app.click("join").await?;
    ensure!(app.wait_attr("setup-error", "data-code").await? == "wifi_wrong_password");
    app.type_into("password", refill_device_sim::HOME_PASSWORD)
        .await?;
    app.click("remember").await?;
    app.click("join").await?;

    // Linking: the customer allows it in the browser; the device redeems its own code.
    let url = app.wait_text("link-url", |t| t.contains("/ap/oa?")).await?;
    ensure!(url.contains("scope=dash%3Areplenish"), "{url}");
    let alex = Person::Existing {
        email: CUSTOMER_EMAIL,
        password: CUSTOMER_PASSWORD,
    };
    let done = allow_link(&app, &url, &alex).await?;
    ensure!(done.contains("Brewmaster 200 coffee maker"), "{done}");
    ensure!(app.text("setup-slots").await?.contains("Coffee beans"));
    app.screenshot("setup-3-done").await?;
    app.click("setup-finish").await?;
    let devices = app.text("devices").await?;
    ensure!(devices.contains("Brewmaster 200 coffee maker"), "{devices}");

    // An Improv device: no code but a press of its button (the sandbox presses it), the
    // remembered password, and linked over the network at the URL it returned.
    app.click("add-device").await?;
    app.click("setup-start").await?;
    app.find("[data-testid^='found-refillwash-9-']")
        .await?
        .click()
        .await?;
    let ask = app.wait_text("press-the-button", |t| !t.is_empty()).await?;
    ensure!(ask.contains("Press the button"), "{ask}");
    app.click("identify").await?;
    app.screenshot("setup-4-press-the-button").await?;
    app.click("sandbox-press").await?;
    app.click("network-Refill Home").await?;
    app.click("join").await?;
    let url = app.wait_text("link-url", |t| t.contains("/ap/oa?")).await?;
    let done = allow_link(&app, &url, &alex).await?;
    ensure!(done.contains("AutoDose 9 washing machine"), "{done}");
    app.click("setup-finish").await?;
    app.quit().await?;

    let remembered =
        WifiPasswords::with_service("dev.refill.app.debug.wifi").recall("Refill Home")?;
    ensure!(
        remembered.is_some_and(|p| p.expose() == refill_device_sim::HOME_PASSWORD),
        "the password that worked is in the keyring"
    );
    WifiPasswords::with_service("dev.refill.app.debug.wifi").forget("Refill Home")?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs a display, tauri-driver, a Secret Service and the fake BlueZ rig: run by `cargo xtask test`"]
async fn a_device_on_the_fake_bluetooth_radio_is_set_up_and_its_levels_appear() -> Result<()> {
    ensure!(
        std::env::var("REFILL_KEYRING_ISOLATED").as_deref() == Ok("1"),
        "run through `cargo xtask test`"
    );
    KeyringStore::use_os_keyring()?;
    // A coffee maker on the air, which reports what it holds every 2 seconds once linked.
    let rig = Rig::start(1)?;
    let device = SimDevice::new("RefillBrew-200", "BREW-RADIO-01", Protection::Sec1);
    device.reporting.set_every(Some(Duration::from_secs(2)));
    let served = serve_http(device.device.clone()).await?;
    let _on_air = rig.advertise(1, &format!("http://{}", served.addr), &device.name, "esp")?;

    // The app with its sandbox, on a computer whose radio is the rig (the central adapter hci0).
    let home = AppHome::new()?;
    let app = App::launch_with(
        &home,
        "setup-device-radio",
        &[],
        &[
            ("DBUS_SYSTEM_BUS_ADDRESS", rig.system_bus.as_str()),
            ("REFILL_BLUETOOTH_ADAPTER", "hci0"),
        ],
    )
    .await?;
    app.find("[data-testid='grid']").await?;
    app.click("add-device").await?;
    app.click("setup-start").await?;

    // Found over Bluetooth, listed with the sandbox's own devices (only those marked Sandbox).
    let on_air = format!("found-{}", device.name);
    let found = app.find(&format!("[data-testid='{on_air}']")).await?;
    ensure!(
        app.exists("[data-testid^='sandbox-PROV_']").await?,
        "the sandbox's devices are listed too"
    );
    ensure!(
        !app.exists(&format!("[data-testid='sandbox-{}']", device.name))
            .await?,
        "the device on the air is not marked as the sandbox's"
    );
    ensure!(
        !app.exists("[data-testid='no-bluetooth']").await?,
        "{}",
        app.text("no-bluetooth").await.unwrap_or_default()
    );
    app.screenshot("setup-radio-1-found").await?;
    found.click().await?;

    // Its code, its network, then linked to the account in the browser.
    app.type_into("pop", device.secret.expose()).await?;
    app.click("secure").await?;
    app.click("network-Refill Home").await?;
    app.type_into("password", HOME_PASSWORD).await?;
    app.click("join").await?;
    let url = app.wait_text("link-url", |t| t.contains("/ap/oa?")).await?;
    let alex = Person::Existing {
        email: CUSTOMER_EMAIL,
        password: CUSTOMER_PASSWORD,
    };
    let done = allow_link(&app, &url, &alex).await?;
    ensure!(done.contains("Brewmaster 200 coffee maker"), "{done}");
    app.click("setup-finish").await?;

    // The device reports by itself to the service that linked it: its level shows, then moves.
    app.click("open-device-BREW-RADIO-01").await?;
    let first = app
        .wait_text("level-brew-beans", |t| t.contains("left"))
        .await?;
    let later = app
        .wait_text("level-brew-beans", |t| t.contains("left") && t != first)
        .await?;
    ensure!(
        device.reporting.accepted() >= 2,
        "{:?}",
        device.reporting.problem()
    );
    app.screenshot("setup-radio-2-levels").await?;
    ensure!(first != later, "{first} then {later}");
    app.quit().await?;
    Ok(())
}
