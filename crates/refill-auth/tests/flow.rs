//! Sign-in, refresh and sign-out against a real Refill service on loopback. The browser part is
//! done by an HTTP client that submits the real sign-in and consent forms and then follows the
//! redirect to the app's loopback listener.

use refill_auth::{
    start_sign_in, AuthError, MemoryStore, PendingSignIn, Provider, Session, TokenStore, Tokens,
};
use refill_core::{ManualClock, SystemClock};
use refill_service::sandbox::{CUSTOMER_EMAIL, CUSTOMER_NAME, CUSTOMER_PASSWORD};
use refill_service::{start, RunningService, ServiceConfig};
use refill_testkit::{Browser, Person};
use std::sync::Arc;
use std::time::Duration;

struct Fixture {
    _dir: tempfile::TempDir,
    service: RunningService,
    provider: Provider,
}

async fn sandbox() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let service = start(ServiceConfig::sandbox(dir.path().join("s.sqlite")))
        .await
        .unwrap();
    let provider = Provider::refill("sandbox-test", &service.base_url());
    Fixture {
        _dir: dir,
        service,
        provider,
    }
}

fn browser() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

const ALEX: Person<'static> = Person::Existing {
    email: CUSTOMER_EMAIL,
    password: CUSTOMER_PASSWORD,
};

/// Plays the browser: sign in, answer consent; returns the URL the provider sends it back to.
async fn browse(sign_in: &PendingSignIn, decision: &str) -> String {
    Browser::default()
        .sign_in(sign_in.authorize_url(), &ALEX, decision)
        .await
        .unwrap()
}

/// Runs a whole sign-in; `tamper` may change the callback URL before the "browser" follows it.
async fn sign_in(
    provider: &Provider,
    decision: &str,
    tamper: impl Fn(String) -> String,
) -> (Result<Tokens, AuthError>, String) {
    let pending = start_sign_in(provider).await.unwrap();
    assert!(pending
        .authorize_url()
        .contains("code_challenge_method=S256"));
    assert!(pending.redirect_uri().starts_with("http://127.0.0.1:"));
    let callback = tamper(browse(&pending, decision).await);
    assert!(callback.starts_with(pending.redirect_uri()), "{callback}");
    let finishing = tokio::spawn(async move {
        pending
            .finish(
                Duration::from_secs(30),
                std::future::pending(),
                &SystemClock,
            )
            .await
    });
    let page = browser()
        .get(&callback)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    (finishing.await.unwrap(), page)
}

async fn profile(f: &Fixture, access: &str) -> reqwest::Response {
    browser()
        .get(format!("{}/user/profile", f.service.base_url()))
        .bearer_auth(access)
        .send()
        .await
        .unwrap()
}

async fn count_access_tokens(f: &Fixture) -> i64 {
    sqlx::query_scalar("SELECT COUNT(*) FROM oauth_tokens WHERE kind = 'access'")
        .fetch_one(f.service.store().pool())
        .await
        .unwrap()
}

#[tokio::test]
async fn a_sign_in_gets_tokens_that_the_session_keeps() {
    let f = sandbox().await;
    let (tokens, page) = sign_in(&f.provider, "allow", |u| u).await;
    let tokens = tokens.unwrap();
    assert!(page.contains("You can return to Refill"), "{page}");
    assert!(tokens.access_token.expose().starts_with("Atza|"));
    assert!(tokens.refresh_token.is_some());
    assert_eq!(
        format!("{tokens:?}").matches("<redacted>").count(),
        2,
        "Debug never shows a token"
    );

    let store = Arc::new(MemoryStore::default());
    let session = Session::new(f.provider.clone(), store.clone(), Arc::new(SystemClock));
    assert!(!session.is_signed_in().await.unwrap());
    session.store_tokens(tokens.clone()).await.unwrap();
    assert_eq!(store.load("sandbox-test").unwrap(), Some(tokens.clone()));

    // A new session on the same store (the app restarted) is still signed in.
    let again = Session::new(f.provider.clone(), store, Arc::new(SystemClock));
    assert!(again.is_signed_in().await.unwrap());
    let access = again.access_token().await.unwrap();
    let me: serde_json::Value = profile(&f, access.expose()).await.json().await.unwrap();
    assert_eq!(me["name"], CUSTOMER_NAME);
}

#[tokio::test]
async fn a_callback_with_another_state_is_refused() {
    let f = sandbox().await;
    let (result, page) = sign_in(&f.provider, "allow", |u| {
        let (base, query) = u.split_once('?').unwrap();
        let mut params: Vec<(String, String)> = serde_urlencoded::from_str(query).unwrap();
        for (k, v) in &mut params {
            if k == "state" {
                *v = "forged".into();
            }
        }
        format!("{base}?{}", serde_urlencoded::to_string(&params).unwrap())
    })
    .await;
    assert_eq!(result.unwrap_err(), AuthError::StateMismatch);
    assert!(page.contains("Sign-in not completed"));
    assert_eq!(
        count_access_tokens(&f).await,
        0,
        "the code was never redeemed"
    );
}

