//! `refill-service customers …`: the operator looks after the people who use the service.
//!
//! * `customers invite EMAIL [--days N]`: a one-time code with which that person creates an
//!   account on the sign-in page ("Invited? Create your account"); a service that is not a
//!   sandbox takes new accounts only so.
//! * `customers list`: everyone with an account (deleted accounts left out), whether it is
//!   disabled, and how many devices each has linked.
//! * `customers disable EMAIL` / `enable EMAIL`: a disabled customer cannot sign in (told so
//!   after the right password only, so that the page never says whether an email has an
//!   account), and their tokens, their devices' tokens included, are refused until enabled
//!   again; their items without a device are not reordered. Nothing of theirs is deleted.
//! * `customers delete EMAIL --yes`: deletes the account as its owner can from the app (devices
//!   deregistered, open orders cancelled, personal data removed).

use crate::operator::{Answer, Done, Refusal};
use crate::Store;
use serde::Serialize;
use sqlx::Row;
use time::OffsetDateTime;

/// What `customers` does.
#[derive(Debug, Clone, PartialEq)]
pub enum Command {
    /// Everyone with an account.
    List,
    /// A one-time code with which `email` creates an account, valid for `days`.
    Invite {
        /// Whom.
        email: String,
        /// How many days it stays valid.
        days: u32,
    },
    /// Stops an account working, keeping everything of it.
    Disable(String),
    /// Lets a disabled account work again.
    Enable(String),
    /// Deletes an account: only with `yes`.
    Delete {
        /// The account's email.
        email: String,
        /// The operator confirmed it.
        yes: bool,
    },
}

/// A customer as the operator sees them.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CustomerSummary {
    /// The customer's id.
    pub id: i64,
    /// Their name.
    pub name: String,
    /// Their email.
    pub email: String,
    /// When the operator disabled the account, if it is.
    #[serde(with = "time::serde::rfc3339::option")]
    pub disabled_at: Option<OffsetDateTime>,
    /// Devices linked now (their "At home" list not counted).
    pub devices: i64,
}

impl Store {
    /// Everyone with an account, by email; deleted accounts left out.
    pub async fn customer_summaries(&self) -> Result<Vec<CustomerSummary>, sqlx::Error> {
        let rows = sqlx::query(
            "SELECT c.id, c.name, c.email, c.disabled_at_ms, \
                    (SELECT COUNT(*) FROM devices d JOIN device_models m \
                       ON m.model_id = d.model_id \
                     WHERE d.customer_id = c.id AND d.deregistered_at_ms IS NULL \
                       AND m.home_of IS NULL) AS devices \
             FROM customers c WHERE c.email NOT LIKE '%@deleted.invalid' ORDER BY c.email",
        )
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|row| {
                Ok(CustomerSummary {
                    id: row.try_get("id")?,
                    name: row.try_get("name")?,
                    email: row.try_get("email")?,
                    disabled_at: row
                        .try_get::<Option<i64>, _>("disabled_at_ms")?
                        .map(crate::store::from_ms),
                    devices: row.try_get("devices")?,
                })
            })
            .collect()
    }

    /// Disables (`Some(now)`) or enables (`None`) the account with `email`; whether there is
    /// one.
    pub async fn set_customer_disabled(
        &self,
        email: &str,
        disabled: Option<OffsetDateTime>,
    ) -> Result<bool, sqlx::Error> {
        let mut tx = self.write().await?;
        let changed = sqlx::query("UPDATE customers SET disabled_at_ms = $1 WHERE email = $2")
            .bind(disabled.map(crate::store::to_ms))
            .bind(email.trim().to_lowercase())
            .execute(&mut *tx)
            .await?
            .rows_affected();
        tx.commit().await?;
        Ok(changed > 0)
    }

    /// The id of the account with `email`.
    pub async fn customer_id_by_email(&self, email: &str) -> Result<Option<i64>, sqlx::Error> {
        sqlx::query_scalar("SELECT id FROM customers WHERE email = $1")
            .bind(email.trim().to_lowercase())
            .fetch_optional(self.pool())
            .await
    }
}

