//! The device's side of ESP-IDF provisioning, as the device simulator runs it: the same messages
//! and handshakes as the app's side, answering one request at a time.

use crate::proto::{
    config_msg, ctrl_msg, resp_get_status, wi_fi_config_payload, wi_fi_ctrl_payload, Empty,
    RespApplyConfig, RespGetStatus, RespSetConfig, Status, WiFiConfigPayload, WiFiCtrlPayload,
    WiFiScanResult, WifiAttemptFailed, WifiAuthMode, WifiConnectFailedReason, WifiConnectedState,
    WifiStationState,
};
use crate::protocomm::endpoint;
use crate::scan::{ScanAnswer, ScanRequest, Schema};
use crate::security::{Cipher, DeviceHandshake, DeviceSecurity};
use prost::Message;
use refill_core::Sensitive;
use std::time::{Duration, Instant};

/// A Wi-Fi network around the simulated device.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SimNetwork {
    /// Its name.
    pub ssid: String,
    /// Its password (empty for an open network).
    pub password: Sensitive<String>,
    /// Signal strength at the device, in dBm.
    pub rssi: i32,
    /// Channel.
    pub channel: u32,
}

impl SimNetwork {
    /// A WPA2 network.
    pub fn new(ssid: &str, password: &str, rssi: i32) -> Self {
        Self {
            ssid: ssid.to_owned(),
            password: Sensitive::new(password.to_owned()),
            rssi,
            channel: 1 + (ssid.len() as u32 % 11),
        }
    }

    fn auth(&self) -> WifiAuthMode {
        if self.password.expose().is_empty() {
            WifiAuthMode::Open
        } else {
            WifiAuthMode::Wpa2Psk
        }
    }
}

/// Answers the `custom-data` endpoint.
pub type CustomData = Box<dyn FnMut(&[u8]) -> Vec<u8> + Send>;

/// How a simulated device is set up.
pub struct DeviceSetup {
    /// `prov.ver`: `v1.1`, or `netprov-v1.2` for the other scan schema.
    pub version: String,
    /// Its security.
    pub security: DeviceSecurity,
    /// The networks it can see.
    pub networks: Vec<SimNetwork>,
    /// How long joining a network takes.
    pub join_time: Duration,
    /// Answers `custom-data` requests (decrypted in, encrypted out by the session).
    pub custom_data: CustomData,
}

enum Wifi {
    Idle,
    Configured {
        ssid: String,
        password: String,
    },
    Joining {
        ssid: String,
        password: String,
        since: Instant,
    },
    Connected {
        ip: String,
    },
    Failed(WifiConnectFailedReason),
}

/// A device that can be provisioned.
pub struct ProtocommDevice {
    setup: DeviceSetup,
    handshake: DeviceHandshake,
    cipher: Option<Box<dyn Cipher>>,
    wifi: Wifi,
    scanned: bool,
}

/// What the device does with a request.
#[derive(Debug, PartialEq, Eq)]
pub enum Answer {
    /// It answers with these bytes.
    Bytes(Vec<u8>),
    /// It ignores the request (as devices do with empty writes) and never answers.
    Nothing,
}

impl ProtocommDevice {
    /// A device set up as `setup` says, not yet connected.
    pub fn new(setup: DeviceSetup) -> Self {
        let handshake = DeviceHandshake::new(setup.security.clone());
        Self {
            setup,
            handshake,
            cipher: None,
            wifi: Wifi::Idle,
            scanned: false,
        }
    }

    /// What `proto-ver` answers.
    pub fn version_json(&self) -> String {
        let sec_ver = self.setup.security.version();
        let mut cap = vec!["wifi_scan"];
        match &self.setup.security {
            DeviceSecurity::Sec0 => cap.push("no_sec"),
            DeviceSecurity::Sec1 { pop: None } => cap.push("no_pop"),
            _ => {}
        }
        let patch = match &self.setup.security {
            DeviceSecurity::Sec2 { patch_ver, .. } => *patch_ver,
            _ => 0,
        };
        let info = serde_json::json!({
            "refill": { "ver": "1", "cap": ["custom-data"] },
            "prov": { "ver": self.setup.version, "sec_ver": sec_ver, "sec_patch_ver": patch, "cap": cap },
        });
        serde_json::to_string_pretty(&info).unwrap_or_default()
    }

