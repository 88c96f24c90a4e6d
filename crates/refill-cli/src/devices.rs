//! `refill devices scan` and `refill devices provision`: onboarding from the command line, over
//! Bluetooth LE (ESP-IDF provisioning or Improv) or a device's own access point (SoftAP), with the
//! same steps as the app's wizard, up to linking the device to the customer's account (`--link`).

use crate::ServiceArgs;
use clap::{Args, Subcommand};
use refill_auth::{start_device_authorization, DeviceGrant, Provider, Redirect, SIGN_IN_TIMEOUT};
use refill_core::Sensitive;
use refill_provision::ble::{self, BleImprovLink, BleTransport};
use refill_provision::http::HttpTransport;
use refill_provision::improv::{self, ImprovClient};
use refill_provision::protocomm::{Client, Transport, WifiFailure, WifiStatus};
use refill_provision::registration::{Handoff, HttpRegistrar, Registrar};
use refill_provision::security::Security;
use refill_provision::{ProvError, QrPayload};
use std::io::{BufRead, IsTerminal, Write};
use std::time::Duration;

/// `refill devices …`: those linked to the account, and onboarding.
#[derive(Subcommand, Debug)]
pub enum Command {
    /// The devices linked to your account, with their slots and what each reorders
    List {
        #[command(flatten)]
        service: ServiceArgs,
    },
    /// Remove a device from your account, as its own deregistration would (its maker is told,
    /// it stops ordering)
    Remove {
        model: String,
        serial: String,
        /// First cancel its open orders
        #[arg(long)]
        cancel_orders: bool,
        #[command(flatten)]
        service: ServiceArgs,
    },
    /// Rename a device
    Rename {
        model: String,
        serial: String,
        name: String,
        #[command(flatten)]
        service: ServiceArgs,
    },
    /// Reorder another product of the catalog (same unit) for a slot
    Product {
        model: String,
        serial: String,
        slot: String,
        asin: String,
        #[command(flatten)]
        service: ServiceArgs,
    },
    /// Look for devices waiting to be set up, over Bluetooth LE
    Scan {
        /// How long to look
        #[arg(long, value_name = "N", default_value_t = 5)]
        seconds: u64,
        /// The Bluetooth adapter to use (hci0, …)
        #[arg(long, value_name = "NAME")]
        adapter: Option<String>,
    },
    /// Give a device Wi-Fi, over Bluetooth LE (ESP-IDF provisioning or Improv) or its own access
    /// point, and link it to your account (--link). An Improv device (found by --name) needs no
    /// code: press its button when asked (it blinks)
    Provision(ProvisionArgs),
}

/// `refill devices provision`'s options.
#[derive(Args, Debug)]
pub struct ProvisionArgs {
    /// The JSON in the device's QR code ({"ver":"v1","name":…,"pop":…})
    #[arg(long, value_name = "PAYLOAD", conflicts_with = "name")]
    qr: Option<String>,
    /// The name the device advertises (PROV_…)
    #[arg(long)]
    name: Option<String>,
    /// Its proof of possession (Security 1), from its label
    #[arg(long, conflicts_with_all = ["username", "password"])]
    pop: Option<String>,
    /// Its Security 2 user name
    #[arg(long, value_name = "U")]
    username: Option<String>,
    /// Its Security 2 password
    #[arg(long, value_name = "P")]
    password: Option<String>,
    /// Reach it through its own access point (http://192.168.4.1) instead of Bluetooth
    #[arg(long, value_name = "URL")]
    softap: Option<String>,
    /// The Bluetooth adapter to use (hci0, …)
    #[arg(long, value_name = "NAME")]
    adapter: Option<String>,
    /// The network to join; without it, the networks the device sees are listed
    #[arg(long)]
    ssid: Option<String>,
    /// The network's password (when missing: the one remembered for the network, or asked for)
    #[arg(long, value_name = "PW", requires = "ssid")]
    passphrase: Option<String>,
    /// Remember the password in the system keyring for the next device
    #[arg(long)]
    remember: bool,
    /// Once on Wi-Fi, link the device to your Refill account: the consent page opens in the
    /// browser, where you choose what it reorders for each supply
    #[arg(long)]
    link: bool,
    /// Print the consent page's address instead of opening a browser
    #[arg(long)]
    no_browser: bool,
    #[command(flatten)]
    service: ServiceArgs,
}

struct Options {
    flags: std::collections::HashMap<&'static str, String>,
    service: ServiceArgs,
    remember: bool,
    link: bool,
    no_browser: bool,
}

