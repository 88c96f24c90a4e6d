//! Signing in from the app's commands, without a window: the host "opens the browser" by playing
//! it through the real sign-in pages of the embedded sandbox.

use refill_auth::{MemoryStore, TokenStore};
use refill_commands::{launch, AppConfig, AppCore, Host, Platform};
use refill_service::sandbox::{CUSTOMER_EMAIL, CUSTOMER_NAME, CUSTOMER_PASSWORD};
use refill_testkit::{Browser, Person};
use refill_wire::ErrorCode;
use std::sync::Arc;

/// A browser that signs the sandbox customer in and answers consent with `decision`.
struct PlayedBrowser {
    runtime: tokio::runtime::Handle,
    decision: &'static str,
}

impl Host for PlayedBrowser {
    fn open_url(&self, url: &str) -> Result<(), String> {
        let (url, decision) = (url.to_owned(), self.decision);
        self.runtime.spawn(async move {
            let callback = alex_answers(&url, decision).await;
            Browser::default().visit(&callback).await.unwrap();
        });
        Ok(())
    }
}

fn app(dir: &std::path::Path, decision: &'static str, tokens: Arc<MemoryStore>) -> AppCore {
    let platform = Platform {
        host: Arc::new(PlayedBrowser {
            runtime: tokio::runtime::Handle::current(),
            decision,
        }),
        tokens,
        redirect: refill_auth::Redirect::Loopback,
        wifi: Arc::new(refill_commands::onboarding::MemoryWifi::default()),
    };
    sandbox_app(dir, platform)
}

