//! `refill devices scan` and `refill devices provision`: onboarding from the command line, over
//! Bluetooth LE (ESP-IDF provisioning or Improv) or a device's own access point (SoftAP), with the
//! same steps as the app's wizard, up to linking the device to the customer's account (`--link`).

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

pub const USAGE: &str = "\
refill devices: find devices and give them Wi-Fi, and manage those linked to your account

USAGE:
    refill devices list [--service URL]
    refill devices remove MODEL SERIAL [--cancel-orders] [--service URL]
                     remove it from your account, as its own deregistration would (its maker is
                     told, it stops ordering); --cancel-orders first cancels its open orders
    refill devices rename MODEL SERIAL NAME [--service URL]
    refill devices product MODEL SERIAL SLOT ASIN [--service URL]
                     reorder another product of the catalog (same unit) for a slot
    refill devices scan [--seconds N] [--adapter NAME]
    refill devices provision (--qr PAYLOAD | --name NAME [--pop POP | --username U --password P])
                             [--softap URL] [--adapter NAME] [--ssid SSID [--passphrase PW]]
                             [--remember] [--link [--service URL] [--no-browser]]

    --qr PAYLOAD     the JSON in the device's QR code ({\"ver\":\"v1\",\"name\":…,\"pop\":…})
    --name NAME      the name the device advertises (PROV_…)
    --pop POP        its proof of possession (Security 1), from its label
    --username U, --password P   its Security 2 credentials
    --softap URL     reach it through its own access point (http://192.168.4.1) instead of Bluetooth
    --adapter NAME   the Bluetooth adapter to use (hci0, …)
    --ssid SSID      the network to join; without it, the networks the device sees are listed
    --passphrase PW  the network's password (when missing: the one remembered for the network, or
                     asked for)
    --remember       remember the password in the system keyring for the next device
    --link           once on Wi-Fi, link the device to your Refill account: the consent page
                     opens in the browser, where you choose what it reorders for each supply
    --service URL    the Refill service to link it with          [REFILL_SERVICE_URL]
    --fingerprint FP the SHA-256 fingerprint of its own certificate (a home server's)
                                                                 [REFILL_SERVICE_FINGERPRINT]
    --no-browser     print the consent page's address instead of opening a browser

An Improv device (found by --name) needs no code: press its button when asked (it blinks).
";

struct Options {
    flags: std::collections::HashMap<String, String>,
    remember: bool,
    link: bool,
    no_browser: bool,
}

impl Options {
    fn parse(args: &[String]) -> Result<Self, String> {
        let mut flags = std::collections::HashMap::new();
        let (mut remember, mut link, mut no_browser) = (false, false, false);
        let mut it = args.iter();
        while let Some(arg) = it.next() {
            match arg.as_str() {
                "--remember" => remember = true,
                "--link" => link = true,
                "--no-browser" => no_browser = true,
                _ => {}
            }
            if ["--remember", "--link", "--no-browser"].contains(&arg.as_str()) {
                continue;
            }
            let name = arg
                .strip_prefix("--")
                .filter(|n| {
                    [
                        "seconds",
                        "adapter",
                        "qr",
                        "name",
                        "pop",
                        "username",
                        "password",
                        "softap",
                        "ssid",
                        "passphrase",
                        "service",
                        "fingerprint",
                    ]
                    .contains(n)
                })
                .ok_or_else(|| format!("unknown option '{arg}'"))?;
            let value = it.next().ok_or_else(|| format!("{arg} needs a value"))?;
            flags.insert(name.to_owned(), value.clone());
        }
        let options = Self {
            flags,
            remember,
            link,
            no_browser,
        };
        if options.link {
            // Said before anything is sent to the device.
            crate::service_url(options.get("service"), "--link needs the Refill service")?;
        }
        Ok(options)
    }

    /// The Refill service to link devices with (its certificate pinned with --fingerprint).
    async fn service(&self) -> Result<Provider, String> {
        let base = crate::service_url(self.get("service"), "--link needs the Refill service")?;
        Ok(Provider {
            trust: crate::trust(&base, self.get("fingerprint")).await?,
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
pub async fn main(args: &[String]) -> Result<(), String> {
    let Some((command, rest)) = args.split_first() else {
        print!("{USAGE}");
        return Ok(());
    };
    if let Some(done) = crate::linked::devices(command, rest).await {
        return done;
    }
    let options = Options::parse(rest)?;
    match command.as_str() {
        "scan" => scan(&options).await,
        "provision" => provision(&options).await,
        "-h" | "--help" => {
            print!("{USAGE}");
            Ok(())
        }
        other => Err(format!("unknown command 'devices {other}'\n\n{USAGE}")),
    }
}

async fn scan(options: &Options) -> Result<(), String> {
    let seconds: u64 = options
        .get("seconds")
        .map(str::parse)
        .transpose()
        .map_err(|_| "--seconds needs a number")?
        .unwrap_or(5);
    let adapter = ble::adapter(options.get("adapter"))
        .await
        .map_err(|e| e.to_string())?;
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