#[tokio::test]
async fn denied_consent_is_reported_in_words() {
    let f = sandbox().await;
    let (result, _) = sign_in(&f.provider, "deny", |u| u).await;
    let err = result.unwrap_err();
    assert!(
        matches!(&err, AuthError::Refused { error, .. } if error == "access_denied"),
        "{err:?}"
    );
    assert_eq!(
        err.to_string(),
        "Sign-in was not completed: The customer did not allow access."
    );
}

#[tokio::test]
async fn a_sign_in_times_out_or_is_cancelled_and_saves_nothing() {
    let f = sandbox().await;
    let pending = start_sign_in(&f.provider).await.unwrap();
    let err = pending
        .finish(
            Duration::from_millis(200),
            std::future::pending(),
            &SystemClock,
        )
        .await
        .unwrap_err();
    assert_eq!(err, AuthError::TimedOut { minutes: 1 });
    assert!(
        err.to_string()
            .contains("timed out after 1 minute without an answer"),
        "{err}"
    );
    assert!(err.to_string().contains("Nothing was saved"));

    let pending = start_sign_in(&f.provider).await.unwrap();
    let (cancel, cancelled) = tokio::sync::oneshot::channel::<()>();
    let finishing = tokio::spawn(async move {
        pending
            .finish(
                Duration::from_secs(30),
                async {
                    let _ = cancelled.await;
                },
                &SystemClock,
            )
            .await
    });
    cancel.send(()).unwrap();
    assert_eq!(finishing.await.unwrap().unwrap_err(), AuthError::Cancelled);
}

#[tokio::test]
async fn tokens_are_refreshed_before_expiry_once_for_concurrent_callers() {
    let f = sandbox().await;
    let tokens = sign_in(&f.provider, "allow", |u| u).await.0.unwrap();
    let clock = Arc::new(ManualClock::new(time::OffsetDateTime::now_utc()));
    let session = Arc::new(Session::new(
        f.provider.clone(),
        Arc::new(MemoryStore::default()),
        clock.clone(),
    ));
    session.store_tokens(tokens.clone()).await.unwrap();
    assert_eq!(
        session.access_token().await.unwrap(),
        tokens.access_token,
        "fresh: no refresh"
    );
    assert_eq!(count_access_tokens(&f).await, 1);

    clock.advance(time::Duration::minutes(59) + time::Duration::seconds(30));
    let callers: Vec<_> = (0..8)
        .map(|_| {
            let s = session.clone();
            tokio::spawn(async move { s.access_token().await })
        })
        .collect();
    let mut seen = std::collections::HashSet::new();
    for caller in callers {
        seen.insert(caller.await.unwrap().unwrap().expose().clone());
    }
    assert_eq!(seen.len(), 1, "every caller gets the same new token");
    assert!(!seen.contains(tokens.access_token.expose()));
    assert_eq!(
        count_access_tokens(&f).await,
        2,
        "one refresh for eight callers"
    );
}

#[tokio::test]
async fn a_rejected_token_is_refreshed_once() {
    let f = sandbox().await;
    let tokens = sign_in(&f.provider, "allow", |u| u).await.0.unwrap();
    let session = Session::new(
        f.provider.clone(),
        Arc::new(MemoryStore::default()),
        Arc::new(SystemClock),
    );
    session.store_tokens(tokens.clone()).await.unwrap();
    let renewed = session
        .access_token_after_rejection(&tokens.access_token)
        .await
        .unwrap();
    assert_ne!(renewed, tokens.access_token);
    // A second caller that saw the old token gets the renewed one without another refresh.
    assert_eq!(
        session
            .access_token_after_rejection(&tokens.access_token)
            .await
            .unwrap(),
        renewed
    );
    assert_eq!(count_access_tokens(&f).await, 2);
}

