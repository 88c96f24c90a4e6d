//! The app's commands without any window: embedded sandbox, restart, external service, offline.

use refill_commands::{AppConfig, AppCore, Platform, ServiceKind, SANDBOX_DB};
use refill_service::{start, ServiceConfig};
use refill_wire::{DetailCode, ErrorCode, OrderState, OrdersGo, OrdersGoChange};

const BEANS: &str = "B0RFBEAN01";

fn embedded(dir: &std::path::Path) -> AppCore {
    AppCore::new(
        AppConfig {
            data_dir: dir.to_owned(),
            service_url: None,
            auth_provider: None,
            config_dir: None,
            downloads_dir: None,
        },
        Platform::headless(),
    )
}

#[tokio::test]
async fn the_embedded_sandbox_serves_the_grid_from_the_data_folder() {
    let dir = tempfile::tempdir().unwrap();
    let core = embedded(dir.path());
    assert_eq!(
        core.service_info().url,
        None,
        "nothing starts before it is needed"
    );
    let grid = core.list_buttons().await.unwrap();
    assert_eq!(grid.service.kind, ServiceKind::Embedded);
    assert!(grid
        .service
        .url
        .as_deref()
        .unwrap()
        .starts_with("http://127.0.0.1:"));
    assert_eq!(grid.tiles.len(), 6);
    assert!(grid.offline.is_none());
    assert!(
        dir.path().join(SANDBOX_DB).exists(),
        "the sandbox database lives in the data folder"
    );
    core.shutdown().await;
}

/// Cold start: with a window to paint, the sandbox waits for its first frame (the work of
/// starting it would take the cores the frame needs), while a command the UI sends runs at once.
#[tokio::test]
async fn the_sandbox_warms_up_after_the_first_paint_and_commands_do_not_wait_for_it() {
    let dir = tempfile::tempdir().unwrap();
    let core = embedded(dir.path());
    core.hold_until_first_paint();
    let warming = tokio::spawn({
        let core = core.clone();
        async move { core.warm_up().await }
    });
    tokio::time::sleep(std::time::Duration::from_millis(400)).await;
    assert_eq!(
        core.service_info().url,
        None,
        "the sandbox started before the first frame"
    );
    core.ui_ready();
    warming.await.unwrap();
    assert!(
        core.service_info().url.is_some(),
        "the first frame did not start the sandbox"
    );
    core.shutdown().await;

    // A command before the first frame is answered without waiting for it.
    let core = embedded(dir.path());
    core.hold_until_first_paint();
    let grid = tokio::time::timeout(std::time::Duration::from_millis(1500), core.list_buttons())
        .await
        .expect("a command waited for the first frame")
        .unwrap();
    assert_eq!(grid.tiles.len(), 6);
    core.shutdown().await;
}

#[tokio::test]
async fn press_then_press_again_then_cancel_and_the_state_survives_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let core = embedded(dir.path());
    let placed = core.press_button(BEANS.into(), None).await.unwrap();
    assert_eq!(placed.detail_code, DetailCode::StandardOrderPlaced);
    let again = core.press_button(BEANS.into(), None).await.unwrap();
    assert_eq!(again.detail_code, DetailCode::OrderInProgress);
    assert_eq!(again.event_instance_id, placed.event_instance_id);
    core.shutdown().await;

    // A new app on the same data folder sees the same open order.
    let core = embedded(dir.path());
    let grid = core.list_buttons().await.unwrap();
    let tile = grid.tiles.iter().find(|t| t.asin == BEANS).unwrap();
    assert_eq!(
        tile.open_order.as_ref().unwrap().event_instance_id,
        placed.event_instance_id
    );

    let cancelled = core
        .cancel_order(placed.event_instance_id.clone())
        .await
        .unwrap();
    assert_eq!(cancelled.status, OrderState::Cancelled);
    let grid = core.list_buttons().await.unwrap();
    assert!(grid
        .tiles
        .iter()
        .find(|t| t.asin == BEANS)
        .unwrap()
        .open_order
        .is_none());
    core.shutdown().await;
}

