//! Managing what is linked, through the real app binary: a device renamed, its beans changed
//! and removed from its page; the account's data downloaded and the account deleted from the
//! settings page (signed in, its email typed). Run by `cargo xtask test`.

use anyhow::{ensure, Context, Result};
use refill_auth::{KeyringStore, TokenStore};
use refill_e2e::{eventually, read_text, App, AppHome};
use refill_service::sandbox::{CUSTOMER_EMAIL, CUSTOMER_NAME, CUSTOMER_PASSWORD};
use refill_testkit::{Browser, Person};

const BREWER: &str = "SANDBOX-0001";

/// From the home page, a tap on the beans, until the tile says they are ordered.
async fn beans_ordered_from_home(app: &App) -> Result<()> {
    app.click("nav-home").await?;
    app.click("tap-B0RFBEAN01").await?;
    app.wait_text("status-B0RFBEAN01", |t| t.starts_with("Ordered, arrives "))
        .await?;
    Ok(())
}

#[tokio::test]
#[ignore = "needs a display and tauri-driver: run by `cargo xtask test`"]
async fn a_device_is_renamed_given_other_beans_and_removed_with_its_orders() -> Result<()> {
    let home = AppHome::new()?;
    let db = home.sandbox_db();
    let app = App::launch(&home, "manage-device", &[]).await?;
    app.click(&format!("open-device-{BREWER}")).await?;
    app.wait_text("level-brew-water-filter", |t| !t.is_empty())
        .await?;

    app.type_into("device-name", "Kitchen coffee maker").await?;
    app.click("rename-device").await?;
    let name = eventually(Some("Kitchen coffee maker"), || {
        read_text(&db, "SELECT name FROM devices WHERE serial = ?1", BREWER)
    })
    .await?;
    assert_eq!(name.as_deref(), Some("Kitchen coffee maker"));

    // The beans slot offers the catalog's other beans (grams), not ink.
    let select = app.find("[data-testid='product-brew-beans']").await?;
    let options = select.find_all(fantoccini::Locator::Css("option")).await?;
    let mut values = Vec::new();
    for option in options {
        values.push(option.attr("value").await?.unwrap_or_default());
    }
    ensure!(
        values.contains(&"B0RFBEAN02".to_owned())
            && !values.iter().any(|v| v.starts_with("B0RFINK")),
        "the beans slot offers {values:?}"
    );
    select.select_by_value("B0RFBEAN02").await?;
    let asin = eventually(Some("B0RFBEAN02"), || {
        read_text(
            &db,
            "SELECT ds.asin FROM device_slots ds JOIN devices d ON d.id = ds.device_id \
             WHERE d.serial = ?1 AND ds.slot_id = 'brew-beans'",
            BREWER,
        )
    })
    .await?;
    assert_eq!(asin.as_deref(), Some("B0RFBEAN02"));
    app.screenshot("device-managed").await?;

    // Removed, with its open orders cancelled: deregistered, as the device's own DELETE
    // /registration would, and gone from the list.
    app.click("remove-device").await?;
    app.click("remove-device-cancel-orders").await?;
    app.click("remove-device-confirm").await?;
    app.find("[data-testid='grid']").await?;
    let registered = eventually(Some("no"), || async {
        let registered = refill_e2e::device_registered(&db, BREWER).await?;
        Ok(Some(if registered { "yes" } else { "no" }.to_owned()))
    })
    .await?;
    assert_eq!(
        registered.as_deref(),
        Some("no"),
        "the device is still registered"
    );
    let deregistered = read_text(
        &db,
        "SELECT kind FROM events WHERE kind = 'DeviceDeregistered' AND body LIKE '%' || ?1 || '%'",
        BREWER,
    )
    .await?;
    assert_eq!(deregistered.as_deref(), Some("DeviceDeregistered"));
    let open: i64 = read_text(
        &db,
        "SELECT CAST(COUNT(*) AS TEXT) FROM orders o JOIN devices d ON d.id = o.device_id \
         WHERE d.serial = ?1 AND o.status = 'placed' AND o.cancellable_until_ms > \
         CAST(strftime('%s','now') AS INTEGER) * 1000",
        BREWER,
    )
    .await?
    .context("a count")?
    .parse()?;
    assert_eq!(
        open, 0,
        "an order of the removed device can still be cancelled"
    );
    app.quit().await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs a display, tauri-driver and a Secret Service: run by `cargo xtask test`"]
async fn my_data_is_downloaded_and_my_account_deleted_once_its_email_is_typed() -> Result<()> {
    ensure!(
        std::env::var("REFILL_KEYRING_ISOLATED").as_deref() == Ok("1"),
        "run through `cargo xtask test`"
    );
    KeyringStore::use_os_keyring()?;
    let home = AppHome::new()?;
    // The desktop's Downloads folder, as xdg-user-dirs names it.
    let downloads = home.path().join("Downloads");
    std::fs::create_dir_all(&downloads)?;
    std::fs::write(
        home.xdg_config().join("user-dirs.dirs"),
        format!("XDG_DOWNLOAD_DIR=\"{}\"\n", downloads.display()),
    )?;
    let app = App::launch(&home, "manage-account", &[]).await?;
    app.find("[data-testid='grid']").await?;

    // Not signed in: the data can be downloaded, the account cannot be deleted.
    app.click("nav-settings").await?;
    app.find("[data-testid='delete-account-sign-in']").await?;

    app.click("sign-in").await?;
    let authorize = app.text("authorize-url").await?;
    let person = Person::Existing {
        email: CUSTOMER_EMAIL,
        password: CUSTOMER_PASSWORD,
    };
    let browser = Browser::default();
    let callback = browser
        .sign_in(&authorize, &person, "allow")
        .await
        .map_err(anyhow::Error::msg)?;
    browser.visit(&callback).await.map_err(anyhow::Error::msg)?;
    app.wait_text("account-name", |t| t == CUSTOMER_NAME)
        .await?;

    app.click("download-my-data").await?;
    let saved = app.text("download-my-data-done").await?;
    let file = std::fs::read_dir(&downloads)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .find(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("refill-data-") && n.ends_with(".json"))
        })
        .with_context(|| format!("nothing in Downloads; the page says {saved:?}"))?;
    ensure!(saved.contains(&file.display().to_string()), "{saved}");
    let export: serde_json::Value = serde_json::from_slice(&std::fs::read(&file)?)?;
    assert_eq!(export["email"], CUSTOMER_EMAIL);
    ensure!(export["devices"].to_string().contains(BREWER));
    ensure!(!export["orders"].as_array().context("orders")?.is_empty());

    app.click("delete-account").await?;
    app.find("[role='dialog'][aria-modal='true']").await?;
    app.type_into("delete-account-email", "not.me@example.test")
        .await?;
    let confirm = app.find("[data-testid='delete-account-confirm']").await?;
    ensure!(
        confirm.attr("disabled").await?.is_some(),
        "Delete is offered before the account's email is typed"
    );
    app.type_into("delete-account-email", CUSTOMER_EMAIL)
        .await?;
    app.screenshot("delete-account").await?;
    app.click("delete-account-confirm").await?;
    app.find("[data-testid='sign-in']").await?;
    app.wait_text("account-message", |t| t.contains("account was deleted"))
        .await?;
    app.quit().await?;

    let db = home.sandbox_db();
    ensure!(
        read_text(
            &db,
            "SELECT email FROM customers WHERE email = ?1",
            CUSTOMER_EMAIL
        )
        .await?
        .is_none(),
        "the account's email is still kept"
    );
    ensure!(
        !refill_e2e::device_registered(&db, BREWER).await?,
        "its devices are still registered"
    );
    ensure!(
        KeyringStore::with_service("dev.refill.app.debug")
            .load("sandbox")?
            .is_none(),
        "the deleted account's tokens are still in the keyring"
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs a display and tauri-driver: run by `cargo xtask test`"]
async fn another_service_chosen_in_the_settings_takes_over_without_a_restart() -> Result<()> {
    let service_dir = tempfile::tempdir()?;
    let db = service_dir.path().join("chosen.sqlite");
    let service = refill_service::start(refill_service::ServiceConfig::sandbox(&db)).await?;
    let url = service.base_url();
    let home = AppHome::new()?;
    let app = App::launch(&home, "choose-service", &[]).await?;
    app.wait_text("service", |t| t == "Sandbox").await?;
    app.click("nav-settings").await?;
    app.click("service-external").await?;
    app.type_into("service-url", "refill dot example").await?;
    app.click("service-check").await?;
    let refused = app.text("service-error").await?;
    ensure!(refused.contains("not a web address"), "{refused}");
    app.type_into("service-url", &url).await?;
    app.click("service-check").await?;
    let checked = app.text("service-checked").await?;
    ensure!(checked.contains(&url), "{checked}");
    app.screenshot("choose-service").await?;
    app.click("service-use").await?;
    app.wait_text("service-done", |t| t.contains(&url)).await?;
    // The header names the chosen service, and a tap orders from it: no restart.
    app.wait_text("service", |t| t == url.trim_start_matches("http://"))
        .await?;
    beans_ordered_from_home(&app).await?;
    app.quit().await?;
    let ordered = eventually(Some("1"), || {
        read_text(
            &db,
            "SELECT CAST(COUNT(*) AS TEXT) FROM orders WHERE asin = ?1 AND status = 'placed'",
            "B0RFBEAN01",
        )
    })
    .await?;
    assert_eq!(
        ordered.as_deref(),
        Some("1"),
        "the tap did not reach the chosen service"
    );
    let settings = std::fs::read_to_string(
        home.xdg_config()
            .join(refill_e2e::APP_IDENTIFIER)
            .join("settings.json"),
    )?;
    ensure!(
        settings.contains(&url),
        "the choice is not kept: {settings}"
    );
    service.shutdown().await;
    Ok(())
}

/// A home server with its own certificate, chosen in the settings: "Use this service" shows
/// the certificate's fingerprint and asks; once trusted, a tap orders from it. Another
/// certificate at that address later (someone else's service) is refused in words at the next
/// start, naming the trusted fingerprint, and nothing is sent to it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs a display and tauri-driver: run by `cargo xtask test`"]
async fn a_home_servers_own_certificate_is_shown_and_trusted_in_the_settings() -> Result<()> {
    let home_server = |folder: std::path::PathBuf, port: u16| async move {
        let mut config = refill_service::ServiceConfig::sandbox(folder.join("home.sqlite"))
            .with_self_signed(&folder)?;
        config.listen = std::net::SocketAddr::from(([127, 0, 0, 1], port));
        anyhow::Ok(refill_service::start(config).await?)
    };
    let service_dir = tempfile::tempdir()?;
    let service = home_server(service_dir.path().to_owned(), 0).await?;
    let url = service.base_url();
    ensure!(url.starts_with("https://"), "{url}");
    let fingerprint = service
        .certificate()
        .context("a certificate")?
        .fingerprint()
        .to_string();
    let home = AppHome::new()?;
    let app = App::launch(&home, "trust-service", &[]).await?;
    app.wait_text("service", |t| t == "Sandbox").await?;
    app.click("nav-settings").await?;
    app.click("service-external").await?;
    app.type_into("service-url", &url).await?;
    app.click("service-use").await?;
    let shown = app.text("service-fingerprint").await?;
    ensure!(shown == fingerprint, "shown {shown}, served {fingerprint}");
    app.screenshot("trust-service").await?;
    app.click("service-trust-use").await?;
    app.wait_text("service-done", |t| t.contains(&url)).await?;
    app.wait_text("service-trusted", |t| t.contains(&fingerprint))
        .await?;
    beans_ordered_from_home(&app).await?;
    app.quit().await?;

    // Someone else's service at the same address, with another certificate.
    let port = service.local_addr().port();
    service.shutdown().await;
    let impostor_dir = tempfile::tempdir()?;
    let impostor = home_server(impostor_dir.path().to_owned(), port).await?;
    let placed = || async {
        sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM orders")
            .fetch_one(impostor.store().pool())
            .await
    };
    let before = placed().await?;
    let app = App::launch(&home, "trust-service-changed", &[]).await?;
    let refused = app
        .wait_text("load-error", |t| t.contains("different certificate"))
        .await?;
    ensure!(refused.contains(&fingerprint), "{refused}");
    app.screenshot("trust-service-changed").await?;
    app.quit().await?;
    ensure!(
        placed().await? == before,
        "an order reached the other service"
    );
    impostor.shutdown().await;
    Ok(())
}

/// "Let devices on this network reach Refill", in the settings of the real app on its sandbox:
/// off at first; turned on, it shows where devices reach Refill and the certificate they pin,
/// and Refill answers there over HTTPS with that certificate; turned off, nothing answers.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs a display and tauri-driver: run by `cargo xtask test`"]
async fn devices_on_this_network_reach_refill_once_turned_on_in_the_settings() -> Result<()> {
    let home = AppHome::new()?;
    // Any free port rather than Refill's own, which another test may hold.
    let app = App::launch_with(
        &home,
        "network-access",
        &[],
        &[("REFILL_NETWORK_PORT", "0")],
    )
    .await?;
    app.wait_text("service", |t| t == "Sandbox").await?;
    app.click("nav-settings").await?;
    let on = app.find("[data-testid='network-access-on']").await?;
    ensure!(!on.is_selected().await?, "off at first");
    app.click("network-access-on").await?;
    let said = app
        .wait_text("network-access-url", |t| t.contains("https://"))
        .await?;
    let url = said
        .split_whitespace()
        .find(|w| w.starts_with("https://"))
        .context("no address")?
        .trim_end_matches(',')
        .to_owned();
    let fingerprint = app.text("network-access-fingerprint").await?;
    let certificate = refill_tls::pin(&url, fingerprint.parse().map_err(anyhow::Error::msg)?)
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let http = refill_tls::Trust::Pinned(certificate)
        .client_builder()
        .build()?;
    let health = http.get(format!("{url}/health")).send().await?;
    ensure!(health.status() == 200, "{}", health.status());
    app.screenshot("network-access").await?;

    app.click("network-access-on").await?;
    let gone = eventually(Some("gone"), || async {
        let shown = app.exists("[data-testid='network-access-url']").await?;
        Ok(Some(if shown { "shown" } else { "gone" }.to_owned()))
    })
    .await?;
    ensure!(
        gone.as_deref() == Some("gone"),
        "the address is still shown"
    );
    ensure!(
        http.get(format!("{url}/health")).send().await.is_err(),
        "Refill still answers on the network"
    );
    app.quit().await?;
    Ok(())
}

/// Where orders go, chosen on the settings page of the real app pointed at a home server (a
/// service that does not buy orders itself, with a mail server): its own automation, whose
/// secret is shown once, then email to another address. The mail server is never reached here
/// (orders are mailed once they can no longer be cancelled; `refill-service`'s tests/mail.rs
/// sends them to aiosmtpd).
#[tokio::test]
#[ignore = "needs a display and tauri-driver: run by `cargo xtask test`"]
async fn where_orders_go_is_chosen_in_the_settings_on_a_home_server() -> Result<()> {
    let service_dir = tempfile::tempdir()?;
    let mut config = refill_service::ServiceConfig::sandbox(service_dir.path().join("home.sqlite"));
    config.policy.handover = refill_core::Handover::Manual;
    config.allow_private_webhooks = true;
    config.mail = Some(
        refill_service::mail::Mailer::new(&refill_service::mail::MailSettings {
            server: "smtp://127.0.0.1:9".to_owned(),
            from: "refill@home.example".to_owned(),
            ..Default::default()
        })
        .map_err(anyhow::Error::msg)?,
    );
    let service = refill_service::start(config).await?;
    let url = service.base_url();
    let home = AppHome::new()?;
    let app = App::launch(&home, "orders-go", &["--service", &url]).await?;
    app.find("[data-testid='grid']").await?;
    app.click("nav-settings").await?;
    let manual = app.find("[data-testid='orders-go-manual']").await?;
    ensure!(
        manual.is_selected().await?,
        "manual is the service's default"
    );

    app.click("orders-go-webhook").await?;
    app.type_into("orders-go-webhook-address", "http://127.0.0.1:9/refill")
        .await?;
    app.click("orders-go-save").await?;
    let secret = app
        .wait_text("orders-go-secret", |t| t.contains("shown only now"))
        .await?;
    let view: serde_json::Value = reqwest::get(format!("{url}/v1/account/orders-go"))
        .await?
        .json()
        .await?;
    ensure!(view["method"] == "webhook", "{view}");
    ensure!(view["webhookUrl"] == "http://127.0.0.1:9/refill", "{view}");
    ensure!(view["webhookSecret"].is_null(), "never read back: {view}");
    app.screenshot("orders-go-webhook").await?;

    app.click("orders-go-email").await?;
    ensure!(
        app.value("orders-go-email-address").await? == CUSTOMER_EMAIL,
        "the account's address until another is given"
    );
    app.type_into("orders-go-email-address", "shopping@home.example")
        .await?;
    app.click("orders-go-save").await?;
    app.wait_text("orders-go-said", |t| t.starts_with("Saved"))
        .await?;
    ensure!(
        !app.exists("[data-testid='orders-go-secret']").await?,
        "the secret is shown once: {secret}"
    );
    let view: serde_json::Value = reqwest::get(format!("{url}/v1/account/orders-go"))
        .await?
        .json()
        .await?;
    ensure!(
        view["method"] == "email" && view["email"] == "shopping@home.example",
        "{view}"
    );
    app.quit().await?;
    service.shutdown().await;
    Ok(())
}
