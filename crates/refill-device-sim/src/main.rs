//! `refill-device-sim`: runs one simulated device and serves its provisioning endpoints over
//! HTTP (as ESP devices do in SoftAP mode), printing where and its QR payload as one JSON line.
//! Once linked, it reports its slots to the service that linked it.
//! `refill-device-sim --help` lists its options.

use clap::{Parser, ValueEnum};
use refill_device_sim::{serve_http_with, Protection, Sessions, SimDevice};

/// One simulated device, provisioned over HTTP as an ESP device in SoftAP mode is.
///
/// Prints one JSON line: its address, name, model, serial and QR payload.
#[derive(Parser, Debug)]
#[command(name = "refill-device-sim", version)]
struct Cli {
    /// The device model it says it is
    #[arg(long, env = "REFILL_SIM_MODEL", default_value = "RefillBrew-200")]
    model: String,
    /// Its serial number [default: SIM- and six random digits]
    #[arg(long, env = "REFILL_SIM_SERIAL")]
    serial: Option<String>,
    /// How its provisioning session is protected (ESP-IDF's protocomm security)
    #[arg(long, env = "REFILL_SIM_SECURITY", value_enum, default_value_t = Security::Sec1)]
    security: Security,
    /// Key the provisioning session by the TCP connection only, ignoring cookies, as some
    /// firmware does
    #[arg(long, env = "REFILL_SIM_CONNECTION_SESSIONS")]
    connection_sessions: bool,
    /// Once linked, report what is left in each slot to the service every this many seconds
    #[arg(long, env = "REFILL_SIM_REPORT_EVERY", default_value_t = refill_device_sim::REPORT_EVERY.as_secs_f64(), value_parser = seconds)]
    report_every: f64,
}

/// A number of seconds, more than none.
fn seconds(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(s) if s.is_finite() && s > 0.0 => Ok(s),
        _ => Err(format!("{text:?} is not a number of seconds above 0")),
    }
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum Security {
    /// No encryption
    Sec0,
    /// Curve25519 + AES-CTR with a proof of possession
    Sec1,
    /// SRP6a + AES-GCM with a username and password
    Sec2,
}

#[tokio::main]
async fn main() {
    let cli = Cli::parse();
    let serial = cli
        .serial
        .unwrap_or_else(|| format!("SIM-{:06}", rand::random::<u32>() % 1_000_000));
    let protection = match cli.security {
        Security::Sec0 => Protection::Sec0,
        Security::Sec1 => Protection::Sec1,
        Security::Sec2 => Protection::Sec2,
    };
    let sessions = if cli.connection_sessions {
        Sessions::ConnectionOnly
    } else {
        Sessions::EspIdf
    };
    let device = SimDevice::new(&cli.model, &serial, protection);
    device
        .reporting
        .set_every(Some(std::time::Duration::from_secs_f64(cli.report_every)));
    let served = match serve_http_with(device.device.clone(), sessions).await {
        Ok(served) => served,
        Err(e) => {
            eprintln!("refill-device-sim: could not listen: {e}");
            std::process::exit(1);
        }
    };
    println!(
        "{}",
        serde_json::json!({
            "url": format!("http://{}", served.addr),
            "name": device.name,
            "model": device.model,
            "serial": device.serial,
            "qr": device.qr("ble"),
        })
    );
    let _ = tokio::signal::ctrl_c().await;
}
