//! Improv Wi-Fi over BLE (improv-wifi.com, rev 2.4): frames, the app's client and the device's
//! side for the simulator.
//!
//! A frame is `[command][length][data × length][checksum]`, the checksum being the low byte of the
//! sum of the bytes before it; strings inside are `[length][UTF-8]`. The device reports its state
//! and errors on two characteristics (read and notify) and answers RPCs on a third.

use crate::error::ProvError;
use std::future::Future;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;
use tokio::sync::mpsc;

/// The Improv GATT service.
pub const SERVICE: &str = "00467768-6228-2272-4663-277478268000";
/// The 16-bit service-data UUID in Improv advertisements (`[state, capabilities, 0, 0, 0, 0]`).
pub const SERVICE_DATA_UUID: &str = "00004677-0000-1000-8000-00805f9b34fb";

/// Improv's characteristics.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Characteristic {
    /// Current state (read, notify).
    State,
    /// Error state (read, notify).
    Error,
    /// RPC command (write).
    Rpc,
    /// RPC result (read, notify).
    RpcResult,
    /// Capabilities (read).
    Capabilities,
}

impl Characteristic {
    /// All of them.
    pub const ALL: [Characteristic; 5] = [
        Characteristic::State,
        Characteristic::Error,
        Characteristic::Rpc,
        Characteristic::RpcResult,
        Characteristic::Capabilities,
    ];

    /// Its UUID.
    pub fn uuid(self) -> &'static str {
        match self {
            Characteristic::State => "00467768-6228-2272-4663-277478268001",
            Characteristic::Error => "00467768-6228-2272-4663-277478268002",
            Characteristic::Rpc => "00467768-6228-2272-4663-277478268003",
            Characteristic::RpcResult => "00467768-6228-2272-4663-277478268004",
            Characteristic::Capabilities => "00467768-6228-2272-4663-277478268005",
        }
    }
}

/// The device's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum State {
    /// Waits for a person to authorize (press a button).
    AuthorizationRequired = 1,
    /// Accepts Wi-Fi settings.
    Authorized = 2,
    /// Joining the network.
    Provisioning = 3,
    /// On the network.
    Provisioned = 4,
}

impl State {
    fn from_byte(b: u8) -> Result<Self, ProvError> {
        Ok(match b {
            1 => State::AuthorizationRequired,
            2 => State::Authorized,
            3 => State::Provisioning,
            4 => State::Provisioned,
            _ => return Err(ProvError::protocol(format!("unknown Improv state {b}"))),
        })
    }
}

/// The device's error byte.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum ErrorState {
    /// No error.
    None = 0,
    /// The RPC frame was malformed.
    InvalidRpc = 1,
    /// Unknown command.
    UnknownRpc = 2,
    /// It could not join the network.
    UnableToConnect = 3,
    /// Not authorized (press the button first).
    NotAuthorized = 4,
    /// The hostname was refused.
    BadHostname = 5,
    /// Something else.
    Unknown = 0xff,
}

impl ErrorState {
    fn from_byte(b: u8) -> Self {
        match b {
            0 => ErrorState::None,
            1 => ErrorState::InvalidRpc,
            2 => ErrorState::UnknownRpc,
            3 => ErrorState::UnableToConnect,
            4 => ErrorState::NotAuthorized,
            5 => ErrorState::BadHostname,
            _ => ErrorState::Unknown,
        }
    }

    fn into_error(self) -> ProvError {
        match self {
            ErrorState::UnableToConnect => ProvError::NotJoined,
            ErrorState::NotAuthorized => ProvError::Device(
                "it is not authorized yet: press the button on the device".to_owned(),
            ),
            ErrorState::BadHostname => ProvError::Device("it refused the host name".to_owned()),
            ErrorState::InvalidRpc | ErrorState::UnknownRpc => {
                ProvError::Device("it did not understand the request".to_owned())
            }
            ErrorState::None | ErrorState::Unknown => {
                ProvError::Device("an unknown error".to_owned())
            }
        }
    }
}

