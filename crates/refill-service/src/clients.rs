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

/// How to use `refill-service clients`.
pub const USAGE: &str = "\
refill-service clients: the OAuth clients of device makers

USAGE:
    refill-service clients add ID --name NAME --redirect-uri URI [--redirect-uri URI…] [--public]
    refill-service clients list
    refill-service clients new-secret ID
    (each also takes --db FILE|URL, as the service does)

A confidential client (a maker's server) gets a secret, shown once: it signs in with HTTP Basic
ID:secret, to redeem codes and to manage its webhooks at /v1/webhooks. A public client (an app
on a phone) has no secret and must use PKCE.
";

/// Runs `args` (what follows `clients`) on `store`; what to print, or why not, in words.
pub async fn run(store: &Store, args: &[String]) -> Result<String, String> {
    let failed = |e: sqlx::Error| format!("the database could not be read or written: {e}");
    match args.split_first() {
        Some((command, rest)) if command == "add" => {
            let new = parse_add(rest)?;
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
                    name: new.name.clone(),
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
        Some((command, [])) if command == "list" => {
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
        Some((command, [id])) if command == "new-secret" => {
            let Some(client) = store.client(id).await.map_err(failed)? else {
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
        Some((command, _)) if ["add", "list", "new-secret"].contains(&command.as_str()) => {
            Err(format!("wrong arguments for `clients {command}`"))
        }
        Some((command, _)) => Err(format!("unknown clients command '{command}'")),
        None => Err("say what to do: add, list or new-secret".to_owned()),
    }
}

struct NewClient {
    id: String,
    name: String,
    redirect_uris: Vec<String>,
    public: bool,
}

fn parse_add(args: &[String]) -> Result<NewClient, String> {
    let mut args = args.iter();
    let id = args
        .next()
        .filter(|id| !id.starts_with("--"))
        .ok_or("`clients add` needs the new client's id first")?
        .clone();
    if id.len() > 64
        || !id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "._-".contains(c))
    {
        return Err(format!(
            "'{id}' is not a client id: use up to 64 letters, digits, '.', '_' and '-'"
        ));
    }
    let mut name = None;
    let mut redirect_uris = Vec::new();
    let mut public = false;
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--name" => name = Some(args.next().ok_or("--name needs the maker's name")?.clone()),
            "--redirect-uri" => {
                let uri = args
                    .next()
                    .ok_or("--redirect-uri needs an address such as https://maker.example/cb")?;
                let ok = (uri.starts_with("https://") || uri.starts_with("http://"))
                    && !uri.contains(char::is_whitespace)
                    && !uri.contains('#');
                if !ok {
                    return Err(format!(
                        "'{uri}' is not a redirect address: give an https:// (or http://) \
                         address without a #fragment"
                    ));
                }
                redirect_uris.push(uri.clone());
            }
            "--public" => public = true,
            other => return Err(format!("unknown argument '{other}' for `clients add`")),
        }
    }
    let name = name
        .filter(|n| !n.trim().is_empty())
        .ok_or("`clients add` needs --name, the maker's name people see on the consent page")?;
    if redirect_uris.is_empty() {
        return Err(
            "`clients add` needs at least one --redirect-uri, where sign-ins return to".to_owned(),
        );
    }
    Ok(NewClient {
        id,
        name: name.trim().to_owned(),
        redirect_uris,
        public,
    })
}
