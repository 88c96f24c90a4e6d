//! Onboarding over the simulated link with a 30 ms round trip: from connecting to "Wi-Fi
//! connected" with Security 1 and a 16-network scan (the wizard reads the strongest page and
//! the rest only on "More networks"). Refill's client against the same steps done
//! as Espressif's esp_prov does them (4 scan entries per page, a fixed 5 s wait before asking for
//! the status), measured in the same run. Prints one JSON line; `cargo xtask bench` reads it.

use refill_core::Sensitive;
use refill_provision::device::{DeviceSetup, ProtocommDevice, SimNetwork};
use refill_provision::link::{Air, SimLink};
use refill_provision::protocomm::{Client, WifiStatus};
use refill_provision::security::{DeviceSecurity, Security};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const POP: &str = "d4e5f6a7";
const ROUND_TRIP: Duration = Duration::from_millis(30);
/// How long the simulated device takes to join the network.
const JOIN: Duration = Duration::from_millis(300);

fn device() -> Arc<Mutex<ProtocommDevice>> {
    let names = [
        "Refill Home",
        "FRITZ!Box 7590 KL",
        "Vodafone-A3F2",
        "Telekom-4F2A",
        "eduroam",
        "Casa Rossi",
        "TP-Link_2.4GHz_7C1E",
        "Cafe Luna Guests",
        "NETGEAR47",
        "Livebox-91B0",
        "o2-WLAN58",
        "HUAWEI-B535-2C1D",
        "DIRECT-roku-442",
        "Apartment 3B",
        "Pixel_8841",
        "Linksys00412",
    ];
    let networks = names
        .iter()
        .enumerate()
        .map(|(i, n)| {
            SimNetwork::new(
                n,
                if i == 0 { "refill-sandbox-wifi" } else { "x" },
                -40 - 3 * i as i32,
            )
        })
        .collect();
    Arc::new(Mutex::new(ProtocommDevice::new(DeviceSetup {
        version: "v1.1".to_owned(),
        security: DeviceSecurity::Sec1 {
            pop: Some(Sensitive::new(POP.to_owned())),
        },
        networks,
        join_time: JOIN,
        custom_data: Box::new(|_| Vec::new()),
    })))
}

/// Connects over a 30 ms link, scans (pages sized to `max_value`; all of them, or the strongest
/// page only as the app's wizard shows it) and sends the Wi-Fi settings; returns the session and
/// when it started.
async fn connect_scan_join(max_value: usize, all: bool) -> (Client<SimLink>, Instant) {
    let link = SimLink::connect(
        device(),
        Air {
            round_trip: ROUND_TRIP,
            ..Air::default()
        },
    );
    let started = Instant::now();
    let security = Security::Sec1 {
        pop: Some(Sensitive::new(POP.to_owned())),
    };
    let mut client = Client::connect(link, &security, max_value)
        .await
        .expect("connect");
    let mut scan = client.scan_strongest().await.expect("scan");
    if all {
        client
            .scan_rest(&mut scan)
            .await
            .expect("the rest of the scan");
        assert_eq!(scan.networks.len(), 16);
    } else {
        assert_eq!((scan.networks.len(), scan.more()), (8, true));
    }
    client
        .join(&scan.networks[0].ssid, "refill-sandbox-wifi")
        .await
        .expect("join");
    (client, started)
}

/// Refill's flow; returns (exchanges, milliseconds).
async fn refill() -> (u32, f64) {
    let (mut client, started) = connect_scan_join(512, false).await;
    let status = client
        .wait_for_wifi(Duration::from_secs(30))
        .await
        .expect("status");
    assert!(matches!(status, WifiStatus::Connected { .. }));
    (
        client.round_trips(),
        started.elapsed().as_secs_f64() * 1000.0,
    )
}

/// esp_prov's flow: scan pages of 4 (its BLE limit), then 5 s of sleep before each status.
async fn esp_prov() -> (u32, f64) {
    let (mut client, started) = connect_scan_join(4 * 64, true).await;
    loop {
        tokio::time::sleep(Duration::from_secs(5)).await;
        match client.wifi_status().await.expect("status") {
            WifiStatus::Connected { .. } => break,
            WifiStatus::Connecting { .. } => {}
            other => panic!("{other:?}"),
        }
    }
    (
        client.round_trips(),
        started.elapsed().as_secs_f64() * 1000.0,
    )
}

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    let mut ours = Vec::new();
    for _ in 0..5 {
        ours.push(runtime.block_on(refill()));
    }
    let theirs = runtime.block_on(esp_prov());
    ours.sort_by(|a, b| a.1.total_cmp(&b.1));
    let (exchanges, ms) = ours[ours.len() / 2];
    println!(
        "{{\"refill\":{{\"round_trips\":{exchanges},\"ms\":{ms:.1}}},\"esp_prov\":{{\"round_trips\":{},\"ms\":{:.1}}}}}",
        theirs.0, theirs.1
    );
}
