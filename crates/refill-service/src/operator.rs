//! What the operator's commands (`clients`, `customers`, `catalog`, `models`, `admin-tokens`)
//! share: each operation runs once, here, and answers both ways — in words for the command
//! line, and as JSON for the admin API (`/admin/v1/…`, [`crate::http`]'s `admin` routes).

use serde::Serialize;

/// A finished operation: what the command line prints, and what the admin API answers.
#[derive(Debug, Clone, PartialEq)]
pub struct Done {
    /// The words for the operator, ending in a newline.
    pub text: String,
    /// The same as data.
    pub data: serde_json::Value,
    /// Whether it made something new (the API answers `201 Created`).
    pub created: bool,
}

impl Done {
    /// `text`, with `data` as the API's answer.
    pub fn new(text: String, data: &impl Serialize) -> Self {
        Done {
            text,
            // Plain data always serialises; `null` would only hide a bug in a test.
            data: serde_json::to_value(data).unwrap_or_default(),
            created: false,
        }
    }

    /// Marks it as having made something new.
    pub fn created(self) -> Self {
        Done {
            created: true,
            ..self
        }
    }
}

/// What kind of refusal it is (the API's status follows it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refused {
    /// What was given is wrong (`400`).
    Invalid,
    /// What it names does not exist (`404`).
    NotFound,
    /// It clashes with what exists (`409`).
    Conflict,
    /// The database failed (`500`, logged).
    Database,
}

/// Why an operation was refused, in words.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct Refusal {
    /// What kind of refusal.
    pub kind: Refused,
    /// What to change, in words.
    pub message: String,
}

impl Refusal {
    /// What was given is wrong.
    pub fn invalid(message: impl Into<String>) -> Self {
        Refusal {
            kind: Refused::Invalid,
            message: message.into(),
        }
    }

    /// What it names does not exist.
    pub fn not_found(message: impl Into<String>) -> Self {
        Refusal {
            kind: Refused::NotFound,
            message: message.into(),
        }
    }

    /// It clashes with what exists.
    pub fn conflict(message: impl Into<String>) -> Self {
        Refusal {
            kind: Refused::Conflict,
            message: message.into(),
        }
    }

    /// The database failed.
    pub fn database(e: &sqlx::Error) -> Self {
        Refusal {
            kind: Refused::Database,
            message: format!("the database could not be read or written: {e}"),
        }
    }
}

impl From<sqlx::Error> for Refusal {
    fn from(e: sqlx::Error) -> Self {
        Refusal::database(&e)
    }
}

/// A name the operator gives (a client id, an admin token's name): 1 to 64 letters, digits,
/// '.', '_' and '-'; `what` names it in the words.
pub fn identifier(what: &str, text: &str) -> Result<String, String> {
    if text.is_empty()
        || text.len() > 64
        || !text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "._-".contains(c))
    {
        return Err(format!(
            "'{text}' is not a {what}: use 1 to 64 letters, digits, '.', '_' and '-'"
        ));
    }
    Ok(text.to_owned())
}

/// The answer of an operation.
pub type Answer = Result<Done, Refusal>;
