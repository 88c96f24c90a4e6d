//! `refill devices scan` and `refill devices provision`: onboarding from the command line, over
//! Bluetooth LE or a device's own access point (SoftAP), with the same steps as the app's wizard.

use refill_core::Sensitive;
use refill_provision::ble::{self, BleTransport};
use refill_provision::http::HttpTransport;
use refill_provision::protocomm::{Client, Transport, WifiFailure, WifiStatus};
use refill_provision::security::Security;
use refill_provision::{ProvError, QrPayload};
use std::io::{BufRead, IsTerminal, Write};
use std::time::Duration;

pub const USAGE: &str = "\
refill devices: find devices and give them Wi-Fi

USAGE:
    refill devices scan [--seconds N] [--adapter NAME]
    refill devices provision (--qr PAYLOAD | --name NAME [--pop POP | --username U --password P])
                             [--softap URL] [--adapter NAME] [--ssid SSID [--passphrase PW]]

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
";

struct Options {
    flags: std::collections::HashMap<String, String>,
    remember: bool,
}

impl Options {
    fn parse(args: &[String]) -> Result<Self, String> {
        let mut flags = std::collections::HashMap::new();
        let mut remember = false;
        let mut it = args.iter();
        while let Some(arg) = it.next() {
            if arg == "--remember" {
                remember = true;
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
                    ]
                    .contains(n)
                })
                .ok_or_else(|| format!("unknown option '{arg}'"))?;
            let value = it.next().ok_or_else(|| format!("{arg} needs a value"))?;
            flags.insert(name.to_owned(), value.clone());
        }
        Ok(Self { flags, remember })
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
    let link = BleTransport::connect(&device)
        .await
        .map_err(|e| e.to_string())?;
    let max = link.max_value();
    onboard(link, max, &security, options).await
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
        let status = client
            .join_and_wait(ssid, &passphrase, Duration::from_secs(60))
            .await
            .map_err(|e| match e {
                ProvError::Timeout => format!("The device did not join {ssid} within a minute."),
                e => e.to_string(),
            })?;
        match status {
            WifiStatus::Connected { ip } => {
                println!("Wi-Fi connected: the device joined {ssid} (address {ip}).");
                if options.remember {
                    match passwords.remember(ssid, &Sensitive::new(passphrase)) {
                        Ok(()) => {
                            println!("The password for {ssid} is remembered for your next device.")
                        }
                        Err(e) => eprintln!("The password could not be remembered: {e}"),
                    }
                }
                return Ok(());
            }
            WifiStatus::Failed {
                reason: WifiFailure::AuthError,
            } => {
                let message =
                    format!("The device could not join {ssid}: the password was not accepted.");
                match ask(&format!(
                    "{message}\nPassword for {ssid} (Ctrl-C to stop): "
                )) {
                    Some(again) => passphrase = again,
                    None => return Err(message),
                }
            }
            WifiStatus::Failed {
                reason: WifiFailure::NetworkNotFound,
            } => {
                return Err(format!("The device cannot see a network named {ssid}. Check the name, or move the device closer to the router."));
            }
            WifiStatus::Failed { .. } | WifiStatus::Connecting { .. } => {
                return Err(format!("The device could not join {ssid}."));
            }
        }
    }
}
