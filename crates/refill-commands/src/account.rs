//! Signing in from the app: the account the header shows, and the sign-in flow in two steps.
//!
//! `start_sign_in` opens the system browser at the provider's sign-in page and returns its
//! address at once (the UI shows it, in case no browser opened); `finish_sign_in` waits for the
//! browser to come back to the loopback listener (at most 5 minutes), keeps the tokens in the
//! token store (the OS keyring in the app) and returns the account; `cancel_sign_in` stops it.

use crate::{AppCore, AppError};
use refill_auth::{AuthError, MemoryStore, PendingSignIn, Redirect, TokenStore};
use refill_wire::ErrorCode;
use serde::{Deserialize, Serialize};
use std::sync::{Arc, Mutex, PoisonError};
use ts_rs::TS;

/// The start of every link the OS hands to the app.
pub const LINK_PREFIX: &str = "refill://";

/// Where a sign-in comes back as a link (always on mobile; on desktop when chosen, for providers
/// that do not allow loopback addresses).
pub const SIGN_IN_LINK: &str = "refill://auth";

/// What the app needs from the platform it runs on.
pub trait Host: Send + Sync + 'static {
    /// Opens `url` in the system browser.
    fn open_url(&self, url: &str) -> Result<(), String>;
}

/// A host with no browser: sign-in addresses are only shown.
struct NoBrowser;

impl Host for NoBrowser {
    fn open_url(&self, _url: &str) -> Result<(), String> {
        Err("there is no browser here".to_owned())
    }
}

/// The platform services the app core uses.
#[derive(Clone)]
pub struct Platform {
    /// Opens URLs.
    pub host: Arc<dyn Host>,
    /// Keeps tokens (the OS keyring in the app).
    pub tokens: Arc<dyn TokenStore>,
    /// How sign-in comes back: a loopback port (desktop) or a deep link (mobile).
    pub redirect: Redirect,
    /// Wi-Fi passwords remembered for the next device (the OS keyring in the app).
    pub wifi: Arc<dyn crate::onboarding::WifiMemory>,
}

impl Platform {
    /// No browser, tokens in memory: for tests, benchmarks and headless use.
    pub fn headless() -> Self {
        Self {
            host: Arc::new(NoBrowser),
            tokens: Arc::new(MemoryStore::default()),
            redirect: Redirect::Loopback,
            wifi: Arc::new(crate::onboarding::MemoryWifi::default()),
        }
    }
}

/// Who is signed in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct Account {
    /// Whether someone is signed in.
    pub signed_in: bool,
    /// Their name, when signed in.
    pub name: Option<String>,
    /// Their email, when signed in.
    pub email: Option<String>,
    /// Something the person should know, such as why they were signed out.
    pub notice: Option<String>,
}

impl Account {
    fn signed_out(notice: Option<String>) -> Self {
        Self {
            signed_in: false,
            name: None,
            email: None,
            notice,
        }
    }
}

/// A sign-in that started.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct SignInStarted {
    /// The sign-in page's address.
    pub authorize_url: String,
    /// Whether the system browser was opened on it.
    pub browser_opened: bool,
}

/// An authorization waiting for the browser (a sign-in, or a device's linking): started, then
/// awaited; cancelling drops it and wakes whoever awaits it.
#[derive(Default)]
pub(crate) struct BrowserWait {
    pending: Mutex<Option<PendingSignIn>>,
    cancel: Mutex<Option<tokio::sync::oneshot::Sender<()>>>,
}

impl BrowserWait {
    /// Keeps `pending` for [`BrowserWait::take`], cancelling the one before.
    pub(crate) fn start(&self, pending: PendingSignIn) {
        self.cancel();
        *self.pending.lock().unwrap_or_else(PoisonError::into_inner) = Some(pending);
    }

    /// The authorization started last, once.
    pub(crate) fn take(&self) -> Option<PendingSignIn> {
        self.pending
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take()
    }

    /// Resolves when [`BrowserWait::cancel`] is called.
    pub(crate) fn cancellation(&self) -> impl std::future::Future<Output = ()> {
        let (cancel, cancelled) = tokio::sync::oneshot::channel();
        *self.cancel.lock().unwrap_or_else(PoisonError::into_inner) = Some(cancel);
        async {
            let _ = cancelled.await;
        }
    }

    /// Drops the authorization started and stops the wait for it.
    pub(crate) fn cancel(&self) {
        self.take();
        if let Some(cancel) = self
            .cancel
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take()
        {
            let _ = cancel.send(());
        }
    }
}

/// The sign-in under way, if any.
#[derive(Default)]
pub(crate) struct SignInSlot {
    browser: BrowserWait,
    deep_link: Mutex<Option<tokio::sync::oneshot::Sender<String>>>,
}

pub(crate) fn auth_error(e: AuthError) -> AppError {
    let code = match e {
        AuthError::SignedOut | AuthError::SessionEnded | AuthError::Outdated => {
            ErrorCode::SignInRequired
        }
        AuthError::Unreachable { .. } => ErrorCode::ServiceUnreachable,
        _ => ErrorCode::SignInFailed,
    };
    AppError::new(code, e.to_string())
}

impl AppCore {
    /// Who is signed in (reading their profile from the provider).
    pub async fn account(&self) -> Result<Account, AppError> {
        let session = &self.backend().await?.session;
        if !session.is_signed_in().await.map_err(auth_error)? {
            return Ok(Account::signed_out(None));
        }
        match session.profile().await {
            Ok(profile) => Ok(Account {
                signed_in: true,
                name: profile.as_ref().and_then(|p| p.name.clone()),
                email: profile.and_then(|p| p.email),
                notice: None,
            }),
            Err(e @ AuthError::SessionEnded) => Ok(Account::signed_out(Some(e.to_string()))),
            Err(e) => Err(auth_error(e)),
        }
    }