/// RPC commands.
pub mod command {
    /// Send Wi-Fi settings.
    pub const WIFI_SETTINGS: u8 = 0x01;
    /// Identify (blink or beep); no result.
    pub const IDENTIFY: u8 = 0x02;
    /// Device information.
    pub const DEVICE_INFO: u8 = 0x03;
    /// Scan for networks.
    pub const SCAN: u8 = 0x04;
    /// Get or set the hostname.
    pub const HOSTNAME: u8 = 0x05;
}

/// Capability bits.
pub mod capability {
    /// Identify.
    pub const IDENTIFY: u8 = 1 << 0;
    /// Device info.
    pub const DEVICE_INFO: u8 = 1 << 1;
    /// Wi-Fi scan.
    pub const SCAN: u8 = 1 << 2;
    /// Hostname.
    pub const HOSTNAME: u8 = 1 << 3;
}

fn checksum(bytes: &[u8]) -> u8 {
    bytes.iter().fold(0u8, |sum, b| sum.wrapping_add(*b))
}

/// Encodes a frame.
pub fn frame(command: u8, data: &[u8]) -> Result<Vec<u8>, ProvError> {
    let len = u8::try_from(data.len())
        .map_err(|_| ProvError::protocol("an Improv frame is at most 255 bytes of data"))?;
    let mut out = Vec::with_capacity(data.len() + 3);
    out.push(command);
    out.push(len);
    out.extend_from_slice(data);
    out.push(checksum(&out));
    Ok(out)
}

/// Decodes a frame into its command and data.
pub fn unframe(bytes: &[u8]) -> Result<(u8, &[u8]), ProvError> {
    let [command, len, rest @ ..] = bytes else {
        return Err(ProvError::protocol("an Improv frame is too short"));
    };
    let len = usize::from(*len);
    if rest.len() != len + 1 {
        return Err(ProvError::protocol("an Improv frame has the wrong length"));
    }
    if checksum(&bytes[..len + 2]) != rest[len] {
        return Err(ProvError::protocol("an Improv frame's checksum is wrong"));
    }
    Ok((*command, &rest[..len]))
}

/// Encodes strings as `[length][bytes]…`.
pub fn strings(items: &[&str]) -> Result<Vec<u8>, ProvError> {
    let mut out = Vec::new();
    for item in items {
        let len = u8::try_from(item.len())
            .map_err(|_| ProvError::protocol("an Improv string is at most 255 bytes"))?;
        out.push(len);
        out.extend_from_slice(item.as_bytes());
    }
    Ok(out)
}

/// Decodes `[length][bytes]…`.
pub fn parse_strings(mut data: &[u8]) -> Result<Vec<String>, ProvError> {
    let mut out = Vec::new();
    while let [len, rest @ ..] = data {
        let len = usize::from(*len);
        if rest.len() < len {
            return Err(ProvError::protocol("an Improv string runs past its frame"));
        }
        out.push(String::from_utf8_lossy(&rest[..len]).into_owned());
        data = &rest[len..];
    }
    Ok(out)
}

/// Reassembles an RPC command written in several pieces (as devices do for long frames): whole
/// once `length + 3` bytes have arrived.
#[derive(Debug, Default)]
pub struct Reassembly(Vec<u8>);

impl Reassembly {
    /// Adds a written piece; returns the frame when it is complete.
    pub fn push(&mut self, piece: &[u8]) -> Option<Vec<u8>> {
        self.0.extend_from_slice(piece);
        let needed = usize::from(*self.0.get(1)?) + 3;
        if self.0.len() >= needed {
            let rest = self.0.split_off(needed);
            Some(std::mem::replace(&mut self.0, rest))
        } else {
            None
        }
    }
}

/// A link to an Improv device: characteristic reads and writes, and notifications.
pub trait ImprovLink: Send {
    /// Reads a characteristic.
    fn read(
        &mut self,
        c: Characteristic,
    ) -> impl Future<Output = Result<Vec<u8>, ProvError>> + Send;
    /// Writes a characteristic.
    fn write(
        &mut self,
        c: Characteristic,
        data: &[u8],
    ) -> impl Future<Output = Result<(), ProvError>> + Send;
    /// The next notification, waiting at most `limit`; `Ok(None)` when the device disconnected.
    fn notification(
        &mut self,
        limit: Duration,
    ) -> impl Future<Output = Result<Option<(Characteristic, Vec<u8>)>, ProvError>> + Send;
}