    /// The link closed: the session ends (a new connection must shake hands again).
    pub fn disconnect(&mut self) {
        self.handshake = DeviceHandshake::new(self.setup.security.clone());
        self.cipher = None;
    }

    /// Whether the device is on Wi-Fi.
    pub fn connected_ip(&self) -> Option<&str> {
        match &self.wifi {
            Wifi::Connected { ip } => Some(ip),
            _ => None,
        }
    }

    /// Answers one request on `name`.
    pub fn handle(&mut self, name: &str, request: &[u8]) -> Answer {
        if request.is_empty() {
            return Answer::Nothing;
        }
        match name {
            endpoint::PROTO_VER => Answer::Bytes(self.version_json().into_bytes()),
            endpoint::SESSION => {
                let (answer, cipher) = self.handshake.handle(request);
                if cipher.is_some() {
                    self.cipher = cipher;
                }
                Answer::Bytes(answer)
            }
            _ => {
                let Some(cipher) = self.cipher.as_mut() else {
                    // No session: real devices drop such requests.
                    return Answer::Nothing;
                };
                let Ok(plain) = cipher.decrypt(request) else {
                    return Answer::Nothing;
                };
                let answer = match name {
                    endpoint::SCAN => self.scan(&plain),
                    endpoint::CONFIG => self.config(&plain),
                    endpoint::CTRL => self.ctrl(&plain),
                    endpoint::CUSTOM_DATA => Some((self.setup.custom_data)(&plain)),
                    _ => None,
                };
                match (answer, self.cipher.as_mut()) {
                    (Some(answer), Some(cipher)) => Answer::Bytes(cipher.encrypt(&answer)),
                    _ => Answer::Nothing,
                }
            }
        }
    }

    fn visible(&self) -> Vec<WiFiScanResult> {
        let mut networks: Vec<WiFiScanResult> = self
            .setup
            .networks
            .iter()
            .take(16)
            .enumerate()
            .map(|(i, n)| WiFiScanResult {
                ssid: n.ssid.as_bytes().to_vec(),
                channel: n.channel,
                rssi: n.rssi,
                bssid: vec![0x24, 0x0a, 0xc4, 0, 0, i as u8],
                auth: n.auth() as i32,
            })
            .collect();
        networks.sort_by_key(|n| std::cmp::Reverse(n.rssi));
        networks
    }

    fn page(&self, start: u32, count: u32) -> Option<Vec<WiFiScanResult>> {
        let all = self.visible();
        let end = start.checked_add(count)? as usize;
        if !self.scanned || end > all.len() {
            return None;
        }
        Some(all[start as usize..end].to_vec())
    }

    fn scan(&mut self, plain: &[u8]) -> Option<Vec<u8>> {
        let schema = Schema::of(&self.setup.version);
        let (msg, request) = schema.decode_request(plain)?;
        let (status, answer) = match request {
            Some(ScanRequest::Start(_)) => {
                self.scanned = true;
                (Status::Success, Some(ScanAnswer::Started))
            }
            Some(ScanRequest::Status) => {
                let count = if self.scanned {
                    self.visible().len() as u32
                } else {
                    0
                };
                let finished = self.scanned;
                (
                    Status::Success,
                    Some(ScanAnswer::Status { finished, count }),
                )
            }
            Some(ScanRequest::Results { start, count }) => match self.page(start, count) {
                Some(entries) => (Status::Success, Some(ScanAnswer::Results(entries))),
                // As ESP-IDF's wifi_scan.c answers a request past the last result.
                None => (Status::InternalError, None),
            },
            None => (Status::InvalidProto, None),
        };
        Some(schema.encode_answer(msg, status, answer))
    }

    fn settle(&mut self) {
        if let Wifi::Joining {
            ssid,
            password,
            since,
        } = &self.wifi
        {
            if since.elapsed() < self.setup.join_time {
                return;
            }
            self.wifi = match self.setup.networks.iter().position(|n| &n.ssid == ssid) {
                None => Wifi::Failed(WifiConnectFailedReason::NetworkNotFound),
                Some(i) if self.setup.networks[i].password.expose() != password => {
                    Wifi::Failed(WifiConnectFailedReason::AuthError)
                }
                Some(i) => Wifi::Connected {
                    ip: format!("192.168.1.{}", 20 + i),
                },
            };
        }
    }