#[tokio::test]
async fn where_orders_go_is_offered_by_a_home_server_and_not_by_the_sandbox_on_this_computer() {
    let dir = tempfile::tempdir().unwrap();
    let core = embedded(dir.path());
    assert_eq!(core.orders_go(None).await.unwrap(), None);
    let refused = core
        .orders_go(Some(OrdersGoChange {
            method: OrdersGo::Manual,
            webhook_url: None,
            email: None,
            new_secret: false,
        }))
        .await
        .unwrap_err();
    assert!(refused
        .message
        .contains("buys and delivers its orders itself"));
    core.shutdown().await;

    let service_dir = tempfile::tempdir().unwrap();
    let mut config = ServiceConfig::sandbox(service_dir.path().join("s.sqlite"));
    config.policy.handover = refill_core::Handover::Manual;
    let service = start(config).await.unwrap();
    let core = AppCore::new(
        AppConfig {
            data_dir: dir.path().to_owned(),
            service_url: Some(service.base_url()),
            auth_provider: None,
            config_dir: None,
            downloads_dir: None,
        },
        Platform::headless(),
    );
    let view = core.orders_go(None).await.unwrap().unwrap();
    assert_eq!((view.method, view.chosen), (Some(OrdersGo::Manual), false));
    assert_eq!(view.offered, vec![OrdersGo::Manual, OrdersGo::Webhook]);
    let change = |method| OrdersGoChange {
        method,
        webhook_url: None,
        email: None,
        new_secret: false,
    };
    let refused = core
        .orders_go(Some(change(OrdersGo::Email)))
        .await
        .unwrap_err();
    assert!(refused.message.contains("no mail server"), "{refused:?}");
    let refused = core
        .orders_go(Some(change(OrdersGo::Webhook)))
        .await
        .unwrap_err();
    assert!(
        refused.message.contains("address of your automation"),
        "{refused:?}"
    );
    let chosen = core
        .orders_go(Some(change(OrdersGo::Manual)))
        .await
        .unwrap();
    assert!(chosen.is_some_and(|v| v.chosen));
    core.shutdown().await;
    service.shutdown().await;
}

#[tokio::test]
async fn an_external_service_out_of_reach_shows_the_last_grid_and_orders_nothing() {
    let service_dir = tempfile::tempdir().unwrap();
    let service = start(ServiceConfig::sandbox(service_dir.path().join("s.sqlite")))
        .await
        .unwrap();
    let url = service.base_url();
    let app_dir = tempfile::tempdir().unwrap();
    let core = AppCore::new(
        AppConfig {
            data_dir: app_dir.path().to_owned(),
            service_url: Some(url.clone()),
            auth_provider: None,
            config_dir: None,
            downloads_dir: None,
        },
        Platform::headless(),
    );
    assert_eq!(core.service_info().kind, ServiceKind::External);
    assert_eq!(core.list_buttons().await.unwrap().tiles.len(), 6);
    let store = service.store().clone();
    service.shutdown().await;

    let grid = core.list_buttons().await.unwrap();
    assert_eq!(grid.tiles.len(), 6, "the last grid seen is still shown");
    let offline = grid.offline.unwrap();
    assert_eq!(offline.code, ErrorCode::ServiceUnreachable);
    assert_eq!(
        offline.message,
        format!("Can't reach the Refill service at {url}.")
    );

    let err = core.press_button(BEANS.into(), None).await.unwrap_err();
    assert_eq!(err.code, ErrorCode::ServiceUnreachable);
    assert!(
        err.message.contains("nothing was ordered"),
        "{}",
        err.message
    );
    drop(store);
    let service = start(ServiceConfig::sandbox(service_dir.path().join("s.sqlite")))
        .await
        .unwrap();
    let open: i64 = sqlx_count(&service).await;
    assert_eq!(open, 0, "nothing was ordered while the service was down");
}