/// A network an Improv device sees.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImprovNetwork {
    /// Its name.
    pub ssid: String,
    /// Signal, dBm.
    pub rssi: i32,
    /// Whether it needs a password.
    pub secured: bool,
}

/// The app's side of an Improv session.
pub struct ImprovClient<L: ImprovLink> {
    link: L,
    /// The capability bits.
    pub capabilities: u8,
    state: State,
}

impl<L: ImprovLink> ImprovClient<L> {
    /// Reads the capabilities and the current state.
    pub async fn connect(mut link: L) -> Result<Self, ProvError> {
        let capabilities = link
            .read(Characteristic::Capabilities)
            .await?
            .first()
            .copied()
            .unwrap_or(0);
        let state = State::from_byte(
            link.read(Characteristic::State)
                .await?
                .first()
                .copied()
                .unwrap_or(0),
        )?;
        Ok(Self {
            link,
            capabilities,
            state,
        })
    }

    /// The device's state as last seen.
    pub fn state(&self) -> State {
        self.state
    }

    /// Asks the device to blink or beep, so the person can find it.
    pub async fn identify(&mut self) -> Result<(), ProvError> {
        if self.capabilities & capability::IDENTIFY == 0 {
            return Err(ProvError::Unsupported(
                "it cannot identify itself".to_owned(),
            ));
        }
        self.link
            .write(Characteristic::Rpc, &frame(command::IDENTIFY, &[])?)
            .await
    }

