//! Signing in through the real app binary, with tokens in a real Secret Service (gnome-keyring
//! on the test's private session bus). Run by `cargo xtask test`.

use anyhow::{ensure, Context, Result};
use refill_auth::{KeyringStore, TokenStore};
use refill_e2e::{run_to_end, App, AppHome, WebBrowser};
use refill_service::sandbox::{CUSTOMER_EMAIL, CUSTOMER_NAME, CUSTOMER_PASSWORD};
use refill_testkit::{Browser, Person};
use std::path::Path;

/// Where a debug build keeps its tokens: the sandbox's entry under the debug service name.
fn keyring() -> KeyringStore {
    KeyringStore::with_service("dev.refill.app.debug")
}

/// Uses the Secret Service of the test's private session bus (never the user's own keyring).
fn use_isolated_keyring() -> Result<()> {
    ensure!(
        std::env::var("REFILL_KEYRING_ISOLATED").as_deref() == Ok("1"),
        "run through `cargo xtask test`"
    );
    KeyringStore::use_os_keyring()?;
    Ok(())
}

/// Every file under `dir` that contains `needle`.
fn files_containing(dir: &Path, needle: &str) -> Vec<String> {
    let mut found = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return found;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            found.extend(files_containing(&path, needle));
        } else if std::fs::read(&path)
            .is_ok_and(|b| b.windows(needle.len()).any(|w| w == needle.as_bytes()))
        {
            found.push(path.display().to_string());
        }
    }
    found
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs a display, tauri-driver and a Secret Service: run by `cargo xtask test`"]
async fn sign_in_survives_a_restart_and_sign_out_forgets_it() -> Result<()> {
    use_isolated_keyring()?;
    let home = AppHome::new()?;
    let app = App::launch(&home, "sign-in-1", &[]).await?;
    app.find("[data-testid='grid']").await?;
    app.click("sign-in").await?;
    let authorize = app.text("authorize-url").await?;
    ensure!(authorize.contains("/ap/oa?"), "{authorize}");

    // The person at the browser.
    let browser = Browser::default();
    let alex = Person::Existing {
        email: CUSTOMER_EMAIL,
        password: CUSTOMER_PASSWORD,
    };
    let callback = browser
        .sign_in(&authorize, &alex, "allow")
        .await
        .map_err(anyhow::Error::msg)?;
    let page = browser.visit(&callback).await.map_err(anyhow::Error::msg)?;
    ensure!(page.contains("You can return to Refill"));
    app.wait_text("account-name", |t| t == CUSTOMER_NAME)
        .await?;
    ensure!(!app.exists("[data-testid='sign-in-panel']").await?);
    app.screenshot("signed-in").await?;
    let tokens = keyring()
        .load("sandbox")?
        .expect("the tokens are in the keyring");
    app.quit().await?;

    // A restarted app reads the sign-in back from the keyring.
    let app = App::launch(&home, "sign-in-2", &[]).await?;
    app.wait_text("account-name", |t| t == CUSTOMER_NAME)
        .await?;
    app.click("sign-out").await?;
    app.find("[data-testid='sign-in']").await?;
    app.screenshot("signed-out").await?;
    app.quit().await?;
    ensure!(
        keyring().load("sandbox")?.is_none(),
        "sign-out deleted the keyring entry"
    );

    // The app keeps a log file of its own (searched for secrets with the rest of its files just
    // below), in which both runs and the sign-in and sign-out are told.
    let log = home.app_log()?;
    ensure!(log.matches(" starting").count() >= 2, "{log}");
    ensure!(
        log.contains("signed in") && log.contains("signed out"),
        "{log}"
    );
    // No token and no password ever reached the app's files or its logs.
    let logs = refill_e2e::target_dir().join("e2e/logs");
    let secrets = [
        tokens.access_token.expose().clone(),
        tokens
            .refresh_token
            .as_ref()
            .expect("a refresh token")
            .expose()
            .clone(),
        CUSTOMER_PASSWORD.to_owned(),
    ];
    for secret in &secrets {
        let mut found = files_containing(home.path(), secret);
        found.extend(files_containing(&logs, secret));
        ensure!(found.is_empty(), "a secret was written to {found:?}");
    }
    Ok(())
}