/// Runs `command` on `store` at `now`.
pub async fn run(store: &Store, command: Command, now: OffsetDateTime) -> Answer {
    let unknown =
        |email: &str| Refusal::not_found(format!("there is no customer with the email {email}"));
    match command {
        Command::Invite { email, days } => {
            let email = email.trim().to_lowercase();
            let valid_email = email.len() <= 254
                && email
                    .split_once('@')
                    .is_some_and(|(user, host)| !user.is_empty() && host.contains('.'));
            if !valid_email {
                return Err(Refusal::invalid(format!(
                    "'{email}' is not an email address"
                )));
            }
            if !(1..=90).contains(&days) {
                return Err(Refusal::invalid("an invitation is valid for 1 to 90 days"));
            }
            if store.customer_id_by_email(&email).await?.is_some() {
                return Err(Refusal::conflict(format!("{email} has an account already")));
            }
            let valid_for = time::Duration::days(i64::from(days));
            let code = store.invite(&email, now, valid_for).await?;
            let text = format!(
                "Invited {email}. Their invitation code, shown only now: {}\n\
                 It is valid for {days} days, once. In the Refill app they sign in to this \
                 service and choose \"Invited? Create your account\" with this email and code.\n",
                code.expose()
            );
            let invitation = Invitation {
                email,
                code: code.expose().clone(),
                expires_at: now + valid_for,
            };
            Ok(Done::new(text, &invitation).created())
        }
        Command::List => {
            let customers = store.customer_summaries().await?;
            if customers.is_empty() {
                return Ok(Done::new(
                    "No customers yet: invite someone with `customers invite EMAIL`.\n".to_owned(),
                    &serde_json::json!({ "customers": customers }),
                ));
            }
            let format = time::format_description::well_known::Rfc3339;
            let text = customers
                .iter()
                .map(|c| {
                    let state = match c.disabled_at {
                        Some(at) => {
                            format!("disabled since {}", at.format(&format).unwrap_or_default())
                        }
                        None => "active".to_owned(),
                    };
                    let devices = match c.devices {
                        1 => "1 device".to_owned(),
                        n => format!("{n} devices"),
                    };
                    format!("{}\t{}\t{state}\t{devices}\n", c.email, c.name)
                })
                .collect();
            Ok(Done::new(
                text,
                &serde_json::json!({ "customers": customers }),
            ))
        }
        Command::Disable(email) => {
            if !store.set_customer_disabled(&email, Some(now)).await? {
                return Err(unknown(&email));
            }
            Ok(Done::new(
                format!(
                    "Disabled {email}: they cannot sign in, and their app and devices are refused \
                     until `customers enable {email}`. Nothing of theirs was deleted.\n"
                ),
                &Changed {
                    email: email.trim().to_lowercase(),
                    disabled: true,
                },
            ))
        }
        Command::Enable(email) => {
            if !store.set_customer_disabled(&email, None).await? {
                return Err(unknown(&email));
            }
            Ok(Done::new(
                format!(
                    "Enabled {email}: they can sign in, and their app and devices work again.\n"
                ),
                &Changed {
                    email: email.trim().to_lowercase(),
                    disabled: false,
                },
            ))
        }
        Command::Delete { email, yes } => {
            let Some(id) = store.customer_id_by_email(&email).await? else {
                return Err(unknown(&email));
            };
            if !yes {
                return Err(Refusal::invalid(format!(
                    "deleting {email} deregisters their devices, cancels their open orders and \
                     removes everything kept about them, for good: add --yes to do it"
                )));
            }
            store.delete_customer(id, now).await?;
            Ok(Done::new(
                format!(
                    "Deleted the account of {email}: its devices deregistered, open orders \
                     cancelled, its data removed.\n"
                ),
                &Deleted {
                    email: email.trim().to_lowercase(),
                    deleted: true,
                },
            ))
        }
    }
}

/// A new invitation, as the admin API answers it.
#[derive(Serialize)]
struct Invitation {
    email: String,
    code: String,
    #[serde(with = "time::serde::rfc3339")]
    expires_at: OffsetDateTime,
}

/// An account disabled or enabled.
#[derive(Serialize)]
struct Changed {
    email: String,
    disabled: bool,
}

/// An account deleted.
#[derive(Serialize)]
struct Deleted {
    email: String,
    deleted: bool,
}
