//! The app's side of ESP-IDF unified provisioning over any [`Transport`]: capabilities from
//! `proto-ver`, the secure session, Wi-Fi scan (both scan schemas), set and apply config, status
//! polling, `prov-ctrl` reset and reprovision, and custom endpoints.

use crate::error::ProvError;
use crate::proto::{
    config_msg, ctrl_msg, resp_get_status, wi_fi_config_payload, wi_fi_ctrl_payload,
    CmdApplyConfig, CmdGetStatus, CmdScanStart, CmdSetConfig, Empty, WiFiConfigPayload,
    WiFiCtrlPayload, WifiAuthMode, WifiConnectFailedReason, WifiStationState,
};
use crate::scan::{ScanAnswer, ScanRequest, Schema};
use crate::security::{Cipher, ClientHandshake, Security, Step};
use prost::Message;
use serde::{Deserialize, Serialize};
use std::future::Future;
use std::time::Duration;

/// Endpoint names.
pub mod endpoint {
    /// Version and capabilities (never encrypted).
    pub const PROTO_VER: &str = "proto-ver";
    /// The security handshake.
    pub const SESSION: &str = "prov-session";
    /// Wi-Fi scan.
    pub const SCAN: &str = "prov-scan";
    /// Wi-Fi configuration and status.
    pub const CONFIG: &str = "prov-config";
    /// Reset and reprovision.
    pub const CTRL: &str = "prov-ctrl";
    /// Refill's own endpoint: the device's model, serial and registration (see the registration
    /// flow).
    pub const CUSTOM_DATA: &str = "custom-data";
}

/// A link to one device: one request and its answer on a named endpoint at a time.
pub trait Transport: Send {
    /// Sends `request` to `endpoint` and returns the device's answer.
    fn exchange(
        &mut self,
        endpoint: &str,
        request: &[u8],
    ) -> impl Future<Output = Result<Vec<u8>, ProvError>> + Send;
}

/// What the device says of itself on `proto-ver`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProvInfo {
    /// `prov.ver`: `v1.1` (wifi_provisioning) or `netprov-v1.x` (network_provisioning).
    pub version: String,
    /// `prov.sec_ver`: 0, 1 or 2.
    pub sec_ver: u32,
    /// `prov.sec_patch_ver` (0 when absent).
    pub sec_patch_ver: u32,
    /// `prov.cap`: `wifi_scan`, `no_pop`, `no_sec`, …
    pub capabilities: Vec<String>,
}

#[derive(Deserialize)]
struct ProvSection {
    ver: String,
    #[serde(default)]
    sec_ver: Option<u32>,
    #[serde(default)]
    sec_patch_ver: Option<u32>,
    #[serde(default)]
    cap: Vec<String>,
}

impl ProvInfo {
    /// Reads the `proto-ver` answer: the JSON object, or a bare version string (old firmware).
    pub fn parse(answer: &[u8]) -> Result<Self, ProvError> {
        let text = std::str::from_utf8(answer)
            .map_err(|_| ProvError::protocol("the version is not text"))?
            .trim();
        if !text.starts_with('{') {
            if text.is_empty() {
                return Err(ProvError::protocol("the version is empty"));
            }
            return Ok(ProvInfo {
                version: text.to_owned(),
                sec_ver: 1,
                sec_patch_ver: 0,
                capabilities: Vec::new(),
            });
        }
        #[derive(Deserialize)]
        struct Info {
            prov: ProvSection,
        }
        let info: Info = serde_json::from_str(text)
            .map_err(|e| ProvError::protocol(format!("the version could not be read: {e}")))?;
        let no_sec = info.prov.cap.iter().any(|c| c == "no_sec");
        Ok(ProvInfo {
            version: info.prov.ver,
            sec_ver: info.prov.sec_ver.unwrap_or(if no_sec { 0 } else { 1 }),
            sec_patch_ver: info.prov.sec_patch_ver.unwrap_or(0),
            capabilities: info.prov.cap,
        })
    }

    /// Whether the device names `capability`.
    pub fn has(&self, capability: &str) -> bool {
        self.capabilities.iter().any(|c| c == capability)
    }

    /// Whether it speaks `network_provisioning`'s scan schema.
    pub fn network_provisioning(&self) -> bool {
        self.version.starts_with("netprov-")
    }

    /// Whether Security 1 needs a proof of possession.
    pub fn needs_pop(&self) -> bool {
        self.sec_ver == 1 && !self.has("no_pop")
    }
}

