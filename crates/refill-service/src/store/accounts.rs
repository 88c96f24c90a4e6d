//! The authorization server's tables: clients, customers' passwords, consent tickets, codes and
//! tokens. Only hashes of secrets are stored.

use crate::auth::crypto;
pub use crate::auth::{ClientKind, ClientRegistration};
use crate::store::to_ms;
use crate::Store;
use refill_core::Sensitive;
use serde::{Deserialize, Serialize};
use sqlx::Row;
use time::{Duration, OffsetDateTime};

/// How long an authorization code lives (LwA: about 5 minutes).
pub const CODE_LIFETIME: Duration = Duration::minutes(5);
/// How long an access token lives (LwA: 60 minutes).
pub const ACCESS_LIFETIME: Duration = Duration::hours(1);
/// How long a signed-in customer has to answer the consent page.
pub const CONSENT_LIFETIME: Duration = Duration::minutes(10);

/// A registered client (an app that can ask customers to sign in).
#[derive(Debug, Clone)]
pub struct Client {
    /// Its id (`client_id`).
    pub client_id: String,
    /// Its name, shown on the consent page.
    pub name: String,
    /// Public or confidential.
    pub kind: ClientKind,
    secret_hash: Option<String>,
    /// Where it may be sent back to.
    pub redirect_uris: Vec<String>,
}

impl Client {
    /// A client as it would be registered (for tests of the matching rules).
    #[cfg(test)]
    pub fn for_tests(reg: &ClientRegistration) -> Self {
        Client {
            client_id: reg.client_id.clone(),
            name: reg.name.clone(),
            kind: reg.kind,
            secret_hash: reg.secret.as_ref().map(|s| crypto::digest(s.expose())),
            redirect_uris: reg.redirect_uris.clone(),
        }
    }

    /// Whether `secret` is this client's secret.
    pub fn secret_matches(&self, secret: &str) -> bool {
        self.secret_hash
            .as_deref()
            .is_some_and(|stored| crypto::client_secret_matches(secret, stored))
    }
}

/// A customer, as the profile endpoint shows them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Customer {
    /// Internal id.
    pub id: i64,
    /// Name.
    pub name: String,
    /// Email.
    pub email: String,
}

/// What an access token grants.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenGrant {
    /// Whose it is.
    pub customer_id: i64,
    /// Which client it was issued to.
    pub client_id: String,
    /// Space-separated scopes.
    pub scope: String,
    /// The `scope_data` JSON the customer consented to, if any.
    pub scope_data: Option<String>,
    /// When it expires.
    pub expires_at: Option<OffsetDateTime>,
}

/// The authorization request a consent ticket stands for.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct PendingGrant {
    /// Client.
    pub client_id: String,
    /// Redirect URI exactly as the client sent it.
    pub redirect_uri: String,
    /// Scopes.
    pub scope: String,
    /// `scope_data` JSON.
    pub scope_data: Option<String>,
    /// `state`, echoed back.
    pub state: Option<String>,
    /// PKCE challenge.
    pub code_challenge: Option<String>,
    /// PKCE method.
    pub code_challenge_method: Option<String>,
}

impl PendingGrant {
    /// Whether it registers a device: one that orders by itself (`dash:replenish`) or one
    /// with a screen that shows the customer's buttons (`refill:buttons`).
    pub fn device_scope(&self) -> bool {
        self.scope
            .split_whitespace()
            .any(|s| s == crate::auth::DEVICE_SCOPE || s == crate::auth::BUTTONS_SCOPE)
    }

    /// Whether it links a screened device to show the customer's buttons (`refill:buttons`).
    pub fn buttons_scope(&self) -> bool {
        self.scope
            .split_whitespace()
            .any(|s| s == crate::auth::BUTTONS_SCOPE)
    }
}

/// A code that was redeemed.
pub struct RedeemedCode {
    /// Its digest.
    pub code_hash: String,
    /// The grant it carries.
    pub grant: PendingGrant,
    /// Whose it is.
    pub customer_id: i64,
}

/// Why a code can't be redeemed.
pub enum RedeemError {
    /// No such code, or it expired.
    Invalid,
    /// It was redeemed before: a replay.
    Replayed {
        /// Its digest, to revoke what it issued.
        code_hash: String,
    },
}

/// A newly issued pair of tokens.
pub struct IssuedTokens {
    /// The access token.
    pub access_token: Sensitive<String>,
    /// The refresh token.
    pub refresh_token: Sensitive<String>,
}