    fn config(&mut self, plain: &[u8]) -> Option<Vec<u8>> {
        use wi_fi_config_payload::Payload;
        let request = WiFiConfigPayload::decode(plain).ok()?;
        let msg = request.msg.wrapping_add(1);
        let payload = match (request.msg, request.payload) {
            (config_msg::CMD_SET_CONFIG, Some(Payload::CmdSetConfig(c))) => {
                // Like real firmware, a device that failed to join takes no new configuration
                // until it is reset through prov-ctrl.
                let status = match (
                    &self.wifi,
                    String::from_utf8(c.ssid),
                    String::from_utf8(c.passphrase),
                ) {
                    (Wifi::Failed(_) | Wifi::Joining { .. }, _, _) => Status::InvalidSession,
                    (_, Ok(ssid), Ok(password)) if !ssid.is_empty() => {
                        self.wifi = Wifi::Configured { ssid, password };
                        Status::Success
                    }
                    _ => Status::InvalidArgument,
                };
                Payload::RespSetConfig(RespSetConfig {
                    status: status as i32,
                })
            }
            (config_msg::CMD_APPLY_CONFIG, _) => {
                let status = match std::mem::replace(&mut self.wifi, Wifi::Idle) {
                    Wifi::Configured { ssid, password } => {
                        self.wifi = Wifi::Joining {
                            ssid,
                            password,
                            since: Instant::now(),
                        };
                        Status::Success
                    }
                    other => {
                        self.wifi = other;
                        Status::InvalidSession
                    }
                };
                Payload::RespApplyConfig(RespApplyConfig {
                    status: status as i32,
                })
            }
            (config_msg::CMD_GET_STATUS, _) => {
                self.settle();
                let (sta_state, state) = match &self.wifi {
                    Wifi::Connected { ip } => (
                        WifiStationState::Connected,
                        Some(resp_get_status::State::Connected(WifiConnectedState {
                            ip4_addr: ip.clone(),
                            auth_mode: WifiAuthMode::Wpa2Psk as i32,
                            ..Default::default()
                        })),
                    ),
                    Wifi::Joining { .. } => (
                        WifiStationState::Connecting,
                        Some(resp_get_status::State::AttemptFailed(WifiAttemptFailed {
                            attempts_remaining: 3,
                        })),
                    ),
                    Wifi::Failed(reason) => (
                        WifiStationState::ConnectionFailed,
                        Some(resp_get_status::State::FailReason(*reason as i32)),
                    ),
                    Wifi::Idle | Wifi::Configured { .. } => (WifiStationState::Disconnected, None),
                };
                Payload::RespGetStatus(RespGetStatus {
                    status: 0,
                    sta_state: sta_state as i32,
                    state,
                })
            }
            _ => return Some(WiFiConfigPayload { msg, payload: None }.encode_to_vec()),
        };
        Some(
            WiFiConfigPayload {
                msg,
                payload: Some(payload),
            }
            .encode_to_vec(),
        )
    }

    fn ctrl(&mut self, plain: &[u8]) -> Option<Vec<u8>> {
        use wi_fi_ctrl_payload::Payload;
        let request = WiFiCtrlPayload::decode(plain).ok()?;
        let (status, payload) = match request.msg {
            ctrl_msg::CMD_RESET => match self.wifi {
                Wifi::Failed(_) | Wifi::Idle | Wifi::Configured { .. } => {
                    self.wifi = Wifi::Idle;
                    (Status::Success, Some(Payload::RespCtrlReset(Empty {})))
                }
                _ => (
                    Status::InvalidSession,
                    Some(Payload::RespCtrlReset(Empty {})),
                ),
            },
            ctrl_msg::CMD_REPROV => match self.wifi {
                Wifi::Connected { .. } => {
                    self.wifi = Wifi::Idle;
                    (Status::Success, Some(Payload::RespCtrlReprov(Empty {})))
                }
                _ => (
                    Status::InvalidSession,
                    Some(Payload::RespCtrlReprov(Empty {})),
                ),
            },
            _ => (Status::InvalidProto, None),
        };
        Some(
            WiFiCtrlPayload {
                msg: request.msg.wrapping_add(1),
                status: status as i32,
                payload,
            }
            .encode_to_vec(),
        )
    }
}
