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
use crate::operator::{Answer, Done, Refusal};
use crate::Store;
use serde::Serialize;

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

/// A client id as an operator may give it: 1 to 64 letters, digits, '.', '_' and '-'.
pub fn client_id(id: &str) -> Result<String, String> {
    crate::operator::identifier("client id", id)
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

/// A client as the operator sees it (never its secret, except once when it is made).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ClientView {
    /// Its id.
    pub client_id: String,
    /// The maker's name.
    pub name: String,
    /// `public` (an app on a phone) or `confidential` (a maker's server).
    pub kind: &'static str,
    /// Where its sign-ins return to.
    pub redirect_uris: Vec<String>,
    /// Its new secret, shown only once.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
}

fn kind_name(kind: ClientKind) -> &'static str {
    match kind {
        ClientKind::Public => "public",
        ClientKind::Confidential => "confidential",
    }
}

/// Runs `command` on `store`.
pub async fn run(store: &Store, command: Command) -> Answer {
    match command {
        Command::Add(new) => {
            let id = client_id(&new.id).map_err(Refusal::invalid)?;
            let redirect_uris = new
                .redirect_uris
                .iter()
                .map(|uri| redirect_uri(uri))
                .collect::<Result<Vec<_>, _>>()
                .map_err(Refusal::invalid)?;
            if redirect_uris.is_empty() {
                return Err(Refusal::invalid(
                    "the client needs at least one redirect address, where sign-ins return to",
                ));
            }
            if new.name.trim().is_empty() {
                return Err(Refusal::invalid(
                    "the client needs a name, the maker's name people see on the consent page",
                ));
            }
            if store.client(&id).await?.is_some() {
                return Err(Refusal::conflict(format!(
                    "there is already a client {id}: choose another id (or give it a new secret \
                     with `clients new-secret {id}`)"
                )));
            }
            let secret = (!new.public).then(crypto::new_client_secret);
            let kind = if new.public {
                ClientKind::Public
            } else {
                ClientKind::Confidential
            };
            let name = new.name.trim().to_owned();
            store
                .register_client(&ClientRegistration {
                    client_id: id.clone(),
                    name: name.clone(),
                    kind,
                    secret: secret.clone(),
                    redirect_uris: redirect_uris.clone(),
                })
                .await?;
            let text = match &secret {
                Some(secret) => format!(
                    "Added the confidential client {id} ({name}).\n\
                     Its secret, shown only now: {}\n\
                     It signs in with HTTP Basic {id}:<secret>.\n",
                    secret.expose(),
                ),
                None => {
                    format!("Added the public client {id} ({name}): no secret, PKCE required.\n")
                }
            };
            let view = ClientView {
                client_id: id,
                name,
                kind: kind_name(kind),
                redirect_uris,
                secret: secret.map(|s| s.expose().clone()),
            };
            Ok(Done::new(text, &view).created())
        }
        Command::List => {
            let clients: Vec<ClientView> = store
                .clients()
                .await?
                .into_iter()
                .map(|c| ClientView {
                    client_id: c.client_id,
                    name: c.name,
                    kind: kind_name(c.kind),
                    redirect_uris: c.redirect_uris,
                    secret: None,
                })
                .collect();
            let text = if clients.is_empty() {
                "No clients yet: add one with `clients add`.\n".to_owned()
            } else {
                clients
                    .iter()
                    .map(|c| {
                        format!(
                            "{}\t{}\t{}\t{}\n",
                            c.client_id,
                            c.name,
                            c.kind,
                            c.redirect_uris.join(" ")
                        )
                    })
                    .collect()
            };
            Ok(Done::new(text, &serde_json::json!({ "clients": clients })))
        }
        Command::NewSecret(id) => {
            let Some(client) = store.client(&id).await? else {
                return Err(Refusal::not_found(format!("there is no client {id}")));
            };
            if client.kind == ClientKind::Public {
                return Err(Refusal::invalid(format!(
                    "{id} is a public client: it has no secret"
                )));
            }
            let secret = crypto::new_client_secret();
            store
                .register_client(&ClientRegistration {
                    client_id: client.client_id.clone(),
                    name: client.name.clone(),
                    kind: ClientKind::Confidential,
                    secret: Some(secret.clone()),
                    redirect_uris: client.redirect_uris.clone(),
                })
                .await?;
            let text = format!(
                "{id} has a new secret, shown only now: {}\nThe old one no longer works.\n",
                secret.expose()
            );
            let view = ClientView {
                client_id: client.client_id,
                name: client.name,
                kind: kind_name(ClientKind::Confidential),
                redirect_uris: client.redirect_uris,
                secret: Some(secret.expose().clone()),
            };
            Ok(Done::new(text, &view))
        }
    }
}