impl Options {
    fn new(args: ProvisionArgs) -> Result<Self, String> {
        let flags = [
            ("qr", args.qr),
            ("name", args.name),
            ("pop", args.pop),
            ("username", args.username),
            ("password", args.password),
            ("softap", args.softap),
            ("adapter", args.adapter),
            ("ssid", args.ssid),
            ("passphrase", args.passphrase),
        ]
        .into_iter()
        .filter_map(|(name, value)| value.map(|v| (name, v)))
        .collect();
        let options = Self {
            flags,
            service: args.service,
            remember: args.remember,
            link: args.link,
            no_browser: args.no_browser,
        };
        if options.link {
            // Said before anything is sent to the device.
            crate::service_url(&options.service, "--link needs the Refill service")?;
        }
        Ok(options)
    }

    /// The Refill service to link devices with (its certificate pinned with --fingerprint).
    async fn service(&self) -> Result<Provider, String> {
        let base = crate::service_url(&self.service, "--link needs the Refill service")?;
        Ok(Provider {
            trust: crate::trust(&base, self.service.fingerprint.as_deref()).await?,
            ..Provider::refill(&base, &base)
        })
    }

    fn get(&self, name: &str) -> Option<&str> {
        self.flags.get(name).map(String::as_str)
    }

    /// The device and its security, from `--qr` or `--name` with `--pop` / `--username`.
    fn device(&self) -> Result<(String, Security), String> {
        if let Some(qr) = self.get("qr") {
            let qr = QrPayload::parse(qr).map_err(|e| e.to_string())?;
            return Ok((qr.name.clone(), qr.security()));
        }
        let name = self
            .get("name")
            .ok_or("say which device: --qr PAYLOAD or --name NAME")?;
        let security = match (self.get("username"), self.get("password"), self.get("pop")) {
            (Some(username), Some(password), _) => Security::Sec2 {
                username: username.to_owned(),
                password: Sensitive::new(password.to_owned()),
            },
            (Some(_), None, _) | (None, Some(_), _) => {
                return Err("Security 2 needs both --username and --password".to_owned())
            }
            (None, None, pop) => Security::Sec1 {
                pop: pop.map(|p| Sensitive::new(p.to_owned())),
            },
        };
        Ok((name.to_owned(), security))
    }
}

/// Runs `refill devices …`.
pub async fn main(command: Command) -> Result<(), String> {
    match command {
        Command::List { service } => crate::linked::list(&service).await,
        Command::Remove {
            model,
            serial,
            cancel_orders,
            service,
        } => crate::linked::remove((&model, &serial), cancel_orders, &service).await,
        Command::Rename {
            model,
            serial,
            name,
            service,
        } => crate::linked::rename((&model, &serial), &name, &service).await,
        Command::Product {
            model,
            serial,
            slot,
            asin,
            service,
        } => crate::linked::product((&model, &serial), (&slot, &asin), &service).await,
        Command::Scan { seconds, adapter } => scan(seconds, adapter.as_deref()).await,
        Command::Provision(args) => provision(&Options::new(args)?).await,
    }
}

async fn scan(seconds: u64, adapter: Option<&str>) -> Result<(), String> {
    let adapter = ble::adapter(adapter).await.map_err(|e| e.to_string())?;
    eprintln!("Looking for devices for {seconds} s…");
    let found = ble::scan(&adapter, Duration::from_secs(seconds))
        .await
        .map_err(|e| e.to_string())?;
    if found.is_empty() {
        println!(
            "No device is waiting to be set up nearby. Put the device in setup mode and try again."
        );
    }
    for device in found {
        let protocol = match device.protocol {
            ble::Protocol::Esp => "ESP",
            ble::Protocol::Improv => "Improv",
        };
        let rssi = device.rssi.map_or("?".to_owned(), |r| format!("{r} dBm"));
        println!("{}\t{rssi}\t{protocol}", device.name);
    }
    Ok(())
}

fn step(what: &str) {
    eprintln!("{what}…");
}

