//! The fake Bluetooth radio (feature `rig`, for tests only): what this machine cannot have,
//! faked below the real BlueZ D-Bus API so that the real btleplug code runs on it. A private
//! dbus-daemon serves as the system bus; BlueZoo (a BlueZ D-Bus mock, from PyPI) gives it
//! virtual adapters, `hci0` for the central (the app or the test) and one more per device;
//! on each of those a GATT peripheral (`rig/peripheral.py`) advertises a simulated device and
//! bridges its characteristics to the device's HTTP endpoints ([`crate::serve_http`] or
//! [`crate::serve_improv_http`]).
//!
//! A process that uses the rig finds its system bus at [`Rig::system_bus`] (as
//! `DBUS_SYSTEM_BUS_ADDRESS`, set before any btleplug `Manager` exists). `cargo xtask test`
//! makes the Python side's venv and names its interpreter in `REFILL_BLE_RIG_PYTHON`.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A child process, killed when dropped.
pub struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The rig's Python, with BlueZoo and the peripheral's modules: `REFILL_BLE_RIG_PYTHON`.
pub fn python() -> std::io::Result<PathBuf> {
    std::env::var_os("REFILL_BLE_RIG_PYTHON")
        .map(PathBuf::from)
        .ok_or_else(|| {
            std::io::Error::other(
                "REFILL_BLE_RIG_PYTHON is not set: run the Bluetooth tests through `cargo xtask test`",
            )
        })
}

/// A private system bus with BlueZoo on it.
pub struct Rig {
    /// The system bus's address, for `DBUS_SYSTEM_BUS_ADDRESS`.
    pub system_bus: String,
    python: PathBuf,
    _bluezoo: Running,
    _bus: Running,
    _dir: tempfile::TempDir,
}

impl Rig {
    /// The bus and BlueZoo with the central adapter `hci0` and `peripherals` more, `hci1` on,
    /// once they are all on the bus.
    pub fn start(peripherals: usize) -> std::io::Result<Rig> {
        let python = python()?;
        let dir = tempfile::tempdir()?;
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
        )?;
        let bus = Running(
            Command::new("dbus-daemon")
                .arg(format!("--config-file={}", config.display()))
                .arg("--nofork")
                .stdout(Stdio::null())
                .spawn()
                .map_err(|e| {
                    std::io::Error::other(format!(
                        "dbus-daemon could not start (`cargo xtask setup` installs it): {e}"
                    ))
                })?,
        );
        let started = Instant::now();
        while !socket.exists() {
            if started.elapsed() > Duration::from_secs(20) {
                return Err(std::io::Error::other(
                    "the private system bus did not come up",
                ));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let system_bus = format!("unix:path={}", socket.display());
        let bluezoo = Running(
            Command::new(&python)
                .args([
                    "-c",
                    "import sys; from bluezoo import bluezoo; sys.exit(bluezoo.main())",
                ])
                .args(["--auto-enable", "--scan-interval", "1"])
                .args(["-a", "00:11:22:33:44:00"])
                .args(
                    (1..=peripherals)
                        .flat_map(|i| ["-a".to_owned(), format!("00:AA:BB:CC:DD:{i:02X}")]),
                )
                .env("DBUS_SYSTEM_BUS_ADDRESS", &system_bus)
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()?,
        );
        let rig = Rig {
            system_bus,
            python,
            _bluezoo: bluezoo,
            _bus: bus,
            _dir: dir,
        };
        // Up once its last adapter answers on the bus.
        let started = Instant::now();
        while !rig.has_adapter(peripherals)? {
            if started.elapsed() > Duration::from_secs(20) {
                return Err(std::io::Error::other("BlueZoo did not come up"));
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        Ok(rig)
    }

    /// Whether BlueZoo's adapter `hci{index}` is on the bus (asked with `dbus-send`).
    fn has_adapter(&self, index: usize) -> std::io::Result<bool> {
        let answer = Command::new("dbus-send")
            .args([
                "--system",
                "--print-reply",
                "--dest=org.bluez",
                &format!("/org/bluez/hci{index}"),
                "org.freedesktop.DBus.Properties.Get",
                "string:org.bluez.Adapter1",
                "string:Address",
            ])
            .env("DBUS_SYSTEM_BUS_ADDRESS", &self.system_bus)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()?;
        Ok(answer.success())
    }

    /// Advertises the device served at `url` (its provisioning endpoints, `kind` `esp`, or its
    /// Improv service, `improv`) as `name` from adapter `hci{adapter}`, until dropped.
    pub fn advertise(
        &self,
        adapter: usize,
        url: &str,
        name: &str,
        kind: &str,
    ) -> std::io::Result<Running> {
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("rig/peripheral.py");
        let mut peripheral = Command::new(&self.python)
            .arg(script)
            .arg(format!("/org/bluez/hci{adapter}"))
            .args([url, name, kind])
            .env("DBUS_SYSTEM_BUS_ADDRESS", &self.system_bus)
            .stdout(Stdio::piped())
            .spawn()?;
        let mut line = String::new();
        if let Some(out) = peripheral.stdout.take() {
            BufReader::new(out).read_line(&mut line)?;
        }
        let running = Running(peripheral);
        if line.trim() != "peripheral: ready" {
            return Err(std::io::Error::other(format!(
                "the GATT peripheral on hci{adapter} did not register ({:?})",
                line.trim()
            )));
        }
        Ok(running)
    }
}
