//! The app's side against the device's side over the simulated link: every security scheme, both
//! scan schemas, and what goes wrong in the field.

mod common;

use common::hex;
use prost::Message;
use refill_core::Sensitive;
use refill_provision::device::{DeviceSetup, ProtocommDevice, SimNetwork};
use refill_provision::link::{Air, SimLink};
use refill_provision::proto;
use refill_provision::protocomm::{endpoint, Client, ProvInfo, Transport, WifiFailure, WifiStatus};
use refill_provision::security::{DeviceSecurity, Security};
use refill_provision::{ProvError, QrPayload, QrTransport};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Sixteen networks around the device, "Home" among them.
fn neighbourhood() -> Vec<SimNetwork> {
    let mut networks = vec![SimNetwork::new("Home", "correct horse", -41)];
    for i in 1..16 {
        networks.push(SimNetwork::new(
            &format!("Neighbour {i:02}"),
            "elsewhere",
            -50 - i,
        ));
    }
    networks
}

fn device(security: DeviceSecurity, version: &str) -> Arc<Mutex<ProtocommDevice>> {
    Arc::new(Mutex::new(ProtocommDevice::new(DeviceSetup {
        version: version.to_owned(),
        security,
        networks: neighbourhood(),
        join_time: Duration::from_millis(120),
        custom_data: Box::new(|request| {
            let mut answer = b"model=refill-coffee-1;".to_vec();
            answer.extend_from_slice(request);
            answer
        }),
    })))
}

/// A Security 1 session with a fresh "v1.1" device whose proof of possession is `pop`.
async fn sec1_session(pop: &str) -> Client<SimLink> {
    let device = device(
        DeviceSecurity::Sec1 {
            pop: Some(Sensitive::new(pop.to_owned())),
        },
        "v1.1",
    );
    Client::connect(SimLink::connect(device, Air::default()), &sec1(pop), 512)
        .await
        .unwrap()
}

fn sec1(pop: &str) -> Security {
    Security::Sec1 {
        pop: Some(Sensitive::new(pop.to_owned())),
    }
}

#[test]
fn messages_encode_exactly_as_esp_idf_does() {
    use proto::*;
    let sec0 = SessionData {
        sec_ver: 0,
        proto: Some(session_data::Proto::Sec0(Sec0Payload {
            msg: 0,
            payload: Some(sec0_payload::Payload::Sc(S0SessionCmd {})),
        })),
    };
    assert_eq!(sec0.encode_to_vec(), hex("52 03 a2 01 00"));
    let key = [0x11u8; 32];
    let sec1 = SessionData {
        sec_ver: 1,
        proto: Some(session_data::Proto::Sec1(Sec1Payload {
            msg: 0,
            payload: Some(sec1_payload::Payload::Sc0(SessionCmd0 {
                client_pubkey: key.to_vec(),
            })),
        })),
    };
    let mut expected = hex("10 01 5a 25 a2 01 22 0a 20");
    expected.extend_from_slice(&key);
    assert_eq!(sec1.encode_to_vec(), expected);
    let verify = [0x22u8; 32];
    let cmd1 = SessionData {
        sec_ver: 1,
        proto: Some(session_data::Proto::Sec1(Sec1Payload {
            msg: 2,
            payload: Some(sec1_payload::Payload::Sc1(SessionCmd1 {
                client_verify_data: verify.to_vec(),
            })),
        })),
    };
    let mut expected = hex("10 01 5a 27 08 02 b2 01 22 12 20");
    expected.extend_from_slice(&verify);
    assert_eq!(cmd1.encode_to_vec(), expected);
    let apply = WiFiConfigPayload {
        msg: 5,
        payload: Some(wi_fi_config_payload::Payload::RespApplyConfig(
            RespApplyConfig { status: 0 },
        )),
    };
    assert_eq!(apply.encode_to_vec(), hex("08 05 7a 00"));
    let connecting = WiFiConfigPayload {
        msg: 1,
        payload: Some(wi_fi_config_payload::Payload::RespGetStatus(
            RespGetStatus {
                status: 0,
                sta_state: WifiStationState::Connecting as i32,
                state: None,
            },
        )),
    };
    assert_eq!(connecting.encode_to_vec(), hex("08 01 5a 02 10 01"));
    let set = WiFiConfigPayload {
        msg: 2,
        payload: Some(wi_fi_config_payload::Payload::CmdSetConfig(CmdSetConfig {
            ssid: b"HomeNet".to_vec(),
            passphrase: b"secretpw".to_vec(),
            ..Default::default()
        })),
    };
    assert_eq!(
        set.encode_to_vec(),
        hex("08 02 62 13 0a 07 486f6d654e6574 12 08 7365637265747077")
    );
    let status = WiFiConfigPayload {
        msg: 0,
        payload: Some(wi_fi_config_payload::Payload::CmdGetStatus(CmdGetStatus {})),
    };
    assert_eq!(status.encode_to_vec(), hex("52 00"));
    let scan = WiFiScanPayload {
        msg: 0,
        status: 0,
        payload: Some(wi_fi_scan_payload::Payload::CmdScanStart(CmdScanStart {
            blocking: true,
            period_ms: 120,
            ..Default::default()
        })),
    };
    assert_eq!(scan.encode_to_vec(), hex("52 04 08 01 20 78"));
    // esp_prov's bare scan status request decodes.
    assert_eq!(
        WiFiScanPayload::decode(hex("08 02").as_slice())
            .unwrap()
            .msg,
        2
    );
}

