//! What is linked to the account, from the command line: `refill devices list | remove | rename
//! | product`, and `refill account export | delete`.

use crate::items::client;
use crate::ServiceArgs;
use clap::Subcommand;
use std::io::Write;
use std::path::PathBuf;

/// `refill account …`.
#[derive(Subcommand, Debug)]
pub enum AccountCommand {
    /// Everything the service keeps about you, as JSON (to standard output, or --output FILE)
    Export {
        /// Write it to this file instead
        #[arg(long, value_name = "FILE")]
        output: Option<PathBuf>,
        #[command(flatten)]
        service: ServiceArgs,
    },
    /// Delete your account: every device removed, open orders cancelled, your data removed from
    /// the service (signed in with `refill login`)
    Delete {
        /// The account's email, typed again to confirm
        #[arg(long, value_name = "EMAIL")]
        confirm: Option<String>,
        #[command(flatten)]
        service: ServiceArgs,
    },
}

fn said(e: refill_client::ClientError) -> String {
    e.to_string()
}

/// `refill devices list`.
pub async fn list(service: &ServiceArgs) -> Result<(), String> {
    let client = client(service).await?;
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

/// `refill devices remove MODEL SERIAL [--cancel-orders]`.
pub async fn remove(
    (model, serial): (&str, &str),
    cancel_orders: bool,
    service: &ServiceArgs,
) -> Result<(), String> {
    let client = client(service).await?;
    client
        .remove_device(model, serial, cancel_orders)
        .await
        .map_err(said)?;
    let orders = if cancel_orders {
        " Its open orders were cancelled."
    } else {
        ""
    };
    println!("Removed {model} {serial} from your account.{orders}");
    Ok(())
}

/// `refill devices rename MODEL SERIAL NAME`.
pub async fn rename(
    (model, serial): (&str, &str),
    name: &str,
    service: &ServiceArgs,
) -> Result<(), String> {
    let client = client(service).await?;
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

/// `refill devices product MODEL SERIAL SLOT ASIN`.
pub async fn product(
    (model, serial): (&str, &str),
    (slot, asin): (&str, &str),
    service: &ServiceArgs,
) -> Result<(), String> {
    let client = client(service).await?;
    let settings = refill_wire::SlotSettings {
        asin: Some(asin.to_owned()),
        ..refill_wire::SlotSettings::default()
    };
    client
        .change_slot(model, serial, slot, &settings)
        .await
        .map_err(said)?;
    println!("{model} {serial} {slot} now reorders {asin}.");
    Ok(())
}

/// Runs `refill account …`.
pub async fn account(command: AccountCommand) -> Result<(), String> {
    match command {
        AccountCommand::Export { output, service } => {
            let client = client(&service).await?;
            let export = client.export_account().await.map_err(said)?;
            let json = serde_json::to_string_pretty(&export).map_err(|e| e.to_string())?;
            match output {
                Some(file) => {
                    std::fs::write(&file, json + "\n")
                        .map_err(|e| format!("could not write {}: {e}", file.display()))?;
                    eprintln!("Your data is in {}.", file.display());
                }
                None => {
                    let mut out = std::io::stdout().lock();
                    writeln!(out, "{json}").map_err(|e| e.to_string())?;
                }
            }
            Ok(())
        }
        AccountCommand::Delete { confirm, service } => {
            let email = confirm.ok_or(
                "type the account's email address to confirm: refill account delete --confirm EMAIL",
            )?;
            let client = client(&service).await?;
            client.delete_account(&email).await.map_err(said)?;
            println!(
                "Your account was deleted: its devices were removed, open orders cancelled and \
                 your data removed from the service. Run `refill logout` to forget the sign-in here."
            );
            Ok(())
        }
    }
}
