//! The real btleplug code against a fake radio: a private dbus-daemon as the system bus, BlueZoo
//! (a BlueZ D-Bus mock) with virtual adapters, and on each but the first a GATT peripheral
//! (`rig/peripheral.py`) exposing a simulated device's provisioning endpoints (or its Improv
//! service, notifications included), bridged to the simulator over HTTP. BlueZoo cannot reconnect a device, and btleplug keeps its system-bus
//! connection for the life of the process, so one rig serves the whole file: one peripheral
//! adapter per simulated device.
//!
//! Run by `cargo xtask test`, which installs the rig's Python side and sets
//! `REFILL_BLE_RIG_PYTHON`.

use refill_device_sim::rig::{self, Running};
use refill_device_sim::{
    serve_http, serve_improv_http, HttpDevice, Protection, SimDevice, SimImprovDevice,
    HOME_PASSWORD,
};
use refill_provision::ble::{self, BleImprovLink, BleTransport, Protocol};
use refill_provision::improv::{ImprovClient, State};
use refill_provision::protocomm::{Client, WifiStatus};
use refill_provision::registration::HttpRegistrar;
use refill_provision::registration::Registrar;
use refill_provision::{ProvError, QrPayload};
use std::time::Duration;

/// A simulated device advertised by a peripheral on its own adapter.
struct OnAir {
    device: SimDevice,
    _served: HttpDevice,
    _peripheral: Running,
}

/// An Improv device advertised by a peripheral on its own adapter.
struct ImprovOnAir {
    device: SimImprovDevice,
    _served: HttpDevice,
    _peripheral: Running,
}

/// The rig with its devices.
struct Rig {
    devices: Vec<OnAir>,
    improv: ImprovOnAir,
    _rig: rig::Rig,
}

impl Rig {
    /// The rig with a device for each of `protections`, and an Improv device on the last adapter.
    async fn start(protections: &[Protection]) -> Rig {
        let rig = rig::Rig::start(protections.len() + 1).unwrap();
        // btleplug (through libdbus) finds the system bus here. Set before any Manager exists.
        std::env::set_var("DBUS_SYSTEM_BUS_ADDRESS", &rig.system_bus);
        let mut devices = Vec::new();
        for (i, protection) in protections.iter().enumerate() {
            let serial = format!("BREW-BLE-{:04}", i + 1);
            let device = SimDevice::new("RefillBrew-200", &serial, *protection);
            let served = serve_http(device.device.clone()).await.unwrap();
            let peripheral = rig
                .advertise(
                    i + 1,
                    &format!("http://{}", served.addr),
                    &device.name,
                    "esp",
                )
                .unwrap();
            devices.push(OnAir {
                device,
                _served: served,
                _peripheral: peripheral,
            });
        }
        let device = SimImprovDevice::new("RefillWash-9", "WASH-BLE-IMPROV").unwrap();
        let served = serve_improv_http(device.improv.clone()).await.unwrap();
        let peripheral = rig
            .advertise(
                protections.len() + 1,
                &format!("http://{}", served.addr),
                &device.name,
                "improv",
            )
            .unwrap();
        Rig {
            devices,
            improv: ImprovOnAir {
                device,
                _served: served,
                _peripheral: peripheral,
            },
            _rig: rig,
        }
    }

    /// Scans on the central adapter until `device` shows up.
    async fn find(&self, device: &SimDevice) -> ble::Found {
        self.find_named(&device.name).await
    }

    async fn find_named(&self, name: &str) -> ble::Found {
        let adapter = ble::adapter(Some("hci0")).await.unwrap();
        for _ in 0..5 {
            let found = ble::scan(&adapter, Duration::from_secs(2)).await.unwrap();
            if let Some(found) = found.into_iter().find(|f| f.name == name) {
                return found;
            }
        }
        panic!("{name} was never seen");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs the fake BlueZ rig: run by `cargo xtask test`"]
async fn devices_are_onboarded_over_btleplug_on_the_fake_bluez_rig() {
    let rig = Rig::start(&[Protection::Sec1, Protection::Sec2]).await;

    // Security 1, from the QR payload, all the way to Wi-Fi.
    let sec1 = &rig.devices[0].device;
    let found = rig.find(sec1).await;
    assert_eq!(found.protocol, Protocol::Esp);
    let qr = QrPayload::parse(&sec1.qr("ble")).unwrap();
    let link = BleTransport::connect(&found).await.unwrap();
    let max = link.max_value();
    let mut client = Client::connect(link, &qr.security(), max).await.unwrap();
    let identity = client.identify().await.unwrap();
    assert_eq!(identity.serial, "BREW-BLE-0001");
    let networks = client.scan().await.unwrap();
    assert_eq!(networks[0].ssid, "Refill Home");
    client.join("Refill Home", HOME_PASSWORD).await.unwrap();
    let status = client.wait_for_wifi(Duration::from_secs(10)).await.unwrap();
    assert!(matches!(status, WifiStatus::Connected { .. }), "{status:?}");
    client.into_transport().disconnect().await;

    // Security 2 with the wrong password: named, nothing sent.
    let sec2 = &rig.devices[1].device;
    let found = rig.find(sec2).await;
    let link = BleTransport::connect(&found).await.unwrap();
    let wrong = refill_provision::security::Security::Sec2 {
        username: "wifiprov".to_owned(),
        password: refill_core::Sensitive::new("not-the-password".to_owned()),
    };
    let err = Client::connect(link, &wrong, 512).await.err().unwrap();
    assert_eq!(err, ProvError::WrongCredentials);

    // Improv: state, errors and RPC results arrive as notifications through BlueZ.
    let improv = &rig.improv.device;
    let found = rig.find_named(&improv.name).await;
    assert_eq!(found.protocol, Protocol::Improv);
    let link = BleImprovLink::connect(&found).await.unwrap();
    let mut client = ImprovClient::connect(link).await.unwrap();
    assert_eq!(client.state(), State::AuthorizationRequired);
    client.identify().await.unwrap();
    let button = improv.improv.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(300)).await;
        button.press_button();
    });
    client
        .wait_for_authorization(Duration::from_secs(10))
        .await
        .unwrap();
    assert_eq!(improv.improv.identified(), 1);
    let networks = client.scan().await.unwrap();
    assert_eq!(networks[0].ssid, "Refill Home");
    assert!(networks.len() > 3, "one notified result per network");
    let err = client
        .join("Refill Home", "wrong", Duration::from_secs(10))
        .await
        .unwrap_err();
    assert_eq!(err, ProvError::NotJoined);
    let url = client
        .join("Refill Home", HOME_PASSWORD, Duration::from_secs(10))
        .await
        .unwrap();
    assert_eq!(url.as_deref(), Some(improv.url.as_str()));
    let identity = HttpRegistrar::new(&improv.url).identify().await.unwrap();
    assert_eq!(identity.serial, "WASH-BLE-IMPROV");
}