    /// Waits for the person to press the device's button, for at most `limit`.
    pub async fn wait_for_authorization(&mut self, limit: Duration) -> Result<(), ProvError> {
        let deadline = tokio::time::Instant::now() + limit;
        while self.state == State::AuthorizationRequired {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            if left.is_zero() {
                return Err(ProvError::Device(
                    "nobody pressed the button on the device in time".to_owned(),
                ));
            }
            match self.next_event(left).await {
                Ok(_) | Err(ProvError::Timeout) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    /// Handles one notification; `Ok(Some(result))` for an RPC result.
    async fn next_event(&mut self, limit: Duration) -> Result<Option<Vec<u8>>, ProvError> {
        match self.link.notification(limit).await? {
            None => Err(ProvError::Link("the device disconnected".to_owned())),
            Some((Characteristic::State, v)) => {
                self.state = State::from_byte(v.first().copied().unwrap_or(0))?;
                Ok(None)
            }
            Some((Characteristic::Error, v)) => {
                match ErrorState::from_byte(v.first().copied().unwrap_or(0)) {
                    ErrorState::None => Ok(None),
                    e => Err(e.into_error()),
                }
            }
            Some((Characteristic::RpcResult, v)) => Ok(Some(v)),
            Some(_) => Ok(None),
        }
    }

    /// Sends an RPC and waits for its result frames: one for most commands, several ending with
    /// an empty one for a scan.
    async fn rpc(
        &mut self,
        command: u8,
        data: &[u8],
        limit: Duration,
    ) -> Result<Vec<String>, ProvError> {
        self.link
            .write(Characteristic::Rpc, &frame(command, data)?)
            .await?;
        let deadline = tokio::time::Instant::now() + limit;
        self.next_result(command, deadline).await
    }

    /// The strings of the next RPC result for `command`, waiting until `deadline`.
    async fn next_result(
        &mut self,
        command: u8,
        deadline: tokio::time::Instant,
    ) -> Result<Vec<String>, ProvError> {
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            if left.is_zero() {
                return Err(ProvError::Timeout);
            }
            // Results that answer something else are skipped: empty ones (some devices send
            // one after IDENTIFY) and those of another command.
            if let Some(result) = self.next_event(left).await?.filter(|r| !r.is_empty()) {
                let (got, data) = unframe(&result)?;
                if got == command {
                    return parse_strings(data);
                }
                tracing::debug!(got, waiting_for = command, "an Improv result skipped");
            }
        }
    }

    /// Firmware name, version, chip and device name.
    pub async fn device_info(&mut self) -> Result<Vec<String>, ProvError> {
        self.rpc(command::DEVICE_INFO, &[], Duration::from_secs(5))
            .await
    }

    /// The networks the device sees, strongest first.
    pub async fn scan(&mut self) -> Result<Vec<ImprovNetwork>, ProvError> {
        if self.capabilities & capability::SCAN == 0 {
            return Err(ProvError::Unsupported(
                "it cannot scan for networks; enter the network's name".to_owned(),
            ));
        }
        // One result per network, then an empty one.
        let mut networks = Vec::new();
        let mut fields = self
            .rpc(command::SCAN, &[], Duration::from_secs(15))
            .await?;
        let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
        while let [ssid, rssi, auth, ..] = fields.as_slice() {
            networks.push(ImprovNetwork {
                ssid: ssid.clone(),
                rssi: rssi.parse().unwrap_or(-100),
                secured: auth != "NO",
            });
            fields = self.next_result(command::SCAN, deadline).await?;
        }
        if !fields.is_empty() {
            return Err(ProvError::protocol(
                "a scan result without name, signal and security",
            ));
        }
        networks.sort_by_key(|n| std::cmp::Reverse(n.rssi));
        Ok(networks)
    }

    /// Sends the Wi-Fi settings and waits until the device is on the network. Returns the URL the
    /// device offers for its next step, if any. A disconnect after the device reported it is
    /// provisioned counts as success.
    pub async fn join(
        &mut self,
        ssid: &str,
        password: &str,
        limit: Duration,
    ) -> Result<Option<String>, ProvError> {
        if self.state == State::AuthorizationRequired {
            return Err(ErrorState::NotAuthorized.into_error());
        }
        let data = strings(&[ssid, password])?;
        match self.rpc(command::WIFI_SETTINGS, &data, limit).await {
            Ok(result) => Ok(result.into_iter().next().filter(|url| !url.is_empty())),
            // Over BLE a dropped link can also go quiet rather than end.
            Err(ProvError::Link(_) | ProvError::Timeout) if self.state == State::Provisioned => {
                Ok(None)
            }
            Err(e) => Err(e),
        }
    }

    /// Reads the device's hostname, or sets it to `new` (an RFC 1123 label) first.
    pub async fn hostname(&mut self, new: Option<&str>) -> Result<String, ProvError> {
        if self.capabilities & capability::HOSTNAME == 0 {
            return Err(ProvError::Unsupported(
                "it has no settable hostname".to_owned(),
            ));
        }
        let data = match new {
            Some(name) => strings(&[name])?,
            None => Vec::new(),
        };
        let result = self
            .rpc(command::HOSTNAME, &data, Duration::from_secs(5))
            .await?;
        result
            .into_iter()
            .next()
            .ok_or_else(|| ProvError::protocol("no hostname in the answer"))
    }

    /// The link, to close it.
    pub fn into_link(self) -> L {
        self.link
    }
}

/// How a simulated Improv device is set up.
#[derive(Debug, Clone)]
pub struct ImprovSetup {
    /// Firmware name, version, chip, device name.
    pub info: [String; 4],
    /// Networks it sees: name, password, signal.
    pub networks: Vec<(String, String, i32)>,
    /// Whether a button press is needed before Wi-Fi settings are taken.
    pub needs_authorization: bool,
    /// How long joining takes.
    pub join_time: Duration,
    /// The URL it offers after joining.
    pub redirect_url: String,
    /// Whether it disconnects right after it is provisioned, before sending the RPC result (as
    /// some firmware does).
    pub disconnect_after_provisioned: bool,
    /// Whether it also sends RPC results nobody asked for, as a popular device-side
    /// implementation does: an empty one after IDENTIFY, and a result of IDENTIFY before it
    /// answers another command.
    pub chatty: bool,
}

/// Whether `name` is a valid hostname label (RFC 1123): 1 to 63 letters, digits and hyphens, not
/// starting or ending with a hyphen.
pub fn valid_hostname(name: &str) -> bool {
    (1..=63).contains(&name.len())
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        && !name.starts_with('-')
        && !name.ends_with('-')
}

struct ImprovState {
    hostname: String,
    setup: ImprovSetup,
    state: State,
    error: ErrorState,
    reassembly: Reassembly,
    identified: u32,
    notify: Option<mpsc::UnboundedSender<(Characteristic, Vec<u8>)>>,
}

/// A simulated Improv device.
#[derive(Clone)]
pub struct ImprovDevice(Arc<Mutex<ImprovState>>);

impl ImprovDevice {
    /// A device set up as `setup` says.
    pub fn new(setup: ImprovSetup) -> Self {
        let state = if setup.needs_authorization {
            State::AuthorizationRequired
        } else {
            State::Authorized
        };
        let hostname = setup.info[3]
            .to_ascii_lowercase()
            .replace(|c: char| !c.is_ascii_alphanumeric(), "-");
        Self(Arc::new(Mutex::new(ImprovState {
            hostname,
            setup,
            state,
            error: ErrorState::None,
            reassembly: Reassembly::default(),
            identified: 0,
            notify: None,
        })))
    }

    fn with<T>(&self, f: impl FnOnce(&mut ImprovState) -> T) -> T {
        f(&mut self.0.lock().unwrap_or_else(PoisonError::into_inner))
    }

    /// The capability bits.
    pub fn capabilities(&self) -> u8 {
        capability::IDENTIFY | capability::DEVICE_INFO | capability::SCAN | capability::HOSTNAME
    }

    /// The service data it advertises under 0x4677.
    pub fn service_data(&self) -> [u8; 6] {
        [
            self.with(|s| s.state as u8),
            self.capabilities(),
            0,
            0,
            0,
            0,
        ]
    }

    /// The current state.
    pub fn state(&self) -> State {
        self.with(|s| s.state)
    }

    /// How often it was asked to identify itself.
    pub fn identified(&self) -> u32 {
        self.with(|s| s.identified)
    }

    /// A person presses the device's button.
    pub fn press_button(&self) {
        self.with(|s| {
            if s.state == State::AuthorizationRequired {
                s.set_state(State::Authorized);
            }
        });
    }

    /// A link connects: notifications go to the returned receiver.
    pub fn connect(&self) -> mpsc::UnboundedReceiver<(Characteristic, Vec<u8>)> {
        let (tx, rx) = mpsc::unbounded_channel();
        self.with(|s| {
            s.notify = Some(tx);
            s.reassembly = Reassembly::default();
        });
        rx
    }

    /// The link goes away.
    pub fn disconnect(&self) {
        self.with(|s| s.notify = None);
    }

    /// Reads a characteristic.
    pub fn read(&self, c: Characteristic) -> Vec<u8> {
        self.with(|s| match c {
            Characteristic::State => vec![s.state as u8],
            Characteristic::Error => vec![s.error as u8],
            Characteristic::Capabilities => vec![self.capabilities()],
            Characteristic::Rpc | Characteristic::RpcResult => Vec::new(),
        })
    }

    /// A write of (part of) an RPC command.
    pub fn write(&self, c: Characteristic, piece: &[u8]) {
        if c != Characteristic::Rpc || piece.is_empty() {
            return;
        }
        let Some(whole) = self.with(|s| s.reassembly.push(piece)) else {
            return;
        };
        let Ok((command, data)) = unframe(&whole) else {
            self.with(|s| s.set_error(ErrorState::InvalidRpc));
            return;
        };
        let data = data.to_vec();
        if self.with(|s| s.setup.chatty) && command != command::IDENTIFY {
            self.with(|s| s.result(command::IDENTIFY, &[]));
        }
        match command {
            command::IDENTIFY => self.with(|s| {
                s.identified += 1;
                if s.setup.chatty {
                    s.send(Characteristic::RpcResult, Vec::new());
                }
            }),
            command::DEVICE_INFO => self.with(|s| {
                let info: Vec<&str> = s.setup.info.iter().map(String::as_str).collect();
                s.result(command, &info);
            }),
            command::SCAN => self.with(|s| {
                let mut networks = s.setup.networks.clone();
                networks.sort_by_key(|n| std::cmp::Reverse(n.2));
                for (ssid, password, rssi) in networks {
                    let auth = if password.is_empty() { "NO" } else { "WPA2" };
                    s.result(command, &[&ssid, &rssi.to_string(), auth]);
                }
                s.result(command, &[]);
            }),
            command::WIFI_SETTINGS => self.wifi_settings(&data),
            command::HOSTNAME => self.with(|s| {
                if s.state == State::AuthorizationRequired {
                    s.set_error(ErrorState::NotAuthorized);
                    return;
                }
                match parse_strings(&data).as_deref() {
                    Ok([]) => {}
                    Ok([name]) if valid_hostname(name) => s.hostname = name.clone(),
                    _ => {
                        s.set_error(ErrorState::BadHostname);
                        return;
                    }
                }
                let hostname = s.hostname.clone();
                s.result(command, &[&hostname]);
            }),
            _ => self.with(|s| s.set_error(ErrorState::UnknownRpc)),
        }
    }

    fn wifi_settings(&self, data: &[u8]) {
        let fields = parse_strings(data).unwrap_or_default();
        let [ssid, password] = fields.as_slice() else {
            self.with(|s| s.set_error(ErrorState::InvalidRpc));
            return;
        };
        let (ssid, password) = (ssid.clone(), password.clone());
        let join_time = self.with(|s| {
            if s.state != State::Authorized {
                s.set_error(ErrorState::NotAuthorized);
                return None;
            }
            s.set_error(ErrorState::None);
            s.set_state(State::Provisioning);
            Some(s.setup.join_time)
        });
        let Some(join_time) = join_time else { return };
        let device = self.clone();
        tokio::spawn(async move {
            tokio::time::sleep(join_time).await;
            device.with(|s| {
                let ok = s
                    .setup
                    .networks
                    .iter()
                    .any(|(n, p, _)| *n == ssid && *p == password);
                if !ok {
                    s.set_state(State::Authorized);
                    s.set_error(ErrorState::UnableToConnect);
                    return;
                }
                s.set_state(State::Provisioned);
                if s.setup.disconnect_after_provisioned {
                    s.notify = None;
                } else {
                    let url = s.setup.redirect_url.clone();
                    s.result(command::WIFI_SETTINGS, &[&url]);
                }
            });
        });
    }
}

impl ImprovState {
    fn send(&self, c: Characteristic, value: Vec<u8>) {
        if let Some(notify) = &self.notify {
            let _ = notify.send((c, value));
        }
    }

    fn set_state(&mut self, state: State) {
        self.state = state;
        self.send(Characteristic::State, vec![state as u8]);
    }

    fn set_error(&mut self, error: ErrorState) {
        self.error = error;
        self.send(Characteristic::Error, vec![error as u8]);
    }

    fn result(&self, command: u8, items: &[&str]) {
        if let Ok(frame) = strings(items).and_then(|data| frame(command, &data)) {
            self.send(Characteristic::RpcResult, frame);
        }
    }
}

/// An in-process link to an [`ImprovDevice`], writing in pieces of at most `mtu` bytes.
pub struct SimImprovLink {
    device: ImprovDevice,
    notifications: mpsc::UnboundedReceiver<(Characteristic, Vec<u8>)>,
    mtu: usize,
    round_trip: Duration,
    /// GATT operations so far.
    pub operations: u32,
}

impl SimImprovLink {
    /// Connects to `device`.
    pub fn connect(device: &ImprovDevice, mtu: usize, round_trip: Duration) -> Self {
        Self {
            notifications: device.connect(),
            device: device.clone(),
            mtu: mtu.max(1),
            round_trip,
            operations: 0,
        }
    }
}

impl Drop for SimImprovLink {
    fn drop(&mut self) {
        self.device.disconnect();
    }
}

impl ImprovLink for SimImprovLink {
    async fn read(&mut self, c: Characteristic) -> Result<Vec<u8>, ProvError> {
        self.operations += 1;
        tokio::time::sleep(self.round_trip).await;
        Ok(self.device.read(c))
    }

    async fn write(&mut self, c: Characteristic, data: &[u8]) -> Result<(), ProvError> {
        for piece in data.chunks(self.mtu) {
            self.operations += 1;
            tokio::time::sleep(self.round_trip).await;
            self.device.write(c, piece);
        }
        Ok(())
    }

    async fn notification(
        &mut self,
        limit: Duration,
    ) -> Result<Option<(Characteristic, Vec<u8>)>, ProvError> {
        match tokio::time::timeout(limit, self.notifications.recv()).await {
            Ok(next) => Ok(next),
            Err(_) => Err(ProvError::Timeout),
        }
    }
}
