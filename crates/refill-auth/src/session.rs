//! A signed-in session: the current tokens, refreshed when needed, and sign-out.

use crate::{http_client, AuthError, Provider, TokenStore, Tokens};
use refill_core::{Sensitive, SharedClock};
use serde::Deserialize;
use std::sync::Arc;
use tokio::sync::Mutex;

/// Refresh this long before the access token expires.
const MARGIN: time::Duration = time::Duration::seconds(60);

/// Who is signed in, as the provider's profile endpoint says: Login with Amazon's `user_id`,
/// `name`, `email`, or OpenID Connect's standard claims (`sub`, `name` or `given_name` and
/// `family_name` or `preferred_username`, `email`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(from = "ProfileClaims")]
pub struct Profile {
    /// The provider's id of the person.
    pub user_id: Option<String>,
    /// Their name.
    pub name: Option<String>,
    /// Their email address.
    pub email: Option<String>,
}

/// The fields of a profile answer, LwA's and OIDC's.
#[derive(Deserialize)]
struct ProfileClaims {
    user_id: Option<String>,
    sub: Option<String>,
    name: Option<String>,
    given_name: Option<String>,
    family_name: Option<String>,
    preferred_username: Option<String>,
    nickname: Option<String>,
    email: Option<String>,
}

impl From<ProfileClaims> for Profile {
    fn from(c: ProfileClaims) -> Self {
        let text = |v: Option<String>| v.map(|s| s.trim().to_owned()).filter(|s| !s.is_empty());
        let full_name = match (text(c.given_name), text(c.family_name)) {
            (Some(given), Some(family)) => Some(format!("{given} {family}")),
            (given, family) => given.or(family),
        };
        Profile {
            user_id: text(c.user_id).or(text(c.sub)),
            name: text(c.name)
                .or(full_name)
                .or(text(c.preferred_username))
                .or(text(c.nickname)),
            email: text(c.email),
        }
    }
}

enum Loaded {
    NotYet,
    Known(Option<Tokens>),
}

/// The session with one provider. Concurrent callers share one refresh: the first refreshes
/// while the others wait, then all use the new token.
pub struct Session {
    provider: Provider,
    store: Arc<dyn TokenStore>,
    clock: SharedClock,
    http: reqwest::Client,
    tokens: Mutex<Loaded>,
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("provider", &self.provider.key)
            .finish_non_exhaustive()
    }
}

impl Session {
    /// A session with `provider`, its tokens in `store`.
    pub fn new(provider: Provider, store: Arc<dyn TokenStore>, clock: SharedClock) -> Self {
        Self {
            http: http_client(&provider),
            provider,
            store,
            clock,
            tokens: Mutex::new(Loaded::NotYet),
        }
    }

    /// The provider.
    pub fn provider(&self) -> &Provider {
        &self.provider
    }

