//! Where tokens are kept: the OS keyring, or memory in tests.

use crate::AuthError;
use refill_core::Sensitive;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};
use time::OffsetDateTime;

/// The tokens of one signed-in provider.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tokens {
    /// The access token.
    pub access_token: Sensitive<String>,
    /// The refresh token, if the provider gave one.
    pub refresh_token: Option<Sensitive<String>>,
    /// When the access token expires, if the provider said.
    pub expires_at: Option<OffsetDateTime>,
}

/// The stored form: only ever written to the keyring.
#[derive(Serialize, Deserialize)]
struct Stored {
    access_token: String,
    refresh_token: Option<String>,
    expires_at: Option<i64>,
}

impl Tokens {
    /// Whether the access token expires within `margin` of `now`.
    pub fn expires_within(&self, now: OffsetDateTime, margin: time::Duration) -> bool {
        self.expires_at.is_some_and(|at| at - margin <= now)
    }

    fn to_stored(&self) -> Result<String, AuthError> {
        serde_json::to_string(&Stored {
            access_token: self.access_token.expose().clone(),
            refresh_token: self.refresh_token.as_ref().map(|r| r.expose().clone()),
            expires_at: self.expires_at.map(OffsetDateTime::unix_timestamp),
        })
        .map_err(|e| AuthError::Keyring(e.to_string()))
    }

    fn from_stored(text: &str) -> Option<Self> {
        let stored: Stored = serde_json::from_str(text).ok()?;
        Some(Tokens {
            access_token: Sensitive::new(stored.access_token),
            refresh_token: stored.refresh_token.map(Sensitive::new),
            expires_at: stored
                .expires_at
                .and_then(|t| OffsetDateTime::from_unix_timestamp(t).ok()),
        })
    }
}

/// Somewhere tokens are kept, one entry per provider key. Calls may block (a keyring is a
/// D-Bus round trip): async callers run them off the runtime's threads.
pub trait TokenStore: Send + Sync + 'static {
    /// The tokens for `key`, if any.
    fn load(&self, key: &str) -> Result<Option<Tokens>, AuthError>;
    /// Keeps `tokens` for `key`.
    fn save(&self, key: &str, tokens: &Tokens) -> Result<(), AuthError>;
    /// Forgets the tokens for `key`.
    fn delete(&self, key: &str) -> Result<(), AuthError>;
    /// Checks that tokens can be stored at all (a sign-in that could not be kept would be
    /// lost after the browser said "Signed in"). Stores that can't fail need not check.
    fn probe(&self) -> Result<(), AuthError> {
        Ok(())
    }
}

/// Tokens in the OS keyring (Secret Service on Linux), in entries named by build kind and
/// provider: a debug build never reads or overwrites a release build's tokens.
#[derive(Debug, Clone)]
pub struct KeyringStore {
    service: String,
}

impl Default for KeyringStore {
    fn default() -> Self {
        let service = if cfg!(debug_assertions) {
            "dev.refill.app.debug"
        } else {
            "dev.refill.app"
        };
        Self::with_service(service)
    }
}

impl KeyringStore {
    /// Entries under the keyring service name `service`.
    pub fn with_service(service: &str) -> Self {
        Self {
            service: service.to_owned(),
        }
    }

    /// The keyring service name entries are kept under.
    pub fn service(&self) -> &str {
        &self.service
    }

    /// Makes the OS keyring the default credential store, connecting to it once (later calls
    /// return the first call's result). A store that is used before any default store is set
    /// calls this itself, so an app need not connect (which may start the keyring daemon) before
    /// its window shows.
    pub fn use_os_keyring() -> Result<(), AuthError> {
        static CONNECTED: std::sync::OnceLock<Result<(), String>> = std::sync::OnceLock::new();
        CONNECTED
            .get_or_init(|| {
                #[cfg(target_os = "linux")]
                {
                    let store = dbus_secret_service_keyring_store::Store::new()
                        .map_err(|e| e.to_string())?;
                    keyring_core::set_default_store(store);
                    Ok(())
                }
                #[cfg(not(target_os = "linux"))]
                {
                    Err("this platform's keyring is not supported yet".to_owned())
                }
            })
            .clone()
            .map_err(AuthError::Keyring)
    }

    fn entry(&self, key: &str) -> Result<keyring_core::Entry, AuthError> {
        keyring_entry(&self.service, key)
    }
}

