//! The real btleplug code against a fake radio: a private dbus-daemon as the system bus, BlueZoo
//! (a BlueZ D-Bus mock) with virtual adapters, and on each but the first a GATT peripheral
//! (`rig/peripheral.py`) exposing a simulated device's provisioning endpoints (or its Improv
//! service, notifications included), bridged to the simulator over HTTP. BlueZoo cannot reconnect a device, and btleplug keeps its system-bus
//! connection for the life of the process, so one rig serves the whole file: one peripheral
//! adapter per simulated device.
//!
//! Run by `cargo xtask test`, which installs the rig's Python side and sets
//! `REFILL_BLE_RIG_PYTHON`.

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
use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A child process killed when dropped.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

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
    _bluezoo: Running,
    _bus: Running,
    _dir: tempfile::TempDir,
}

fn python() -> PathBuf {
    std::env::var_os("REFILL_BLE_RIG_PYTHON")
        .map(PathBuf::from)
        .expect("REFILL_BLE_RIG_PYTHON is not set: run the BLE tests through `cargo xtask test`")
}

fn wait_for(what: &str, mut ready: impl FnMut() -> bool) {
    let started = Instant::now();
    while !ready() {
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "{what} did not come up"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

impl Rig {
    /// The rig with a device for each of `protections`, and an Improv device on the last adapter.
    async fn start(protections: &[Protection]) -> Rig {
        let dir = tempfile::tempdir().unwrap();
        let socket = dir.path().join("system_bus_socket");
        let config = dir.path().join("bus.conf");
        std::fs::write(
            &config,
            format!(
                r#"<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>system</type>
  <listen>unix:path={}</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow user="*"/> <allow own="*"/>
    <allow send_type="method_call"/> <allow send_type="signal"/>
    <allow send_type="method_return"/> <allow send_type="error"/>
    <allow receive_type="method_call"/> <allow receive_type="signal"/>
    <allow receive_type="method_return"/> <allow receive_type="error"/>
  </policy>
</busconfig>
"#,
                socket.display()
            ),
        )
        .unwrap();
        let bus = Running(
            Command::new("dbus-daemon")
                .arg(format!("--config-file={}", config.display()))
                .arg("--nofork")
                .stdout(Stdio::null())
                .spawn()
                .expect("dbus-daemon (`cargo xtask test` installs it)"),
        );
        wait_for("the private system bus", || socket.exists());
        let address = format!("unix:path={}", socket.display());
        // btleplug (through libdbus) finds the system bus here. Set before any Manager exists.
        std::env::set_var("DBUS_SYSTEM_BUS_ADDRESS", &address);
        let bluezoo = Running(
            Command::new(python())
                .args([
                    "-c",
                    "import sys; from bluezoo import bluezoo; sys.exit(bluezoo.main())",
                ])
                .args(["--auto-enable", "--scan-interval", "1"])
                .args(["-a", "00:11:22:33:44:00"])
                .args(
                    (1..=protections.len() + 1)
                        .flat_map(|i| ["-a".to_owned(), format!("00:AA:BB:CC:DD:{i:02X}")]),
                )
                .env("DBUS_SYSTEM_BUS_ADDRESS", &address)
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("BlueZoo"),
        );
        let started = Instant::now();
        let last = format!("hci{}", protections.len() + 1);
        while ble::adapter(Some(&last)).await.is_err() {
            assert!(
                started.elapsed() < Duration::from_secs(20),
                "BlueZoo did not come up"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let mut devices = Vec::new();
        for (i, protection) in protections.iter().enumerate() {
            let serial = format!("BREW-BLE-{:04}", i + 1);
            let device = SimDevice::new("RefillBrew-200", &serial, *protection);
            let served = serve_http(device.device.clone()).await.unwrap();
            let peripheral = peripheral(&address, i + 1, &served, &device.name, "esp");
            devices.push(OnAir {
                device,
                _served: served,
                _peripheral: peripheral,
            });
        }
        let device = SimImprovDevice::new("RefillWash-9", "WASH-BLE-IMPROV").unwrap();
        let served = serve_improv_http(device.improv.clone()).await.unwrap();
        let peripheral = peripheral(
            &address,
            protections.len() + 1,
            &served,
            &device.name,
            "improv",
        );
        Rig {
            devices,
            improv: ImprovOnAir {
                device,
                _served: served,
                _peripheral: peripheral,
            },
            _bluezoo: bluezoo,
            _bus: bus,
            _dir: dir,
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

/// Starts the GATT peripheral on adapter `hci{adapter}` for the device served at `served`.
fn peripheral(
    address: &str,
    adapter: usize,
    served: &HttpDevice,
    name: &str,
    kind: &str,
) -> Running {
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("rig/peripheral.py");
    let mut peripheral = Command::new(python())
        .arg(script)
        .arg(format!("/org/bluez/hci{adapter}"))
        .args([&format!("http://{}", served.addr), name, kind])
        .env("DBUS_SYSTEM_BUS_ADDRESS", address)
        .stdout(Stdio::piped())
        .spawn()
        .expect("the GATT peripheral");
    let mut line = String::new();
    BufReader::new(peripheral.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    assert_eq!(
        line.trim(),
        "peripheral: ready",
        "the GATT peripheral did not register"
    );
    Running(peripheral)
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
