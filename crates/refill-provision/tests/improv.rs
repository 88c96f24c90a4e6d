//! Improv Wi-Fi: frames as the spec gives them, and the app's client against the simulated
//! device over the in-process link.

mod common;

use common::hex;
use refill_provision::improv::{
    self, ImprovClient, ImprovDevice, ImprovSetup, Reassembly, SimImprovLink, State,
};
use refill_provision::ProvError;
use std::time::Duration;

#[test]
fn the_specs_wifi_settings_frame_is_reproduced_and_read_back() {
    let data = improv::strings(&["MyWirelessAP", "mysecurepassword"]).unwrap();
    let frame = improv::frame(improv::command::WIFI_SETTINGS, &data).unwrap();
    assert_eq!(
        frame,
        hex("01 1e 0c 4d79576972656c6573734150 10 6d7973656375726570617373776f7264 c0")
    );
    let (command, data) = improv::unframe(&frame).unwrap();
    assert_eq!(command, 1);
    assert_eq!(
        improv::parse_strings(data).unwrap(),
        ["MyWirelessAP", "mysecurepassword"]
    );
    let result = hex("01 15 14 687474703a2f2f3139322e3136382e322e313233 0f");
    let (_, data) = improv::unframe(&result).unwrap();
    assert_eq!(
        improv::parse_strings(data).unwrap(),
        ["http://192.168.2.123"]
    );
}

#[test]
fn broken_frames_are_refused() {
    let mut frame = improv::frame(2, &[]).unwrap();
    assert_eq!(frame, [2, 0, 2]);
    frame[2] = 3;
    assert!(improv::unframe(&frame).is_err(), "bad checksum");
    assert!(improv::unframe(&[1]).is_err(), "too short");
    assert!(
        improv::unframe(&[1, 5, 0, 6]).is_err(),
        "length past the end"
    );
    assert!(
        improv::parse_strings(&[5, b'a']).is_err(),
        "string past the end"
    );
    assert!(improv::frame(1, &[0; 256]).is_err(), "too long to frame");
}

#[test]
fn long_commands_are_reassembled_from_pieces() {
    let data = improv::strings(&["MyWirelessAP", "mysecurepassword"]).unwrap();
    let frame = improv::frame(1, &data).unwrap();
    let mut r = Reassembly::default();
    let pieces: Vec<&[u8]> = frame.chunks(20).collect();
    assert_eq!(r.push(pieces[0]), None);
    assert_eq!(r.push(pieces[1]).as_deref(), Some(frame.as_slice()));
}

fn device(needs_authorization: bool, disconnect_after_provisioned: bool) -> ImprovDevice {
    ImprovDevice::new(setup(needs_authorization, disconnect_after_provisioned))
}

fn setup(needs_authorization: bool, disconnect_after_provisioned: bool) -> ImprovSetup {
    ImprovSetup {
        info: [
            "refill-washer".into(),
            "1.2.0".into(),
            "ESP32-C3".into(),
            "Washer".into(),
        ],
        networks: vec![
            ("Cafe".into(), String::new(), -70),
            ("Home".into(), "correct horse".into(), -40),
        ],
        needs_authorization,
        join_time: Duration::from_millis(50),
        redirect_url: "http://192.168.1.30/setup".into(),
        disconnect_after_provisioned,
        chatty: false,
    }
}

#[tokio::test]
async fn results_that_answer_nothing_asked_are_skipped() {
    // An empty result after IDENTIFY, and an IDENTIFY result before each answer.
    let device = ImprovDevice::new(ImprovSetup {
        chatty: true,
        ..setup(false, false)
    });
    let link = SimImprovLink::connect(&device, 20, Duration::ZERO);
    let mut client = ImprovClient::connect(link).await.unwrap();
    client.identify().await.unwrap();
    let info = client.device_info().await.unwrap();
    assert_eq!(info[0], "refill-washer");
    client.identify().await.unwrap();
    let networks = client.scan().await.unwrap();
    assert_eq!(networks.len(), 2);
    assert_eq!(client.hostname(None).await.unwrap(), "washer");
    let url = client
        .join("Home", "correct horse", Duration::from_secs(2))
        .await
        .unwrap();
    assert_eq!(url.as_deref(), Some("http://192.168.1.30/setup"));
    assert_eq!(device.identified(), 2);
}

