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
        let provider = Provider::refill("client-test", base);
        let pending = start_sign_in(&provider).await.unwrap();
        let browser = Browser::default();
        let person = Person::New {
            name: "Casey",
            email: "casey@example.test",
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