async fn sqlx_count(service: &refill_service::RunningService) -> i64 {
    sqlx::query_scalar("SELECT COUNT(*) FROM orders WHERE status IN ('placed','shipped')")
        .fetch_one(service.store().pool())
        .await
        .unwrap()
}

#[tokio::test]
async fn an_unreachable_service_with_nothing_seen_yet_is_an_error_in_words() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let dir = tempfile::tempdir().unwrap();
    let core = AppCore::new(
        AppConfig {
            data_dir: dir.path().to_owned(),
            service_url: Some(format!("http://127.0.0.1:{port}")),
            auth_provider: None,
            config_dir: None,
            downloads_dir: None,
        },
        Platform::headless(),
    );
    let err = core.list_buttons().await.unwrap_err();
    assert_eq!(err.code, ErrorCode::ServiceUnreachable);
    assert_eq!(
        err.message,
        format!("Can't reach the Refill service at http://127.0.0.1:{port}.")
    );
}

#[tokio::test]
async fn a_sandbox_that_cannot_start_says_why() {
    let dir = tempfile::tempdir().unwrap();
    let blocker = dir.path().join("not-a-folder");
    std::fs::write(&blocker, b"a file where the data folder should be").unwrap();
    let core = embedded(&blocker);
    let err = core.list_buttons().await.unwrap_err();
    assert_eq!(err.code, ErrorCode::SandboxFailed);
    assert!(
        err.message
            .starts_with("Refill's built-in sandbox service could not start"),
        "{}",
        err.message
    );
}

#[tokio::test]
async fn another_service_chosen_in_the_settings_is_used_at_once_and_a_launch_flag_wins() {
    let dir = tempfile::tempdir().unwrap();
    let core = embedded(dir.path());
    let placed = core.press_button(BEANS.into(), None).await.unwrap();
    let other_dir = tempfile::tempdir().unwrap();
    let other = start(ServiceConfig::sandbox(
        other_dir.path().join("other.sqlite"),
    ))
    .await
    .unwrap();
    let other_url = other.base_url();

    // Checked first, in words: nothing changes when it is not a Refill service that answers.
    let refused = core
        .check_service("refill dot example".into())
        .await
        .unwrap_err();
    assert_eq!(refused.code, ErrorCode::BadRequest);
    assert!(refused.message.contains("not a web address"), "{refused:?}");
    let unreachable = core
        .choose_service(Some("http://127.0.0.1:1".into()), None)
        .await
        .unwrap_err();
    assert_eq!(unreachable.code, ErrorCode::ServiceUnreachable);
    assert_eq!(core.service_info().kind, ServiceKind::Embedded);
    assert_eq!(core.settings().service_url, None);
    let check = core.check_service(format!("{other_url}/")).await.unwrap();
    assert_eq!(check.url, other_url);
    assert!(!check.version.is_empty());

    // Chosen: the next command uses it, no restart (its beans have no open order).
    let info = core
        .choose_service(Some(other_url.clone()), None)
        .await
        .unwrap();
    assert_eq!(info.kind, ServiceKind::External);
    assert_eq!(info.url.as_deref(), Some(other_url.as_str()));
    assert!(!info.fixed);
    let grid = core.list_buttons().await.unwrap();
    assert_eq!(grid.service.url.as_deref(), Some(other_url.as_str()));
    let beans = grid.tiles.iter().find(|t| t.asin == BEANS).unwrap();
    assert!(beans.open_order.is_none(), "the other service's own grid");
    // New devices are now looked for over Bluetooth (none here), not among the sandbox's.
    assert!(core.sandbox_devices().is_none());
    let scan = tokio::time::timeout(std::time::Duration::from_secs(20), core.onboarding_scan())
        .await
        .expect("the scan never ended");
    assert!(
        scan.as_ref()
            .is_err_and(|e| e.code == ErrorCode::BluetoothUnavailable),
        "{scan:?}"
    );
    core.shutdown().await;

    // Kept: a new launch uses it too; a launch flag wins over it for that launch only.
    let again = embedded(dir.path());
    assert_eq!(
        again.service_info().url.as_deref(),
        Some(other_url.as_str())
    );
    let flagged = AppCore::new(
        AppConfig {
            data_dir: dir.path().to_owned(),
            service_url: Some("http://127.0.0.1:9".into()),
            auth_provider: None,
            config_dir: None,
            downloads_dir: None,
        },
        Platform::headless(),
    );
    let info = flagged.service_info();
    assert_eq!(info.url.as_deref(), Some("http://127.0.0.1:9"));
    assert!(info.fixed);

    // Back to the sandbox on this computer: its grid, with the order placed there, and its
    // simulated devices to set up.
    assert!(again.sandbox_devices().is_none());
    let info = again.choose_service(None, None).await.unwrap();
    assert_eq!(info.kind, ServiceKind::Embedded);
    let found = again.onboarding_scan().await.unwrap().devices;
    assert!(found.iter().any(|d| d.sandbox_label.is_some()), "{found:?}");
    let grid = again.list_buttons().await.unwrap();
    let beans = grid.tiles.iter().find(|t| t.asin == BEANS).unwrap();
    assert_eq!(
        beans
            .open_order
            .as_ref()
            .map(|o| o.event_instance_id.as_str()),
        Some(placed.event_instance_id.as_str())
    );
    again.shutdown().await;
    other.shutdown().await;
}

