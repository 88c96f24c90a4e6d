//! The error every command returns: a stable code for the UI to act on, words for people.

use refill_wire::ErrorCode;
use serde::{Deserialize, Serialize};
use std::fmt;
use ts_rs::TS;

/// A command's error, as the UI receives it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct AppError {
    /// What went wrong, for the UI's logic.
    pub code: ErrorCode,
    /// What went wrong, in words for the person using the app.
    pub message: String,
}

impl AppError {
    /// An error with `code` and `message`.
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
        }
    }
}

impl fmt::Display for AppError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for AppError {}
