//! The client against a real service on loopback.

use refill_client::{Client, ClientError};
use refill_service::{start, ServiceConfig};
use refill_wire::{DetailCode, ErrorCode, OrderState};

#[tokio::test]
async fn the_client_speaks_the_service_api() {
    let dir = tempfile::tempdir().unwrap();
    let service = start(ServiceConfig::sandbox(dir.path().join("s.sqlite")))
        .await
        .unwrap();
    let client = Client::new(&format!("{}/", service.base_url()));
    assert!(client.health().await.unwrap().sandbox);
    let grid = client.buttons().await.unwrap();
    assert_eq!(grid.tiles.len(), 6);
    let beans = grid.tiles.iter().find(|t| t.asin == "B0RFBEAN01").unwrap();
    assert_eq!(
        beans.image_url.as_deref(),
        Some(format!("{}/v1/catalog/images/beans.svg", service.base_url()).as_str()),
        "picture paths come back as absolute URLs on the service"
    );

    let placed = client.press("B0RFDTRG30").await.unwrap();
    assert_eq!(placed.detail_code, DetailCode::StandardOrderPlaced);
    assert_eq!(
        client.press("B0RFDTRG30").await.unwrap().detail_code,
        DetailCode::OrderInProgress
    );
    let fetched = client.order(&placed.event_instance_id).await.unwrap();
    assert_eq!(fetched, placed.order);
    let cancelled = client.cancel(&placed.event_instance_id).await.unwrap();
    assert_eq!(cancelled.status, OrderState::Cancelled);

    match client.press("bad").await {
        Err(e @ ClientError::Api { status: 400, .. }) => {
            assert_eq!(e.code(), ErrorCode::BadRequest)
        }
        other => panic!("expected a 400, got {other:?}"),
    }
    // An id that tries to escape its path segment is just an unknown order.
    match client.cancel("../buttons/B0RFDTRG30/press").await {
        Err(e @ ClientError::Api { status: 404, .. }) => assert_eq!(e.code(), ErrorCode::NotFound),
        other => panic!("expected a 404, got {other:?}"),
    }
    service.shutdown().await;
}

#[tokio::test]
async fn a_service_that_is_down_is_unreachable() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let client = Client::new(&format!("http://127.0.0.1:{port}"));
    let err = client.press("B0RFBEAN01").await.unwrap_err();
    assert_eq!(err.code(), ErrorCode::ServiceUnreachable);
    assert_eq!(
        err.to_string(),
        format!("Can't reach the Refill service at http://127.0.0.1:{port}.")
    );
}

#[tokio::test]
async fn something_that_is_not_a_refill_service_is_a_protocol_error() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let (mut socket, _) = listener.accept().await.unwrap();
        let mut buf = [0u8; 1024];
        let _ = socket.read(&mut buf).await;
        let _ = socket
            .write_all(
                b"HTTP/1.1 200 OK\r\ncontent-length: 5\r\ncontent-type: text/html\r\n\r\n<html",
            )
            .await;
    });
    let err = Client::new(&format!("http://{addr}"))
        .buttons()
        .await
        .unwrap_err();
    assert_eq!(err.code(), ErrorCode::ServiceError);
    assert!(
        err.to_string().contains("Is this a Refill service?"),
        "{err}"
    );
}

mod signed_in {
    use refill_auth::{start_sign_in, AuthError, MemoryStore, Provider, Session};
    use refill_client::{Client, ClientError};
    use refill_core::SystemClock;
    use refill_service::{start, ServiceConfig};
    use refill_testkit::{Browser, Person};
    use refill_wire::ErrorCode;
    use std::sync::Arc;
    use std::time::Duration;

    /// A new customer signed in through the real pages; their session.
    async fn new_customer(base: &str) -> Arc<Session> {
        new_customer_with(Provider::refill("client-test", base), "casey@example.test").await
    }

    /// [`new_customer`] through `provider` (its scopes), as `email`.
    async fn new_customer_with(provider: Provider, email: &str) -> Arc<Session> {
        let pending = start_sign_in(&provider).await.unwrap();
        let browser = Browser::default();
        let person = Person::New {
            name: "Casey",
            email,
            password: "long enough",
        };
        let callback = browser
            .sign_in(pending.authorize_url(), &person, "allow")
            .await
            .unwrap();
        let finishing = tokio::spawn(async move {
            pending
                .finish(
                    Duration::from_secs(10),
                    std::future::pending(),
                    &SystemClock,
                )
                .await
        });
        browser.visit(&callback).await.unwrap();
        let session = Arc::new(Session::new(
            provider,
            Arc::new(MemoryStore::default()),
            Arc::new(SystemClock),
        ));
        session
            .store_tokens(finishing.await.unwrap().unwrap())
            .await
            .unwrap();
        session
    }

