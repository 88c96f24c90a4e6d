//! A simulated device onboarded over HTTP, as ESP devices are in SoftAP mode: the app's real
//! HTTP transport against the device's HTTP server on loopback.

use refill_device_sim::{serve_http, Protection, SimDevice, HOME_PASSWORD};
use refill_provision::http::HttpTransport;
use refill_provision::protocomm::{Client, Transport, WifiStatus};
use refill_provision::registration::Registrar;
use refill_provision::{ProvError, QrPayload};
use std::time::Duration;

async fn onboard(protection: Protection) {
    let device = SimDevice::new("RefillBrew-200", "BREW-0001", protection);
    let served = serve_http(device.device.clone()).await.unwrap();
    let qr = QrPayload::parse(&device.qr("softap")).unwrap();
    assert_eq!(qr.name, device.name);
    let link = HttpTransport::new(&format!("http://{}", served.addr));
    let mut client = Client::connect(link, &qr.security(), 4096).await.unwrap();
    let identity = client.identify().await.unwrap();
    assert_eq!(identity.serial, "BREW-0001");
    assert_eq!(identity.model, "RefillBrew-200");
    let networks = client.scan().await.unwrap();
    assert_eq!(networks[0].ssid, "Refill Home");
    assert!(networks.iter().any(|n| n.ssid == "Guest"));
    client.join("Refill Home", HOME_PASSWORD).await.unwrap();
    let status = client.wait_for_wifi(Duration::from_secs(5)).await.unwrap();
    assert!(matches!(status, WifiStatus::Connected { .. }), "{status:?}");
}

#[tokio::test]
async fn security_1_over_http() {
    onboard(Protection::Sec1).await;
}

#[tokio::test]
async fn security_2_over_http() {
    onboard(Protection::Sec2).await;
}

#[tokio::test]
async fn unknown_endpoints_and_a_second_client_are_handled_as_esp_devices_do() {
    let device = SimDevice::new("RefillWash-9", "WASH-0001", Protection::Sec1);
    let served = serve_http(device.device.clone()).await.unwrap();
    let base = format!("http://{}", served.addr);
    let mut link = HttpTransport::new(&base);
    assert_eq!(
        link.exchange("prov-nothing", b"x").await,
        Err(ProvError::NoEndpoint("prov-nothing".to_owned()))
    );
    let qr = QrPayload::parse(&device.qr("softap")).unwrap();
    let mut first = Client::connect(HttpTransport::new(&base), &qr.security(), 4096)
        .await
        .unwrap();
    // Another phone connects: the first one's session ends.
    let _second = Client::connect(HttpTransport::new(&base), &qr.security(), 4096)
        .await
        .unwrap();
    assert!(first.wifi_status().await.is_err());
}
