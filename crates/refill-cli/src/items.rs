//! `refill items`: things bought again and again, tracked without a device in the "At home"
//! list of a Refill service — add one, say when a new pack was opened or it ran out, list them,
//! stop tracking one.

use refill_auth::{KeyringStore, Provider, Session};
use refill_client::Client;
use refill_core::SystemClock;
use refill_wire::{NewItem, SlotInventory};
use std::sync::Arc;

pub const USAGE: &str = "\
refill items: track things without a device (they get forecasts, low-supply notices and
smart reorder like a device's supplies)

USAGE:
    refill items list [--service URL]
    refill items add --product ASIN [--service URL]
    refill items add --name NAME --size AMOUNT --unit g|ml|count [--service URL]
    refill items opened ITEM [--service URL]      a new pack was opened (one fewer at home)
    refill items ran-out ITEM [--service URL]     none left, no new pack opened yet
    refill items remove ITEM [--service URL]      stop tracking it (its orders stay)

ITEM is the id `refill items list` shows (item-1, …). The service is --service URL or
REFILL_SERVICE_URL; signed in with `refill login --service URL`, or a sandbox on this computer.
A service with its own certificate (a home server's) also needs --fingerprint FP (or
REFILL_SERVICE_FINGERPRINT): the SHA-256 fingerprint it printed when it started.
";

/// Runs `refill items …`.
pub async fn main(args: &[String]) -> Result<(), String> {
    let Some(command) = args.first() else {
        print!("{USAGE}");
        return Ok(());
    };
    if command == "-h" || command == "--help" {
        print!("{USAGE}");
        return Ok(());
    }
    let mut flags: std::collections::HashMap<String, String> = std::collections::HashMap::new();
    let mut positional: Vec<String> = Vec::new();
    let mut it = args[1..].iter();
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--service" | "--fingerprint" | "--product" | "--name" | "--size" | "--unit" => {
                let value = it.next().ok_or(format!("{arg} needs a value"))?;
                flags.insert(arg.trim_start_matches("--").to_owned(), value.clone());
            }
            other if other.starts_with("--") => return Err(format!("unknown option '{other}'")),
            other => positional.push(other.to_owned()),
        }
    }
    let client = client(
        flags.get("service").map(String::as_str),
        flags.get("fingerprint").map(String::as_str),
    )
    .await?;
    let said = |e: refill_client::ClientError| e.to_string();
    match command.as_str() {
        "list" => {
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
        "add" => {
            let item = match (
                flags.get("product"),
                flags.get("name"),
                flags.get("size"),
                flags.get("unit"),
            ) {
                (Some(asin), None, None, None) => NewItem {
                    asin: Some(asin.clone()),
                    ..NewItem::default()
                },
                (None, Some(name), Some(size), Some(unit)) => NewItem {
                    name: Some(name.clone()),
                    size: Some(
                        size.parse()
                            .map_err(|_| format!("--size is a number, not '{size}'"))?,
                    ),
                    unit: Some(unit.clone()),
                    ..NewItem::default()
                },
                _ => {
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
        "opened" | "ran-out" => {
            let [slot] = positional.as_slice() else {
                return Err(format!("say which item: refill items {command} ITEM"));
            };
            let item = client
                .tell_item(slot, command == "opened")
                .await
                .map_err(said)?;
            println!("{}", describe(&item));
            Ok(())
        }
        "remove" => {
            let [slot] = positional.as_slice() else {
                return Err("say which item: refill items remove ITEM".to_owned());
            };
            client.remove_item(slot).await.map_err(said)?;
            println!("No longer tracked: {slot}");
            Ok(())
        }
        other => Err(format!("unknown command 'items {other}'\n\n{USAGE}")),
    }
}

/// A client of the service (its certificate pinned with `fingerprint`, see [`crate::trust`]),
/// signed in when the keyring holds a sign-in for it (a sandbox on this computer needs none).
pub(crate) async fn client(
    service: Option<&str>,
    fingerprint: Option<&str>,
) -> Result<Client, String> {
    let base = crate::service_url(service, "say which Refill service")?;
    let base = base.as_str();
    let trust = crate::trust(base, fingerprint).await?;
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