/// How a network protects itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum WifiAuth {
    /// No password.
    Open,
    /// WEP.
    Wep,
    /// WPA, WPA2 or WPA3 with a password.
    Personal,
    /// WPA2 Enterprise (not supported by provisioning).
    Enterprise,
}

impl WifiAuth {
    fn from_wire(auth: i32) -> Self {
        match WifiAuthMode::try_from(auth) {
            Ok(WifiAuthMode::Open) => WifiAuth::Open,
            Ok(WifiAuthMode::Wep) => WifiAuth::Wep,
            Ok(WifiAuthMode::Wpa2Enterprise) => WifiAuth::Enterprise,
            _ => WifiAuth::Personal,
        }
    }
}

/// A network the device can see.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Network {
    /// Its name.
    pub ssid: String,
    /// Signal strength in dBm.
    pub rssi: i32,
    /// Channel.
    pub channel: u32,
    /// Protection.
    pub auth: WifiAuth,
}

/// Why the device could not join the network.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum WifiFailure {
    /// The password was wrong (devices report several failures this way).
    AuthError,
    /// No network of that name is in range.
    NetworkNotFound,
    /// It gave up for another reason.
    Other,
}

/// Where the device's Wi-Fi connection stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", tag = "state")]
pub enum WifiStatus {
    /// Connected, with an address.
    Connected {
        /// IPv4 address.
        ip: String,
    },
    /// Still trying; after a failed attempt, how many are left.
    Connecting {
        /// Attempts left, when the device says.
        attempts_remaining: Option<u32>,
    },
    /// Gave up.
    Failed {
        /// Why.
        reason: WifiFailure,
    },
}

/// The networks a device has found, as far as they have been read.
#[derive(Debug, Clone, Default)]
pub struct WifiScan {
    /// Strongest first, each name once.
    pub networks: Vec<Network>,
    read: u32,
    /// How many results the device holds, once it has said.
    count: Option<u32>,
}

impl WifiScan {
    /// Whether the device may hold results that have not been read yet. After a full first
    /// page the count is not known yet, so this is `true` until [`Client::scan_rest`] asks.
    pub fn more(&self) -> bool {
        self.count.is_none_or(|count| count > self.read)
    }

    /// Results the device holds that have not been read yet, when it has said how many.
    pub fn unread(&self) -> Option<u32> {
        self.count.map(|count| count.saturating_sub(self.read))
    }
}

/// A provisioning session with one device.
pub struct Client<T: Transport> {
    transport: T,
    info: ProvInfo,
    cipher: Box<dyn Cipher>,
    round_trips: u32,
    /// The largest value one exchange can carry (BLE: 512 bytes).
    max_value: usize,
}

/// How long after a join the status is first asked for.
pub const FIRST_POLL: Duration = Duration::from_millis(300);

/// Polling a device: pauses that start at `first` and double up to 800 ms, within a limit.
pub(crate) struct Backoff {
    started: tokio::time::Instant,
    pause: Duration,
    limit: Duration,
}

impl Backoff {
    pub(crate) fn new(first: Duration, limit: Duration) -> Self {
        Self {
            started: tokio::time::Instant::now(),
            pause: first,
            limit,
        }
    }

    /// Sleeps for the next pause, or says the limit is reached.
    pub(crate) async fn wait(&mut self) -> Result<(), ProvError> {
        if self.started.elapsed() + self.pause > self.limit {
            return Err(ProvError::Timeout);
        }
        tokio::time::sleep(self.pause).await;
        self.pause = (self.pause * 2).min(Duration::from_millis(800));
        Ok(())
    }
}

/// The answer `proto-ver` gives for any request; esp_prov writes a short string.
const VERSION_QUERY: &[u8] = b"---";

/// Scan results that fit in one exchange of `max_value` bytes (an entry takes at most ~60 bytes).
fn scan_page(max_value: usize) -> u32 {
    u32::try_from((max_value / 64).clamp(1, 16)).unwrap_or(1)
}

impl<T: Transport> Client<T> {
    /// Asks the device what it is: the first exchange of every session.
    pub async fn probe(transport: &mut T) -> Result<ProvInfo, ProvError> {
        ProvInfo::parse(
            &transport
                .exchange(endpoint::PROTO_VER, VERSION_QUERY)
                .await?,
        )
    }