#[tokio::test]
async fn a_revoked_refresh_token_signs_out_with_a_reason() {
    let f = sandbox().await;
    let tokens = sign_in(&f.provider, "allow", |u| u).await.0.unwrap();
    let store = Arc::new(MemoryStore::default());
    let session = Session::new(f.provider.clone(), store.clone(), Arc::new(SystemClock));
    session.store_tokens(tokens.clone()).await.unwrap();
    let revoked = browser()
        .post(format!("{}/auth/o2/revoke", f.service.base_url()))
        .form(&[
            (
                "token",
                tokens.refresh_token.as_ref().unwrap().expose().as_str(),
            ),
            ("client_id", "refill-app"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(revoked.status(), 200);
    let err = session
        .access_token_after_rejection(&tokens.access_token)
        .await
        .unwrap_err();
    assert_eq!(err, AuthError::SessionEnded);
    assert!(err.to_string().starts_with("You were signed out because"));
    assert!(!session.is_signed_in().await.unwrap());
    assert_eq!(
        store.load("sandbox-test").unwrap(),
        None,
        "the stored tokens are gone"
    );
}

#[tokio::test]
async fn sign_out_revokes_at_the_provider_and_forgets_the_tokens() {
    let f = sandbox().await;
    let tokens = sign_in(&f.provider, "allow", |u| u).await.0.unwrap();
    let store = Arc::new(MemoryStore::default());
    let session = Session::new(f.provider.clone(), store.clone(), Arc::new(SystemClock));
    session.store_tokens(tokens.clone()).await.unwrap();
    assert_eq!(
        profile(&f, tokens.access_token.expose()).await.status(),
        200
    );
    assert!(
        session.sign_out().await.unwrap(),
        "the provider confirmed the revocation"
    );
    assert_eq!(
        profile(&f, tokens.access_token.expose()).await.status(),
        401
    );
    assert_eq!(store.load("sandbox-test").unwrap(), None);
    assert_eq!(
        session.access_token().await.unwrap_err(),
        AuthError::SignedOut
    );
}

#[tokio::test]
async fn a_provider_that_is_down_is_reported() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let provider = Provider::refill("down", &format!("http://127.0.0.1:{port}"));
    let session = Session::new(
        provider,
        Arc::new(MemoryStore::default()),
        Arc::new(SystemClock),
    );
    session
        .store_tokens(Tokens {
            access_token: "Atza|old".to_owned().into(),
            refresh_token: Some("Atzr|old".to_owned().into()),
            expires_at: Some(time::OffsetDateTime::UNIX_EPOCH),
        })
        .await
        .unwrap();
    let err = session.access_token().await.unwrap_err();
    assert!(matches!(err, AuthError::Unreachable { .. }), "{err:?}");
    assert!(
        session.is_signed_in().await.unwrap(),
        "a network problem does not sign anyone out"
    );
}

#[tokio::test]
async fn a_sign_in_can_come_back_as_a_deep_link() {
    use refill_auth::{start_sign_in_with, Redirect};
    let f = sandbox().await;
    let redirect = Redirect::DeepLink("refill://auth".to_owned());
    let pending = start_sign_in_with(&f.provider, &redirect).await.unwrap();
    assert!(!pending.uses_loopback());
    assert!(pending
        .authorize_url()
        .contains("redirect_uri=refill%3A%2F%2Fauth"));
    let link = browse(&pending, "allow").await;
    assert!(link.starts_with("refill://auth?code="), "{link}");
    let tokens = pending.complete(&link, &SystemClock).await.unwrap();
    assert_eq!(
        profile(&f, tokens.access_token.expose()).await.status(),
        200
    );

    // A deep link that does not carry this sign-in's state is refused.
    let pending = start_sign_in_with(&f.provider, &redirect).await.unwrap();
    let link = browse(&pending, "allow").await;
    let forged = link.replace("state=", "state=x");
    assert_eq!(
        pending.complete(&forged, &SystemClock).await.unwrap_err(),
        AuthError::StateMismatch
    );
}

/// A store that can't keep anything, as a keyring that fails on write.
#[derive(Debug, Default)]
struct BrokenStore;

impl TokenStore for BrokenStore {
    fn load(&self, _: &str) -> Result<Option<Tokens>, AuthError> {
        Ok(None)
    }
    fn save(&self, _: &str, _: &Tokens) -> Result<(), AuthError> {
        Err(AuthError::Keyring("the collection is locked".to_owned()))
    }
    fn delete(&self, _: &str) -> Result<(), AuthError> {
        Ok(())
    }
}

#[tokio::test]
async fn the_browser_hears_signed_in_only_once_the_sign_in_is_kept() {
    let f = sandbox().await;
    for (store, kept) in [
        (
            Arc::new(MemoryStore::default()) as Arc<dyn TokenStore>,
            true,
        ),
        (Arc::new(BrokenStore) as Arc<dyn TokenStore>, false),
    ] {
        let session = Arc::new(Session::new(
            f.provider.clone(),
            store,
            Arc::new(SystemClock),
        ));
        let pending = start_sign_in(&f.provider).await.unwrap();
        let callback = browse(&pending, "allow").await;
        let keeping = session.clone();
        let finishing = tokio::spawn(async move {
            pending
                .finish_and_keep(
                    Duration::from_secs(30),
                    std::future::pending(),
                    &SystemClock,
                    async |tokens| keeping.store_tokens(tokens).await,
                )
                .await
        });
        let page = browser()
            .get(&callback)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        let result = finishing.await.unwrap();
        if kept {
            result.unwrap();
            assert!(page.contains("Signed in"), "{page}");
            assert!(session.is_signed_in().await.unwrap());
        } else {
            assert!(matches!(result, Err(AuthError::Keyring(_))), "{result:?}");
            assert!(page.contains("Sign-in not completed"), "{page}");
            assert!(page.contains("the collection is locked"), "{page}");
            assert!(!page.contains("Signed in<"), "{page}");
        }
    }
}

/// A token endpoint that answers each request with the next of `answers` (status line and body)
/// and hands back what it was sent.
async fn canned_token_endpoint(
    answers: Vec<(&'static str, &'static str)>,
) -> (String, tokio::sync::mpsc::UnboundedReceiver<String>) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/token", listener.local_addr().unwrap());
    let (seen, requests) = tokio::sync::mpsc::unbounded_channel();
    tokio::spawn(async move {
        for (status, body) in answers {
            let (mut socket, _) = listener.accept().await.unwrap();
            let mut request = Vec::new();
            let mut chunk = [0u8; 4096];
            // The head, then the form (reqwest sends a content-length).
            loop {
                let n = socket.read(&mut chunk).await.unwrap();
                request.extend_from_slice(&chunk[..n]);
                let text = String::from_utf8_lossy(&request).to_string();
                if let Some(end) = text.find("\r\n\r\n") {
                    let length = text
                        .lines()
                        .find_map(|l| {
                            l.to_lowercase()
                                .strip_prefix("content-length: ")
                                .map(str::to_owned)
                        })
                        .and_then(|l| l.trim().parse::<usize>().ok())
                        .unwrap_or(0);
                    if request.len() >= end + 4 + length {
                        break;
                    }
                }
            }
            seen.send(String::from_utf8(request).unwrap()).unwrap();
            let response = format!(
                "HTTP/1.1 {status}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            );
            socket.write_all(response.as_bytes()).await.unwrap();
        }
    });
    (url, requests)
}

#[tokio::test]
async fn a_confidential_client_authenticates_with_basic_and_odd_answers_are_told_in_words() {
    let (token_url, mut requests) = canned_token_endpoint(vec![
        // A proxy's page instead of the provider.
        ("502 Bad Gateway", "<html><body>Bad gateway</body></html>"),
        // An answer without token_type or a new refresh token, as some providers give.
        (
            "200 OK",
            r#"{"access_token":"new-access","expires_in":3600}"#,
        ),
        // A refusal without words.
        ("400 Bad Request", r#"{"error":"invalid_grant"}"#),
    ])
    .await;
    let provider = Provider {
        client_id: "my:app".to_owned(),
        client_secret: Some("s&cret:1".to_owned().into()),
        ..Provider::refill("canned", "http://127.0.0.1:9")
    };
    let provider = Provider {
        token_url,
        ..provider
    };
    let clock = Arc::new(ManualClock::new(
        time::macros::datetime!(2026-12-04 12:00 UTC),
    ));
    let session = Session::new(provider, Arc::new(MemoryStore::default()), clock.clone());
    let stored = Tokens {
        access_token: "old-access".to_owned().into(),
        refresh_token: Some("old-refresh".to_owned().into()),
        expires_at: Some(time::macros::datetime!(2026-12-04 11:00 UTC)),
    };
    session.store_tokens(stored).await.unwrap();

    let err = session.access_token().await.unwrap_err();
    let AuthError::Unreachable { detail, .. } = &err else {
        panic!("{err:?}")
    };
    assert!(
        detail.contains("502 Bad Gateway") && detail.contains("without an OAuth error"),
        "{detail}"
    );
    assert!(
        session.is_signed_in().await.unwrap(),
        "a proxy's error signs nobody out"
    );
    let request = requests.recv().await.unwrap();
    // RFC 6749 §2.3.1: the id and secret form-encoded, then Basic.
    use base64::Engine;
    let basic = base64::engine::general_purpose::STANDARD.encode("my%3Aapp:s%26cret%3A1");
    assert!(
        request.contains(&format!("authorization: Basic {basic}")),
        "{request}"
    );
    assert!(
        request.contains("grant_type=refresh_token&refresh_token=old-refresh"),
        "{request}"
    );
    assert!(
        !request.contains("client_id="),
        "the secret's client names itself by Basic only: {request}"
    );

    assert_eq!(session.access_token().await.unwrap().expose(), "new-access");
    requests.recv().await.unwrap();

    // An hour later the new token is due; the refresh token kept from before is refused.
    clock.advance(time::Duration::hours(1));
    assert_eq!(
        session.access_token().await.unwrap_err(),
        AuthError::SessionEnded
    );
    let request = requests.recv().await.unwrap();
    assert!(
        request.contains("refresh_token=old-refresh"),
        "the old refresh token was kept: {request}"
    );
    assert!(!session.is_signed_in().await.unwrap());
}
