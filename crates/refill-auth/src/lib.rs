//! Signing in to Refill, or to any standards-compliant OAuth 2.0 provider.
//!
//! * [`Provider`] describes a provider: authorize, token and (optional) revoke URLs, client id and
//!   scopes. The Refill sandbox is one provider among any others ([`Provider::refill`]).
//! * [`start_sign_in`] binds a loopback listener on a free port of 127.0.0.1 and builds the
//!   authorization URL (code grant, PKCE S256, random `state`) for the system browser;
//!   [`PendingSignIn::finish`] waits for the browser to come back, answers it with a short
//!   "You can return to Refill" page, checks `state` and redeems the code. It gives up after a
//!   timeout, and can be cancelled; a sign-in that did not finish saves nothing.
//! * [`Session`] holds the tokens: it refreshes the access token before it expires, or once when
//!   a service rejected it, with one refresh shared by concurrent callers; when the provider
//!   rejects the refresh token it forgets the tokens and says why. Sign-out revokes at the
//!   provider (when it has a revoke URL) and deletes the stored tokens.
//! * [`TokenStore`] is where tokens live: [`KeyringStore`] (the OS keyring: Secret Service on
//!   Linux) in the app and CLI, [`MemoryStore`] in tests. Nothing token-like is written anywhere
//!   else, and tokens are [`Sensitive`], so formatting them prints `<redacted>`.

mod error;
mod listener;
mod session;
mod store;

pub use error::AuthError;
pub use session::{Profile, Session};
pub use store::{KeyringStore, MemoryStore, TokenStore, Tokens, WifiPasswords};

use refill_core::{pkce, Sensitive};
use serde::Deserialize;
use std::time::Duration;
use tokio::net::TcpListener;

/// How long a sign-in waits for the browser by default.
pub const SIGN_IN_TIMEOUT: Duration = Duration::from_secs(5 * 60);

/// An OAuth 2.0 provider and this app's registration with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Provider {
    /// A stable name for it, which namespaces its tokens in the keyring.
    pub key: String,
    /// The authorization endpoint.
    pub authorize_url: String,
    /// The token endpoint.
    pub token_url: String,
    /// The revocation endpoint (RFC 7009), if it has one.
    pub revoke_url: Option<String>,
    /// Where to read the signed-in person's profile (LwA's `/user/profile`, or an OpenID Connect
    /// userinfo endpoint), if it has one.
    pub profile_url: Option<String>,
    /// The client id of this app.
    pub client_id: String,
    /// The client secret some providers give installed apps too (not a secret from the person
    /// using the app: Google's desktop clients, a Keycloak client with client authentication);
    /// sent with token requests when set.
    pub client_secret: Option<Sensitive<String>>,
    /// The scopes to ask for.
    pub scopes: Vec<String>,
    /// How its certificate is trusted: the system's authorities, or (a Refill service on a home
    /// server) its own certificate, pinned.
    pub trust: refill_tls::Trust,
}

impl Provider {
    /// A Refill service (the sandbox or a self-hosted one) at `base_url`, as the Refill app.
    /// `key` names it in the keyring; it must not change when the service's port does.
    pub fn refill(key: &str, base_url: &str) -> Self {
        let base = base_url.trim_end_matches('/');
        Self {
            key: key.to_owned(),
            authorize_url: format!("{base}/ap/oa"),
            token_url: format!("{base}/auth/o2/token"),
            revoke_url: Some(format!("{base}/auth/o2/revoke")),
            profile_url: Some(format!("{base}/user/profile")),
            client_id: "refill-app".to_owned(),
            client_secret: None,
            scopes: vec!["profile".to_owned(), "refill:customer".to_owned()],
            trust: refill_tls::Trust::System,
        }
    }