/// Why a sign-in did not give a customer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignInRefused {
    /// No account has this email and password.
    Wrong,
    /// Too many password checks are under way: try again shortly.
    Busy,
    /// The email and password are right, but the operator disabled the account.
    Disabled,
}

/// Why a customer could not be created.
#[derive(Debug)]
pub enum SignUpError {
    /// The email is taken.
    EmailTaken,
    /// Too many password checks are under way: try again shortly.
    Busy,
    /// The database failed.
    Database(sqlx::Error),
}

impl From<sqlx::Error> for SignUpError {
    fn from(e: sqlx::Error) -> Self {
        SignUpError::Database(e)
    }
}

/// What a consent ticket is stored under: the digest of the ticket with its browser's secret.
fn consent_digest(ticket: &str, browser: &str) -> String {
    crypto::digest(&format!("{ticket}\n{browser}"))
}

fn customer_from_row(row: &crate::store::db::DbRow) -> Result<Customer, sqlx::Error> {
    Ok(Customer {
        id: row.try_get("id")?,
        name: row.try_get("name")?,
        email: row.try_get("email")?,
    })
}

fn client_from_row(row: &crate::store::db::DbRow) -> Result<Client, sqlx::Error> {
    let uris: String = row.try_get("redirect_uris")?;
    let kind: String = row.try_get("kind")?;
    Ok(Client {
        client_id: row.try_get("client_id")?,
        name: row.try_get("name")?,
        kind: if kind == "confidential" {
            ClientKind::Confidential
        } else {
            ClientKind::Public
        },
        secret_hash: row.try_get("secret_hash")?,
        redirect_uris: serde_json::from_str(&uris).map_err(|e| sqlx::Error::Decode(Box::new(e)))?,
    })
}

fn kind_text(kind: ClientKind) -> &'static str {
    match kind {
        ClientKind::Public => "public",
        ClientKind::Confidential => "confidential",
    }
}

/// The hash that unknown emails are checked against, so that they cost what a known one does
/// (made once, of a password nobody knows).
fn dummy_hash(memory: &mut crypto::Argon2Memory) -> &'static str {
    static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DUMMY.get_or_init(|| {
        let unknown = Sensitive::new(crypto::hex(&rand::random::<[u8; 16]>()));
        crypto::hash_password(&unknown, memory).unwrap_or_default()
    })
}