async fn provision(options: &Options) -> Result<(), String> {
    let (name, security) = options.device()?;
    if let Some(url) = options.get("softap") {
        step(&format!("Connecting to {name} through its access point"));
        return onboard(HttpTransport::new(url), 4096, &security, options).await;
    }
    let adapter = ble::adapter(options.get("adapter"))
        .await
        .map_err(|e| e.to_string())?;
    step(&format!("Looking for {name}"));
    let mut device = None;
    for _ in 0..3 {
        let found = ble::scan(&adapter, Duration::from_secs(3))
            .await
            .map_err(|e| e.to_string())?;
        device = found.into_iter().find(|f| f.name == name);
        if device.is_some() {
            break;
        }
    }
    let device = device.ok_or_else(|| {
        format!("{name} was not found nearby. Check that it is in setup mode and close by.")
    })?;
    step(&format!("Connecting to {name}"));
    if device.protocol == ble::Protocol::Improv {
        let link = BleImprovLink::connect(&device)
            .await
            .map_err(|e| e.to_string())?;
        return onboard_improv(link, &name, options).await;
    }
    let link = BleTransport::connect(&device)
        .await
        .map_err(|e| e.to_string())?;
    let max = link.max_value();
    onboard(link, max, &security, options).await
}

/// Onboards an Improv device: its button instead of a code, then Wi-Fi, then (`--link`) linking
/// over the network at the URL it returns.
async fn onboard_improv<L: improv::ImprovLink>(
    link: L,
    name: &str,
    options: &Options,
) -> Result<(), String> {
    let mut client = ImprovClient::connect(link)
        .await
        .map_err(|e| e.to_string())?;
    if client.state() == improv::State::AuthorizationRequired {
        if client.identify().await.is_ok() {
            eprintln!("{name} should blink or beep now.");
        }
        step(&format!(
            "Press the button on {name} to show it is yours (waiting up to 2 minutes)"
        ));
        client
            .wait_for_authorization(Duration::from_secs(120))
            .await
            .map_err(|e| e.to_string())?;
    }
    let Some(ssid) = options.get("ssid") else {
        step("Asking the device which networks it sees");
        for n in client.scan().await.map_err(|e| e.to_string())? {
            let lock = if n.secured { "secured" } else { "open" };
            println!("{}\t{} dBm\t{lock}", n.ssid, n.rssi);
        }
        eprintln!("Run again with --ssid NAME (and --passphrase) to join one.");
        return Ok(());
    };
    let url = join_with_retries(ssid, options, async |passphrase: &str| {
        match client.join(ssid, passphrase, Duration::from_secs(60)).await {
            Ok(url) => {
                let at = url
                    .as_deref()
                    .map(|u| format!(" (it is at {u})"))
                    .unwrap_or_default();
                println!("Wi-Fi connected: the device joined {ssid}{at}.");
                Ok(Joined::Yes(url))
            }
            Err(ProvError::NotJoined) => Ok(Joined::Refused(format!(
                "The device could not join {ssid}: check the password."
            ))),
            Err(e) => Err(e.to_string()),
        }
    })
    .await?;
    if options.link {
        let url = url.ok_or(
            "The device is on Wi-Fi but gave no address to link it at, so it cannot be linked.",
        )?;
        link_device(&mut HttpRegistrar::new(&url), options).await?;
    }
    Ok(())
}

/// How a join attempt went.
enum Joined<T> {
    /// On the network.
    Yes(T),
    /// Not on it; the message says why and a new password may help.
    Refused(String),
}

/// The network's password (given, remembered, or asked for), tried until it works or the person
/// stops; remembers a password that worked when asked to.
async fn join_with_retries<T>(
    ssid: &str,
    options: &Options,
    mut attempt: impl AsyncFnMut(&str) -> Result<Joined<T>, String>,
) -> Result<T, String> {
    let passwords = refill_auth::WifiPasswords::default();
    let remembered = match options.get("passphrase") {
        Some(_) => None,
        None => passwords.recall(ssid).unwrap_or_else(|e| {
            eprintln!("(No remembered password: {e})");
            None
        }),
    };
    let mut passphrase = match (options.get("passphrase"), remembered) {
        (Some(p), _) => p.to_owned(),
        (None, Some(p)) => {
            eprintln!("Using the password remembered for {ssid}.");
            p.expose().clone()
        }
        (None, None) => ask(&format!(
            "Password for {ssid} (empty for an open network): "
        ))
        .unwrap_or_default(),
    };
    loop {
        step(&format!(
            "Sending the settings for {ssid} and waiting for the device to join"
        ));
        match attempt(&passphrase).await? {
            Joined::Yes(joined) => {
                if options.remember && !passphrase.is_empty() {
                    match passwords.remember(ssid, &Sensitive::new(passphrase)) {
                        Ok(()) => {
                            println!("The password for {ssid} is remembered for your next device.")
                        }
                        Err(e) => eprintln!("The password could not be remembered: {e}"),
                    }
                }
                return Ok(joined);
            }
            Joined::Refused(message) => {
                match ask(&format!(
                    "{message}\nPassword for {ssid} (Ctrl-C to stop): "
                )) {
                    Some(again) => passphrase = again,
                    None => return Err(message),
                }
            }
        }
    }
}