    /// A provider from settings, or `None` when no token URL is set. `get` looks a setting up by
    /// name: `authorize-url`, `token-url`, `revoke-url`, `profile-url`, `client-id`,
    /// `client-secret` and `scopes` (space-separated); see [`Provider::env_var`] for their environment variables.
    pub fn from_settings(get: impl Fn(&str) -> Option<String>) -> Result<Option<Self>, String> {
        let get = |name: &str| get(name).filter(|v| !v.trim().is_empty());
        let Some(token_url) = get("token-url") else {
            return Ok(None);
        };
        let authorize_url = get("authorize-url").ok_or(
            "a provider with a token URL needs its authorize URL too \
             (--authorize-url or REFILL_AUTH_AUTHORIZE_URL)",
        )?;
        let client_id = get("client-id").ok_or(
            "a provider with a token URL needs this app's client id too \
             (--client-id or REFILL_AUTH_CLIENT_ID)",
        )?;
        for (what, url) in [("authorize", &authorize_url), ("token", &token_url)] {
            if !(url.starts_with("https://") || url.starts_with("http://")) {
                return Err(format!(
                    "the {what} URL '{url}' must start with https:// or http://"
                ));
            }
        }
        Ok(Some(Provider {
            key: token_url.clone(),
            authorize_url,
            token_url,
            revoke_url: get("revoke-url"),
            profile_url: get("profile-url"),
            client_id,
            client_secret: get("client-secret").map(Sensitive::new),
            scopes: get("scopes")
                .map(|s| s.split_whitespace().map(str::to_owned).collect())
                .unwrap_or_default(),
            trust: refill_tls::Trust::System,
        }))
    }

    /// The environment variable of a setting of [`Provider::from_settings`]:
    /// `token-url` → `REFILL_AUTH_TOKEN_URL`.
    pub fn env_var(setting: &str) -> String {
        format!("REFILL_AUTH_{}", setting.to_uppercase().replace('-', "_"))
    }

    /// The authorization URL: the code grant with `redirect_uri`, `state`, PKCE and the scopes,
    /// then `extra` parameters (RFC 6749 §4.1.1, RFC 7636 §4.3), added to any query the
    /// provider's URL has.
    fn authorize_url(
        &self,
        redirect_uri: &str,
        state: &str,
        (challenge, scopes): (&str, &str),
        extra: &[(&str, &str)],
    ) -> Result<String, AuthError> {
        let mut url = parse_url("authorize", &self.authorize_url)?;
        self.token_url()?;
        parse_url("redirect", redirect_uri)?;
        {
            let mut query = url.query_pairs_mut();
            query
                .append_pair("response_type", "code")
                .append_pair("client_id", &self.client_id)
                .append_pair("state", state)
                .append_pair("code_challenge", challenge)
                .append_pair("code_challenge_method", "S256")
                .append_pair("redirect_uri", redirect_uri);
            if !scopes.is_empty() {
                query.append_pair("scope", scopes);
            }
            for (name, value) in extra {
                query.append_pair(name, value);
            }
        }
        Ok(url.into())
    }

    fn token_url(&self) -> Result<url::Url, AuthError> {
        parse_url("token", &self.token_url)
    }

    /// Asks the token endpoint for tokens with `grant` (RFC 6749 §4.1.3, §6). The client
    /// authenticates with HTTP Basic when it has a secret (§2.3.1: both parts form-encoded), or
    /// names itself with `client_id` when it has none.
    pub(crate) async fn request_tokens(
        &self,
        http: &reqwest::Client,
        grant: &[(&str, &str)],
        now: time::OffsetDateTime,
    ) -> Result<Tokens, AuthError> {
        let url = self.token_url()?;
        let unreachable = |detail: String| AuthError::Unreachable {
            url: self.token_url.clone(),
            detail,
        };
        let mut form = grant.to_vec();
        let mut request = http
            .post(url)
            .header(reqwest::header::ACCEPT, "application/json");
        match &self.client_secret {
            Some(secret) => {
                let encode = |s: &str| {
                    url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>()
                };
                request =
                    request.basic_auth(encode(&self.client_id), Some(encode(secret.expose())));
            }
            None => form.push(("client_id", &self.client_id)),
        }
        let answer = request
            .form(&form)
            .send()
            .await
            .map_err(|e| unreachable(error::causes(&e)))?;
        let status = answer.status();
        let body = answer
            .bytes()
            .await
            .map_err(|e| unreachable(error::causes(&e)))?;
        if status.is_success() {
            let tokens: TokenAnswer = serde_json::from_slice(&body).map_err(|e| {
                unreachable(format!("its answer is not an OAuth token response ({e})"))
            })?;
            return Ok(tokens.at(now));
        }
        match serde_json::from_slice::<ErrorAnswer>(&body) {
            Ok(refused) => Err(AuthError::Rejected {
                description: refused
                    .error_description
                    .filter(|d| !d.trim().is_empty())
                    .unwrap_or_else(|| refused.error.clone()),
                error: refused.error,
            }),
            Err(_) => Err(unreachable(format!(
                "it answered {status} without an OAuth error"
            ))),
        }
    }
}