/// Signs in from the app's button in `browser`, up to the account shown, then signs out.
async fn sign_in_in(browser: WebBrowser, name: &str) -> Result<()> {
    use_isolated_keyring()?;
    let home = AppHome::new()?;
    let app = App::launch(&home, name, &[]).await?;
    app.find("[data-testid='grid']").await?;
    app.click("sign-in").await?;
    let authorize = app.text("authorize-url").await?;
    let page = browser
        .sign_in(&authorize, CUSTOMER_EMAIL, CUSTOMER_PASSWORD)
        .await?;
    ensure!(page.contains("You can return to Refill"), "{page}");
    app.wait_text("account-name", |t| t == CUSTOMER_NAME)
        .await?;
    app.screenshot(name).await?;
    browser.quit().await?;
    app.click("sign-out").await?;
    app.find("[data-testid='sign-in']").await?;
    app.quit().await?;
    Ok(())
}

/// The sign-in in Chromium, most people's browser (Chrome, Edge, Brave): it applies the pages'
/// CSP `form-action` to the redirect that answers the consent form, which once blocked the way
/// back to the app, and under `Referrer-Policy: no-referrer` it sends `Origin: null` with the
/// pages' own forms. Headless Chromium signs in and allows; the app's loopback listener gets the
/// code and the app shows the account.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs a display, tauri-driver, Chromium and a Secret Service: run by `cargo xtask test`"]
async fn sign_in_completes_in_chromium() -> Result<()> {
    sign_in_in(WebBrowser::chromium().await?, "signed-in-chromium").await
}

/// The same sign-in in WebKitGTK (MiniBrowser through WebKitWebDriver), the engine of GNOME's
/// browser and Safari's relative.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs a display, tauri-driver, WebKitWebDriver and a Secret Service: run by `cargo xtask test`"]
async fn sign_in_completes_in_webkitgtk() -> Result<()> {
    sign_in_in(WebBrowser::webkitgtk().await?, "signed-in-webkitgtk").await
}

/// A new person's first sign-in, on a home server that takes new accounts by invitation: the
/// app pointed at the service, its Sign in opened in `browser`, "Invited? Create your account"
/// with the code the operator gave, then Allow; the app shows the new account, and the code is
/// spent.
async fn invited_sign_up_in(browser: WebBrowser, name: &str) -> Result<()> {
    use_isolated_keyring()?;
    let service_dir = tempfile::tempdir()?;
    let mut config = refill_service::ServiceConfig::sandbox(service_dir.path().join("home.sqlite"));
    config.sandbox = false;
    let service = refill_service::start(config).await?;
    let url = service.base_url();
    let code = service
        .store()
        .invite(
            "sam@example.com",
            time::OffsetDateTime::now_utc(),
            time::Duration::days(3),
        )
        .await?;
    let home = AppHome::new()?;
    let app = App::launch(&home, name, &["--service", &url]).await?;
    app.click("sign-in").await?;
    let authorize = app.text("authorize-url").await?;
    ensure!(authorize.starts_with(&url), "{authorize}");
    let page = browser
        .sign_up_invited(
            &authorize,
            ("Sam", "sam@example.com"),
            code.expose(),
            "a-long-password",
        )
        .await?;
    ensure!(page.contains("You can return to Refill"), "{page}");
    app.wait_text("account-name", |t| t == "Sam").await?;
    app.screenshot(name).await?;
    browser.quit().await?;
    ensure!(
        !service
            .store()
            .invitation_valid(
                "sam@example.com",
                code.expose(),
                time::OffsetDateTime::now_utc()
            )
            .await?,
        "the invitation is spent"
    );
    app.click("sign-out").await?;
    app.find("[data-testid='sign-in']").await?;
    app.quit().await?;
    service.shutdown().await;
    Ok(())
}

