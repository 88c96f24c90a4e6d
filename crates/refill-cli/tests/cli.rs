//! The `refill` binary end to end: login (the browser part done by HTTP), whoami, logout, against
//! a real service and the real Secret Service keyring.
//!
//! Run by `cargo xtask test` with a gnome-keyring of its own on a private session bus; it refuses
//! to run anywhere else, so it never touches a person's keyring.

use refill_service::sandbox::{CUSTOMER_EMAIL, CUSTOMER_NAME, CUSTOMER_PASSWORD};
use refill_service::{start, ServiceConfig};
use refill_testkit::{Browser, Person};
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

fn refill(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_refill"))
        .args(args)
        .output()
        .unwrap()
}

// Multi-threaded: the test blocks on the child's output while the service must keep serving.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs a Secret Service: run by `cargo xtask test`"]
async fn login_whoami_logout() {
    assert_eq!(
        std::env::var("REFILL_KEYRING_ISOLATED").as_deref(),
        Ok("1"),
        "run through `cargo xtask test`"
    );
    let dir = tempfile::tempdir().unwrap();
    let service = start(ServiceConfig::sandbox(dir.path().join("s.sqlite")))
        .await
        .unwrap();
    let url = service.base_url();

    let out = refill(&["whoami", "--service", &url]);
    assert!(!out.status.success());
    assert_eq!(
        String::from_utf8_lossy(&out.stderr).trim(),
        "refill: You are not signed in."
    );

    let mut login = Command::new(env!("CARGO_BIN_EXE_refill"))
        .args(["login", "--no-browser", "--service", &url])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = BufReader::new(login.stdout.take().unwrap());
    let mut authorize = String::new();
    stdout.read_line(&mut authorize).unwrap();
    let authorize = authorize.trim().to_owned();
    assert!(
        authorize.starts_with(&format!("{url}/ap/oa?")),
        "{authorize}"
    );

    // The browser part.
    let browser = Browser::default();
    let alex = Person::Existing {
        email: CUSTOMER_EMAIL,
        password: CUSTOMER_PASSWORD,
    };
    let callback = browser.sign_in(&authorize, &alex, "allow").await.unwrap();
    let answer = browser.visit(&callback).await.unwrap();
    assert!(answer.contains("You can return to Refill"));

    let mut rest = String::new();
    std::io::Read::read_to_string(&mut stdout, &mut rest).unwrap();
    let status = login.wait().unwrap();
    let mut errors = String::new();
    std::io::Read::read_to_string(&mut login.stderr.take().unwrap(), &mut errors).unwrap();
    assert!(status.success(), "{errors}");
    assert_eq!(
        rest.trim(),
        format!("Signed in as {CUSTOMER_NAME} <{CUSTOMER_EMAIL}>.")
    );

    // A new process reads the sign-in back from the keyring.
    let out = refill(&["whoami", "--service", &url]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let who = String::from_utf8_lossy(&out.stdout);
    assert!(
        who.starts_with(&format!(
            "{CUSTOMER_NAME} <{CUSTOMER_EMAIL}> (refill.account."
        )),
        "{who}"
    );

    let out = refill(&["logout", "--service", &url]);
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "Signed out.");
    let out = refill(&["whoami", "--service", &url]);
    assert!(!out.status.success());
    let revoked: i64 = sqlx_count(&service).await;
    assert_eq!(
        revoked, 2,
        "the refresh token and its access token are revoked at the service"
    );
}

async fn sqlx_count(service: &refill_service::RunningService) -> i64 {
    sqlx::query_scalar("SELECT COUNT(*) FROM oauth_tokens WHERE revoked_at_ms IS NOT NULL")
        .fetch_one(service.store().pool())
        .await
        .unwrap()
}

/// An OpenID Connect provider that Refill did not write (PyPI `oidc-provider-mock`, in the
/// interop venv), on a free port; killed when dropped.
struct OidcProvider {
    child: std::process::Child,
    url: String,
}