fn parse_url(what: &str, url: &str) -> Result<url::Url, AuthError> {
    url::Url::parse(url)
        .map_err(|_| AuthError::Config(format!("the {what} URL '{url}' is not a valid URL")))
}

/// A token endpoint's answer (RFC 6749 §5.1). `token_type` is not checked: providers spell
/// "Bearer" every way, and some leave it out.
#[derive(Deserialize)]
struct TokenAnswer {
    access_token: String,
    refresh_token: Option<String>,
    expires_in: Option<u64>,
}

impl TokenAnswer {
    fn at(self, now: time::OffsetDateTime) -> Tokens {
        Tokens {
            access_token: Sensitive::new(self.access_token),
            refresh_token: self.refresh_token.map(Sensitive::new),
            expires_at: self
                .expires_in
                .and_then(|s| i64::try_from(s).ok())
                .and_then(|s| now.checked_add(time::Duration::seconds(s)))
                // Whole seconds: the stored form keeps no more.
                .map(|at| at.replace_nanosecond(0).unwrap_or(at)),
        }
    }
}

/// A token endpoint's refusal (RFC 6749 §5.2).
#[derive(Deserialize)]
struct ErrorAnswer {
    error: String,
    error_description: Option<String>,
}

/// Opens `url` in the system browser (the `open` crate: `xdg-open` and its kin on Linux, `open`
/// on macOS, the shell on Windows), whole: `&` and `%` reach the browser as they are. False when
/// no browser could be started, so the caller can show the address instead.
pub fn open_in_browser(url: &str) -> bool {
    match open::that(url) {
        Ok(()) => true,
        Err(e) => {
            tracing::info!("no browser could be opened: {e}");
            false
        }
    }
}

/// The HTTP client for talking to `provider`: its certificate trusted as it says, no redirects
/// followed (as OAuth requires), timeouts.
pub(crate) fn http_client(provider: &Provider) -> reqwest::Client {
    provider
        .trust
        .client_builder()
        .redirect(reqwest::redirect::Policy::none())
        .connect_timeout(Duration::from_secs(5))
        .timeout(Duration::from_secs(20))
        .build()
        .unwrap_or_default()
}

/// Where the provider sends the browser back to.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Redirect {
    /// A listener on a free port of 127.0.0.1 (desktop; RFC 8252 §7.3).
    #[default]
    Loopback,
    /// A URI the OS hands back to the app as a deep link, such as `refill://auth` (mobile).
    DeepLink(String),
}

/// A sign-in waiting for the browser to come back.
pub struct PendingSignIn {
    provider: Provider,
    listener: Option<TcpListener>,
    redirect_uri: String,
    authorize_url: String,
    state: Sensitive<String>,
    /// The PKCE verifier, when this app redeems the code; `None` when a device does (it holds
    /// the verifier of the challenge it gave).
    verifier: Option<Sensitive<String>>,
}

impl std::fmt::Debug for PendingSignIn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PendingSignIn")
            .field("provider", &self.provider.key)
            .field("redirect_uri", &self.redirect_uri)
            .finish_non_exhaustive()
    }
}

/// Starts a sign-in with `provider`: listens on a free loopback port and builds the URL to open
/// in the browser.
pub async fn start_sign_in(provider: &Provider) -> Result<PendingSignIn, AuthError> {
    start_sign_in_with(provider, &Redirect::Loopback).await
}