#[tokio::test]
async fn another_sign_in_provider_chosen_in_the_settings_is_checked_then_used_at_once() {
    use refill_commands::SignInProvider;
    let dir = tempfile::tempdir().unwrap();
    let core = embedded(dir.path());
    let own = core.start_sign_in().await.unwrap();
    core.cancel_sign_in();
    let base = core.service_info().url.unwrap();
    assert!(own.authorize_url.starts_with(&format!("{base}/ap/oa?")));

    // Refused in words, and nothing changes, when something it needs is missing or wrong.
    let provider = SignInProvider {
        authorize_url: "https://login.example.com/authorize".into(),
        token_url: "https://login.example.com/token".into(),
        client_id: String::new(),
        scopes: "openid profile".into(),
        ..SignInProvider::default()
    };
    let refused = core
        .choose_sign_in(Some(provider.clone()))
        .await
        .unwrap_err();
    assert_eq!(refused.code, ErrorCode::BadRequest);
    assert!(refused.message.contains("client id"), "{refused:?}");
    let refused = core
        .choose_sign_in(Some(SignInProvider {
            client_id: "refill-desktop".into(),
            profile_url: "login.example.com/userinfo".into(),
            ..provider.clone()
        }))
        .await
        .unwrap_err();
    assert!(
        refused.message.contains("must start with https://"),
        "{refused:?}"
    );
    assert_eq!(core.settings().sign_in, None);

    // Chosen: the next sign-in goes to that provider, with its client id and scopes.
    let provider = SignInProvider {
        client_id: "refill-desktop".into(),
        ..provider
    };
    let account = core.choose_sign_in(Some(provider.clone())).await.unwrap();
    assert!(!account.signed_in, "signed in with that provider: not yet");
    let theirs = core.start_sign_in().await.unwrap();
    core.cancel_sign_in();
    assert!(
        theirs
            .authorize_url
            .starts_with("https://login.example.com/authorize?"),
        "{}",
        theirs.authorize_url
    );
    assert!(theirs.authorize_url.contains("client_id=refill-desktop"));
    assert!(
        theirs.authorize_url.contains("openid+profile")
            || theirs.authorize_url.contains("openid%20profile")
    );
    assert_eq!(core.settings().sign_in, Some(provider));

    // Back to the service's own.
    core.choose_sign_in(None).await.unwrap();
    let own = core.start_sign_in().await.unwrap();
    core.cancel_sign_in();
    assert!(own.authorize_url.contains("/ap/oa?"));
    core.shutdown().await;
}