/// Links the device (on Wi-Fi) to the customer's account, as the app does: the consent page in
/// the browser, then the code handed to the device, which redeems it itself.
async fn link_device(registrar: &mut impl Registrar, options: &Options) -> Result<(), String> {
    let provider = options.service().await?;
    step("Asking the device who it is");
    let identity = registrar.identify().await.map_err(|e| e.to_string())?;
    let pending = start_device_authorization(
        &provider,
        &Redirect::Loopback,
        &DeviceGrant::replenish(identity.scope_data(), &identity.code_challenge),
    )
    .await
    .map_err(|e| e.to_string())?;
    let url = pending.authorize_url();
    if !options.no_browser && refill_auth::open_in_browser(url) {
        eprintln!("Your browser opened the consent page. If it did not, open:\n{url}");
    } else {
        eprintln!(
            "Open this address to link the {} (serial {}) to your account:\n{url}",
            identity.model, identity.serial
        );
    }
    step("Waiting for you to allow it (at most 5 minutes)");
    let code = pending
        .finish_code(SIGN_IN_TIMEOUT, std::future::pending())
        .await
        .map_err(|e| format!("The device was not linked: {e}"))?;
    let handoff = Handoff {
        code,
        client_id: provider.client_id.clone(),
        redirect_uri: pending.redirect_uri().to_owned(),
        token_url: provider.token_url.clone(),
        // The service's own certificate, when pinned with --fingerprint: the device pins it too.
        certificate_fingerprint: provider.trust.fingerprint().map(|f| f.to_string()),
    };
    step("Handing the device its code and waiting for it to link itself");
    registrar
        .register_and_wait(&handoff, Duration::from_secs(30))
        .await
        .map_err(|e| e.to_string())?;
    println!(
        "Linked: the {} (serial {}) is linked to your account and orders its own supplies.",
        identity.model, identity.serial
    );
    Ok(())
}

fn ask(prompt: &str) -> Option<String> {
    if !std::io::stdin().is_terminal() {
        return None;
    }
    eprint!("{prompt}");
    let _ = std::io::stderr().flush();
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line).ok()?;
    Some(line.trim_end_matches(['\r', '\n']).to_owned())
}

async fn onboard<T: Transport>(
    link: T,
    max_value: usize,
    security: &Security,
    options: &Options,
) -> Result<(), String> {
    step("Securing the session");
    let mut client = Client::connect(link, security, max_value)
        .await
        .map_err(|e| e.to_string())?;
    let Some(ssid) = options.get("ssid") else {
        step("Asking the device which networks it sees");
        let networks = client.scan().await.map_err(|e| e.to_string())?;
        for n in &networks {
            let lock = if n.auth == refill_provision::protocomm::WifiAuth::Open {
                "open"
            } else {
                "secured"
            };
            println!("{}\t{} dBm\t{lock}", n.ssid, n.rssi);
        }
        eprintln!("Run again with --ssid NAME (and --passphrase) to join one.");
        return Ok(());
    };
    join_with_retries(ssid, options, async |passphrase: &str| {
        let status = client
            .join_and_wait(ssid, passphrase, Duration::from_secs(60))
            .await
            .map_err(|e| match e {
                ProvError::Timeout => format!("The device did not join {ssid} within a minute."),
                e => e.to_string(),
            })?;
        match status {
            WifiStatus::Connected { ip } => {
                println!("Wi-Fi connected: the device joined {ssid} (address {ip}).");
                Ok(Joined::Yes(()))
            }
            WifiStatus::Failed {
                reason: WifiFailure::AuthError,
            } => Ok(Joined::Refused(format!(
                "The device could not join {ssid}: the password was not accepted."
            ))),
            WifiStatus::Failed {
                reason: WifiFailure::NetworkNotFound,
            } => Err(format!(
                "The device cannot see a network named {ssid}. Check the name, or move the \
                 device closer to the router."
            )),
            WifiStatus::Failed { .. } | WifiStatus::Connecting { .. } => {
                Err(format!("The device could not join {ssid}."))
            }
        }
    })
    .await?;
    if options.link {
        link_device(&mut client, options).await?;
    }
    Ok(())
}