/// Starts a sign-in with `provider` that comes back through `redirect`.
pub async fn start_sign_in_with(
    provider: &Provider,
    redirect: &Redirect,
) -> Result<PendingSignIn, AuthError> {
    let (listener, redirect_uri) = redirect_target(redirect).await?;
    let verifier = pkce::new_verifier();
    let state = pkce::random_text();
    let url = provider.authorize_url(
        &redirect_uri,
        &state,
        (
            &pkce::challenge_of(verifier.expose()),
            &provider.scopes.join(" "),
        ),
        &[],
    )?;
    Ok(PendingSignIn::new(
        provider,
        (listener, redirect_uri),
        url,
        state,
        Some(verifier),
    ))
}

/// What a device asks to be linked to the customer's account with (Dash Replenishment's
/// registration): the app runs the authorization in the browser with the device's own PKCE
/// challenge, and hands the code to the device, which redeems it with its verifier. The app never
/// holds the device's tokens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceGrant {
    /// The scopes, such as `dash:replenish`.
    pub scope: String,
    /// The `scope_data` JSON: `{"dash:replenish":{"device_model":…,"serial":…,"is_test_device":…}}`
    /// or, as Refill takes it, the inner object.
    pub scope_data: String,
    /// The device's PKCE challenge (S256).
    pub code_challenge: String,
}

impl DeviceGrant {
    /// Dash Replenishment's grant: `scope=dash:replenish` with the device's `scope_data` and
    /// challenge.
    pub fn replenish(scope_data: String, code_challenge: &str) -> Self {
        Self {
            scope: "dash:replenish".to_owned(),
            scope_data,
            code_challenge: code_challenge.to_owned(),
        }
    }
}

/// Starts the authorization of a device (see [`DeviceGrant`]); it comes back through `redirect`
/// with a code for the device, which [`PendingSignIn::finish_code`] or
/// [`PendingSignIn::complete_code`] returns unredeemed.
pub async fn start_device_authorization(
    provider: &Provider,
    redirect: &Redirect,
    grant: &DeviceGrant,
) -> Result<PendingSignIn, AuthError> {
    let (listener, redirect_uri) = redirect_target(redirect).await?;
    let state = pkce::random_text();
    let scopes = grant.scope.split_whitespace().collect::<Vec<_>>().join(" ");
    let url = provider.authorize_url(
        &redirect_uri,
        &state,
        (&grant.code_challenge, &scopes),
        &[("scope_data", &grant.scope_data)],
    )?;
    Ok(PendingSignIn::new(
        provider,
        (listener, redirect_uri),
        url,
        state,
        None,
    ))
}

/// The listener (for a loopback redirect) and the redirect URI.
async fn redirect_target(redirect: &Redirect) -> Result<(Option<TcpListener>, String), AuthError> {
    Ok(match redirect {
        Redirect::Loopback => {
            let listener = TcpListener::bind(("127.0.0.1", 0)).await.map_err(|e| {
                AuthError::Config(format!(
                    "could not listen on a loopback port for the sign-in: {e}"
                ))
            })?;
            let port = listener
                .local_addr()
                .map_err(|e| AuthError::Config(format!("could not read the loopback port: {e}")))?
                .port();
            (Some(listener), format!("http://127.0.0.1:{port}/callback"))
        }
        Redirect::DeepLink(uri) => (None, uri.clone()),
    })
}

impl PendingSignIn {
    fn new(
        provider: &Provider,
        (listener, redirect_uri): (Option<TcpListener>, String),
        authorize_url: String,
        state: String,
        verifier: Option<Sensitive<String>>,
    ) -> Self {
        Self {
            provider: provider.clone(),
            listener,
            redirect_uri,
            authorize_url,
            state: Sensitive::new(state),
            verifier,
        }
    }

    /// The URL to open in the browser.
    pub fn authorize_url(&self) -> &str {
        &self.authorize_url
    }

    /// The loopback redirect URI the browser comes back to.
    pub fn redirect_uri(&self) -> &str {
        &self.redirect_uri
    }

    /// Whether the browser comes back to a loopback listener ([`PendingSignIn::finish`]) rather
    /// than as a deep link ([`PendingSignIn::complete`]).
    pub fn uses_loopback(&self) -> bool {
        self.listener.is_some()
    }

    /// The provider it runs with.
    pub fn provider(&self) -> &Provider {
        &self.provider
    }