/// The keyring entry `user` of `service`, connecting to the OS keyring on first use.
fn keyring_entry(service: &str, user: &str) -> Result<keyring_core::Entry, AuthError> {
    if keyring_core::get_default_store().is_none() {
        KeyringStore::use_os_keyring()?;
    }
    keyring_core::Entry::new(service, user).map_err(|e| AuthError::Keyring(e.to_string()))
}

/// Wi-Fi passwords the person chose to remember for setting up their next device, in the OS
/// keyring: one entry per network name, under the app's service name with `.wifi` appended.
#[derive(Debug, Clone)]
pub struct WifiPasswords {
    service: String,
}

impl Default for WifiPasswords {
    fn default() -> Self {
        Self::with_service(&format!("{}.wifi", KeyringStore::default().service()))
    }
}

impl WifiPasswords {
    /// Entries under the keyring service name `service`.
    pub fn with_service(service: &str) -> Self {
        Self {
            service: service.to_owned(),
        }
    }

    /// Remembers `password` for the network `ssid`.
    pub fn remember(&self, ssid: &str, password: &Sensitive<String>) -> Result<(), AuthError> {
        keyring_entry(&self.service, ssid)?
            .set_password(password.expose())
            .map_err(|e| AuthError::Keyring(e.to_string()))
    }

    /// The password remembered for `ssid`, if any.
    pub fn recall(&self, ssid: &str) -> Result<Option<Sensitive<String>>, AuthError> {
        match keyring_entry(&self.service, ssid)?.get_password() {
            Ok(password) => Ok(Some(Sensitive::new(password))),
            Err(keyring_core::Error::NoEntry) => Ok(None),
            Err(e) => Err(AuthError::Keyring(e.to_string())),
        }
    }

    /// Forgets the password of `ssid`.
    pub fn forget(&self, ssid: &str) -> Result<(), AuthError> {
        match keyring_entry(&self.service, ssid)?.delete_credential() {
            Ok(()) | Err(keyring_core::Error::NoEntry) => Ok(()),
            Err(e) => Err(AuthError::Keyring(e.to_string())),
        }
    }
}

/// The entry [`KeyringStore`] writes and deletes to check that the keyring can store secrets.
const PROBE: &str = "refill-keyring-check";

impl TokenStore for KeyringStore {
    fn probe(&self) -> Result<(), AuthError> {
        let unusable = |e: keyring_core::Error| AuthError::KeyringUnusable(e.to_string());
        let entry = self.entry(PROBE).map_err(|e| match e {
            AuthError::Keyring(detail) => AuthError::KeyringUnusable(detail),
            other => other,
        })?;
        entry.set_password("probe").map_err(unusable)?;
        match entry.delete_credential() {
            Ok(()) | Err(keyring_core::Error::NoEntry) => Ok(()),
            Err(e) => Err(unusable(e)),
        }
    }

    fn load(&self, key: &str) -> Result<Option<Tokens>, AuthError> {
        match self.entry(key)?.get_password() {
            Ok(text) => Ok(Tokens::from_stored(&text)),
            Err(keyring_core::Error::NoEntry) => Ok(None),
            Err(e) => Err(AuthError::Keyring(e.to_string())),
        }
    }

    fn save(&self, key: &str, tokens: &Tokens) -> Result<(), AuthError> {
        self.entry(key)?
            .set_password(&tokens.to_stored()?)
            .map_err(|e| AuthError::Keyring(e.to_string()))
    }

    fn delete(&self, key: &str) -> Result<(), AuthError> {
        match self.entry(key)?.delete_credential() {
            Ok(()) | Err(keyring_core::Error::NoEntry) => Ok(()),
            Err(e) => Err(AuthError::Keyring(e.to_string())),
        }
    }
}

/// Tokens in memory, for tests.
#[derive(Debug, Default)]
pub struct MemoryStore {
    entries: Mutex<HashMap<String, String>>,
}

impl TokenStore for MemoryStore {
    fn load(&self, key: &str) -> Result<Option<Tokens>, AuthError> {
        let entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        Ok(entries.get(key).and_then(|t| Tokens::from_stored(t)))
    }

    fn save(&self, key: &str, tokens: &Tokens) -> Result<(), AuthError> {
        let text = tokens.to_stored()?;
        self.entries
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(key.to_owned(), text);
        Ok(())
    }

    fn delete(&self, key: &str) -> Result<(), AuthError> {
        self.entries
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(key);
        Ok(())
    }
}