    /// Opens a secure session: reads the capabilities, then runs the handshake with `security`.
    pub async fn connect(
        mut transport: T,
        security: &Security,
        max_value: usize,
    ) -> Result<Self, ProvError> {
        let info = Self::probe(&mut transport).await?;
        let mut client = Self::connect_with(transport, info, security, max_value).await?;
        client.round_trips += 1; // proto-ver
        Ok(client)
    }

    /// Opens a secure session with a device whose capabilities are already known.
    pub async fn connect_with(
        mut transport: T,
        info: ProvInfo,
        security: &Security,
        max_value: usize,
    ) -> Result<Self, ProvError> {
        // A QR code without a proof of possession fits a device without security too.
        let security = match security {
            Security::Sec1 { pop: None } if info.sec_ver == 0 => &Security::Sec0,
            other => other,
        };
        let wanted = security.version() as u32;
        if wanted != info.sec_ver {
            return Err(ProvError::Unsupported(format!(
                "it uses Security {}, not Security {wanted}",
                info.sec_ver
            )));
        }
        let mut round_trips = 0;
        let (mut handshake, mut request) = ClientHandshake::start(security, info.sec_patch_ver);
        let cipher = loop {
            let answer = transport.exchange(endpoint::SESSION, &request).await?;
            round_trips += 1;
            match handshake.step(&answer)? {
                Step::Send(next) => request = next,
                Step::Done(cipher) => break cipher,
            }
        };
        Ok(Self {
            transport,
            info,
            cipher,
            round_trips,
            max_value,
        })
    }

    /// What the device said of itself.
    pub fn info(&self) -> &ProvInfo {
        &self.info
    }

    /// Exchanges so far, including the handshake.
    pub fn round_trips(&self) -> u32 {
        self.round_trips
    }

    /// The link, to hand back or close.
    pub fn into_transport(self) -> T {
        self.transport
    }

    /// One encrypted exchange on `endpoint`.
    pub async fn call(&mut self, endpoint: &str, plain: &[u8]) -> Result<Vec<u8>, ProvError> {
        if plain.is_empty() {
            // Devices ignore empty writes: the exchange would never be answered.
            return Err(ProvError::protocol(
                "an empty request would never be answered",
            ));
        }
        let request = self.cipher.encrypt(plain);
        let answer = self.transport.exchange(endpoint, &request).await?;
        self.round_trips += 1;
        self.cipher.decrypt(&answer)
    }

    /// Scans for Wi-Fi networks and reads them all: strongest first, each name once.
    pub async fn scan(&mut self) -> Result<Vec<Network>, ProvError> {
        let mut scan = self.scan_strongest().await?;
        self.scan_rest(&mut scan).await?;
        Ok(scan.networks)
    }

    /// Scans for Wi-Fi networks and reads the first page only: devices list their results
    /// strongest first, so one exchange brings the networks a customer almost always picks from.
    /// The page is asked for before the count: a device holding fewer results refuses it (stock
    /// firmware answers an over-long request with an error and keeps the session), and only then
    /// is the count asked for. [`Client::scan_rest`] reads the others when they are wanted.
    pub async fn scan_strongest(&mut self) -> Result<WifiScan, ProvError> {
        if !self.info.has("wifi_scan") {
            return Err(ProvError::Unsupported(
                "it cannot scan for networks; enter the network's name".to_owned(),
            ));
        }
        let schema = Schema::of(&self.info.version);
        let start = CmdScanStart {
            blocking: true,
            passive: false,
            group_channels: 0,
            period_ms: 120,
        };
        self.scan_call(schema, ScanRequest::Start(start)).await?;
        let mut scan = WifiScan::default();
        let page = scan_page(self.max_value);
        match self.scan_results(schema, &mut scan, page).await {
            Ok(()) => {}
            Err(ProvError::Device(_)) => {
                self.scan_count(schema, &mut scan).await?;
                self.scan_next(schema, &mut scan).await?;
            }
            Err(e) => return Err(e),
        }
        Ok(scan)
    }

    /// Reads the scan results [`Client::scan_strongest`] left unread.
    pub async fn scan_rest(&mut self, scan: &mut WifiScan) -> Result<(), ProvError> {
        let schema = Schema::of(&self.info.version);
        if scan.count.is_none() {
            self.scan_count(schema, scan).await?;
        }
        while scan.more() {
            self.scan_next(schema, scan).await?;
        }
        Ok(())
    }

