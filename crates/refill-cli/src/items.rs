//! `refill items`: things bought again and again, tracked without a device in the "At home"
//! list of a Refill service — add one, say when a new pack was opened or it ran out, list them,
//! stop tracking one.

use crate::ServiceArgs;
use clap::Subcommand;
use refill_auth::{KeyringStore, Provider, Session};
use refill_client::Client;
use refill_core::SystemClock;
use refill_wire::{NewItem, SlotInventory};
use std::sync::Arc;

/// `refill items …`. ITEM is the id `refill items list` shows (item-1, …); signed in with
/// `refill login --service URL`, or a sandbox on this computer.
#[derive(Subcommand, Debug)]
pub enum Command {
    /// The items tracked, with what is left and how fast it goes
    List {
        #[command(flatten)]
        service: ServiceArgs,
    },
    /// Track an item: a product of the catalog (--product ASIN), or a name, pack size and unit
    Add {
        /// A product of the catalog
        #[arg(long, value_name = "ASIN", conflicts_with_all = ["name", "size", "unit"])]
        product: Option<String>,
        /// What it is called
        #[arg(long, requires_all = ["size", "unit"])]
        name: Option<String>,
        /// How much one pack holds
        #[arg(long, value_name = "AMOUNT", requires = "name")]
        size: Option<f64>,
        /// The pack's unit: g, ml or count (the service says which it knows)
        #[arg(long, requires = "name")]
        unit: Option<String>,
        #[command(flatten)]
        service: ServiceArgs,
    },
    /// A new pack was opened (one fewer at home)
    Opened {
        item: String,
        #[command(flatten)]
        service: ServiceArgs,
    },
    /// None left, no new pack opened yet
    RanOut {
        item: String,
        #[command(flatten)]
        service: ServiceArgs,
    },
    /// Stop tracking it (its orders stay)
    Remove {
        item: String,
        #[command(flatten)]
        service: ServiceArgs,
    },
}

impl Command {
    fn service(&self) -> &ServiceArgs {
        match self {
            Command::List { service }
            | Command::Add { service, .. }
            | Command::Opened { service, .. }
            | Command::RanOut { service, .. }
            | Command::Remove { service, .. } => service,
        }
    }
}

/// Runs `refill items …`.
pub async fn main(command: Command) -> Result<(), String> {
    let client = client(command.service()).await?;
    let said = |e: refill_client::ClientError| e.to_string();
    match command {
        Command::List { .. } => {
            let devices = client.devices().await.map_err(said)?;
            let Some(home) = devices.devices.iter().find(|d| d.home) else {
                println!("No items yet: add one with `refill items add`.");
                return Ok(());
            };
            for slot in &home.slots {
                let item = client
                    .slot(&home.model, &home.serial, &slot.slot_id)
                    .await
                    .map_err(said)?;
                println!("{}", describe(&item));
            }
            Ok(())
        }
        Command::Add {
            product,
            name,
            size,
            unit,
            ..
        } => {
            let item = match (product, name) {
                (Some(asin), _) => NewItem {
                    asin: Some(asin),
                    ..NewItem::default()
                },
                (None, Some(name)) => NewItem {
                    name: Some(name),
                    size,
                    unit,
                    ..NewItem::default()
                },
                (None, None) => {
                    return Err(
                        "say what to track: --product ASIN, or --name, --size and --unit"
                            .to_owned(),
                    )
                }
            };
            let added = client.add_item(&item).await.map_err(said)?;
            let what = if added.created {
                "Added"
            } else {
                "Already tracked"
            };
            println!("{what}: {}", describe(&added.item));
            Ok(())
        }
        Command::Opened { ref item, .. } | Command::RanOut { ref item, .. } => {
            let opened = matches!(command, Command::Opened { .. });
            let told = client.tell_item(item, opened).await.map_err(said)?;
            println!("{}", describe(&told));
            Ok(())
        }
        Command::Remove { item, .. } => {
            client.remove_item(&item).await.map_err(said)?;
            println!("No longer tracked: {item}");
            Ok(())
        }
    }
}

/// A client of the service (its certificate pinned with `fingerprint`, see [`crate::trust`]),
/// signed in when the keyring holds a sign-in for it (a sandbox on this computer needs none).
pub(crate) async fn client(service: &ServiceArgs) -> Result<Client, String> {
    let base = crate::service_url(service, "say which Refill service")?;
    let base = base.as_str();
    let trust = crate::trust(base, service.fingerprint.as_deref()).await?;
    let client = Client::trusting(base, trust.clone());
    if KeyringStore::use_os_keyring().is_err() {
        return Ok(client);
    }
    let session = Arc::new(Session::new(
        Provider {
            trust,
            ..Provider::refill(base, base)
        },
        Arc::new(KeyringStore::default()),
        Arc::new(SystemClock),
    ));
    Ok(if session.is_signed_in().await.unwrap_or(false) {
        client.with_session(session)
    } else {
        client
    })
}

/// One line about an item: its id, name, what is left and at home, and its forecast.
fn describe(item: &SlotInventory) -> String {
    let unit = if item.unit == "count" {
        "pcs"
    } else {
        item.unit.as_str()
    };
    let amount = |v: f64| format!("{} {unit}", (v * 10.0).round() / 10.0);
    let left = match item.remaining {
        Some(r) => format!("{} left", amount(r)),
        None => "no pack opened yet".to_owned(),
    };
    let mut line = format!(
        "{}\t{}\t{left}, {} at home",
        item.slot_id,
        item.name,
        amount(item.on_hand)
    );
    if let Some(rate) = item.daily_use {
        line.push_str(&format!(", about {} a day", amount(rate)));
    }
    if let Some(at) = item.runs_out {
        line.push_str(&format!(", runs out around {}", at.date()));
    }
    if item.low {
        line.push_str(" · low");
    }
    line
}