impl Drop for OidcProvider {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn oidc_provider() -> OidcProvider {
    let python = std::env::var_os("REFILL_INTEROP_PYTHON")
        .expect("REFILL_INTEROP_PYTHON names the interop venv's python (cargo xtask test sets it)");
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let child = Command::new(python)
        .args(["-m", "oidc_provider_mock", "--port", &port.to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let provider = OidcProvider {
        child,
        url: format!("http://127.0.0.1:{port}"),
    };
    let discovery = format!("{}/.well-known/openid-configuration", provider.url);
    for _ in 0..100 {
        if reqwest::get(&discovery)
            .await
            .is_ok_and(|r| r.status().is_success())
        {
            return provider;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("the OIDC provider did not start");
}

// Multi-threaded: the test blocks on the child's output.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs a Secret Service and the interop venv: run by `cargo xtask test`"]
async fn an_oidc_providers_profile_shows_its_id_name_and_email() {
    assert_eq!(
        std::env::var("REFILL_KEYRING_ISOLATED").as_deref(),
        Ok("1"),
        "run through `cargo xtask test`"
    );
    let provider = oidc_provider().await;
    let url = &provider.url;
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let claims = serde_json::json!({ "name": "Jane Doe", "email": "jane@example.test" });
    let put = http
        .put(format!("{url}/users/jane-0042"))
        .json(&claims)
        .send()
        .await
        .unwrap();
    assert_eq!(put.status(), 204);
    let flags = [
        "--authorize-url",
        &format!("{url}/oauth2/authorize"),
        "--token-url",
        &format!("{url}/oauth2/token"),
        "--profile-url",
        &format!("{url}/userinfo"),
        "--client-id",
        "refill-interop",
        // The provider authenticates every client (any secret will do).
        "--client-secret",
        "installed-app-secret",
        "--scope",
        "openid",
        "--scope",
        "profile",
        "--scope",
        "email",
    ]
    .map(str::to_owned);
    let mut login = Command::new(env!("CARGO_BIN_EXE_refill"))
        .args(["login", "--no-browser"])
        .args(&flags)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = BufReader::new(login.stdout.take().unwrap());
    let mut authorize = String::new();
    stdout.read_line(&mut authorize).unwrap();
    // The provider's own form: sign in as jane-0042, then back to the CLI's loopback listener.
    let approved = http
        .post(authorize.trim())
        .form(&[("sub", "jane-0042")])
        .send()
        .await
        .unwrap();
    let back = approved
        .headers()
        .get("location")
        .and_then(|l| l.to_str().ok())
        .unwrap_or_else(|| panic!("no redirect: {}", approved.status()))
        .to_owned();
    let page = reqwest::get(&back).await.unwrap().text().await.unwrap();
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut stdout, &mut rest).unwrap();
    let status = login.wait().unwrap();
    let mut errors = String::new();
    std::io::Read::read_to_string(&mut login.stderr.take().unwrap(), &mut errors).unwrap();
    assert!(status.success(), "{errors}");
    assert!(page.contains("<h1>Signed in</h1>"), "{page}");
    assert_eq!(rest.trim(), "Signed in as Jane Doe <jane@example.test>.");

    let out = refill(
        &[&["whoami".to_owned()][..], &flags]
            .concat()
            .iter()
            .map(String::as_str)
            .collect::<Vec<_>>(),
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "Jane Doe <jane@example.test> (jane-0042)"
    );
    let out = refill(
        &[&["logout".to_owned()][..], &flags]
            .concat()
            .iter()
            .map(String::as_str)
            .collect::<Vec<_>>(),
    );
    assert!(out.status.success());
}

/// Run by `cargo xtask test` in a gnome-keyring unlocked with an empty password, which has no
/// default collection (as on many new installs and in containers): the sign-in is refused
/// before the browser opens, saying what to do.
#[test]
#[ignore = "needs a keyring without a default collection: run by `cargo xtask test`"]
fn a_keyring_that_cannot_store_is_said_before_the_browser_opens() {
    assert_eq!(
        std::env::var("REFILL_KEYRING_WITHOUT_COLLECTION").as_deref(),
        Ok("1"),
        "run through `cargo xtask test`"
    );
    let out = refill(&[
        "login",
        "--no-browser",
        "--service",
        "http://127.0.0.1:9/never-reached",
    ]);
    assert!(!out.status.success());
    assert!(
        out.stdout.is_empty(),
        "no sign-in address was given: {}",
        String::from_utf8_lossy(&out.stdout)
    );
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(said.contains("no default collection"), "{said}");
    assert!(said.contains("Passwords and Keys"), "{said}");
}