#[test]
fn capabilities_are_read_from_proto_ver() {
    let info = ProvInfo::parse(
        br#"{"my-app": {"ver": "1.0"}, "prov": {"ver": "v1.1", "sec_ver": 2, "sec_patch_ver": 1, "cap": ["wifi_scan"]}}"#,
    )
    .unwrap();
    assert_eq!(
        (info.version.as_str(), info.sec_ver, info.sec_patch_ver),
        ("v1.1", 2, 1)
    );
    assert!(info.has("wifi_scan") && !info.needs_pop());
    let info = ProvInfo::parse(br#"{"prov":{"ver":"netprov-v1.2","cap":["no_sec","wifi_scan"]}}"#)
        .unwrap();
    assert_eq!(info.sec_ver, 0);
    assert!(info.network_provisioning());
    let old = ProvInfo::parse(b"V0.1").unwrap();
    assert_eq!((old.version.as_str(), old.sec_ver), ("V0.1", 1));
    assert!(ProvInfo::parse(b"{not json").is_err());
    assert!(ProvInfo::parse(b"").is_err());
}

async fn onboard(
    device: &Arc<Mutex<ProtocommDevice>>,
    security: &Security,
) -> Result<(WifiStatus, u32, usize), ProvError> {
    let link = SimLink::connect(device.clone(), Air::default());
    let mut client = Client::connect(link, security, 512).await?;
    let networks = client.scan().await?;
    assert_eq!(
        networks.first().map(|n| n.ssid.as_str()),
        Some("Home"),
        "strongest first"
    );
    client.join("Home", "correct horse").await?;
    let status = client.wait_for_wifi(Duration::from_secs(5)).await?;
    Ok((status, client.round_trips(), networks.len()))
}

#[tokio::test]
async fn every_security_scheme_onboards_a_device() {
    let sec2 = DeviceSecurity::sec2("wifiprov", "abcd1234");
    let cases = [
        (DeviceSecurity::Sec0, Security::Sec0),
        (
            DeviceSecurity::Sec1 {
                pop: Some(Sensitive::new("abcd1234".to_owned())),
            },
            sec1("abcd1234"),
        ),
        (
            DeviceSecurity::Sec1 { pop: None },
            Security::Sec1 { pop: None },
        ),
        (
            sec2.clone(),
            Security::Sec2 {
                username: "wifiprov".to_owned(),
                password: Sensitive::new("abcd1234".to_owned()),
            },
        ),
    ];
    for (on_device, in_app) in cases {
        let device = device(on_device.clone(), "v1.1");
        let (status, _, seen) = onboard(&device, &in_app).await.unwrap();
        assert_eq!(
            status,
            WifiStatus::Connected {
                ip: "192.168.1.20".to_owned()
            },
            "{on_device:?}"
        );
        assert_eq!(seen, 16);
        assert_eq!(device.lock().unwrap().connected_ip(), Some("192.168.1.20"));
    }
    // Old Security 2 firmware keeps one nonce for the session.
    let DeviceSecurity::Sec2 {
        username,
        salt,
        verifier,
        ..
    } = sec2
    else {
        unreachable!()
    };
    let old = device(
        DeviceSecurity::Sec2 {
            username,
            salt,
            verifier,
            patch_ver: 0,
        },
        "v1.1",
    );
    let (status, _, _) = onboard(
        &old,
        &Security::Sec2 {
            username: "wifiprov".to_owned(),
            password: Sensitive::new("abcd1234".to_owned()),
        },
    )
    .await
    .unwrap();
    assert!(matches!(status, WifiStatus::Connected { .. }));
}

#[tokio::test]
async fn network_provisioning_devices_scan_with_their_own_schema() {
    let device = device(
        DeviceSecurity::Sec1 {
            pop: Some(Sensitive::new("pop".to_owned())),
        },
        "netprov-v1.2",
    );
    let (status, _, seen) = onboard(&device, &sec1("pop")).await.unwrap();
    assert!(matches!(status, WifiStatus::Connected { .. }));
    assert_eq!(seen, 16);
}

#[tokio::test]
async fn a_wrong_proof_of_possession_is_named() {
    let device = device(
        DeviceSecurity::Sec1 {
            pop: Some(Sensitive::new("abcd1234".to_owned())),
        },
        "v1.1",
    );
    let link = SimLink::connect(device, Air::default());
    let err = Client::connect(link, &sec1("abcd1235"), 512)
        .await
        .err()
        .unwrap();
    assert_eq!(err, ProvError::WrongProofOfPossession);
    assert!(err.to_string().contains("proof of possession"));
}

#[tokio::test]
async fn a_wrong_security_2_password_is_named() {
    let device = device(DeviceSecurity::sec2("wifiprov", "abcd1234"), "v1.1");
    let link = SimLink::connect(device, Air::default());
    let wrong = Security::Sec2 {
        username: "wifiprov".to_owned(),
        password: Sensitive::new("abcd12345".to_owned()),
    };
    let err = Client::connect(link, &wrong, 512).await.err().unwrap();
    assert_eq!(err, ProvError::WrongCredentials);
}

#[tokio::test]
async fn a_wrong_wifi_password_can_be_corrected_without_starting_over() {
    let device = device(DeviceSecurity::Sec1 { pop: None }, "v1.1");
    let link = SimLink::connect(device.clone(), Air::default());
    let mut client = Client::connect(link, &Security::Sec1 { pop: None }, 512)
        .await
        .unwrap();
    client.join("Home", "wrong horse").await.unwrap();
    let status = client.wait_for_wifi(Duration::from_secs(5)).await.unwrap();
    assert_eq!(
        status,
        WifiStatus::Failed {
            reason: WifiFailure::AuthError
        }
    );
    // The device takes no new configuration until it is reset; the session is kept.
    assert!(client.join("Home", "correct horse").await.is_err());
    client.reset().await.unwrap();
    client.join("Home", "correct horse").await.unwrap();
    let status = client.wait_for_wifi(Duration::from_secs(5)).await.unwrap();
    assert!(matches!(status, WifiStatus::Connected { .. }));
    // Connected devices can be told to take another network.
    client.reprovision().await.unwrap();
    assert_eq!(device.lock().unwrap().connected_ip(), None);
}

#[tokio::test]
async fn an_unknown_network_is_reported_as_not_found() {
    let device = device(DeviceSecurity::Sec0, "v1.1");
    let link = SimLink::connect(device, Air::default());
    let mut client = Client::connect(link, &Security::Sec0, 512).await.unwrap();
    client.join("Cafe", "latte").await.unwrap();
    let status = client.wait_for_wifi(Duration::from_secs(5)).await.unwrap();
    assert_eq!(
        status,
        WifiStatus::Failed {
            reason: WifiFailure::NetworkNotFound
        }
    );
}

#[tokio::test]
async fn a_link_dropped_mid_handshake_is_a_link_error_and_the_next_connection_starts_clean() {
    let device = device(
        DeviceSecurity::Sec1 {
            pop: Some(Sensitive::new("pop".to_owned())),
        },
        "v1.1",
    );
    // proto-ver and the first session exchange get through, then the device is gone.
    let link = SimLink::connect(device.clone(), Air::default()).drop_after(2);
    let err = Client::connect(link, &sec1("pop"), 512)
        .await
        .err()
        .unwrap();
    assert!(matches!(err, ProvError::Link(_)), "{err:?}");
    let (status, _, _) = onboard(&device, &sec1("pop")).await.unwrap();
    assert!(matches!(status, WifiStatus::Connected { .. }));
}

#[tokio::test]
async fn a_mismatched_security_scheme_is_refused_before_any_handshake() {
    let device = device(DeviceSecurity::sec2("wifiprov", "pw"), "v1.1");
    let link = SimLink::connect(device, Air::default());
    let err = Client::connect(link, &sec1("pw"), 512).await.err().unwrap();
    assert!(matches!(err, ProvError::Unsupported(_)), "{err:?}");
}

#[tokio::test(start_paused = true)]
async fn empty_writes_and_requests_without_a_session_are_never_answered() {
    let device = device(DeviceSecurity::Sec0, "v1.1");
    let mut link = SimLink::connect(device.clone(), Air::default());
    assert_eq!(
        link.exchange(endpoint::PROTO_VER, b"").await,
        Err(ProvError::Timeout)
    );
    assert_eq!(
        link.exchange(endpoint::CONFIG, &hex("52 00")).await,
        Err(ProvError::Timeout)
    );
    let mut client = Client::connect(link, &Security::Sec0, 512).await.unwrap();
    let err = client.call(endpoint::CONFIG, b"").await.unwrap_err();
    assert!(matches!(err, ProvError::Protocol(_)));
}

#[tokio::test]
async fn custom_data_goes_through_the_encrypted_session() {
    let mut client = sec1_session("pop").await;
    let answer = client.call(endpoint::CUSTOM_DATA, b"hello").await.unwrap();
    assert_eq!(answer, b"model=refill-coffee-1;hello");
}

#[test]
fn qr_payloads_name_the_device_and_its_security() {
    let qr =
        QrPayload::parse(r#"{"ver":"v1","name":"PROV_123456","pop":"abcd1234","transport":"ble"}"#)
            .unwrap();
    assert_eq!(
        (qr.name.as_str(), qr.transport),
        ("PROV_123456", QrTransport::Ble)
    );
    assert!(matches!(qr.security(), Security::Sec1 { pop: Some(_) }));
    let qr = QrPayload::parse(
        r#"{"ver":"v1","name":"PROV_9","username":"wifiprov","pop":"abcd1234","transport":"softap"}"#,
    )
    .unwrap();
    assert!(matches!(qr.security(), Security::Sec2 { .. }));
    for bad in [
        "",
        "{}",
        r#"{"ver":"v2","name":"x","transport":"ble"}"#,
        r#"{"ver":"v1","name":"","transport":"ble"}"#,
    ] {
        assert!(QrPayload::parse(bad).is_err(), "{bad}");
    }
}

/// Found by the `device` fuzz target: a request whose `msg` is the largest number overflowed
/// the answer's `msg + 1`.
#[test]
fn a_request_with_the_largest_msg_number_is_answered_without_a_panic() {
    use refill_provision::device::Answer;
    let device = device(DeviceSecurity::Sec0, "v1.1");
    let mut device = device.lock().unwrap();
    let session = device.handle(endpoint::SESSION, &hex("52 03 a2 01 00"));
    assert!(matches!(session, Answer::Bytes(_)));
    // WiFiScanPayload { msg: i32::MAX }, WiFiConfigPayload { msg: i32::MAX }, WiFiCtrlPayload too.
    let largest = hex("08 ff ff ff ff 07");
    for name in [endpoint::SCAN, endpoint::CONFIG, endpoint::CTRL] {
        assert!(
            matches!(device.handle(name, &largest), Answer::Bytes(_)),
            "{name}"
        );
    }
}

#[tokio::test]
async fn the_strongest_networks_come_in_one_page_and_the_rest_on_request() {
    let mut client = sec1_session("abcd1234").await;
    let before = client.round_trips();
    let mut scan = client.scan_strongest().await.unwrap();
    // Start and one page of results: the count is not asked for while a page fills.
    assert_eq!(client.round_trips() - before, 2);
    assert_eq!(scan.networks.len(), 8);
    assert_eq!((scan.more(), scan.unread()), (true, None));
    assert_eq!(scan.networks[0].ssid, "Home");
    assert!(scan.networks.windows(2).all(|w| w[0].rssi >= w[1].rssi));
    // The rest: the count, then the second page.
    client.scan_rest(&mut scan).await.unwrap();
    assert_eq!(client.round_trips() - before, 4);
    assert_eq!((scan.networks.len(), scan.unread()), (16, Some(0)));
    assert!(!scan.more());
    // Reading again asks for nothing the device does not hold.
    client.scan_rest(&mut scan).await.unwrap();
    assert_eq!(client.round_trips() - before, 4);
}

#[tokio::test]
async fn a_device_seeing_fewer_networks_than_a_page_is_asked_for_its_count_and_keeps_the_session() {
    for version in ["v1.1", "netprov-v1.2"] {
        let device = Arc::new(Mutex::new(ProtocommDevice::new(DeviceSetup {
            version: version.to_owned(),
            security: DeviceSecurity::Sec1 { pop: None },
            networks: neighbourhood().into_iter().take(3).collect(),
            join_time: Duration::from_millis(50),
            custom_data: Box::new(|request| request.to_vec()),
        })));
        let link = SimLink::connect(device, Air::default());
        let mut client = Client::connect(link, &Security::Sec1 { pop: None }, 512)
            .await
            .unwrap();
        let before = client.round_trips();
        let mut scan = client.scan_strongest().await.unwrap();
        // Start, the refused page, the count, the three results.
        assert_eq!(client.round_trips() - before, 4, "{version}");
        let names: Vec<_> = scan.networks.iter().map(|n| n.ssid.as_str()).collect();
        assert_eq!(names, ["Home", "Neighbour 01", "Neighbour 02"], "{version}");
        assert!(!scan.more(), "{version}");
        client.scan_rest(&mut scan).await.unwrap();
        assert_eq!(client.round_trips() - before, 4, "{version}");
        // The refused page did not end the session: the device still joins.
        client.join("Home", "correct horse").await.unwrap();
        let status = client.wait_for_wifi(Duration::from_secs(5)).await.unwrap();
        assert!(
            matches!(status, WifiStatus::Connected { .. }),
            "{version}: {status:?}"
        );
    }
}

#[tokio::test]
async fn a_join_is_followed_by_one_status_poll_when_the_device_is_quick() {
    // The device joins within the first poll's delay, so one poll tells the result.
    let mut client = sec1_session("abcd1234").await;
    client.join("Home", "correct horse").await.unwrap();
    let before = client.round_trips();
    let status = client.wait_for_wifi(Duration::from_secs(5)).await.unwrap();
    assert!(matches!(status, WifiStatus::Connected { .. }));
    assert_eq!(client.round_trips() - before, 1);
}
