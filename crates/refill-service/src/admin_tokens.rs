//! `refill-service admin-tokens …`: the tokens of the admin API (`/admin/v1/…`), which does
//! what the operator's commands do, for the operator's own scripts and tools.
//!
//! * `admin-tokens create NAME`: a new token, shown once (only its digest is kept). The name
//!   says whose or what it is ("backup-script").
//! * `admin-tokens list`: every token's name, when it was made and last used, and whether it
//!   was revoked; never the tokens.
//! * `admin-tokens revoke NAME`: the token stops working at once.
//!
//! Only the command line makes admin tokens: no token of the API, a customer's, a device's or
//! an admin's, can make one. Admin tokens start with [`PREFIX`], so that a token pasted in the
//! wrong place is recognised.

use crate::auth::crypto;
use crate::operator::{Answer, Done, Refusal};
use crate::store::{from_ms, to_ms};
use crate::Store;
use refill_core::Sensitive;
use serde::Serialize;
use sqlx::Row;
use time::OffsetDateTime;

/// How every admin token starts.
pub const PREFIX: &str = "refill-admin-";

/// What `admin-tokens` does.
#[derive(Debug, Clone, PartialEq)]
pub enum Command {
    /// A new token named so.
    Create(String),
    /// Every token, without the tokens.
    List,
    /// Stops the token named so working.
    Revoke(String),
}

/// A token as the operator sees it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AdminToken {
    /// Its name.
    pub name: String,
    /// When it was made.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// When it was last used.
    #[serde(with = "time::serde::rfc3339::option")]
    pub last_used_at: Option<OffsetDateTime>,
    /// When it was revoked, if it was.
    #[serde(with = "time::serde::rfc3339::option")]
    pub revoked_at: Option<OffsetDateTime>,
}

/// A token's name as the operator may give it: 1 to 64 letters, digits, '.', '_' and '-'.
pub fn token_name(name: &str) -> Result<String, String> {
    crate::operator::identifier("token name", name)
}

impl Store {
    /// Makes a token named `name`; `None` when the name is taken.
    pub async fn create_admin_token(
        &self,
        name: &str,
        now: OffsetDateTime,
    ) -> Result<Option<Sensitive<String>>, sqlx::Error> {
        let token = Sensitive::new(format!("{PREFIX}{}", crypto::new_client_secret().expose()));
        let mut tx = self.write().await?;
        let made = sqlx::query(
            "INSERT INTO admin_tokens (name, token_hash, created_at_ms) VALUES ($1, $2, $3) \
             ON CONFLICT (name) DO NOTHING",
        )
        .bind(name)
        .bind(crypto::digest(token.expose()))
        .bind(to_ms(now))
        .execute(&mut *tx)
        .await?
        .rows_affected();
        tx.commit().await?;
        Ok((made > 0).then_some(token))
    }

    /// Every admin token, by name.
    pub async fn admin_tokens(&self) -> Result<Vec<AdminToken>, sqlx::Error> {
        let rows = sqlx::query(
            "SELECT name, created_at_ms, last_used_ms, revoked_at_ms FROM admin_tokens \
             ORDER BY name",
        )
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|row| {
                Ok(AdminToken {
                    name: row.try_get("name")?,
                    created_at: from_ms(row.try_get("created_at_ms")?),
                    last_used_at: row.try_get::<Option<i64>, _>("last_used_ms")?.map(from_ms),
                    revoked_at: row.try_get::<Option<i64>, _>("revoked_at_ms")?.map(from_ms),
                })
            })
            .collect()
    }

    /// Revokes the token named `name`; whether there is one not revoked already.
    pub async fn revoke_admin_token(
        &self,
        name: &str,
        now: OffsetDateTime,
    ) -> Result<bool, sqlx::Error> {
        let mut tx = self.write().await?;
        let changed = sqlx::query(
            "UPDATE admin_tokens SET revoked_at_ms = $1 WHERE name = $2 AND revoked_at_ms IS NULL",
        )
        .bind(to_ms(now))
        .bind(name)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        tx.commit().await?;
        Ok(changed > 0)
    }

    /// The name of the unrevoked admin token `token`, noting its use at `now`.
    pub async fn admin_token_in_use(
        &self,
        token: &str,
        now: OffsetDateTime,
    ) -> Result<Option<String>, sqlx::Error> {
        if !token.starts_with(PREFIX) {
            return Ok(None);
        }
        let mut tx = self.write().await?;
        let name: Option<String> = sqlx::query_scalar(
            "UPDATE admin_tokens SET last_used_ms = $1 \
             WHERE token_hash = $2 AND revoked_at_ms IS NULL RETURNING name",
        )
        .bind(to_ms(now))
        .bind(crypto::digest(token))
        .fetch_optional(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(name)
    }
}

/// Runs `command` on `store` at `now`.
pub async fn run(store: &Store, command: Command, now: OffsetDateTime) -> Answer {
    match command {
        Command::Create(name) => {
            let name = token_name(&name).map_err(Refusal::invalid)?;
            let Some(token) = store.create_admin_token(&name, now).await? else {
                return Err(Refusal::conflict(format!(
                    "there is already an admin token named {name}: choose another name"
                )));
            };
            #[derive(Serialize)]
            struct Created<'a> {
                name: &'a str,
                token: &'a str,
            }
            Ok(Done::new(
                format!(
                    "Made the admin token {name}, shown only now: {}\n\
                     Send it as 'Authorization: Bearer <token>' to /admin/v1/…; revoke it with \
                     `admin-tokens revoke {name}`.\n",
                    token.expose()
                ),
                &Created {
                    name: &name,
                    token: token.expose(),
                },
            )
            .created())
        }
        Command::List => {
            let tokens = store.admin_tokens().await?;
            let format = time::format_description::well_known::Rfc3339;
            let when = |t: OffsetDateTime| t.format(&format).unwrap_or_default();
            let text = if tokens.is_empty() {
                "No admin tokens yet: make one with `admin-tokens create NAME`.\n".to_owned()
            } else {
                tokens
                    .iter()
                    .map(|t| {
                        let used = t.last_used_at.map_or("never used".to_owned(), |at| {
                            format!("last used {}", when(at))
                        });
                        let state = t
                            .revoked_at
                            .map_or("active".to_owned(), |at| format!("revoked {}", when(at)));
                        format!("{}\tmade {}\t{used}\t{state}\n", t.name, when(t.created_at))
                    })
                    .collect()
            };
            Ok(Done::new(text, &serde_json::json!({ "tokens": tokens })))
        }
        Command::Revoke(name) => {
            if !store.revoke_admin_token(&name, now).await? {
                return Err(Refusal::not_found(format!(
                    "there is no admin token named {name} that works (see `admin-tokens list`)"
                )));
            }
            Ok(Done::new(
                format!("Revoked the admin token {name}: it no longer works.\n"),
                &serde_json::json!({ "name": name, "revoked": true }),
            ))
        }
    }
}
