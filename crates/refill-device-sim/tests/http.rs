//! A simulated device onboarded over HTTP, as ESP devices are in SoftAP mode: the app's real
//! HTTP transport against the device's HTTP server on loopback.

use refill_device_sim::{
    serve_http, serve_http_with, Protection, Sessions, SimDevice, HOME_PASSWORD,
};
use refill_provision::http::HttpTransport;
use refill_provision::protocomm::{Client, Transport, WifiStatus};
use refill_provision::registration::Registrar;
use refill_provision::{ProvError, QrPayload};
use std::time::Duration;

async fn onboard(protection: Protection) {
    onboard_with(protection, Sessions::EspIdf).await;
    onboard_with(protection, Sessions::ConnectionOnly).await;
}

async fn onboard_with(protection: Protection, sessions: Sessions) {
    let device = SimDevice::new("RefillBrew-200", "BREW-0001", protection);
    let served = serve_http_with(device.device.clone(), sessions)
        .await
        .unwrap();
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
async fn security_0_over_http() {
    onboard(Protection::Sec0).await;
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

/// The raw answer to a first `POST /proto-ver`, as bytes on the wire.
async fn raw_first_answer(addr: std::net::SocketAddr) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut socket = tokio::net::TcpStream::connect(addr).await.unwrap();
    socket
        .write_all(b"POST /proto-ver HTTP/1.1\r\nHost: 192.168.4.1\r\nContent-Length: 3\r\nConnection: close\r\n\r\n---")
        .await
        .unwrap();
    let mut answer = Vec::new();
    socket.read_to_end(&mut answer).await.unwrap();
    String::from_utf8_lossy(&answer).into_owned()
}

#[tokio::test]
async fn the_session_cookie_is_set_as_esp_idf_spells_it() {
    let device = SimDevice::new("RefillBrew-200", "BREW-0003", Protection::Sec1);
    let served = serve_http(device.device.clone()).await.unwrap();
    let answer = raw_first_answer(served.addr).await;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(answer.contains("\r\nSet-Cookie: session="), "{answer}");
}

#[tokio::test]
async fn a_connection_the_device_drops_mid_session_is_reported_as_lost() {
    for sessions in [Sessions::EspIdf, Sessions::ConnectionOnly] {
        let device = SimDevice::new("RefillBrew-200", "BREW-0004", Protection::Sec1);
        let served = serve_http_with(device.device.clone(), sessions)
            .await
            .unwrap();
        let qr = QrPayload::parse(&device.qr("softap")).unwrap();
        let link = HttpTransport::new(&format!("http://{}", served.addr));
        let mut client = Client::connect(link, &qr.security(), 4096).await.unwrap();
        client.identify().await.unwrap();
        served.drop_connections();
        tokio::time::sleep(Duration::from_millis(50)).await;
        let err = client.scan().await.unwrap_err();
        assert!(
            matches!(&err, ProvError::Link(why) if why.contains("closed the connection")),
            "{sessions:?}: {err:?}"
        );
    }
}
