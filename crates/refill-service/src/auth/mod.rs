//! Who is who: the scopes this service grants, secrets and password hashing ([`crypto`]), and the
//! guards that keep sign-in from being flooded or guessed ([`guard`]).
//!
//! Nothing here speaks HTTP: the authorization server's routes are in [`crate::http::lwa`], and
//! accounts, clients and grants are stored by [`crate::store::accounts`].

pub mod crypto;
pub mod guard;

use refill_core::Sensitive;

/// Whether a client can keep a secret.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientKind {
    /// An app on the user's device: no secret, PKCE required.
    Public,
    /// A server: authenticates with its secret.
    Confidential,
}

/// A client to register.
#[derive(Debug, Clone)]
pub struct ClientRegistration {
    /// Its id.
    pub client_id: String,
    /// Its name.
    pub name: String,
    /// Public or confidential.
    pub kind: ClientKind,
    /// Its secret (confidential clients only).
    pub secret: Option<Sensitive<String>>,
    /// Allowed redirect URIs. `http://127.0.0.1/path` allows any port (RFC 8252 §7.3).
    pub redirect_uris: Vec<String>,
}

/// The scope of a customer's own session: the app's and the CLI's tokens.
pub const CUSTOMER_SCOPE: &str = "refill:customer";

/// The scope of a device's token: the DRS and sensor APIs.
pub const DEVICE_SCOPE: &str = "dash:replenish";

/// The scope of a screened device's token: showing the customer's buttons and pressing them
/// (the button API under `/v1/screen`), nothing else.
pub const BUTTONS_SCOPE: &str = "refill:buttons";

/// The scopes this server grants.
pub const SCOPES: &[&str] = &[
    "profile",
    "profile:user_id",
    DEVICE_SCOPE,
    CUSTOMER_SCOPE,
    BUTTONS_SCOPE,
];

/// The sandbox's app: a public client that returns to a loopback port or the `refill://` scheme.
pub const SANDBOX_CLIENT_ID: &str = "refill-app";

/// The sandbox app's registration.
pub fn sandbox_client() -> ClientRegistration {
    ClientRegistration {
        client_id: SANDBOX_CLIENT_ID.to_owned(),
        name: "Refill".to_owned(),
        kind: ClientKind::Public,
        secret: None,
        redirect_uris: vec![
            "http://127.0.0.1/callback".to_owned(),
            "refill://auth".to_owned(),
        ],
    }
}

/// The stable public id of a customer.
pub fn user_id(customer_id: i64) -> String {
    format!("refill.account.{customer_id}")
}

/// The digest a token is stored under.
pub fn token_digest(token: &str) -> String {
    crypto::digest(token)
}
