//! Onboarding devices: ESP-IDF unified provisioning (protocomm Security 0, 1 and 2) over any
//! transport, for the app and, sharing the same messages and handshakes, for the device
//! simulator. No Tauri here.
//!
//! * [`proto`]: the protobuf messages (prost derives, no `protoc`).
//! * [`security`]: the handshakes and session ciphers; [`srp`]: SRP-6a for Security 2.
//! * [`protocomm`]: the app's [`protocomm::Client`] over a [`protocomm::Transport`].
//! * [`device`]: the device's side; [`link`]: an in-process simulated link to it.
//! * `ble` (feature `ble`): btleplug scanning and protocomm over GATT.
//! * [`http`]: protocomm over HTTP (SoftAP provisioning).
//! * [`improv`]: Improv Wi-Fi over BLE, both sides.
//! * [`registration`]: linking a device to the customer's account (DRS-style), both sides.
//! * [`QrPayload`]: what Espressif devices print as a QR code.

#[cfg(feature = "ble")]
pub mod ble;
pub mod device;
mod error;
pub mod http;
pub mod improv;
pub mod link;
pub mod proto;
pub mod protocomm;
pub mod registration;
mod scan;
pub mod security;
pub mod srp;

pub use error::ProvError;

use serde::Deserialize;

/// How the app reaches a device named in a QR payload.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum QrTransport {
    /// Bluetooth LE.
    Ble,
    /// The device's own Wi-Fi access point.
    Softap,
}

/// The JSON in an Espressif provisioning QR code:
/// `{"ver":"v1","name":"PROV_…","pop":"…","transport":"ble","username":"…"}`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct QrPayload {
    /// Payload version (`v1`).
    pub ver: String,
    /// The device's advertised name.
    pub name: String,
    /// Proof of possession (Security 1) or password (Security 2).
    #[serde(default)]
    pub pop: Option<String>,
    /// How to reach it.
    pub transport: QrTransport,
    /// Security 2 username.
    #[serde(default)]
    pub username: Option<String>,
}

impl QrPayload {
    /// Reads a scanned or pasted payload.
    pub fn parse(text: &str) -> Result<Self, ProvError> {
        let payload: QrPayload = serde_json::from_str(text.trim()).map_err(|e| {
            ProvError::Unsupported(format!(
                "the QR code is not a device code this app knows ({e})"
            ))
        })?;
        if payload.ver != "v1" {
            return Err(ProvError::Unsupported(format!(
                "QR code version {}",
                payload.ver
            )));
        }
        if payload.name.is_empty() {
            return Err(ProvError::Unsupported(
                "the QR code names no device".to_owned(),
            ));
        }
        Ok(payload)
    }

    /// The security the payload implies: Security 2 with a username, else Security 1.
    pub fn security(&self) -> security::Security {
        let secret = self.pop.clone().map(refill_core::Sensitive::new);
        match (&self.username, secret) {
            (Some(username), Some(password)) => security::Security::Sec2 {
                username: username.clone(),
                password,
            },
            (_, pop) => security::Security::Sec1 { pop },
        }
    }
}