/// A home server's service, serving HTTPS with its own certificate on `port` (0: any), kept in
/// `folder`.
async fn home_server(folder: &std::path::Path, port: u16) -> refill_service::RunningService {
    let mut config = ServiceConfig::sandbox(folder.join("home.sqlite"))
        .with_self_signed(folder)
        .unwrap();
    config.listen = std::net::SocketAddr::from(([127, 0, 0, 1], port));
    start(config).await.unwrap()
}

#[tokio::test]
async fn a_home_servers_own_certificate_is_shown_trusted_when_chosen_and_a_changed_one_refused() {
    let dir = tempfile::tempdir().unwrap();
    let core = embedded(dir.path());
    let home = tempfile::tempdir().unwrap();
    let served = home_server(home.path(), 0).await;
    let url = served.base_url();
    assert!(url.starts_with("https://"), "{url}");
    let fingerprint = served.certificate().unwrap().fingerprint().to_string();

    // Without the person's say, refused, in words giving the fingerprint to compare.
    let refused = core
        .choose_service(Some(url.clone()), None)
        .await
        .unwrap_err();
    assert_eq!(refused.code, ErrorCode::CertificateUntrusted, "{refused:?}");
    assert!(refused.message.contains(&fingerprint), "{refused:?}");
    assert_eq!(core.settings().service_url, None);
    // Checked: it answers (through its own certificate), with the fingerprint to show.
    let check = core.check_service(url.clone()).await.unwrap();
    assert_eq!(check.fingerprint.as_deref(), Some(fingerprint.as_str()));
    assert!(!check.version.is_empty());
    // A fingerprint that is not this certificate's: refused, nothing kept.
    let other = "AB".repeat(32);
    let wrong = core
        .choose_service(Some(url.clone()), Some(other))
        .await
        .unwrap_err();
    assert_eq!(wrong.code, ErrorCode::CertificateChanged, "{wrong:?}");
    assert_eq!(core.settings().service_certificate, None);
    let garbled = core
        .choose_service(Some(url.clone()), Some("12:34".into()))
        .await
        .unwrap_err();
    assert_eq!(garbled.code, ErrorCode::BadRequest);
    assert!(
        garbled.message.contains("not a SHA-256 fingerprint"),
        "{garbled:?}"
    );

    // Trusted: that certificate is kept and used, and shown.
    let info = core
        .choose_service(Some(url.clone()), Some(fingerprint.to_lowercase()))
        .await
        .unwrap();
    assert_eq!(info.fingerprint.as_deref(), Some(fingerprint.as_str()));
    assert!(core.settings().service_certificate.is_some());
    let grid = core.list_buttons().await.unwrap();
    assert_eq!(grid.service.url.as_deref(), Some(url.as_str()));
    assert!(!grid.tiles.is_empty());

    // Another certificate at the same address (someone else's service): refused, in words,
    // nothing sent — not mistaken for the service being offline.
    let port = served.local_addr().port();
    served.shutdown().await;
    let impostor_dir = tempfile::tempdir().unwrap();
    let impostor = home_server(impostor_dir.path(), port).await;
    let changed = core.list_buttons().await.unwrap_err();
    assert_eq!(changed.code, ErrorCode::CertificateChanged, "{changed:?}");
    assert!(
        changed.message.contains("different certificate"),
        "{changed:?}"
    );
    assert!(changed.message.contains(&fingerprint), "{changed:?}");
    assert!(changed.message.contains("Settings"), "{changed:?}");
    impostor.shutdown().await;

    // The real one back: a new launch trusts the kept certificate.
    core.shutdown().await;
    let served = home_server(home.path(), port).await;
    let again = embedded(dir.path());
    assert_eq!(
        again.service_info().fingerprint.as_deref(),
        Some(fingerprint.as_str())
    );
    assert!(!again.list_buttons().await.unwrap().tiles.is_empty());
    again.shutdown().await;
    served.shutdown().await;
}
