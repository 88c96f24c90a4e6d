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