    /// An app signed in before the service required `refill:customer` (scope `profile` only):
    /// the service refuses its token with 403, so the sign-in is forgotten and the person asked
    /// to sign in again, in words, instead of every request failing.
    #[tokio::test]
    async fn a_sign_in_from_before_the_customer_scope_is_forgotten_and_made_again() {
        let dir = tempfile::tempdir().unwrap();
        let mut config = ServiceConfig::sandbox(dir.path().join("s.sqlite"));
        config.require_sign_in = true;
        let service = start(config).await.unwrap();
        let mut old_app = Provider::refill("client-test", &service.base_url());
        old_app.scopes = vec!["profile".to_owned()];
        let session = new_customer_with(old_app, "old.app@example.test").await;
        let client = Client::new(&service.base_url()).with_session(session.clone());
        let err = client.buttons().await.unwrap_err();
        assert_eq!(err.code(), ErrorCode::SignInRequired);
        assert!(err.to_string().contains("sign in again"), "{err}");
        assert_eq!(
            session.access_token().await.unwrap_err(),
            AuthError::SignedOut,
            "the outdated sign-in is forgotten"
        );
        // Signed in again as today's app asks, it works.
        let session = new_customer_with(
            Provider::refill("client-test", &service.base_url()),
            "old.app@example.test",
        )
        .await;
        let client = Client::new(&service.base_url()).with_session(session);
        assert_eq!(client.buttons().await.unwrap().tiles.len(), 0);
    }

    #[tokio::test]
    async fn requests_carry_the_sign_in_and_recover_from_a_rejected_token() {
        let dir = tempfile::tempdir().unwrap();
        let service = start(ServiceConfig::sandbox(dir.path().join("s.sqlite")))
            .await
            .unwrap();
        let session = new_customer(&service.base_url()).await;
        let client = Client::new(&service.base_url()).with_session(session.clone());
        assert_eq!(
            client.buttons().await.unwrap().tiles.len(),
            0,
            "the new customer's own grid"
        );

        // The service stops accepting the access token: one refresh, then the request succeeds.
        let old = session.access_token().await.unwrap();
        let revoke = reqwest::Client::new()
            .post(format!("{}/auth/o2/revoke", service.base_url()))
            .form(&[
                ("token", old.expose().as_str()),
                ("client_id", "refill-app"),
            ])
            .send()
            .await
            .unwrap();
        assert_eq!(revoke.status(), 200);
        client.press("B0RFBEAN01").await.unwrap();
        assert_ne!(session.access_token().await.unwrap(), old);
        assert_eq!(client.buttons().await.unwrap().tiles.len(), 1);

        // After signing out, requests go without a token.
        session.sign_out().await.unwrap();
        assert_eq!(
            session.access_token().await.unwrap_err(),
            AuthError::SignedOut
        );
        // This sandbox does not require sign-in, so it answers for its own customer.
        assert_eq!(client.buttons().await.unwrap().tiles.len(), 6);
    }

    /// A server that answers the first request as DRS does for a bad token (400 with
    /// `x-amzn-ErrorType: InvalidTokenException:…`) and the next with a grid; it records the
    /// Authorization headers it saw.
    async fn drs_like_server() -> (String, Arc<std::sync::Mutex<Vec<String>>>) {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let seen = Arc::new(std::sync::Mutex::new(Vec::new()));
        let record = seen.clone();
        tokio::spawn(async move {
            for n in 0..2 {
                let (mut socket, _) = listener.accept().await.unwrap();
                let mut buf = vec![0u8; 8192];
                let len = socket.read(&mut buf).await.unwrap();
                let head = String::from_utf8_lossy(&buf[..len]).to_string();
                let auth = head
                    .lines()
                    .find(|l| l.to_lowercase().starts_with("authorization:"))
                    .unwrap_or("")
                    .to_owned();
                record.lock().unwrap().push(auth);
                let answer = if n == 0 {
                    let body = r#"{"message":"Invalid token"}"#;
                    format!("HTTP/1.1 400 Bad Request\r\nx-amzn-ErrorType: InvalidTokenException:http://internal.amazon.com/coral/com.amazon.parkeraccioservice/\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}", body.len())
                } else {
                    let body = r#"{"tiles":[]}"#;
                    format!("HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}", body.len())
                };
                socket.write_all(answer.as_bytes()).await.unwrap();
            }
        });
        (url, seen)
    }

    #[tokio::test]
    async fn a_drs_invalid_token_answer_refreshes_once_and_resends() {
        let dir = tempfile::tempdir().unwrap();
        let service = start(ServiceConfig::sandbox(dir.path().join("s.sqlite")))
            .await
            .unwrap();
        let session = new_customer(&service.base_url()).await;
        let first = session.access_token().await.unwrap();
        let (drs, seen) = drs_like_server().await;
        let client = Client::new(&drs).with_session(session.clone());
        assert_eq!(client.buttons().await.unwrap().tiles.len(), 0);
        let seen = seen.lock().unwrap().clone();
        assert_eq!(seen.len(), 2, "sent once more after the refresh");
        assert!(seen[0].ends_with(first.expose().as_str()), "{}", seen[0]);
        let renewed = session.access_token().await.unwrap();
        assert_ne!(renewed, first);
        assert!(
            seen[1].ends_with(renewed.expose().as_str()),
            "the resend carries the new token"
        );
    }

    #[tokio::test]
    async fn a_service_that_requires_sign_in_says_so() {
        let dir = tempfile::tempdir().unwrap();
        let mut config = ServiceConfig::sandbox(dir.path().join("s.sqlite"));
        config.require_sign_in = true;
        let service = start(config).await.unwrap();
        let session = Arc::new(Session::new(
            Provider::refill("strict", &service.base_url()),
            Arc::new(MemoryStore::default()),
            Arc::new(SystemClock),
        ));
        let client = Client::new(&service.base_url()).with_session(session);
        match client.buttons().await {
            Err(e @ ClientError::Api { status: 401, .. }) => {
                assert_eq!(e.code(), ErrorCode::SignInRequired);
                assert_eq!(e.to_string(), "This Refill service needs you to sign in.");
            }
            other => panic!("expected sign_in_required, got {other:?}"),
        }
    }
}
