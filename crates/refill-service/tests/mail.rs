//! Orders by email, against a mail server Refill did not write: aiosmtpd from PyPI
//! (`tests/smtp_server.py`, in the interop venv that `cargo xtask setup` makes), on a loopback
//! port, with STARTTLS or TLS from the start and a sign-in, its certificate the service's own
//! self-signed one. Over real HTTP, on SQLite (and PostgreSQL with `REFILL_TEST_POSTGRES`).

mod common;

use common::{answer, device_token, get_json, replenish, sandbox_with, Fixture};
use refill_core::{Clock, Handover, OrderPolicy, Sensitive};
use refill_service::http::tls::{Tls, CERTIFICATE_FILE, FOLDER, KEY_FILE};
use refill_service::mail::{MailSettings, Mailer};
use serde_json::{json, Value};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::time::Duration as StdDuration;
use time::Duration;

const USER: &str = "refill";
const PASSWORD: &str = "mail-password-7f3a";
const SHOPPING: &str = "shopping@home.example";

/// aiosmtpd on a loopback port: its port, and each message it takes, as it reports them.
struct MailServer {
    child: Child,
    _stdin: ChildStdin,
    port: u16,
    taken: Receiver<Value>,
}

impl MailServer {
    /// Starts it in `mode` (see `smtp_server.py`) with the certificate in `tls`.
    fn start(mode: &str, tls: &Path) -> Self {
        let python = std::env::var_os("REFILL_INTEROP_PYTHON").expect(
            "REFILL_INTEROP_PYTHON names the interop venv's python (cargo xtask test sets it)",
        );
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/smtp_server.py");
        let mut child = Command::new(python)
            .arg(script)
            .arg(mode)
            .arg(tls.join(CERTIFICATE_FILE))
            .arg(tls.join(KEY_FILE))
            .args([USER, PASSWORD])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let stdin = child.stdin.take().unwrap();
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let first = lines.next().unwrap().unwrap();
        let port = first.strip_prefix("port ").unwrap().parse().unwrap();
        let (send, taken) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in lines.map_while(Result::ok) {
                let _ = send.send(serde_json::from_str(&line).unwrap());
            }
        });
        Self {
            child,
            _stdin: stdin,
            port,
            taken,
        }
    }

    /// The next message it took, within a few seconds.
    fn next(&self) -> Value {
        self.taken
            .recv_timeout(StdDuration::from_secs(10))
            .expect("the mail server took no message")
    }

    /// Whether it took no message.
    fn took_none(&self) -> bool {
        matches!(
            self.taken.recv_timeout(StdDuration::from_millis(300)),
            Err(RecvTimeoutError::Timeout)
        )
    }
}

impl Drop for MailServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The service's own self-signed certificate, made in `dir`: its folder.
fn certificate(dir: &Path) -> PathBuf {
    Tls::self_signed(dir, &[]).unwrap();
    dir.join(FOLDER)
}

fn mailer(server: &str, ca: Option<PathBuf>) -> Mailer {
    Mailer::new(&MailSettings {
        server: server.to_owned(),
        user: Some(USER.to_owned()),
        password: Some(Sensitive::new(PASSWORD.to_owned())),
        from: "Refill at home <refill@home.example>".to_owned(),
        ca,
    })
    .unwrap()
}

/// Sends the hand-overs due now through `mail`; how many went.
async fn hand_over(f: &Fixture, mail: &Mailer) -> usize {
    f.service
        .store()
        .hand_over(
            &reqwest::Client::new(),
            Some(mail),
            f.clock.now(),
            &OrderPolicy::default(),
        )
        .await
        .unwrap()
}

/// Chooses email to `to`; the answer.
async fn choose_email(f: &Fixture, to: &str) -> (u16, Value) {
    answer(
        f.http
            .put(f.url("/v1/account/orders-go"))
            .json(&json!({"method": "email", "email": to})),
    )
    .await
}

/// Places an order for `slot` of a new brewer, and lets its time to cancel pass; its id.
async fn place_and_wait(f: &Fixture, serial: &str, slot: &str) -> String {
    let token = device_token(f, serial, false).await;
    let (status, placed) = replenish(f, &token, slot).await;
    assert_eq!(status, 200, "{placed}");
    f.clock.advance(Duration::hours(25));
    placed["eventInstanceId"].as_str().unwrap().to_owned()
}

async fn order(f: &Fixture, id: &str) -> Value {
    get_json(&f.http, &f.url(&format!("/v1/orders/{id}"))).await
}