    /// Asks how many results the device holds.
    async fn scan_count(&mut self, schema: Schema, scan: &mut WifiScan) -> Result<(), ProvError> {
        let ScanAnswer::Status { count, .. } = self.scan_call(schema, ScanRequest::Status).await?
        else {
            return Err(ProvError::protocol("no scan status"));
        };
        scan.count = Some(count);
        Ok(())
    }

    /// Reads the next page of results, never past the count (firmware cannot answer that).
    async fn scan_next(&mut self, schema: Schema, scan: &mut WifiScan) -> Result<(), ProvError> {
        let asked = scan_page(self.max_value).min(scan.unread().unwrap_or(0));
        if asked == 0 {
            return Ok(());
        }
        self.scan_results(schema, scan, asked).await
    }

    /// Reads `asked` results from where the last read stopped.
    async fn scan_results(
        &mut self,
        schema: Schema,
        scan: &mut WifiScan,
        asked: u32,
    ) -> Result<(), ProvError> {
        let request = ScanRequest::Results {
            start: scan.read,
            count: asked,
        };
        let ScanAnswer::Results(entries) = self.scan_call(schema, request).await? else {
            return Err(ProvError::protocol("no scan results"));
        };
        scan.read += asked;
        scan.networks.extend(entries.into_iter().map(|e| Network {
            ssid: String::from_utf8_lossy(&e.ssid).into_owned(),
            rssi: e.rssi,
            channel: e.channel,
            auth: WifiAuth::from_wire(e.auth),
        }));
        scan.networks.sort_by_key(|n| std::cmp::Reverse(n.rssi));
        let mut seen = std::collections::HashSet::new();
        scan.networks
            .retain(|n| !n.ssid.is_empty() && seen.insert(n.ssid.clone()));
        Ok(())
    }

    async fn scan_call(
        &mut self,
        schema: Schema,
        request: ScanRequest,
    ) -> Result<ScanAnswer, ProvError> {
        let msg = request.msg();
        let answer = self
            .call(endpoint::SCAN, &schema.encode_request(request))
            .await?;
        schema.decode_answer(msg, &answer)
    }

    async fn config_call(
        &mut self,
        msg: WiFiConfigPayload,
    ) -> Result<WiFiConfigPayload, ProvError> {
        let expected = msg.msg.wrapping_add(1);
        let answer = WiFiConfigPayload::decode(
            self.call(endpoint::CONFIG, &msg.encode_to_vec())
                .await?
                .as_slice(),
        )?;
        if answer.msg != expected {
            return Err(ProvError::protocol("a config answer out of order"));
        }
        Ok(answer)
    }

    /// Gives the device the network's name and password and tells it to join.
    pub async fn join(&mut self, ssid: &str, passphrase: &str) -> Result<(), ProvError> {
        use wi_fi_config_payload::Payload;
        if ssid.is_empty() || ssid.len() > 32 {
            return Err(ProvError::Device(
                "a network name must be 1 to 32 bytes long".to_owned(),
            ));
        }
        if passphrase.len() > 64 {
            return Err(ProvError::Device(
                "a Wi-Fi password is at most 64 characters".to_owned(),
            ));
        }
        let set = self
            .config_call(WiFiConfigPayload {
                msg: config_msg::CMD_SET_CONFIG,
                payload: Some(Payload::CmdSetConfig(CmdSetConfig {
                    ssid: ssid.as_bytes().to_vec(),
                    passphrase: passphrase.as_bytes().to_vec(),
                    bssid: Vec::new(),
                    channel: 0,
                })),
            })
            .await?;
        match set.payload {
            Some(Payload::RespSetConfig(r)) => ProvError::check(r.status)?,
            _ => return Err(ProvError::protocol("no answer to the configuration")),
        }
        let apply = self
            .config_call(WiFiConfigPayload {
                msg: config_msg::CMD_APPLY_CONFIG,
                payload: Some(Payload::CmdApplyConfig(CmdApplyConfig {})),
            })
            .await?;
        match apply.payload {
            Some(Payload::RespApplyConfig(r)) => ProvError::check(r.status),
            _ => Err(ProvError::protocol(
                "no answer to applying the configuration",
            )),
        }
    }