    /// Starts a sign-in: opens the browser at the sign-in page, and returns its address.
    pub async fn start_sign_in(&self) -> Result<SignInStarted, AppError> {
        let backend = self.backend().await?;
        // Before the browser: a sign-in the keyring can't keep would be lost.
        backend.session.check_store().await.map_err(auth_error)?;
        let pending = refill_auth::start_sign_in_with(
            backend.session.provider(),
            &self.inner.platform.redirect,
        )
        .await
        .map_err(auth_error)?;
        Ok(self.open_browser(pending, &self.inner.sign_in.browser, "sign in"))
    }

    /// Opens the browser at `pending`'s page and keeps it in `wait` for the one who awaits it.
    pub(crate) fn open_browser(
        &self,
        pending: PendingSignIn,
        wait: &BrowserWait,
        doing: &str,
    ) -> SignInStarted {
        let authorize_url = pending.authorize_url().to_owned();
        let browser_opened = match self.inner.platform.host.open_url(&authorize_url) {
            Ok(()) => true,
            Err(e) => {
                tracing::warn!("could not open the browser to {doing}: {e}");
                false
            }
        };
        wait.start(pending);
        SignInStarted {
            authorize_url,
            browser_opened,
        }
    }

    /// Waits for the sign-in started by [`AppCore::start_sign_in`] to come back, keeps its tokens
    /// and returns the account.
    pub async fn finish_sign_in(&self) -> Result<Account, AppError> {
        let pending = self.inner.sign_in.browser.take().ok_or_else(|| {
            AppError::new(
                ErrorCode::SignInFailed,
                "No sign-in is under way. Start again.",
            )
        })?;
        let cancelled = self.inner.sign_in.browser.cancellation();
        let clock = refill_core::SystemClock;
        let session = &self.backend().await?.session;
        if pending.uses_loopback() {
            // The browser's page says "Signed in" once the tokens are kept.
            pending
                .finish_and_keep(
                    refill_auth::SIGN_IN_TIMEOUT,
                    cancelled,
                    &clock,
                    async |tokens| session.store_tokens(tokens).await,
                )
                .await
        } else {
            match self.wait_for_link(cancelled).await {
                Ok(link) => match pending.complete(&link, &clock).await {
                    Ok(tokens) => session.store_tokens(tokens).await,
                    Err(e) => Err(e),
                },
                Err(e) => Err(e),
            }
        }
        .map_err(auth_error)?;
        tracing::info!("signed in");
        self.inner.account_changed.notify_one();
        self.account().await
    }

    /// Waits (at most the sign-in timeout) for the OS to deliver the `refill://auth` link that
    /// a sign-in (or a device's linking) comes back with. `cancelled` resolving stops it.
    pub(crate) async fn wait_for_link(
        &self,
        cancelled: impl std::future::Future<Output = ()>,
    ) -> Result<String, AuthError> {
        let (deliver, delivered) = tokio::sync::oneshot::channel::<String>();
        *self
            .inner
            .sign_in
            .deep_link
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = Some(deliver);
        tokio::select! {
            link = tokio::time::timeout(refill_auth::SIGN_IN_TIMEOUT, delivered) => match link {
                Ok(Ok(link)) => Ok(link),
                Ok(Err(_)) => Err(AuthError::Cancelled),
                Err(_) => Err(AuthError::TimedOut { minutes: 5 }),
            },
            () = cancelled => Err(AuthError::Cancelled),
        }
    }

    /// Hands a deep link the OS delivered (such as `refill://auth?code=…`) to the sign-in waiting
    /// for it. Returns whether one was waiting.
    pub fn deep_link(&self, url: &str) -> bool {
        let Redirect::DeepLink(prefix) = &self.inner.platform.redirect else {
            return false;
        };
        if !url.starts_with(prefix.as_str()) {
            return false;
        }
        let waiting = self
            .inner
            .sign_in
            .deep_link
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        waiting.is_some_and(|deliver| deliver.send(url.to_owned()).is_ok())
    }

    /// Delivers the `refill://` links among a launch's arguments (those the OS started the app
    /// with, or a later launch handed over) to what waits for them. Returns how many were taken.
    /// A link is never logged: it carries an authorization code.
    pub fn open_links(&self, args: &[String]) -> usize {
        let mut taken = 0;
        for arg in args.iter().filter(|a| a.starts_with(LINK_PREFIX)) {
            if self.deep_link(arg) {
                taken += 1;
            } else {
                tracing::info!(
                    "a refill:// link arrived, but no sign-in was waiting for it (was Refill \
                     restarted during the sign-in, or is it set to sign in through 127.0.0.1?)"
                );
            }
        }
        taken
    }

    /// Stops the sign-in under way, if any. Nothing is saved.
    pub fn cancel_sign_in(&self) {
        self.inner.sign_in.browser.cancel();
    }

    /// Signs out: revokes at the provider and forgets the tokens.
    pub async fn sign_out(&self) -> Result<Account, AppError> {
        let session = &self.backend().await?.session;
        let revoked = session.sign_out().await.map_err(auth_error)?;
        self.forget_inbox();
        tracing::info!(revoked, "signed out");
        Ok(Account::signed_out(None))
    }
}
