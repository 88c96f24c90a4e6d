//! Sign-in errors, in words for people, with a stable code for programs.

/// Why signing in, refreshing or signing out failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    /// The provider's description is unusable.
    #[error("The sign-in settings are wrong: {0}.")]
    Config(String),
    /// The customer refused, or the provider refused the request (`error` redirect).
    #[error("Sign-in was not completed: {description}")]
    Refused {
        /// The OAuth error code (`access_denied`, `invalid_scope`, …).
        error: String,
        /// The provider's words.
        description: String,
    },
    /// The browser came back with a `state` this sign-in did not send: possibly forged.
    #[error("Sign-in was stopped because the answer did not belong to this sign-in (its state did not match). Nothing was saved; please try again.")]
    StateMismatch,
    /// Nobody came back in time.
    #[error("Sign-in timed out after {} without an answer from the browser. Nothing was saved; please try again.", minutes_text(*minutes))]
    TimedOut {
        /// How long it waited.
        minutes: u64,
    },
    /// The user cancelled.
    #[error("Sign-in was cancelled. Nothing was saved.")]
    Cancelled,
    /// The provider rejected the code or the refresh token.
    #[error("The sign-in service refused the sign-in: {description}")]
    Rejected {
        /// The OAuth error code.
        error: String,
        /// The provider's words.
        description: String,
    },
    /// The provider could not be reached or answered nonsense.
    #[error("Can't reach the sign-in service at {url}: {detail}")]
    Unreachable {
        /// Where.
        url: String,
        /// What happened.
        detail: String,
    },
    /// Not signed in.
    #[error("You are not signed in.")]
    SignedOut,
    /// Signed in before, but the provider no longer accepts it (revoked or expired).
    #[error("You were signed out because the sign-in service no longer accepts your sign-in (it may have been revoked). Please sign in again.")]
    SessionEnded,
    /// Signed in before, but the sign-in does not cover what the app now does (granted before a
    /// scope the service requires existed): forgotten, to be made again.
    #[error("Please sign in again: your sign-in is from an earlier version of Refill and does not cover your orders and devices.")]
    Outdated,
    /// The OS keyring failed.
    #[error("The system keyring could not be used: {0}")]
    Keyring(String),
    /// The OS keyring can't store anything, so a sign-in would be lost: found before the
    /// sign-in starts.
    #[error("Refill keeps your sign-in in the system keyring, and it can't store anything there ({0}). If your keyring has no default collection, open Passwords and Keys, create one (or unlock it), then sign in again.")]
    KeyringUnusable(String),
}

/// An error with its causes: "error sending request: connection refused".
pub(crate) fn causes(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}

fn minutes_text(minutes: u64) -> String {
    if minutes == 1 {
        "1 minute".to_owned()
    } else {
        format!("{minutes} minutes")
    }
}

impl AuthError {
    /// A stable code for programs.
    pub fn code(&self) -> &'static str {
        match self {
            AuthError::Config(_) => "auth_config",
            AuthError::Refused { .. } => "auth_refused",
            AuthError::StateMismatch => "auth_state_mismatch",
            AuthError::TimedOut { .. } => "auth_timed_out",
            AuthError::Cancelled => "auth_cancelled",
            AuthError::Rejected { .. } => "auth_rejected",
            AuthError::Unreachable { .. } => "auth_unreachable",
            AuthError::SignedOut => "signed_out",
            AuthError::SessionEnded => "session_ended",
            AuthError::Outdated => "sign_in_outdated",
            AuthError::Keyring(_) => "keyring",
            AuthError::KeyringUnusable(_) => "keyring_unusable",
        }
    }
}