    /// Asks where the Wi-Fi connection stands.
    pub async fn wifi_status(&mut self) -> Result<WifiStatus, ProvError> {
        use wi_fi_config_payload::Payload;
        let answer = self
            .config_call(WiFiConfigPayload {
                msg: config_msg::CMD_GET_STATUS,
                payload: Some(Payload::CmdGetStatus(CmdGetStatus {})),
            })
            .await?;
        let Some(Payload::RespGetStatus(r)) = answer.payload else {
            return Err(ProvError::protocol("no Wi-Fi status"));
        };
        ProvError::check(r.status)?;
        Ok(match (WifiStationState::try_from(r.sta_state), r.state) {
            (Ok(WifiStationState::Connected), Some(resp_get_status::State::Connected(c))) => {
                WifiStatus::Connected { ip: c.ip4_addr }
            }
            (Ok(WifiStationState::Connected), _) => WifiStatus::Connected { ip: String::new() },
            (Ok(WifiStationState::Connecting), Some(resp_get_status::State::AttemptFailed(a))) => {
                WifiStatus::Connecting {
                    attempts_remaining: Some(a.attempts_remaining),
                }
            }
            (Ok(WifiStationState::Connecting), _) => WifiStatus::Connecting {
                attempts_remaining: None,
            },
            (_, Some(resp_get_status::State::FailReason(reason))) => WifiStatus::Failed {
                reason: match WifiConnectFailedReason::try_from(reason) {
                    Ok(WifiConnectFailedReason::AuthError) => WifiFailure::AuthError,
                    Ok(WifiConnectFailedReason::NetworkNotFound) => WifiFailure::NetworkNotFound,
                    Err(_) => WifiFailure::Other,
                },
            },
            (_, Some(resp_get_status::State::AttemptFailed(a))) if a.attempts_remaining > 0 => {
                WifiStatus::Connecting {
                    attempts_remaining: Some(a.attempts_remaining),
                }
            }
            _ => WifiStatus::Failed {
                reason: WifiFailure::Other,
            },
        })
    }

    /// Polls the status until the device is connected or has given up, for at most `limit`. The
    /// first poll comes [`FIRST_POLL`] after the join (no device finishes a WPA handshake and
    /// gets an address sooner, so an earlier poll only costs an exchange), then less and less
    /// often. No fixed wait.
    pub async fn wait_for_wifi(&mut self, limit: Duration) -> Result<WifiStatus, ProvError> {
        let mut backoff = Backoff::new(FIRST_POLL, limit);
        loop {
            backoff.wait().await?;
            let status = self.wifi_status().await?;
            if !matches!(status, WifiStatus::Connecting { .. }) {
                return Ok(status);
            }
        }
    }

    /// Joins `ssid` and waits (at most `limit`) until the device is on it or has given up. After
    /// a failure the device is reset, so that the same session can try again with a corrected
    /// password (devices take no new configuration until then).
    pub async fn join_and_wait(
        &mut self,
        ssid: &str,
        passphrase: &str,
        limit: Duration,
    ) -> Result<WifiStatus, ProvError> {
        self.join(ssid, passphrase).await?;
        let status = self.wait_for_wifi(limit).await?;
        if matches!(status, WifiStatus::Failed { .. }) {
            self.reset().await?;
        }
        Ok(status)
    }

    async fn ctrl(&mut self, msg: i32) -> Result<(), ProvError> {
        use wi_fi_ctrl_payload::Payload;
        let payload = if msg == ctrl_msg::CMD_RESET {
            Payload::CmdCtrlReset(Empty {})
        } else {
            Payload::CmdCtrlReprov(Empty {})
        };
        let request = WiFiCtrlPayload {
            msg,
            status: 0,
            payload: Some(payload),
        };
        let answer = WiFiCtrlPayload::decode(
            self.call(endpoint::CTRL, &request.encode_to_vec())
                .await?
                .as_slice(),
        )?;
        if answer.msg != msg.wrapping_add(1) {
            return Err(ProvError::protocol("a control answer out of order"));
        }
        ProvError::check(answer.status)
    }

    /// Resets the device's provisioning state after a failed attempt, so that it accepts a
    /// corrected configuration without a power cycle.
    pub async fn reset(&mut self) -> Result<(), ProvError> {
        self.ctrl(ctrl_msg::CMD_RESET).await
    }

    /// Asks a provisioned device to accept a new configuration.
    pub async fn reprovision(&mut self) -> Result<(), ProvError> {
        self.ctrl(ctrl_msg::CMD_REPROV).await
    }
}