    async fn blocking<T: Send + 'static>(
        &self,
        f: impl FnOnce(&dyn TokenStore, &str) -> Result<T, AuthError> + Send + 'static,
    ) -> Result<T, AuthError> {
        let store = self.store.clone();
        let key = self.provider.key.clone();
        tokio::task::spawn_blocking(move || f(store.as_ref(), &key))
            .await
            .map_err(|e| AuthError::Keyring(format!("the keyring call stopped: {e}")))?
    }

    async fn current<'a>(
        &self,
        guard: &'a mut tokio::sync::MutexGuard<'_, Loaded>,
    ) -> Result<&'a mut Option<Tokens>, AuthError> {
        if matches!(**guard, Loaded::NotYet) {
            let loaded = self.blocking(|store, key| store.load(key)).await?;
            **guard = Loaded::Known(loaded);
        }
        match &mut **guard {
            Loaded::Known(tokens) => Ok(tokens),
            Loaded::NotYet => Err(AuthError::SignedOut),
        }
    }

    /// Whether there are stored tokens.
    pub async fn is_signed_in(&self) -> Result<bool, AuthError> {
        let mut guard = self.tokens.lock().await;
        Ok(self.current(&mut guard).await?.is_some())
    }

    /// Keeps the tokens of a finished sign-in.
    pub async fn store_tokens(&self, tokens: Tokens) -> Result<(), AuthError> {
        let mut guard = self.tokens.lock().await;
        let saved = tokens.clone();
        self.blocking(move |store, key| store.save(key, &saved))
            .await?;
        *guard = Loaded::Known(Some(tokens));
        Ok(())
    }

    /// A valid access token, refreshed first if it is about to expire.
    pub async fn access_token(&self) -> Result<Sensitive<String>, AuthError> {
        let mut guard = self.tokens.lock().await;
        let current = self.current(&mut guard).await?.clone();
        let Some(tokens) = current else {
            return Err(AuthError::SignedOut);
        };
        if tokens.expires_within(self.clock.now(), MARGIN) {
            return self.refresh(&mut guard, tokens).await;
        }
        Ok(tokens.access_token)
    }

    /// A new access token after a service rejected `rejected` (refreshed once: when another
    /// caller already refreshed, its token is returned).
    pub async fn access_token_after_rejection(
        &self,
        rejected: &Sensitive<String>,
    ) -> Result<Sensitive<String>, AuthError> {
        let mut guard = self.tokens.lock().await;
        let current = self.current(&mut guard).await?.clone();
        let Some(tokens) = current else {
            return Err(AuthError::SignedOut);
        };
        if &tokens.access_token != rejected {
            return Ok(tokens.access_token);
        }
        self.refresh(&mut guard, tokens).await
    }

    async fn refresh(
        &self,
        guard: &mut tokio::sync::MutexGuard<'_, Loaded>,
        tokens: Tokens,
    ) -> Result<Sensitive<String>, AuthError> {
        let Some(refresh) = tokens.refresh_token.clone() else {
            self.forget(guard).await?;
            return Err(AuthError::SessionEnded);
        };
        let grant = [
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh.expose().as_str()),
        ];
        let response = self
            .provider
            .request_tokens(&self.http, &grant, self.clock.now())
            .await;
        match response {
            Ok(mut renewed) => {
                if renewed.refresh_token.is_none() {
                    renewed.refresh_token = Some(refresh);
                }
                let saved = renewed.clone();
                self.blocking(move |store, key| store.save(key, &saved))
                    .await?;
                let access = renewed.access_token.clone();
                **guard = Loaded::Known(Some(renewed));
                tracing::info!(provider = self.provider.key, "access token refreshed");
                Ok(access)
            }
            Err(e) => match e {
                AuthError::Rejected { error, .. } => {
                    tracing::warn!(
                        provider = self.provider.key,
                        error,
                        "refresh token rejected; signing out"
                    );
                    self.forget(guard).await?;
                    Err(AuthError::SessionEnded)
                }
                other => Err(other),
            },
        }
    }

    async fn forget(
        &self,
        guard: &mut tokio::sync::MutexGuard<'_, Loaded>,
    ) -> Result<(), AuthError> {
        self.blocking(|store, key| store.delete(key)).await?;
        **guard = Loaded::Known(None);
        Ok(())
    }

    /// Forgets a sign-in that the service refused as not covering what was asked (`403
    /// insufficient_scope`: granted before the scopes the app now asks for); the error to show.
    /// The next sign-in asks for the provider's current scopes.
    pub async fn end_outdated(&self) -> AuthError {
        tracing::warn!(
            provider = self.provider.key,
            "the sign-in does not cover what the app asks; signing out"
        );
        let mut guard = self.tokens.lock().await;
        match self.forget(&mut guard).await {
            Ok(()) => AuthError::Outdated,
            Err(e) => e,
        }
    }

    /// Checks that a sign-in could be kept (see [`TokenStore::probe`]): call it before sending
    /// the person to the browser.
    pub async fn check_store(&self) -> Result<(), AuthError> {
        self.blocking(|store, _| store.probe()).await
    }

    /// The signed-in person's profile, or `None` when the provider has no profile endpoint.
    /// A token the endpoint rejects is refreshed once.
    pub async fn profile(&self) -> Result<Option<Profile>, AuthError> {
        let Some(url) = self.provider.profile_url.clone() else {
            return Ok(None);
        };
        let mut token = self.access_token().await?;
        for attempt in 0..2 {
            let response = self
                .http
                .get(&url)
                .bearer_auth(token.expose())
                .send()
                .await
                .map_err(|e| AuthError::Unreachable {
                    url: url.clone(),
                    detail: e.to_string(),
                })?;
            match response.status().as_u16() {
                200 => {
                    return response
                        .json()
                        .await
                        .map(Some)
                        .map_err(|e| AuthError::Unreachable {
                            url: url.clone(),
                            detail: format!("its answer is not a profile ({e})"),
                        })
                }
                401 if attempt == 0 => token = self.access_token_after_rejection(&token).await?,
                status => {
                    return Err(AuthError::Rejected {
                        error: format!("http_{status}"),
                        description: format!("the profile endpoint answered HTTP {status}"),
                    })
                }
            }
        }
        Err(AuthError::SessionEnded)
    }

    /// Signs out: revokes the tokens at the provider when it has a revoke URL, and deletes them
    /// here whatever the provider answers. Returns whether the provider confirmed the revocation.
    pub async fn sign_out(&self) -> Result<bool, AuthError> {
        let mut guard = self.tokens.lock().await;
        let current = self.current(&mut guard).await?.clone();
        let mut revoked = false;
        if let (Some(tokens), Some(url)) = (current, &self.provider.revoke_url) {
            // Revoking the refresh token also ends the access tokens it made (RFC 7009 §2.1).
            let token = tokens.refresh_token.unwrap_or(tokens.access_token);
            let hint = if token.expose().starts_with("Atzr|") {
                "refresh_token"
            } else {
                "access_token"
            };
            let mut form = vec![
                ("token", token.expose().as_str()),
                ("token_type_hint", hint),
                ("client_id", self.provider.client_id.as_str()),
            ];
            if let Some(secret) = &self.provider.client_secret {
                form.push(("client_secret", secret.expose().as_str()));
            }
            let answer = self.http.post(url).form(&form).send().await;
            revoked = answer.is_ok_and(|r| r.status().is_success());
            if !revoked {
                tracing::warn!(
                    provider = self.provider.key,
                    "the provider did not confirm the revocation"
                );
            }
        }
        self.forget(&mut guard).await?;
        Ok(revoked)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn profiles_are_read_from_lwa_and_oidc_answers() {
        let read = |json: &str| serde_json::from_str::<Profile>(json).unwrap();
        let lwa = read(r#"{"user_id":"amzn1.account.X","name":"Alex","email":"a@x.test"}"#);
        assert_eq!(lwa.user_id.as_deref(), Some("amzn1.account.X"));
        let oidc = read(
            r#"{"sub":"248289761001","name":"Jane Doe","email":"j@x.test","email_verified":true}"#,
        );
        assert_eq!(
            oidc,
            Profile {
                user_id: Some("248289761001".into()),
                name: Some("Jane Doe".into()),
                email: Some("j@x.test".into()),
            }
        );
        let parts = read(r#"{"sub":"1","given_name":"Jane","family_name":"Doe"}"#);
        assert_eq!(parts.name.as_deref(), Some("Jane Doe"));
        let handle = read(r#"{"sub":"1","preferred_username":"jdoe","name":""}"#);
        assert_eq!(handle.name.as_deref(), Some("jdoe"));
        assert_eq!(read("{}").user_id, None);
    }
}