    /// Completes a sign-in whose browser came back as the deep link `callback_url`.
    pub async fn complete(
        self,
        callback_url: &str,
        clock: &dyn refill_core::Clock,
    ) -> Result<Tokens, AuthError> {
        let code = self.code_in(callback_url)?;
        self.redeem(code, clock).await
    }

    /// The code in the deep link `callback_url`, unredeemed (a device's authorization).
    pub fn complete_code(&self, callback_url: &str) -> Result<Sensitive<String>, AuthError> {
        self.code_in(callback_url)
    }

    fn code_in(&self, callback_url: &str) -> Result<Sensitive<String>, AuthError> {
        let Some(query) = callback_url
            .strip_prefix(self.redirect_uri.as_str())
            .and_then(|rest| rest.strip_prefix('?'))
        else {
            return Err(AuthError::StateMismatch);
        };
        listener::outcome(query, self.state.expose())
    }

    /// Waits (at most `timeout`) for the browser to come back, then redeems the code.
    /// `cancel` resolving cancels the sign-in.
    pub async fn finish(
        self,
        timeout: Duration,
        cancel: impl std::future::Future<Output = ()>,
        clock: &dyn refill_core::Clock,
    ) -> Result<Tokens, AuthError> {
        let mut kept = None;
        self.finish_and_keep(timeout, cancel, clock, async |tokens| {
            kept = Some(tokens);
            Ok(())
        })
        .await?;
        kept.ok_or(AuthError::Cancelled)
    }

    /// Waits (at most `timeout`) for the browser to come back, redeems the code and hands the
    /// tokens to `keep` (which stores them); only then does the browser's page say "Signed in",
    /// or else what went wrong. `cancel` resolving cancels the sign-in.
    pub async fn finish_and_keep(
        self,
        timeout: Duration,
        cancel: impl std::future::Future<Output = ()>,
        clock: &dyn refill_core::Clock,
        keep: impl AsyncFnOnce(Tokens) -> Result<(), AuthError>,
    ) -> Result<(), AuthError> {
        let (code, browser) = self.wait_for_browser(timeout, cancel).await?;
        let result = match self.redeem(code, clock).await {
            Ok(tokens) => keep(tokens).await,
            Err(e) => Err(e),
        };
        browser.tell(result.as_ref().map(|_| ())).await;
        result
    }

    /// Waits (at most `timeout`) for the browser to come back and returns the code, unredeemed
    /// (a device's authorization). `cancel` resolving cancels it.
    pub async fn finish_code(
        &self,
        timeout: Duration,
        cancel: impl std::future::Future<Output = ()>,
    ) -> Result<Sensitive<String>, AuthError> {
        let (code, browser) = self.wait_for_browser(timeout, cancel).await?;
        browser.tell(Ok(())).await;
        Ok(code)
    }

    async fn wait_for_browser(
        &self,
        timeout: Duration,
        cancel: impl std::future::Future<Output = ()>,
    ) -> Result<(Sensitive<String>, listener::Browser), AuthError> {
        let Some(listener) = &self.listener else {
            return Err(AuthError::Config(
                "this sign-in comes back as a deep link, not to a loopback port".to_owned(),
            ));
        };
        let wait = listener::wait_for_callback(listener, self.state.expose());
        tokio::select! {
            result = tokio::time::timeout(timeout, wait) => match result {
                Ok(callback) => callback,
                Err(_) => {
                    let minutes = u64::try_from(timeout.as_millis().div_ceil(60_000)).unwrap_or(u64::MAX);
                    Err(AuthError::TimedOut { minutes })
                }
            },
            () = cancel => Err(AuthError::Cancelled),
        }
    }

    async fn redeem(
        &self,
        code: Sensitive<String>,
        clock: &dyn refill_core::Clock,
    ) -> Result<Tokens, AuthError> {
        let verifier = self.verifier.as_ref().ok_or_else(|| {
            AuthError::Config("a device's authorization is redeemed by the device".to_owned())
        })?;
        let grant = [
            ("grant_type", "authorization_code"),
            ("code", code.expose().as_str()),
            ("redirect_uri", self.redirect_uri.as_str()),
            ("code_verifier", verifier.expose().as_str()),
        ];
        self.provider
            .request_tokens(&http_client(&self.provider), &grant, clock.now())
            .await
    }
}