impl Store {
    /// Registers (or updates) a client.
    pub async fn register_client(&self, reg: &ClientRegistration) -> Result<(), sqlx::Error> {
        let uris = serde_json::to_string(&reg.redirect_uris)
            .map_err(|e| sqlx::Error::Protocol(e.to_string()))?;
        sqlx::query(
            "INSERT INTO oauth_clients (client_id, name, kind, secret_hash, redirect_uris) \
             VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT (client_id) DO UPDATE SET name = $2, kind = $3, secret_hash = $4, \
                 redirect_uris = $5",
        )
        .bind(&reg.client_id)
        .bind(&reg.name)
        .bind(kind_text(reg.kind))
        .bind(reg.secret.as_ref().map(|s| crypto::digest(s.expose())))
        .bind(uris)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// A registered client.
    pub async fn client(&self, client_id: &str) -> Result<Option<Client>, sqlx::Error> {
        let row = sqlx::query(
            "SELECT client_id, name, kind, secret_hash, redirect_uris FROM oauth_clients \
             WHERE client_id = $1",
        )
        .bind(client_id)
        .fetch_optional(self.pool())
        .await?;
        row.as_ref().map(client_from_row).transpose()
    }

    /// Every registered client, by id.
    pub async fn clients(&self) -> Result<Vec<Client>, sqlx::Error> {
        sqlx::query(
            "SELECT client_id, name, kind, secret_hash, redirect_uris FROM oauth_clients \
             ORDER BY client_id",
        )
        .fetch_all(self.pool())
        .await?
        .iter()
        .map(client_from_row)
        .collect()
    }

    /// Creates a customer who signs in with `email` and `password`.
    pub async fn sign_up(
        &self,
        name: &str,
        email: &str,
        password: Sensitive<String>,
    ) -> Result<Customer, SignUpError> {
        let email = email.trim().to_lowercase();
        let hash = self
            .passwords
            .run(move |memory| crypto::hash_password(&password, memory))
            .await
            .map_err(|_| SignUpError::Busy)?
            .map_err(|e| sqlx::Error::Protocol(format!("password hashing failed: {e}")))?;
        let inserted = sqlx::query_scalar::<_, i64>(
            "INSERT INTO customers (name, email, marketplace, currency, password_hash) \
             VALUES ($1, $2, 'US', 'USD', $3) RETURNING id",
        )
        .bind(name.trim())
        .bind(&email)
        .bind(hash)
        .fetch_one(self.pool())
        .await;
        match inserted {
            Ok(id) => Ok(Customer {
                id,
                name: name.trim().to_owned(),
                email,
            }),
            Err(sqlx::Error::Database(e)) if e.is_unique_violation() => {
                Err(SignUpError::EmailTaken)
            }
            Err(e) => Err(e.into()),
        }
    }

    /// A one-time invitation for `email` to create an account, valid for `lifetime` from `now`:
    /// the code, shown once (only its digest is kept).
    pub async fn invite(
        &self,
        email: &str,
        now: OffsetDateTime,
        lifetime: time::Duration,
    ) -> Result<Sensitive<String>, sqlx::Error> {
        let code = crypto::new_invitation_code();
        let mut tx = self.write().await?;
        sqlx::query(
            "INSERT INTO invitations (code_hash, email, created_at_ms, expires_at_ms) \
             VALUES ($1, $2, $3, $4)",
        )
        .bind(crypto::digest(code.expose()))
        .bind(email.trim().to_lowercase())
        .bind(to_ms(now))
        .bind(to_ms(now + lifetime))
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(code)
    }

    /// Whether `code` invites `email` at `now` (unused, unexpired, for that email).
    pub async fn invitation_valid(
        &self,
        email: &str,
        code: &str,
        now: OffsetDateTime,
    ) -> Result<bool, sqlx::Error> {
        let found: Option<String> = sqlx::query_scalar(
            "SELECT code_hash FROM invitations WHERE code_hash = $1 AND email = $2 \
             AND used_at_ms IS NULL AND expires_at_ms > $3",
        )
        .bind(crypto::digest(code.trim()))
        .bind(email.trim().to_lowercase())
        .bind(to_ms(now))
        .fetch_optional(self.pool())
        .await?;
        Ok(found.is_some())
    }

    /// Marks `code` used, so that it cannot make a second account.
    pub async fn use_invitation(&self, code: &str, now: OffsetDateTime) -> Result<(), sqlx::Error> {
        let mut tx = self.write().await?;
        sqlx::query("UPDATE invitations SET used_at_ms = $1 WHERE code_hash = $2")
            .bind(to_ms(now))
            .bind(crypto::digest(code.trim()))
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Registers `reg` unless a client with its id exists (an operator's changes stay).
    pub async fn ensure_client(&self, reg: &ClientRegistration) -> Result<(), sqlx::Error> {
        if self.client(&reg.client_id).await?.is_none() {
            self.register_client(reg).await?;
        }
        Ok(())
    }

    /// Sets a customer's password.
    pub async fn set_password(
        &self,
        customer_id: i64,
        password: Sensitive<String>,
    ) -> Result<(), sqlx::Error> {
        let hash = self
            .passwords
            .run(move |memory| crypto::hash_password(&password, memory))
            .await
            .map_err(|_| sqlx::Error::Protocol("password hashing is busy".to_owned()))?
            .map_err(|e| sqlx::Error::Protocol(format!("password hashing failed: {e}")))?;
        sqlx::query("UPDATE customers SET password_hash = $1 WHERE id = $2")
            .bind(hash)
            .bind(customer_id)
            .execute(self.pool())
            .await?;
        Ok(())
    }

    /// The customer with `email` and `password`, if they match. An unknown email costs the
    /// same work as a known one (its password is checked against a dummy hash).
    pub async fn sign_in(
        &self,
        email: &str,
        password: Sensitive<String>,
    ) -> Result<Result<Customer, SignInRefused>, sqlx::Error> {
        let row = sqlx::query(
            "SELECT id, name, email, password_hash, disabled_at_ms FROM customers \
                 WHERE email = $1",
        )
        .bind(email.trim().to_lowercase())
        .fetch_optional(self.pool())
        .await?;
        let hash: Option<String> = match &row {
            Some(row) => row.try_get("password_hash")?,
            None => None,
        };
        let known = hash.is_some();
        let checked = self
            .passwords
            .run(move |memory| {
                let hash = match hash.as_deref() {
                    Some(hash) => hash,
                    None => dummy_hash(memory),
                };
                crypto::verify_password(&password, hash, memory)
            })
            .await;
        match (checked, row) {
            (Err(crate::auth::guard::Busy), _) => Ok(Err(SignInRefused::Busy)),
            (Ok(true), Some(row)) if known => {
                if row.try_get::<Option<i64>, _>("disabled_at_ms")?.is_some() {
                    return Ok(Err(SignInRefused::Disabled));
                }
                customer_from_row(&row).map(Ok)
            }
            _ => Ok(Err(SignInRefused::Wrong)),
        }
    }

    /// A customer by id.
    pub async fn customer(&self, id: i64) -> Result<Option<Customer>, sqlx::Error> {
        let row = sqlx::query("SELECT id, name, email FROM customers WHERE id = $1")
            .bind(id)
            .fetch_optional(self.pool())
            .await?;
        row.map(|row| customer_from_row(&row)).transpose()
    }

    /// Records that `customer` signed in for `grant`; the ticket lets the consent form finish it,
    /// together with the `browser` secret (the browser's cookie) and nothing else.
    pub async fn open_consent(
        &self,
        customer: i64,
        grant: &PendingGrant,
        browser: &str,
        now: OffsetDateTime,
    ) -> Result<Sensitive<String>, sqlx::Error> {
        let ticket = crypto::new_ticket();
        let request =
            serde_json::to_string(grant).map_err(|e| sqlx::Error::Protocol(e.to_string()))?;
        sqlx::query(
            "INSERT INTO oauth_consents (ticket_hash, customer_id, request, expires_at_ms) \
             VALUES ($1, $2, $3, $4)",
        )
        .bind(consent_digest(ticket.expose(), browser))
        .bind(customer)
        .bind(request)
        .bind(to_ms(now + CONSENT_LIFETIME))
        .execute(self.pool())
        .await?;
        Ok(ticket)
    }

    /// Uses up a consent ticket: the customer and grant it stands for, if it is valid and comes
    /// with the `browser` secret it was opened with. With another secret nothing matches, and
    /// the ticket stays usable by its own browser.
    pub async fn take_consent(
        &self,
        ticket: &str,
        browser: &str,
        now: OffsetDateTime,
    ) -> Result<Option<(i64, PendingGrant)>, sqlx::Error> {
        let row = sqlx::query(
            "DELETE FROM oauth_consents WHERE ticket_hash = $1 RETURNING customer_id, request, \
                 expires_at_ms",
        )
        .bind(consent_digest(ticket, browser))
        .fetch_optional(self.pool())
        .await?;
        let Some(row) = row else { return Ok(None) };
        let expires: i64 = row.try_get("expires_at_ms")?;
        if expires <= to_ms(now) {
            return Ok(None);
        }
        let request: String = row.try_get("request")?;
        let grant = serde_json::from_str(&request).map_err(|e| sqlx::Error::Decode(Box::new(e)))?;
        Ok(Some((row.try_get("customer_id")?, grant)))
    }

    /// Issues an authorization code for `grant`.
    pub async fn create_code(
        &self,
        customer: i64,
        grant: &PendingGrant,
        now: OffsetDateTime,
    ) -> Result<Sensitive<String>, sqlx::Error> {
        let code = crypto::new_code();
        sqlx::query(
            "INSERT INTO oauth_codes (code_hash, client_id, customer_id, redirect_uri, scope, \
                 scope_data, code_challenge, challenge_method, expires_at_ms) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(crypto::digest(code.expose()))
        .bind(&grant.client_id)
        .bind(customer)
        .bind(&grant.redirect_uri)
        .bind(&grant.scope)
        .bind(&grant.scope_data)
        .bind(&grant.code_challenge)
        .bind(&grant.code_challenge_method)
        .bind(to_ms(now + CODE_LIFETIME))
        .execute(self.pool())
        .await?;
        Ok(code)
    }

    /// Marks a code used, once: the second redemption is a replay.
    pub async fn redeem_code(
        &self,
        code: &str,
        now: OffsetDateTime,
    ) -> Result<Result<RedeemedCode, RedeemError>, sqlx::Error> {
        let code_hash = crypto::digest(code);
        let row = sqlx::query(
            "SELECT client_id, customer_id, redirect_uri, scope, scope_data, code_challenge, \
                    challenge_method, expires_at_ms, used_at_ms FROM oauth_codes WHERE code_hash = $1",
        )
        .bind(&code_hash)
        .fetch_optional(self.pool())
        .await?;
        let Some(row) = row else {
            return Ok(Err(RedeemError::Invalid));
        };
        let used: Option<i64> = row.try_get("used_at_ms")?;
        if used.is_some() {
            return Ok(Err(RedeemError::Replayed { code_hash }));
        }
        let expires: i64 = row.try_get("expires_at_ms")?;
        if expires <= to_ms(now) {
            return Ok(Err(RedeemError::Invalid));
        }
        let claimed = sqlx::query(
            "UPDATE oauth_codes SET used_at_ms = $1 WHERE code_hash = $2 AND used_at_ms IS NULL",
        )
        .bind(to_ms(now))
        .bind(&code_hash)
        .execute(self.pool())
        .await?;
        if claimed.rows_affected() == 0 {
            return Ok(Err(RedeemError::Replayed { code_hash }));
        }
        Ok(Ok(RedeemedCode {
            customer_id: row.try_get("customer_id")?,
            grant: PendingGrant {
                client_id: row.try_get("client_id")?,
                redirect_uri: row.try_get("redirect_uri")?,
                scope: row.try_get("scope")?,
                scope_data: row.try_get("scope_data")?,
                state: None,
                code_challenge: row.try_get("code_challenge")?,
                code_challenge_method: row.try_get("challenge_method")?,
            },
            code_hash,
        }))
    }

    /// Issues an access and a refresh token for a redeemed code.
    pub async fn issue_tokens(
        &self,
        code: &RedeemedCode,
        now: OffsetDateTime,
    ) -> Result<IssuedTokens, sqlx::Error> {
        let access_token = crypto::new_access_token();
        let refresh_token = crypto::new_refresh_token();
        let refresh_hash = crypto::digest(refresh_token.expose());
        let mut tx = self.write().await?;
        for (kind, token_hash, parent, expires) in [
            ("refresh", refresh_hash.clone(), None, None),
            (
                "access",
                crypto::digest(access_token.expose()),
                Some(refresh_hash.clone()),
                Some(to_ms(now + ACCESS_LIFETIME)),
            ),
        ] {
            sqlx::query(
                "INSERT INTO oauth_tokens (token_hash, kind, client_id, customer_id, scope, \
                     scope_data, code_hash, refresh_hash, expires_at_ms) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
            )
            .bind(token_hash)
            .bind(kind)
            .bind(&code.grant.client_id)
            .bind(code.customer_id)
            .bind(&code.grant.scope)
            .bind(&code.grant.scope_data)
            .bind(&code.code_hash)
            .bind(parent)
            .bind(expires)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(IssuedTokens {
            access_token,
            refresh_token,
        })
    }

    /// A new access token for a valid refresh token of `client_id`.
    pub async fn refresh(
        &self,
        refresh_token: &str,
        client_id: &str,
        now: OffsetDateTime,
    ) -> Result<Option<(Sensitive<String>, String)>, sqlx::Error> {
        let refresh_hash = crypto::digest(refresh_token);
        let row = sqlx::query(
            "SELECT t.customer_id, t.scope, t.scope_data FROM oauth_tokens t \
             JOIN customers c ON c.id = t.customer_id \
             WHERE t.token_hash = $1 AND t.kind = 'refresh' AND t.client_id = $2 \
               AND t.revoked_at_ms IS NULL AND c.disabled_at_ms IS NULL",
        )
        .bind(&refresh_hash)
        .bind(client_id)
        .fetch_optional(self.pool())
        .await?;
        let Some(row) = row else { return Ok(None) };
        let access_token = crypto::new_access_token();
        let scope: String = row.try_get("scope")?;
        sqlx::query(
            "INSERT INTO oauth_tokens (token_hash, kind, client_id, customer_id, scope, \
                 scope_data, refresh_hash, expires_at_ms) \
             VALUES ($1, 'access', $2, $3, $4, $5, $6, $7)",
        )
        .bind(crypto::digest(access_token.expose()))
        .bind(client_id)
        .bind(row.try_get::<i64, _>("customer_id")?)
        .bind(&scope)
        .bind(row.try_get::<Option<String>, _>("scope_data")?)
        .bind(&refresh_hash)
        .bind(to_ms(now + ACCESS_LIFETIME))
        .execute(self.pool())
        .await?;
        Ok(Some((access_token, scope)))
    }

    /// Revokes `token` if it is one of `client_id`'s, with the access tokens a refresh token made.
    pub async fn revoke(
        &self,
        token: &str,
        client_id: &str,
        now: OffsetDateTime,
    ) -> Result<(), sqlx::Error> {
        let token_hash = crypto::digest(token);
        sqlx::query(
            "UPDATE oauth_tokens SET revoked_at_ms = $1 \
             WHERE revoked_at_ms IS NULL AND client_id = $2 \
               AND (token_hash = $3 OR refresh_hash = $3)",
        )
        .bind(to_ms(now))
        .bind(client_id)
        .bind(token_hash)
        .execute(self.pool())
        .await?;
        self.forget_devices();
        Ok(())
    }

    /// Revokes every token issued from a code (RFC 6749 §4.1.2: a replayed code).
    pub async fn revoke_code(
        &self,
        code_hash: &str,
        now: OffsetDateTime,
    ) -> Result<(), sqlx::Error> {
        sqlx::query(
            "UPDATE oauth_tokens SET revoked_at_ms = $1 \
             WHERE revoked_at_ms IS NULL AND (code_hash = $2 OR refresh_hash IN \
                 (SELECT token_hash FROM oauth_tokens WHERE code_hash = $2 AND kind = 'refresh'))",
        )
        .bind(to_ms(now))
        .bind(code_hash)
        .execute(self.pool())
        .await?;
        self.forget_devices();
        Ok(())
    }

    /// A new access token with `scope` ([`crate::auth::DEVICE_SCOPE`] or
    /// [`crate::auth::BUTTONS_SCOPE`]), valid for `lifetime`, for the registered device
    /// `device_id` (`model`/`serial`), as if it had redeemed a code: for the sandbox's simulated
    /// devices, which were seeded registered.
    pub async fn issue_device_token(
        &self,
        (device_id, model, serial): (i64, &str, &str),
        scope: &str,
        now: OffsetDateTime,
        lifetime: Duration,
    ) -> Result<(String, OffsetDateTime), sqlx::Error> {
        let row = sqlx::query("SELECT customer_id, is_test FROM devices WHERE id = $1")
            .bind(device_id)
            .fetch_one(self.pool())
            .await?;
        let customer: i64 = row.try_get("customer_id")?;
        let is_test = crate::store::db::flag(&row, "is_test")?;
        let scope_data = serde_json::json!({
            scope: {
                "device_model": model,
                "serial": serial,
                "is_test_device": is_test,
            }
        });
        let token = crypto::new_access_token();
        let expires = now + lifetime;
        sqlx::query(
            "INSERT INTO oauth_tokens (token_hash, kind, client_id, customer_id, scope, \
                 scope_data, expires_at_ms) VALUES ($1, 'access', $2, $3, $4, $5, $6)",
        )
        .bind(crypto::digest(token.expose()))
        .bind(crate::auth::SANDBOX_CLIENT_ID)
        .bind(customer)
        .bind(scope)
        .bind(scope_data.to_string())
        .bind(to_ms(expires))
        .execute(self.pool())
        .await?;
        Ok((token.expose().to_owned(), expires))
    }

    /// What a valid, unexpired, unrevoked access token grants.
    pub async fn access_grant(
        &self,
        access_token: &str,
        now: OffsetDateTime,
    ) -> Result<Option<TokenGrant>, sqlx::Error> {
        let row = sqlx::query(
            "SELECT t.customer_id, t.client_id, t.scope, t.scope_data, t.expires_at_ms \
             FROM oauth_tokens t JOIN customers c ON c.id = t.customer_id \
             WHERE t.token_hash = $1 AND t.kind = 'access' AND t.revoked_at_ms IS NULL \
               AND t.expires_at_ms > $2 AND c.disabled_at_ms IS NULL",
        )
        .bind(crypto::digest(access_token))
        .bind(to_ms(now))
        .fetch_optional(self.pool())
        .await?;
        row.map(|row| {
            Ok(TokenGrant {
                customer_id: row.try_get("customer_id")?,
                client_id: row.try_get("client_id")?,
                scope: row.try_get("scope")?,
                scope_data: row.try_get("scope_data")?,
                expires_at: row
                    .try_get::<Option<i64>, _>("expires_at_ms")?
                    .map(crate::store::from_ms),
            })
        })
        .transpose()
    }
}