/// The invited sign-up in Chromium.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs a display, tauri-driver, Chromium and a Secret Service: run by `cargo xtask test`"]
async fn an_invited_person_creates_an_account_in_chromium() -> Result<()> {
    invited_sign_up_in(WebBrowser::chromium().await?, "invited-chromium").await
}

/// The invited sign-up in WebKitGTK.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs a display, tauri-driver, WebKitWebDriver and a Secret Service: run by `cargo xtask test`"]
async fn an_invited_person_creates_an_account_in_webkitgtk() -> Result<()> {
    invited_sign_up_in(WebBrowser::webkitgtk().await?, "invited-webkitgtk").await
}

/// For providers that only send the browser back to an app's own address: the sign-in returns
/// as a `refill://auth?…` link, which the desktop (xdg-open, as a browser asks it to) opens by
/// starting the app again; that second launch hands the link to the running app and exits.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs a display, tauri-driver, xdg-open and a Secret Service: run by `cargo xtask test`"]
async fn a_sign_in_link_opened_by_the_desktop_reaches_the_running_app() -> Result<()> {
    use_isolated_keyring()?;
    let home = AppHome::new()?;
    let app = App::launch(&home, "link-sign-in", &["--redirect-uri", "refill://auth"]).await?;
    app.find("[data-testid='grid']").await?;

    // The app told the desktop that it opens refill:// links.
    let entry = home
        .xdg_data()
        .join("applications/dev.refill.app.links.desktop");
    let text = std::fs::read_to_string(&entry)?;
    ensure!(text.contains("MimeType=x-scheme-handler/refill;"), "{text}");
    ensure!(
        text.contains(" --redirect-uri refill://auth %u\n"),
        "started as the running app was: {text}"
    );
    let default = run_to_end({
        let mut c = home.command("xdg-mime");
        c.args(["query", "default", "x-scheme-handler/refill"]);
        c
    })
    .await?;
    ensure!(
        String::from_utf8_lossy(&default.stdout).trim() == "dev.refill.app.links.desktop",
        "{default:?}"
    );

    // Starting the app again only brings the running one forward.
    let again = run_to_end(home.command(refill_e2e::app_binary()?)).await?;
    let said = String::from_utf8_lossy(&again.stderr);
    ensure!(again.status.success(), "{said}");
    ensure!(said.contains("already running"), "{said}");

    app.click("sign-in").await?;
    let authorize = app.text("authorize-url").await?;
    ensure!(
        authorize.contains("redirect_uri=refill%3A%2F%2Fauth"),
        "{authorize}"
    );
    let alex = Person::Existing {
        email: CUSTOMER_EMAIL,
        password: CUSTOMER_PASSWORD,
    };
    let link = Browser::default()
        .sign_in(&authorize, &alex, "allow")
        .await
        .map_err(anyhow::Error::msg)?;
    ensure!(link.starts_with("refill://auth?code="), "{link}");

    // The browser asks the desktop to open the link.
    let opened = run_to_end({
        let mut c = home.command("xdg-open");
        c.arg(&link);
        c
    })
    .await
    .context("xdg-open (`cargo xtask test` installs xdg-utils)")?;
    ensure!(opened.status.success(), "{opened:?}");
    ensure!(
        String::from_utf8_lossy(&opened.stderr).contains("already running"),
        "the link went to a second launch of the app: {opened:?}"
    );
    app.wait_text("account-name", |t| t == CUSTOMER_NAME)
        .await?;
    app.screenshot("signed-in-by-link").await?;
    ensure!(
        keyring().load("sandbox")?.is_some(),
        "the tokens are in the keyring"
    );

    // The link is spent: opening it again signs nobody in twice and changes nothing.
    let replay = run_to_end({
        let mut c = home.command("xdg-open");
        c.arg(&link);
        c
    })
    .await?;
    ensure!(replay.status.success(), "{replay:?}");
    app.click("sign-out").await?;
    app.find("[data-testid='sign-in']").await?;
    app.quit().await?;
    ensure!(
        keyring().load("sandbox")?.is_none(),
        "sign-out deleted the keyring entry"
    );
    Ok(())
}