/// The app on its embedded sandbox, with its data in `dir`.
fn sandbox_app(dir: &std::path::Path, platform: Platform) -> AppCore {
    AppCore::new(
        AppConfig {
            data_dir: dir.to_owned(),
            service_url: None,
            auth_provider: None,
            config_dir: None,
            downloads_dir: None,
        },
        platform,
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_in_restart_and_sign_out() {
    let dir = tempfile::tempdir().unwrap();
    let tokens = Arc::new(MemoryStore::default());
    let core = app(dir.path(), "allow", tokens.clone());
    assert!(!core.account().await.unwrap().signed_in);

    let started = core.start_sign_in().await.unwrap();
    assert!(started.browser_opened);
    assert!(started.authorize_url.contains("/ap/oa?"));
    let account = core.finish_sign_in().await.unwrap();
    assert!(account.signed_in);
    assert_eq!(account.name.as_deref(), Some(CUSTOMER_NAME));
    assert_eq!(account.email.as_deref(), Some(CUSTOMER_EMAIL));
    assert!(
        tokens.load("sandbox").unwrap().is_some(),
        "tokens kept under the sandbox's key"
    );
    // Signed-in requests work.
    assert_eq!(core.list_buttons().await.unwrap().tiles.len(), 6);
    core.shutdown().await;

    // After a restart (new core, new sandbox port, same data and token store): still signed in.
    let core = app(dir.path(), "allow", tokens.clone());
    assert_eq!(
        core.account().await.unwrap().name.as_deref(),
        Some(CUSTOMER_NAME)
    );

    let account = core.sign_out().await.unwrap();
    assert!(!account.signed_in);
    assert!(
        tokens.load("sandbox").unwrap().is_none(),
        "the tokens are gone"
    );
    assert!(!core.account().await.unwrap().signed_in);
    core.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_denied_or_cancelled_sign_in_saves_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let tokens = Arc::new(MemoryStore::default());
    let core = app(dir.path(), "deny", tokens.clone());
    core.start_sign_in().await.unwrap();
    let err = core.finish_sign_in().await.unwrap_err();
    assert_eq!(err.code, ErrorCode::SignInFailed);
    assert_eq!(
        err.message,
        "Sign-in was not completed: The customer did not allow access."
    );
    assert!(tokens.load("sandbox").unwrap().is_none());

    // Cancelled before the browser came back (this host never opens one).
    let quiet = AppCore::new(
        AppConfig {
            data_dir: dir.path().to_owned(),
            service_url: None,
            auth_provider: None,
            config_dir: None,
            downloads_dir: None,
        },
        Platform::headless(),
    );
    let started = quiet.start_sign_in().await.unwrap();
    assert!(
        !started.browser_opened,
        "no browser here: the UI shows the address instead"
    );
    let waiting = {
        let q = quiet.clone();
        tokio::spawn(async move { q.finish_sign_in().await })
    };
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    quiet.cancel_sign_in();
    let err = waiting.await.unwrap().unwrap_err();
    assert_eq!(err.message, "Sign-in was cancelled. Nothing was saved.");
    assert!(!quiet.account().await.unwrap().signed_in);
    let err = quiet.finish_sign_in().await.unwrap_err();
    assert_eq!(err.message, "No sign-in is under way. Start again.");
}

/// The sandbox customer signs in at `authorize_url` and answers consent with `decision`; returns
/// where the browser is sent back to.
async fn alex_answers(authorize_url: &str, decision: &str) -> String {
    let alex = Person::Existing {
        email: CUSTOMER_EMAIL,
        password: CUSTOMER_PASSWORD,
    };
    Browser::default()
        .sign_in(authorize_url, &alex, decision)
        .await
        .unwrap()
}

/// A phone: the browser's redirect to `refill://auth` comes back to the app as a deep link.
struct Phone {
    runtime: tokio::runtime::Handle,
    app: Arc<std::sync::OnceLock<AppCore>>,
}

impl Host for Phone {
    fn open_url(&self, url: &str) -> Result<(), String> {
        let (url, app) = (url.to_owned(), self.app.clone());
        self.runtime.spawn(async move {
            let link = alex_answers(&url, "allow").await;
            assert!(link.starts_with("refill://auth?"), "{link}");
            let core = app.get().unwrap();
            assert!(
                !core.deep_link("https://elsewhere.example/?code=x"),
                "other links are not taken"
            );
            assert!(core.deep_link(&link), "the waiting sign-in takes the link");
        });
        Ok(())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_mobile_sign_in_comes_back_as_a_deep_link() {
    let dir = tempfile::tempdir().unwrap();
    let cell = Arc::new(std::sync::OnceLock::new());
    let platform = Platform {
        host: Arc::new(Phone {
            runtime: tokio::runtime::Handle::current(),
            app: cell.clone(),
        }),
        tokens: Arc::new(MemoryStore::default()),
        redirect: refill_auth::Redirect::DeepLink("refill://auth".to_owned()),
        wifi: Arc::new(refill_commands::onboarding::MemoryWifi::default()),
    };
    let core = sandbox_app(dir.path(), platform);
    assert!(
        !core.deep_link("refill://auth?code=x&state=y"),
        "no sign-in is waiting yet"
    );
    let _ = cell.set(core.clone());
    let started = core.start_sign_in().await.unwrap();
    assert!(started
        .authorize_url
        .contains("redirect_uri=refill%3A%2F%2Fauth"));
    let account = core.finish_sign_in().await.unwrap();
    assert_eq!(account.name.as_deref(), Some(CUSTOMER_NAME));
}

/// A desktop set to sign in through `refill://auth`: the desktop opens the link by starting the
/// app a second time, and that launch hands it to the running one.
struct DesktopWithLinks {
    runtime: tokio::runtime::Handle,
    data_dir: std::path::PathBuf,
}

impl Host for DesktopWithLinks {
    fn open_url(&self, url: &str) -> Result<(), String> {
        let (url, data_dir) = (url.to_owned(), self.data_dir.clone());
        self.runtime.spawn(async move {
            let link = alex_answers(&url, "allow").await;
            // The second launch, as the desktop starts it: `refill-app <link>`.
            let second = tokio::task::spawn_blocking(move || {
                launch::claim(
                    &data_dir,
                    &["--automation".to_owned(), link],
                    launch::PATIENCE,
                )
            })
            .await
            .unwrap()
            .unwrap();
            assert!(matches!(second, launch::Claim::HandedOver));
        });
        Ok(())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_desktop_a_sign_in_link_reaches_the_running_app_through_a_second_launch() {
    let dir = tempfile::tempdir().unwrap();
    let launch::Claim::First(mut instance) =
        launch::claim(dir.path(), &[], launch::PATIENCE).unwrap()
    else {
        panic!("the first launch owns the data folder");
    };
    let platform = Platform {
        host: Arc::new(DesktopWithLinks {
            runtime: tokio::runtime::Handle::current(),
            data_dir: dir.path().to_owned(),
        }),
        tokens: Arc::new(MemoryStore::default()),
        redirect: refill_auth::Redirect::DeepLink(refill_commands::SIGN_IN_LINK.to_owned()),
        wifi: Arc::new(refill_commands::onboarding::MemoryWifi::default()),
    };
    let core = sandbox_app(dir.path(), platform);
    // What the shell does with later launches' arguments.
    let messages = instance.take_messages().unwrap();
    let follower = core.clone();
    let taken = std::thread::spawn(move || {
        let args = messages.recv().unwrap();
        follower.open_links(&args)
    });
    core.start_sign_in().await.unwrap();
    let account = core.finish_sign_in().await.unwrap();
    assert_eq!(account.name.as_deref(), Some(CUSTOMER_NAME));
    assert_eq!(taken.join().unwrap(), 1, "exactly the link was taken");
    assert_eq!(
        core.open_links(&["refill://auth?code=late&state=late".to_owned()]),
        0,
        "a link with no sign-in waiting is dropped"
    );
}

// A service that needs a sign-in, and the app pointed at it (the host plays the browser).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_are_followed_as_soon_as_one_signs_in_and_never_after_signing_out() {
    use refill_commands::NoticeKind;
    use std::time::Duration;
    let data = tempfile::tempdir().unwrap();
    let mut config = refill_service::ServiceConfig::sandbox(data.path().join("s.sqlite"));
    config.require_sign_in = true;
    config.deliver_every = None;
    let running = refill_service::start(config).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let platform = Platform {
        host: Arc::new(PlayedBrowser {
            runtime: tokio::runtime::Handle::current(),
            decision: "allow",
        }),
        tokens: Arc::new(MemoryStore::default()),
        redirect: refill_auth::Redirect::Loopback,
        wifi: Arc::new(refill_commands::onboarding::MemoryWifi::default()),
    };
    let core = AppCore::new(
        AppConfig {
            data_dir: dir.path().to_owned(),
            service_url: Some(running.base_url()),
            auth_provider: None,
            config_dir: None,
            downloads_dir: None,
        },
        platform,
    );
    let mut rx = core.notices();
    core.follow_events();
    // Signed out, the follower is refused and waits longer each time (by now 8 s or more).
    tokio::time::sleep(Duration::from_millis(7_600)).await;
    core.start_sign_in().await.unwrap();
    core.finish_sign_in().await.unwrap();
    // It starts at once, not when its wait is over.
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    core.press_button("B0RFBEAN01".into(), None).await.unwrap();
    let n = tokio::time::timeout(Duration::from_secs(3), rx.recv())
        .await
        .expect("followed within moments of signing in")
        .unwrap();
    assert_eq!(n.kind, NoticeKind::OrderPlaced);

    // Signed out: the stream opened with the old sign-in is dropped; what the customer orders
    // elsewhere afterwards reaches neither the inbox nor a notification.
    core.sign_out().await.unwrap();
    let store = running.store();
    let customer = store.default_customer().await.unwrap().unwrap();
    store
        .press(
            customer,
            "B0RFWATR02",
            time::OffsetDateTime::now_utc(),
            &refill_core::OrderPolicy::default(),
        )
        .await
        .unwrap();
    if let Ok(n) = tokio::time::timeout(Duration::from_secs(2), rx.recv()).await {
        panic!("nothing is told after signing out, got {n:?}");
    }
    assert!(core.inbox().notices.is_empty());
    core.shutdown().await;
    running.shutdown().await;
}
