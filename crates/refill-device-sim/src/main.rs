//! `refill-device-sim`: runs one simulated device and serves its provisioning endpoints over
//! HTTP (as ESP devices do in SoftAP mode), printing where and its QR payload as one JSON line.
//!
//! usage: refill-device-sim [--model RefillBrew-200] [--serial SERIAL] [--sec0 | --sec2]
//!        [--connection-sessions]
//!
//! `--connection-sessions`: key the provisioning session by the TCP connection only, ignoring
//! cookies, as some firmware does.

use refill_device_sim::{serve_http_with, Protection, Sessions, SimDevice};

#[tokio::main]
async fn main() {
    let mut model = "RefillBrew-200".to_owned();
    let mut serial = format!("SIM-{:06}", rand::random::<u32>() % 1_000_000);
    let mut protection = Protection::Sec1;
    let mut sessions = Sessions::EspIdf;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--model" => model = args.next().unwrap_or(model),
            "--serial" => serial = args.next().unwrap_or(serial),
            "--sec0" => protection = Protection::Sec0,
            "--sec2" => protection = Protection::Sec2,
            "--connection-sessions" => sessions = Sessions::ConnectionOnly,
            other => {
                eprintln!("refill-device-sim: unknown option {other}");
                std::process::exit(2);
            }
        }
    }
    let device = SimDevice::new(&model, &serial, protection);
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