#[tokio::test]
async fn a_device_is_authorized_by_its_button_then_joins_wifi() {
    let device = device(true, false);
    let link = SimImprovLink::connect(&device, 20, Duration::ZERO);
    let mut client = ImprovClient::connect(link).await.unwrap();
    assert_eq!(client.state(), State::AuthorizationRequired);
    client.identify().await.unwrap();
    let err = client
        .join("Home", "correct horse", Duration::from_secs(2))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("press the button"), "{err}");
    let presser = device.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(50)).await;
        presser.press_button();
    });
    client
        .wait_for_authorization(Duration::from_secs(2))
        .await
        .unwrap();
    assert_eq!(device.identified(), 1);
    let info = client.device_info().await.unwrap();
    assert_eq!(info[0], "refill-washer");
    let networks = client.scan().await.unwrap();
    assert_eq!(networks.len(), 2);
    assert_eq!(
        (networks[0].ssid.as_str(), networks[0].secured),
        ("Home", true)
    );
    assert!(!networks[1].secured);
    let url = client
        .join("Home", "correct horse", Duration::from_secs(2))
        .await
        .unwrap();
    assert_eq!(url.as_deref(), Some("http://192.168.1.30/setup"));
    assert_eq!(device.state(), State::Provisioned);
    assert_eq!(device.service_data()[0], State::Provisioned as u8);
}

#[tokio::test]
async fn nobody_pressing_the_button_is_reported() {
    let device = device(true, false);
    let link = SimImprovLink::connect(&device, 512, Duration::ZERO);
    let mut client = ImprovClient::connect(link).await.unwrap();
    let err = client
        .wait_for_authorization(Duration::from_millis(100))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("pressed the button"), "{err}");
}

#[tokio::test]
async fn a_wrong_password_is_reported_and_can_be_corrected() {
    let device = device(false, false);
    let link = SimImprovLink::connect(&device, 512, Duration::ZERO);
    let mut client = ImprovClient::connect(link).await.unwrap();
    let err = client
        .join("Home", "wrong horse", Duration::from_secs(2))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("could not join"), "{err}");
    assert_eq!(device.state(), State::Authorized);
    client
        .join("Home", "correct horse", Duration::from_secs(2))
        .await
        .unwrap();
    assert_eq!(device.state(), State::Provisioned);
}

#[tokio::test]
async fn a_disconnect_after_provisioned_counts_as_success() {
    let device = device(false, true);
    let link = SimImprovLink::connect(&device, 512, Duration::ZERO);
    let mut client = ImprovClient::connect(link).await.unwrap();
    let url = client
        .join("Home", "correct horse", Duration::from_secs(2))
        .await
        .unwrap();
    assert_eq!(url, None);
    assert_eq!(device.state(), State::Provisioned);
}

#[tokio::test]
async fn a_disconnect_before_success_is_a_link_error() {
    let device = device(false, false);
    let link = SimImprovLink::connect(&device, 512, Duration::ZERO);
    let mut client = ImprovClient::connect(link).await.unwrap();
    device.disconnect();
    let err = client
        .join("Home", "correct horse", Duration::from_secs(2))
        .await
        .unwrap_err();
    assert!(matches!(err, ProvError::Link(_)), "{err:?}");
}

#[tokio::test]
async fn the_hostname_can_be_read_and_set_and_bad_ones_are_refused() {
    let device = device(false, false);
    let link = SimImprovLink::connect(&device, 512, Duration::ZERO);
    let mut client = ImprovClient::connect(link).await.unwrap();
    assert_eq!(client.hostname(None).await.unwrap(), "washer");
    assert_eq!(
        client.hostname(Some("utility-room")).await.unwrap(),
        "utility-room"
    );
    assert_eq!(client.hostname(None).await.unwrap(), "utility-room");
    let err = client.hostname(Some("-bad_name")).await.unwrap_err();
    assert!(err.to_string().contains("host name"), "{err}");
    assert!(!improv::valid_hostname(&"x".repeat(64)));
    assert!(improv::valid_hostname("a1-b2"));
}
