//! Scans for provisioning devices and onboards the one named in the QR payload given as the
//! first argument: `cargo run -p refill-provision --features ble --example ble_probe -- QR SSID PASSWORD`.

use refill_provision::ble::{self, BleTransport};
use refill_provision::protocomm::Client;
use refill_provision::QrPayload;
use std::time::Duration;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let qr = QrPayload::parse(&args[0])?;
    let adapter = ble::adapter(std::env::var("REFILL_BLE_ADAPTER").ok().as_deref()).await?;
    let found = ble::scan(&adapter, Duration::from_secs(3)).await?;
    for f in &found {
        println!("found {} {:?} {:?}", f.name, f.rssi, f.protocol);
    }
    let device = found
        .iter()
        .find(|f| f.name == qr.name)
        .ok_or("device not found")?;
    let link = BleTransport::connect(device).await?;
    let max = link.max_value();
    let mut client = Client::connect(link, &qr.security(), max).await?;
    println!(
        "networks: {:?}",
        client
            .scan()
            .await?
            .iter()
            .map(|n| &n.ssid)
            .collect::<Vec<_>>()
    );
    client.join(&args[1], &args[2]).await?;
    println!(
        "status: {:?}",
        client.wait_for_wifi(Duration::from_secs(10)).await?
    );
    println!("round trips: {}", client.round_trips());
    Ok(())
}
