//! `refill-service clients …`: the operator registers the OAuth clients of device makers (their
//! apps and servers), which then link devices through the sign-in pages and manage their
//! webhooks with `client_id:secret`.
//!
//! * `clients add ID --name NAME --redirect-uri URI… [--public]`: a confidential client gets a
//!   new secret, shown once (only its hash is stored); a public one (an app on a phone) none.
//! * `clients list`: the registered clients, without secrets.
//! * `clients new-secret ID`: replaces a confidential client's secret (the old one stops
//!   working at once), for a secret that leaked.

use crate::auth::{crypto, ClientKind, ClientRegistration};
use crate::Store;

/// A client to register (`clients add`).
#[derive(Debug, Clone, PartialEq)]
pub struct NewClient {
    /// Its id, as [`client_id`] accepts it.
    pub id: String,
    /// The maker's name, shown on the consent page.
    pub name: String,
    /// Where sign-ins return to, as [`redirect_uri`] accepts them.
    pub redirect_uris: Vec<String>,
    /// An app on a phone (no secret, PKCE), rather than a maker's server.
    pub public: bool,
}

/// What `clients` does.
#[derive(Debug, Clone, PartialEq)]
pub enum Command {
    /// Registers a client; a confidential one gets a secret, shown once.
    Add(NewClient),
    /// The registered clients, without secrets.
    List,
    /// Replaces a confidential client's secret.
    NewSecret(String),
}

/// A client id as an operator may give it: up to 64 letters, digits, '.', '_' and '-'.
pub fn client_id(id: &str) -> Result<String, String> {
    if id.is_empty()
        || id.len() > 64
        || !id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "._-".contains(c))
    {
        return Err(format!(
            "'{id}' is not a client id: use up to 64 letters, digits, '.', '_' and '-'"
        ));
    }
    Ok(id.to_owned())
}

/// A redirect address: https:// (or http://), without spaces or a #fragment.
pub fn redirect_uri(uri: &str) -> Result<String, String> {
    let ok = (uri.starts_with("https://") || uri.starts_with("http://"))
        && !uri.contains(char::is_whitespace)
        && !uri.contains('#');
    if !ok {
        return Err(format!(
            "'{uri}' is not a redirect address: give an https:// (or http://) address without a \
             #fragment"
        ));
    }
    Ok(uri.to_owned())
}

/// Runs `command` on `store`; what to print, or why not, in words.
pub async fn run(store: &Store, command: Command) -> Result<String, String> {
    let failed = |e: sqlx::Error| format!("the database could not be read or written: {e}");
    match command {
        Command::Add(new) => {
            if new.name.trim().is_empty() {
                return Err(
                    "the client needs a name, the maker's name people see on the \
                            consent page"
                        .to_owned(),
                );
            }
            if store.client(&new.id).await.map_err(failed)?.is_some() {
                return Err(format!(
                    "there is already a client {}: choose another id (or give it a new secret \
                     with `clients new-secret {}`)",
                    new.id, new.id
                ));
            }
            let secret = (!new.public).then(crypto::new_client_secret);
            store
                .register_client(&ClientRegistration {
                    client_id: new.id.clone(),
                    name: new.name.trim().to_owned(),
                    kind: if new.public {
                        ClientKind::Public
                    } else {
                        ClientKind::Confidential
                    },
                    secret: secret.clone(),
                    redirect_uris: new.redirect_uris,
                })
                .await
                .map_err(failed)?;
            Ok(match secret {
                Some(secret) => format!(
                    "Added the confidential client {} ({}).\n\
                     Its secret, shown only now: {}\n\
                     It signs in with HTTP Basic {}:<secret>.\n",
                    new.id,
                    new.name,
                    secret.expose(),
                    new.id
                ),
                None => format!(
                    "Added the public client {} ({}): no secret, PKCE required.\n",
                    new.id, new.name
                ),
            })
        }
        Command::List => {
            let clients = store.clients().await.map_err(failed)?;
            if clients.is_empty() {
                return Ok("No clients yet: add one with `clients add`.\n".to_owned());
            }
            Ok(clients
                .iter()
                .map(|c| {
                    let kind = match c.kind {
                        ClientKind::Public => "public",
                        ClientKind::Confidential => "confidential",
                    };
                    format!(
                        "{}\t{}\t{kind}\t{}\n",
                        c.client_id,
                        c.name,
                        c.redirect_uris.join(" ")
                    )
                })
                .collect())
        }
        Command::NewSecret(id) => {
            let Some(client) = store.client(&id).await.map_err(failed)? else {
                return Err(format!("there is no client {id}"));
            };
            if client.kind == ClientKind::Public {
                return Err(format!("{id} is a public client: it has no secret"));
            }
            let secret = crypto::new_client_secret();
            store
                .register_client(&ClientRegistration {
                    client_id: client.client_id,
                    name: client.name,
                    kind: ClientKind::Confidential,
                    secret: Some(secret.clone()),
                    redirect_uris: client.redirect_uris,
                })
                .await
                .map_err(failed)?;
            Ok(format!(
                "{id} has a new secret, shown only now: {}\nThe old one no longer works.\n",
                secret.expose()
            ))
        }
    }
}
