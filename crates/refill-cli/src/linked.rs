//! What is linked to the account, from the command line: `refill devices list | remove | rename
//! | product`, and `refill account export | delete`.

use refill_client::Client;
use std::io::Write;

pub const ACCOUNT_USAGE: &str = "\
refill account: your account on a Refill service

USAGE:
    refill account export [--output FILE] [--service URL]
                     everything the service keeps about you, as JSON (to standard output, or FILE)
    refill account delete --confirm EMAIL [--service URL]
                     delete your account: every device removed, open orders cancelled, your data
                     removed from the service; signed in with `refill login` (EMAIL is the
                     account's, typed again to confirm)

The service is --service URL or REFILL_SERVICE_URL (and, for one with its own certificate,
--fingerprint FP or REFILL_SERVICE_FINGERPRINT).
";

/// Flags with values, switches and positional arguments of a command.
struct Parsed {
    flags: std::collections::HashMap<String, String>,
    cancel_orders: bool,
    positional: Vec<String>,
}

fn parse(args: &[String], with_value: &[&str]) -> Result<Parsed, String> {
    let mut parsed = Parsed {
        flags: std::collections::HashMap::new(),
        cancel_orders: false,
        positional: Vec::new(),
    };
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        let name = arg.trim_start_matches("--");
        if arg == "--cancel-orders" {
            parsed.cancel_orders = true;
        } else if arg.starts_with("--")
            && (["service", "fingerprint"].contains(&name) || with_value.contains(&name))
        {
            let value = it.next().ok_or(format!("{arg} needs a value"))?;
            parsed.flags.insert(name.to_owned(), value.clone());
        } else if arg.starts_with("--") {
            return Err(format!("unknown option '{arg}'"));
        } else {
            parsed.positional.push(arg.clone());
        }
    }
    Ok(parsed)
}

async fn client(parsed: &Parsed) -> Result<Client, String> {
    crate::items::client(
        parsed.flags.get("service").map(String::as_str),
        parsed.flags.get("fingerprint").map(String::as_str),
    )
    .await
}

fn said(e: refill_client::ClientError) -> String {
    e.to_string()
}

/// `refill devices list | remove | rename | product`; `None` for another command.
pub async fn devices(command: &str, args: &[String]) -> Option<Result<(), String>> {
    let run = async {
        let parsed = parse(args, &[])?;
        let p = parsed.positional.as_slice();
        match command {
            "list" => {
                let client = client(&parsed).await?;
                let devices = client.devices().await.map_err(said)?;
                if devices.devices.iter().all(|d| d.home) {
                    println!("No devices yet: set one up with `refill devices provision`.");
                }
                for device in devices.devices.iter().filter(|d| !d.home) {
                    let test = if device.is_test { " (test device)" } else { "" };
                    println!(
                        "{}\t{}\t{}\t{}{test}",
                        device.model, device.serial, device.name, device.model_name
                    );
                    for slot in &device.slots {
                        let product = slot.product.as_ref().map_or_else(
                            || "no product chosen".to_owned(),
                            |p| format!("{} ({})", p.title, p.asin),
                        );
                        println!("  {}\t{}\t{product}", slot.slot_id, slot.name);
                    }
                }
                Ok(())
            }
            "remove" => {
                let [model, serial] = p else {
                    return Err("say which device: refill devices remove MODEL SERIAL".to_owned());
                };
                let client = client(&parsed).await?;
                client
                    .remove_device(model, serial, parsed.cancel_orders)
                    .await
                    .map_err(said)?;
                let orders = if parsed.cancel_orders {
                    " Its open orders were cancelled."
                } else {
                    ""
                };
                println!("Removed {model} {serial} from your account.{orders}");
                Ok(())
            }
            "rename" => {
                let [model, serial, name] = p else {
                    return Err(
                        "say which device and its new name: refill devices rename MODEL SERIAL NAME"
                            .to_owned(),
                    );
                };
                let client = client(&parsed).await?;
                let device = client
                    .rename_device(model, serial, name)
                    .await
                    .map_err(said)?;
                println!(
                    "Renamed: {} {} is now \"{}\"",
                    device.model, device.serial, device.name
                );
                Ok(())
            }
            "product" => {
                let [model, serial, slot, asin] = p else {
                    return Err(
                        "say which slot and product: refill devices product MODEL SERIAL SLOT ASIN"
                            .to_owned(),
                    );
                };
                let client = client(&parsed).await?;
                let settings = refill_wire::SlotSettings {
                    asin: Some(asin.clone()),
                    ..refill_wire::SlotSettings::default()
                };
                client
                    .change_slot(model, serial, slot, &settings)
                    .await
                    .map_err(said)?;
                println!("{model} {serial} {slot} now reorders {asin}.");
                Ok(())
            }
            _ => Err(String::new()),
        }
    };
    match command {
        "list" | "remove" | "rename" | "product" => Some(run.await),
        _ => None,
    }
}

/// Runs `refill account …`.
pub async fn account(args: &[String]) -> Result<(), String> {
    let Some((command, rest)) = args.split_first() else {
        print!("{ACCOUNT_USAGE}");
        return Ok(());
    };
    let parsed = parse(rest, &["output", "confirm"])?;
    if !parsed.positional.is_empty() || parsed.cancel_orders {
        return Err(format!("unexpected arguments\n\n{ACCOUNT_USAGE}"));
    }
    match command.as_str() {
        "export" => {
            let client = client(&parsed).await?;
            let export = client.export_account().await.map_err(said)?;
            let json = serde_json::to_string_pretty(&export).map_err(|e| e.to_string())?;
            match parsed.flags.get("output") {
                Some(file) => {
                    std::fs::write(file, json + "\n")
                        .map_err(|e| format!("could not write {file}: {e}"))?;
                    eprintln!("Your data is in {file}.");
                }
                None => {
                    let mut out = std::io::stdout().lock();
                    writeln!(out, "{json}").map_err(|e| e.to_string())?;
                }
            }
            Ok(())
        }
        "delete" => {
            let email = parsed.flags.get("confirm").ok_or(
                "type the account's email address to confirm: refill account delete --confirm EMAIL",
            )?;
            let client = client(&parsed).await?;
            client.delete_account(email).await.map_err(said)?;
            println!(
                "Your account was deleted: its devices were removed, open orders cancelled and \
                 your data removed from the service. Run `refill logout` to forget the sign-in here."
            );
            Ok(())
        }
        "-h" | "--help" => {
            print!("{ACCOUNT_USAGE}");
            Ok(())
        }
        other => Err(format!(
            "unknown command 'account {other}'\n\n{ACCOUNT_USAGE}"
        )),
    }
}