#[tokio::test]
#[ignore = "needs aiosmtpd in the interop venv: cargo xtask test runs it"]
async fn orders_the_customer_chose_to_get_by_email_reach_aiosmtpd_over_starttls() {
    let dir = tempfile::tempdir().unwrap();
    let tls = certificate(dir.path());
    let server = MailServer::start("starttls", &tls);
    let mail = mailer(
        &format!("smtp://127.0.0.1:{}", server.port),
        Some(tls.join(CERTIFICATE_FILE)),
    );
    let f = sandbox_with(|c| {
        c.policy.handover = Handover::Manual;
        c.mail = Some(mail.clone());
    })
    .await;

    // Email is offered, to the account's address until another is given.
    let view = get_json(&f.http, &f.url("/v1/account/orders-go")).await;
    assert_eq!(
        view["offered"],
        json!(["manual", "webhook", "email"]),
        "{view}"
    );
    assert_eq!(view["email"], refill_service::sandbox::CUSTOMER_EMAIL);
    let (status, refused) = choose_email(&f, "shopping at home").await;
    assert_eq!(status, 400, "{refused}");
    assert!(
        refused["message"]
            .as_str()
            .unwrap()
            .contains("'shopping at home' is not an email address"),
        "{refused}"
    );
    let (status, chosen) = choose_email(&f, SHOPPING).await;
    assert_eq!(status, 200, "{chosen}");
    assert_eq!(
        (chosen["method"].as_str(), chosen["email"].as_str()),
        (Some("email"), Some(SHOPPING))
    );

    // Nothing is mailed while the order can still be cancelled.
    let token = device_token(&f, "MAIL-1", false).await;
    let (_, placed) = replenish(&f, &token, "brew-beans").await;
    let id = placed["eventInstanceId"].as_str().unwrap().to_owned();
    assert_eq!(hand_over(&f, &mail).await, 0);
    assert!(server.took_none());
    let waiting = order(&f, &id).await;
    assert_eq!(waiting["handover"]["method"], "email", "{waiting}");
    assert_eq!(waiting["handover"]["to"], SHOPPING);
    assert_eq!(waiting["handover"]["sentAt"], Value::Null);

    f.clock.advance(Duration::hours(25));
    assert_eq!(hand_over(&f, &mail).await, 1);
    let taken = server.next();
    assert_eq!(taken["to"], json!([SHOPPING]), "{taken}");
    assert_eq!(taken["from"], "refill@home.example");
    assert_eq!(
        taken["tls"], true,
        "STARTTLS before anything was sent: {taken}"
    );
    assert_eq!(taken["user"], USER);
    let message = taken["message"].as_str().unwrap();
    let title = waiting["title"].as_str().unwrap();
    for part in [
        format!("Subject: To buy: {title}"),
        "From: \"Refill at home\" <refill@home.example>".to_owned(),
        format!("ASIN: {}", waiting["asin"].as_str().unwrap()),
        format!("Order: {id}"),
        "Bought it".to_owned(),
    ] {
        assert!(message.contains(&part), "{part:?} not in {message}");
    }
    assert!(!message.contains(PASSWORD));
    let sent = order(&f, &id).await;
    assert!(sent["handover"]["sentAt"].is_string(), "{sent}");
    // Sent once only; then the customer says they bought it, as for manual.
    assert_eq!(hand_over(&f, &mail).await, 0);
    assert!(server.took_none());
    let (status, bought) = answer(f.http.post(f.url(&format!("/v1/orders/{id}/bought")))).await;
    assert_eq!((status, bought["status"].as_str()), (200, Some("shipped")));
}

#[tokio::test]
#[ignore = "needs aiosmtpd in the interop venv: cargo xtask test runs it"]
async fn tls_from_the_first_byte_an_untrusted_server_is_retried_and_a_refusal_is_told_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let tls = certificate(dir.path());

    // TLS from the first byte (port 465's way).
    let server = MailServer::start("tls", &tls);
    let mail = mailer(
        &format!("smtps://127.0.0.1:{}", server.port),
        Some(tls.join(CERTIFICATE_FILE)),
    );
    let f = sandbox_with(|c| c.mail = Some(mail.clone())).await;
    let (status, chosen) = choose_email(&f, SHOPPING).await;
    assert_eq!(status, 200, "{chosen}");
    let id = place_and_wait(&f, "MAIL-2", "brew-beans").await;
    // A server whose certificate is not trusted is not sent to, and tried again later.
    let untrusted = mailer(&format!("smtps://127.0.0.1:{}", server.port), None);
    assert_eq!(hand_over(&f, &untrusted).await, 0);
    assert!(server.took_none());
    assert_eq!(order(&f, &id).await["handover"]["problem"], Value::Null);
    f.clock.advance(Duration::minutes(5));
    assert_eq!(hand_over(&f, &mail).await, 1);
    let taken = server.next();
    assert_eq!(
        (taken["tls"].as_bool(), taken["to"].clone()),
        (Some(true), json!([SHOPPING]))
    );

    // A mailbox the server refuses for good: the customer is told at once, and may cancel.
    let refusing = MailServer::start("refuse", &tls);
    let mail = mailer(
        &format!("smtp://127.0.0.1:{}", refusing.port),
        Some(tls.join(CERTIFICATE_FILE)),
    );
    let id = place_and_wait(&f, "MAIL-3", "brew-filters").await;
    assert_eq!(hand_over(&f, &mail).await, 0);
    let failed = order(&f, &id).await;
    let problem = failed["handover"]["problem"].as_str().unwrap_or_default();
    assert!(
        problem.starts_with(&format!(
            "Could not send this order to {SHOPPING}: the mail server 127.0.0.1:{} refused it",
            refusing.port
        )) && problem.contains("550"),
        "{failed}"
    );
    assert!(!problem.contains(PASSWORD));
    assert!(failed["cancellableUntil"].is_string(), "{failed}");
    let events = get_json(&f.http, &f.url("/v1/events?after=0")).await;
    assert!(
        events["events"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["kind"] == "HandoverFailed" && e["body"]["eventInstanceId"] == id.as_str()),
        "{events}"
    );
    // Not tried again.
    f.clock.advance(Duration::hours(2));
    assert_eq!(hand_over(&f, &mail).await, 0);
    assert!(refusing.took_none());
}
