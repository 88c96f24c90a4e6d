//! Setting up a new device from the app: the onboarding wizard's commands.
//!
//! The wizard goes: find devices nearby ([`AppCore::onboarding_scan`], strongest first) → open one
//! ([`AppCore::onboarding_open`]: what it needs to be trusted) → prove possession with the code on
//! its label or its QR payload ([`AppCore::onboarding_secure`], which also brings the strongest
//! Wi-Fi networks it sees) → more networks on request → join a network
//! ([`AppCore::onboarding_join`]; a wrong password keeps the session, so the person only types it
//! again) → link it to the signed-in account ([`AppCore::onboarding_link`] opens the consent page
//! where products are chosen per slot, [`AppCore::onboarding_finish_link`] waits for it, hands
//! the code to the device and returns the registered device with its slots).
//!
//! Improv devices are proven by a press of their button instead of a code
//! ([`DeviceTrust::ButtonPress`]; [`AppCore::onboarding_identify`] makes one blink, and
//! [`AppCore::onboarding_secure`] waits for the press). Having no `custom-data`, they are linked
//! over the network at the URL they return once on Wi-Fi.
//!
//! Devices come from Bluetooth LE (feature `ble`, a [`Radio`]) whenever the computer has an
//! adapter, and, with the embedded sandbox, also from the sandbox: simulated devices of its
//! models on the in-process simulated link ([`SandboxDevices`]: two with Security 1, one with
//! Security 2, one with Improv), marked [`FoundDevice::sandbox`]. With the sandbox and no
//! adapter, the scan lists the sandbox's devices and says why no real ones are
//! ([`FoundDevices::bluetooth`]). Wi-Fi passwords are only remembered when the person asks, in the OS keyring
//! ([`WifiMemory`]); a remembered password never crosses to the UI.

use crate::account::{auth_error, BrowserWait};
use crate::{AppCore, AppError, SignInStarted};
use refill_auth::AuthError;
use refill_core::Sensitive;
use refill_device_sim::{Protection, SimDevice, SimImprovDevice};
use refill_provision::improv::{
    self, ImprovClient, ImprovLink, ImprovNetwork, SimImprovLink, State as ImprovState,
};
use refill_provision::link::{Air, SimLink};
use refill_provision::protocomm::{Client, ProvInfo, Transport, WifiFailure, WifiScan, WifiStatus};
use refill_provision::registration::{Handoff, HttpRegistrar, Identity, Registrar};
use refill_provision::security::Security;
use refill_provision::{ProvError, QrPayload};
use refill_wire::{DeviceView, ErrorCode};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;
use ts_rs::TS;

/// How long the device has to join the network.
const JOIN_LIMIT: Duration = Duration::from_secs(45);
/// How long the person has to press an Improv device's button.
const BUTTON_LIMIT: Duration = Duration::from_secs(120);
/// The largest piece written to a sandbox Improv device at once (a small BLE MTU).
const SANDBOX_IMPROV_MTU: usize = 100;
/// How long the device has to redeem its code.
const LINK_LIMIT: Duration = Duration::from_secs(30);
/// The simulated air between the app and sandbox devices.
const SANDBOX_AIR: Air = Air {
    round_trip: Duration::from_millis(30),
    loss: 0.0,
    timeout: Duration::from_secs(2),
};

/// Remembered Wi-Fi passwords (the OS keyring in the app).
pub trait WifiMemory: Send + Sync {
    /// Remembers `password` for `ssid`.
    fn remember(&self, ssid: &str, password: &Sensitive<String>) -> Result<(), String>;
    /// The password remembered for `ssid`.
    fn recall(&self, ssid: &str) -> Result<Option<Sensitive<String>>, String>;
}

impl WifiMemory for refill_auth::WifiPasswords {
    fn remember(&self, ssid: &str, password: &Sensitive<String>) -> Result<(), String> {
        refill_auth::WifiPasswords::remember(self, ssid, password).map_err(|e| e.to_string())
    }

    fn recall(&self, ssid: &str) -> Result<Option<Sensitive<String>>, String> {
        refill_auth::WifiPasswords::recall(self, ssid).map_err(|e| e.to_string())
    }
}

/// Wi-Fi passwords in memory, for tests and headless use.
#[derive(Default)]
pub struct MemoryWifi(Mutex<HashMap<String, Sensitive<String>>>);

impl WifiMemory for MemoryWifi {
    fn remember(&self, ssid: &str, password: &Sensitive<String>) -> Result<(), String> {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(ssid.to_owned(), password.clone());
        Ok(())
    }

    fn recall(&self, ssid: &str) -> Result<Option<Sensitive<String>>, String> {
        Ok(self
            .0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(ssid)
            .cloned())
    }
}

/// Which setup protocol a device speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "lowercase")]
pub enum DeviceProtocol {
    /// Espressif's unified provisioning.
    Esp,
    /// Improv Wi-Fi.
    Improv,
}

/// A device found nearby, waiting to be set up.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct FoundDevice {
    /// Its id for [`AppCore::onboarding_open`].
    pub id: String,
    /// The name it advertises.
    pub name: String,
    /// Signal strength in dBm (higher is closer).
    pub rssi: Option<i32>,
    /// How it is set up.
    pub protocol: DeviceProtocol,
    /// A simulated device of the sandbox, not one on the air.
    pub sandbox: bool,
    /// Sandbox ESP devices only: what a real device's label would show (its QR payload).
    pub sandbox_label: Option<String>,
}

/// What a scan found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct FoundDevices {
    /// The devices waiting to be set up, strongest first.
    pub devices: Vec<FoundDevice>,
    /// Why no real devices could be looked for (no Bluetooth adapter, Bluetooth off), when
    /// the sandbox's devices are listed without them; `None` when Bluetooth was used.
    pub bluetooth: Option<String>,
}

/// What a device needs before it talks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub enum DeviceTrust {
    /// Nothing: it is open.
    Nothing,
    /// The proof of possession printed on it (or its QR code).
    ProofOfPossession,
    /// The username and password printed on it (or its QR code).
    UsernameAndPassword,
    /// A press of its button (Improv).
    ButtonPress,
}

/// An opened device.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct OpenedDevice {
    /// Its name.
    pub name: String,
    /// What it needs before it talks.
    pub trust: DeviceTrust,
    /// Whether it can blink or beep on request ([`AppCore::onboarding_identify`]).
    pub can_identify: bool,
    /// Whether it is a sandbox device, whose button the app presses
    /// ([`AppCore::onboarding_press_button`]).
    pub sandbox: bool,
}

/// How the person proves they hold the device.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct DeviceSecret {
    /// The QR payload, pasted or scanned; it carries everything else.
    pub qr: Option<String>,
    /// The proof of possession (or the Security 2 password).
    pub pop: Option<String>,
    /// The Security 2 username.
    pub username: Option<String>,
}

/// A Wi-Fi network the device sees.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct WifiNetwork {
    /// Its name.
    pub ssid: String,
    /// Signal strength at the device, dBm.
    pub rssi: i32,
    /// Whether it needs a password.
    pub secured: bool,
    /// Whether a password for it is remembered in the keyring.
    pub remembered: bool,
}

/// The networks the device sees, strongest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct WifiList {
    /// The networks read so far.
    pub networks: Vec<WifiNetwork>,
    /// Whether the device may hold more ([`AppCore::onboarding_more_networks`] reads them).
    pub more: bool,
}

/// A device on Wi-Fi.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct JoinedWifi {
    /// The network.
    pub ssid: String,
    /// The device's address on it.
    pub ip: String,
}

/// Where real devices come from.
#[derive(Clone)]
pub enum Radio {
    /// Bluetooth LE.
    #[cfg(feature = "ble")]
    Bluetooth(Arc<BluetoothRadio>),
    /// None: this build cannot find devices.
    None,
}

impl Radio {
    /// Bluetooth LE when this build has it, otherwise none.
    pub fn bluetooth() -> Self {
        #[cfg(feature = "ble")]
        {
            Radio::Bluetooth(Arc::new(BluetoothRadio {
                seen: Mutex::default(),
                adapter: std::env::var(ADAPTER_VARIABLE)
                    .ok()
                    .filter(|a| !a.is_empty()),
            }))
        }
        #[cfg(not(feature = "ble"))]
        {
            Radio::None
        }
    }
}

/// The sandbox's simulated devices, waiting to be set up: one of each model with ESP-IDF
/// provisioning, and a second washer with Improv. Made on first use (a Security 2 device
/// computes its SRP verifier, an Improv device starts its web server), not while the app starts.
#[derive(Default)]
pub struct SandboxDevices {
    devices: std::sync::OnceLock<(Vec<SimDevice>, Vec<SimImprovDevice>)>,
    /// Whether the log already said that no real devices are looked for.
    told_no_bluetooth: AtomicBool,
}

fn sandbox_serial(prefix: &str) -> String {
    format!("SIM-{prefix}-{:06X}", rand::random::<u32>() & 0xff_ffff)
}

impl SandboxDevices {
    fn all(&self) -> &(Vec<SimDevice>, Vec<SimImprovDevice>) {
        self.devices.get_or_init(|| {
            let esp = vec![
                SimDevice::new("RefillBrew-200", &sandbox_serial("BREW"), Protection::Sec1),
                SimDevice::new("RefillPrint-4C", &sandbox_serial("PRINT"), Protection::Sec2),
                SimDevice::new("RefillWash-9", &sandbox_serial("WASH"), Protection::Sec1),
            ];
            let improv = match SimImprovDevice::new("RefillWash-9", &sandbox_serial("WASHI")) {
                Ok(device) => vec![device],
                Err(e) => {
                    tracing::warn!("the sandbox's Improv device could not start: {e}");
                    Vec::new()
                }
            };
            (esp, improv)
        })
    }

    /// The devices set up with ESP-IDF provisioning, for tests and the demo.
    pub fn devices(&self) -> &[SimDevice] {
        &self.all().0
    }

    /// The devices set up with Improv, for tests and the demo.
    pub fn improv_devices(&self) -> &[SimImprovDevice] {
        &self.all().1
    }

    /// Whether `id` is one of the sandbox's devices (not one on the air).
    fn has(&self, id: &str) -> bool {
        self.find(id).is_some() || self.find_improv(id).is_some()
    }

    fn find(&self, id: &str) -> Option<&SimDevice> {
        self.devices().iter().find(|d| d.name == id)
    }

    fn find_improv(&self, id: &str) -> Option<&SimImprovDevice> {
        self.improv_devices().iter().find(|d| d.name == id)
    }

    fn found(&self) -> Vec<FoundDevice> {
        let esp = self
            .devices()
            .iter()
            .filter(|d| {
                d.device
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .connected_ip()
                    .is_none()
            })
            .map(|d| (d.name.clone(), DeviceProtocol::Esp, Some(d.qr("ble"))));
        let improv = self
            .improv_devices()
            .iter()
            .filter(|d| d.improv.state() != ImprovState::Provisioned)
            .map(|d| (d.name.clone(), DeviceProtocol::Improv, None));
        esp.chain(improv)
            .enumerate()
            .map(|(i, (name, protocol, sandbox_label))| FoundDevice {
                id: name.clone(),
                name,
                rssi: Some(-48 - 9 * i as i32),
                protocol,
                sandbox: true,
                sandbox_label,
            })
            .collect()
    }
}

/// The environment variable that chooses the Bluetooth adapter by name (`hci1`), for a
/// computer with more than one; without it, the first.
pub const ADAPTER_VARIABLE: &str = "REFILL_BLUETOOTH_ADAPTER";

/// Real Bluetooth LE: the devices seen at the last scan.
#[cfg(feature = "ble")]
pub struct BluetoothRadio {
    seen: Mutex<HashMap<String, refill_provision::ble::Found>>,
    /// The adapter to use ([`ADAPTER_VARIABLE`]), else the first.
    adapter: Option<String>,
}

#[cfg(feature = "ble")]
impl BluetoothRadio {
    async fn scan(&self) -> Result<Vec<FoundDevice>, AppError> {
        let unavailable = |e: ProvError| {
            AppError::new(
                ErrorCode::BluetoothUnavailable,
                format!(
                    "Refill cannot use Bluetooth: {e} Turn Bluetooth on (and allow Refill to use \
                     it), then look again."
                ),
            )
        };
        let adapter = refill_provision::ble::adapter(self.adapter.as_deref())
            .await
            .map_err(unavailable)?;
        let found = refill_provision::ble::scan(&adapter, Duration::from_secs(3))
            .await
            .map_err(unavailable)?;
        let mut seen = self.seen.lock().unwrap_or_else(PoisonError::into_inner);
        Ok(found
            .into_iter()
            .map(|f| {
                let id = f.id();
                let view = FoundDevice {
                    id: id.clone(),
                    name: f.name.clone(),
                    rssi: f.rssi.map(i32::from),
                    protocol: match f.protocol {
                        refill_provision::ble::Protocol::Esp => DeviceProtocol::Esp,
                        refill_provision::ble::Protocol::Improv => DeviceProtocol::Improv,
                    },
                    sandbox: false,
                    sandbox_label: None,
                };
                seen.insert(id, f);
                view
            })
            .collect())
    }

    async fn connect(&self, id: &str) -> Result<(String, Connection), AppError> {
        let found = self
            .seen
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(id)
            .cloned()
            .ok_or_else(|| gone(id))?;
        let connection = if found.protocol == refill_provision::ble::Protocol::Improv {
            let link = refill_provision::ble::BleImprovLink::connect(&found)
                .await
                .map_err(device_error)?;
            Connection::Improv(ImprovConn::Ble(link))
        } else {
            let transport = refill_provision::ble::BleTransport::connect(&found)
                .await
                .map_err(device_error)?;
            Connection::Esp(Link::Ble(transport))
        };
        Ok((found.name.clone(), connection))
    }
}

/// A link to the device being set up.
enum Link {
    Sim(SimLink),
    /// Through the device's own access point (SoftAP), over HTTP.
    SoftAp(refill_provision::http::HttpTransport),
    #[cfg(feature = "ble")]
    Ble(refill_provision::ble::BleTransport),
}

impl Link {
    fn max_value(&self) -> usize {
        match self {
            Link::Sim(_) => 512,
            // No GATT attribute limit over HTTP.
            Link::SoftAp(_) => 4096,
            #[cfg(feature = "ble")]
            Link::Ble(t) => t.max_value(),
        }
    }
}

impl Transport for Link {
    async fn exchange(&mut self, endpoint: &str, request: &[u8]) -> Result<Vec<u8>, ProvError> {
        match self {
            Link::Sim(link) => link.exchange(endpoint, request).await,
            Link::SoftAp(link) => link.exchange(endpoint, request).await,
            #[cfg(feature = "ble")]
            Link::Ble(link) => link.exchange(endpoint, request).await,
        }
    }
}

/// A link to an Improv device.
enum ImprovConn {
    Sim(SimImprovLink),
    #[cfg(feature = "ble")]
    Ble(refill_provision::ble::BleImprovLink),
}

impl ImprovLink for ImprovConn {
    async fn read(&mut self, c: improv::Characteristic) -> Result<Vec<u8>, ProvError> {
        match self {
            ImprovConn::Sim(link) => link.read(c).await,
            #[cfg(feature = "ble")]
            ImprovConn::Ble(link) => link.read(c).await,
        }
    }

    async fn write(&mut self, c: improv::Characteristic, data: &[u8]) -> Result<(), ProvError> {
        match self {
            ImprovConn::Sim(link) => link.write(c, data).await,
            #[cfg(feature = "ble")]
            ImprovConn::Ble(link) => link.write(c, data).await,
        }
    }

    async fn notification(
        &mut self,
        limit: Duration,
    ) -> Result<Option<(improv::Characteristic, Vec<u8>)>, ProvError> {
        match self {
            ImprovConn::Sim(link) => link.notification(limit).await,
            #[cfg(feature = "ble")]
            ImprovConn::Ble(link) => link.notification(limit).await,
        }
    }
}

/// A new connection, by protocol.
enum Connection {
    Esp(Link),
    Improv(ImprovConn),
}

/// A connected device, having said what it is.
enum Connected {
    Esp(Link, ProvInfo),
    Improv(Box<ImprovClient<ImprovConn>>),
}

/// The device setup under way.
enum Stage {
    /// Connected; the device said what it is.
    Opened { link: Link, info: ProvInfo },
    /// Secure session.
    Secured {
        client: Box<Client<Link>>,
        scan: Option<WifiScan>,
    },
    /// An Improv device, before and after its button is pressed.
    Improv {
        client: Box<ImprovClient<ImprovConn>>,
    },
}

struct Setup {
    device_id: String,
    name: String,
    /// `None` only when a reconnection after a refused secret failed.
    stage: Option<Stage>,
    joined: Option<JoinedWifi>,
    identity: Option<Identity>,
    /// An Improv device on Wi-Fi: where it takes the registration messages.
    web: Option<HttpRegistrar>,
}

/// Where the registration messages go for the device being set up.
enum Registration<'a> {
    Esp(&'a mut Client<Link>),
    Web(&'a mut HttpRegistrar),
}

impl Registrar for Registration<'_> {
    async fn call(&mut self, body: Vec<u8>) -> Result<Vec<u8>, ProvError> {
        match self {
            Registration::Esp(client) => Registrar::call(&mut **client, body).await,
            Registration::Web(web) => web.call(body).await,
        }
    }
}

impl Setup {
    fn client(&mut self) -> Result<&mut Client<Link>, AppError> {
        match &mut self.stage {
            Some(Stage::Secured { client, .. }) => Ok(client),
            _ => Err(AppError::new(
                ErrorCode::NoDeviceSetup,
                "The device does not trust this app yet: enter its code first.",
            )),
        }
    }

    fn improv(&mut self) -> Result<&mut ImprovClient<ImprovConn>, AppError> {
        match &mut self.stage {
            Some(Stage::Improv { client }) => Ok(client),
            _ => Err(no_setup()),
        }
    }

    fn registration(&mut self) -> Result<Registration<'_>, AppError> {
        let name = self.name.clone();
        if matches!(self.stage, Some(Stage::Improv { .. })) {
            return match &mut self.web {
                Some(web) => Ok(Registration::Web(web)),
                None => Err(AppError::new(
                    ErrorCode::DeviceUnsupported,
                    format!(
                        "{name} is on Wi-Fi but gave no address to link it at, so Refill cannot \
                         link it to your account."
                    ),
                )),
            };
        }
        self.client().map(Registration::Esp)
    }
}

/// The wizard's state: one setup at a time.
#[derive(Default)]
pub(crate) struct OnboardingSlot {
    setup: tokio::sync::Mutex<Option<Setup>>,
    link: BrowserWait,
}

fn no_setup() -> AppError {
    AppError::new(
        ErrorCode::NoDeviceSetup,
        "No device setup is under way. Start again from the list of devices.",
    )
}

/// A provisioning error in the wizard's words, with its code.
fn device_error(e: ProvError) -> AppError {
    let code = match &e {
        ProvError::Link(_) | ProvError::Timeout => ErrorCode::DeviceUnreachable,
        ProvError::WrongProofOfPossession | ProvError::WrongCredentials => ErrorCode::DeviceRefused,
        ProvError::Registration(_) => ErrorCode::DeviceLinkFailed,
        ProvError::NotJoined => ErrorCode::WifiFailed,
        ProvError::NoEndpoint(_)
        | ProvError::Device(_)
        | ProvError::Protocol(_)
        | ProvError::Unsupported(_) => ErrorCode::DeviceUnsupported,
    };
    AppError::new(code, e.to_string())
}

fn improv_list(networks: &[ImprovNetwork], memory: &dyn WifiMemory) -> WifiList {
    WifiList {
        networks: networks
            .iter()
            .map(|n| WifiNetwork {
                ssid: n.ssid.clone(),
                rssi: n.rssi,
                secured: n.secured,
                remembered: n.secured && memory.recall(&n.ssid).ok().flatten().is_some(),
            })
            .collect(),
        more: false,
    }
}

fn wifi_list(scan: &WifiScan, memory: &dyn WifiMemory) -> WifiList {
    WifiList {
        networks: scan
            .networks
            .iter()
            .map(|n| WifiNetwork {
                ssid: n.ssid.clone(),
                rssi: n.rssi,
                secured: n.auth != refill_provision::protocomm::WifiAuth::Open,
                remembered: n.auth != refill_provision::protocomm::WifiAuth::Open
                    && memory.recall(&n.ssid).ok().flatten().is_some(),
            })
            .collect(),
        more: scan.more(),
    }
}

impl AppCore {
    /// The sandbox's simulated devices, while the sandbox is the service in use. Chosen at
    /// each use, so that choosing another service in the settings changes it without a
    /// restart.
    pub fn sandbox_devices(&self) -> Option<Arc<SandboxDevices>> {
        self.service_url()
            .is_none()
            .then(|| self.inner.sandbox_devices.clone())
    }

    /// Looks for devices waiting to be set up, strongest first: on the air over Bluetooth,
    /// and the sandbox's while it is in use. Call again to refresh the list.
    pub async fn onboarding_scan(&self) -> Result<FoundDevices, AppError> {
        let sandbox = self.sandbox_devices();
        let on_air = match &self.inner.bluetooth {
            #[cfg(feature = "ble")]
            Radio::Bluetooth(radio) => radio.scan().await,
            Radio::None => Err(AppError::new(
                ErrorCode::BluetoothUnavailable,
                "This build of Refill cannot use Bluetooth, so it cannot find new devices.",
            )),
        };
        let Some(sandbox) = sandbox else {
            return on_air.map(|devices| FoundDevices {
                devices,
                bluetooth: None,
            });
        };
        let mut devices = sandbox.found();
        let bluetooth = match on_air {
            Ok(found) => {
                devices.extend(found);
                None
            }
            Err(e) => {
                if !sandbox.told_no_bluetooth.swap(true, Ordering::Relaxed) {
                    tracing::info!("only the sandbox's devices are listed: {}", e.message);
                }
                Some(format!(
                    "{} Until then, only the sandbox's simulated devices are listed.",
                    e.message
                ))
            }
        };
        devices.sort_by_key(|d| std::cmp::Reverse(d.rssi.unwrap_or(i32::MIN)));
        Ok(FoundDevices { devices, bluetooth })
    }

    /// Connects to a found device and asks what it needs before it talks.
    pub async fn onboarding_open(&self, device_id: String) -> Result<OpenedDevice, AppError> {
        self.onboarding_cancel().await;
        let (name, connected) = self.connect_device(&device_id).await?;
        self.opened(device_id, name, connected).await
    }

    /// Connects to a device through the Wi-Fi network it made itself (SoftAP, as ESP devices
    /// offer), at the address it shows (`http://192.168.4.1` when none is typed), once this
    /// computer is on that network; then the same steps as a device found over Bluetooth.
    pub async fn onboarding_open_softap(
        &self,
        address: Option<String>,
    ) -> Result<OpenedDevice, AppError> {
        self.onboarding_cancel().await;
        let url = softap_url(address.as_deref())?;
        let (name, connected) = self.connect_device(&url).await?;
        self.opened(url, name, connected).await
    }

    /// Keeps the connected device as the one being set up, and says what it needs.
    async fn opened(
        &self,
        device_id: String,
        name: String,
        connected: Connected,
    ) -> Result<OpenedDevice, AppError> {
        let (trust, can_identify, stage) = match connected {
            Connected::Esp(link, info) => {
                let trust = match info.sec_ver {
                    0 => DeviceTrust::Nothing,
                    2 => DeviceTrust::UsernameAndPassword,
                    _ if info.needs_pop() => DeviceTrust::ProofOfPossession,
                    _ => DeviceTrust::Nothing,
                };
                (trust, false, Stage::Opened { link, info })
            }
            Connected::Improv(client) => {
                let trust = if client.state() == ImprovState::AuthorizationRequired {
                    DeviceTrust::ButtonPress
                } else {
                    DeviceTrust::Nothing
                };
                let can_identify = client.capabilities & improv::capability::IDENTIFY != 0;
                (trust, can_identify, Stage::Improv { client })
            }
        };
        let sandbox = self
            .sandbox_devices()
            .is_some_and(|devices| devices.has(&device_id));
        *self.inner.onboarding.setup.lock().await = Some(Setup {
            device_id,
            name: name.clone(),
            stage: Some(stage),
            joined: None,
            identity: None,
            web: None,
        });
        Ok(OpenedDevice {
            name,
            trust,
            can_identify,
            sandbox,
        })
    }

    /// Asks the device being set up to blink or beep, so the person knows which one to press.
    pub async fn onboarding_identify(&self) -> Result<(), AppError> {
        let mut guard = self.inner.onboarding.setup.lock().await;
        let setup = guard.as_mut().ok_or_else(no_setup)?;
        let name = setup.name.clone();
        match &mut setup.stage {
            Some(Stage::Improv { client }) => client.identify().await.map_err(device_error),
            _ => Err(AppError::new(
                ErrorCode::DeviceUnsupported,
                format!("{name} cannot show itself on request."),
            )),
        }
    }

    /// Sandbox only: presses the button of the simulated device being set up, as the person
    /// would press a real one.
    pub async fn onboarding_press_button(&self) -> Result<(), AppError> {
        let device_id = {
            let guard = self.inner.onboarding.setup.lock().await;
            guard.as_ref().ok_or_else(no_setup)?.device_id.clone()
        };
        match self.sandbox_devices() {
            Some(devices) if devices.has(&device_id) => {
                if devices.find(&device_id).is_some() {
                    return Err(AppError::new(
                        ErrorCode::DeviceUnsupported,
                        format!(
                            "{device_id} has no button to press: it takes the code on its label."
                        ),
                    ));
                }
                let device = devices
                    .find_improv(&device_id)
                    .ok_or_else(|| gone(&device_id))?;
                device.improv.press_button();
                Ok(())
            }
            _ => Err(AppError::new(
                ErrorCode::DeviceUnsupported,
                "Only sandbox devices have a button the app can press. Press the button on the \
                 device itself.",
            )),
        }
    }

    /// Connects to the device and reads what it is.
    async fn connect_device(&self, device_id: &str) -> Result<(String, Connected), AppError> {
        if is_softap(device_id) {
            let mut link = Link::SoftAp(refill_provision::http::HttpTransport::new(device_id));
            let info = Client::probe(&mut link).await.map_err(|e| match e {
                ProvError::Link(_) | ProvError::Timeout => AppError::new(
                    ErrorCode::DeviceUnreachable,
                    format!(
                        "Nothing answered at {device_id}. Join this computer to the Wi-Fi \
                         network the device made (its manual gives its name), check the address \
                         the device shows, then try again."
                    ),
                ),
                other => device_error(other),
            })?;
            let name = format!("The device at {}", device_id.trim_start_matches("http://"));
            return Ok((name, Connected::Esp(link, info)));
        }
        let sandbox = self
            .sandbox_devices()
            .filter(|devices| devices.has(device_id));
        let (name, connection) = if let Some(devices) = sandbox {
            if let Some(device) = devices.find(device_id) {
                (
                    device.name.clone(),
                    Connection::Esp(Link::Sim(SimLink::connect(
                        device.device.clone(),
                        SANDBOX_AIR,
                    ))),
                )
            } else {
                let device = devices
                    .find_improv(device_id)
                    .ok_or_else(|| gone(device_id))?;
                let link = SimImprovLink::connect(
                    &device.improv,
                    SANDBOX_IMPROV_MTU,
                    SANDBOX_AIR.round_trip,
                );
                (
                    device.name.clone(),
                    Connection::Improv(ImprovConn::Sim(link)),
                )
            }
        } else {
            match &self.inner.bluetooth {
                #[cfg(feature = "ble")]
                Radio::Bluetooth(radio) => radio.connect(device_id).await?,
                Radio::None => return Err(gone(device_id)),
            }
        };
        let connected = match connection {
            Connection::Esp(mut link) => {
                let info = Client::probe(&mut link).await.map_err(device_error)?;
                Connected::Esp(link, info)
            }
            Connection::Improv(link) => Connected::Improv(Box::new(
                ImprovClient::connect(link).await.map_err(device_error)?,
            )),
        };
        Ok((name, connected))
    }

    /// Improv: waits for the button press (in short rounds, so the device can be asked to
    /// identify itself meanwhile, and a cancel ends the wait), then reads the networks it sees.
    async fn improv_secure(&self) -> Result<WifiList, AppError> {
        let deadline = tokio::time::Instant::now() + BUTTON_LIMIT;
        loop {
            {
                let mut guard = self.inner.onboarding.setup.lock().await;
                let setup = guard.as_mut().ok_or_else(no_setup)?;
                let name = setup.name.clone();
                let client = setup.improv()?;
                if client.state() != ImprovState::AuthorizationRequired {
                    let networks = match client.scan().await {
                        Ok(networks) => networks,
                        // It cannot scan: the person types the network's name.
                        Err(ProvError::Unsupported(_)) => Vec::new(),
                        Err(e) => return Err(device_error(e)),
                    };
                    return Ok(improv_list(&networks, &*self.inner.platform.wifi));
                }
                match client
                    .wait_for_authorization(Duration::from_millis(250))
                    .await
                {
                    Ok(()) => continue,
                    Err(_) if client.state() == ImprovState::AuthorizationRequired => {}
                    Err(e) => return Err(device_error(e)),
                }
                if tokio::time::Instant::now() >= deadline {
                    return Err(AppError::new(
                        ErrorCode::DeviceRefused,
                        format!(
                            "Nobody pressed the button on {name} in time. Press it, then choose \
                             Continue again."
                        ),
                    ));
                }
            }
            tokio::task::yield_now().await;
        }
    }

    /// Opens the secure session with the device's proof of possession (or its QR payload) and
    /// reads the strongest networks it sees. A refused code can be corrected: the app connects
    /// again at once, so the next call tries the new code.
    ///
    /// An Improv device takes no code: this waits (up to two minutes) until its button is
    /// pressed.
    pub async fn onboarding_secure(&self, secret: DeviceSecret) -> Result<WifiList, AppError> {
        let mut guard = self.inner.onboarding.setup.lock().await;
        let setup = guard.as_mut().ok_or_else(no_setup)?;
        if matches!(setup.stage, Some(Stage::Improv { .. })) {
            drop(guard);
            return self.improv_secure().await;
        }
        if setup.stage.is_none() {
            if let (_, Connected::Esp(link, info)) = self.connect_device(&setup.device_id).await? {
                setup.stage = Some(Stage::Opened { link, info });
            }
        }
        if let Some(Stage::Opened { info, .. }) = &setup.stage {
            // Checked before the link is taken: a QR code for another device keeps it.
            // A device reached at an address has no advertised name to check a QR code against.
            let name = (!is_softap(&setup.device_id)).then_some(setup.name.as_str());
            let security = security_for(&secret, name, info.sec_ver)?;
            let Some(Stage::Opened { link, info }) = setup.stage.take() else {
                return Err(no_setup());
            };
            let max = link.max_value();
            match Client::connect_with(link, info, &security, max).await {
                Ok(client) => {
                    setup.stage = Some(Stage::Secured {
                        client: Box::new(client),
                        scan: None,
                    });
                }
                Err(e) => {
                    // The device ends a refused session: connect again for the next try.
                    if let Ok((_, Connected::Esp(link, info))) =
                        self.connect_device(&setup.device_id).await
                    {
                        setup.stage = Some(Stage::Opened { link, info });
                    }
                    return Err(device_error(e));
                }
            }
        }
        let Some(Stage::Secured { client, scan }) = &mut setup.stage else {
            return Err(no_setup());
        };
        let found = match client.scan_strongest().await {
            Ok(found) => found,
            // It cannot scan: the person types the network's name.
            Err(ProvError::Unsupported(_)) => WifiScan::default(),
            Err(e) => return Err(device_error(e)),
        };
        let list = wifi_list(&found, &*self.inner.platform.wifi);
        *scan = Some(found);
        Ok(list)
    }

    /// Reads the rest of the device's networks.
    pub async fn onboarding_more_networks(&self) -> Result<WifiList, AppError> {
        let mut guard = self.inner.onboarding.setup.lock().await;
        let setup = guard.as_mut().ok_or_else(no_setup)?;
        if let Some(Stage::Improv { client }) = &mut setup.stage {
            // Improv gives every network at once: look again.
            let networks = client.scan().await.map_err(device_error)?;
            return Ok(improv_list(&networks, &*self.inner.platform.wifi));
        }
        let Some(Stage::Secured { client, scan }) = &mut setup.stage else {
            return Err(no_setup());
        };
        let scan = scan.get_or_insert_with(WifiScan::default);
        client.scan_rest(scan).await.map_err(device_error)?;
        Ok(wifi_list(scan, &*self.inner.platform.wifi))
    }

    /// Gives the device a network and waits until it is on it. `password: None` uses the one
    /// remembered for `ssid`; `remember` keeps a password that worked in the keyring. After a
    /// failure the session stays open: correct the password and call again.
    pub async fn onboarding_join(
        &self,
        ssid: String,
        password: Option<String>,
        remember: bool,
    ) -> Result<JoinedWifi, AppError> {
        let mut guard = self.inner.onboarding.setup.lock().await;
        let setup = guard.as_mut().ok_or_else(no_setup)?;
        let name = setup.name.clone();
        let memory = &*self.inner.platform.wifi;
        let password = match password {
            Some(p) => Sensitive::new(p),
            None => memory.recall(&ssid).ok().flatten().unwrap_or_default(),
        };
        let ip = if let Some(Stage::Improv { client }) = &mut setup.stage {
            let url = improv_join(client, &ssid, &password).await?;
            let ip = url.as_deref().map(url_host).unwrap_or_default();
            setup.web = url.as_deref().map(HttpRegistrar::new);
            ip
        } else {
            let status = setup
                .client()?
                .join_and_wait(&ssid, password.expose(), JOIN_LIMIT)
                .await
                .map_err(device_error)?;
            esp_joined(status, &ssid)?
        };
        if remember && !password.expose().is_empty() {
            if let Err(e) = memory.remember(&ssid, &password) {
                tracing::warn!("the Wi-Fi password could not be remembered: {e}");
            }
        }
        let joined = JoinedWifi { ssid, ip };
        setup.joined = Some(joined.clone());
        tracing::info!(device = name, "device joined Wi-Fi");
        Ok(joined)
    }

    /// Starts linking the device (now on Wi-Fi) to the signed-in account: opens the browser at
    /// the consent page, where the person chooses a product for each of its slots.
    pub async fn onboarding_link(&self) -> Result<SignInStarted, AppError> {
        let identity = {
            let mut guard = self.inner.onboarding.setup.lock().await;
            let setup = guard.as_mut().ok_or_else(no_setup)?;
            if setup.joined.is_none() {
                return Err(AppError::new(
                    ErrorCode::NoDeviceSetup,
                    "The device is not on Wi-Fi yet: choose a network first.",
                ));
            }
            let identity = setup
                .registration()?
                .identify()
                .await
                .map_err(device_error)?;
            setup.identity = Some(identity.clone());
            identity
        };
        let backend = self.backend().await?;
        let pending = refill_auth::start_device_authorization(
            backend.session.provider(),
            &self.inner.platform.redirect,
            &refill_auth::DeviceGrant::replenish(identity.scope_data(), &identity.code_challenge),
        )
        .await
        .map_err(auth_error)?;
        Ok(self.open_browser(pending, &self.inner.onboarding.link, "link the device"))
    }

    /// Waits for the consent page to come back, hands the code to the device, waits until the
    /// device has redeemed it, and returns the device as the service now knows it.
    pub async fn onboarding_finish_link(&self) -> Result<DeviceView, AppError> {
        let pending = self.inner.onboarding.link.take().ok_or_else(no_setup)?;
        let cancelled = self.inner.onboarding.link.cancellation();
        let code = if pending.uses_loopback() {
            pending
                .finish_code(refill_auth::SIGN_IN_TIMEOUT, cancelled)
                .await
        } else {
            let link = self.wait_for_link(cancelled).await;
            link.and_then(|link| pending.complete_code(&link))
        }
        .map_err(link_error)?;
        let provider = pending.provider();
        let mut handoff = Handoff {
            code,
            client_id: provider.client_id.clone(),
            redirect_uri: pending.redirect_uri().to_owned(),
            token_url: provider.token_url.clone(),
            // The service's own certificate, when the app trusts it so: the device pins it too.
            certificate_fingerprint: provider.trust.fingerprint().map(|f| f.to_string()),
        };
        // The sandbox on this computer serving the home network: the device reaches it there,
        // pinning its certificate (it cannot reach this computer's loopback).
        if self.service_url().is_none() {
            if let Some((url, fingerprint)) = self.network_handoff().await {
                handoff.token_url = format!("{url}/auth/o2/token");
                handoff.certificate_fingerprint = Some(fingerprint);
            }
        }
        let serial = {
            let mut guard = self.inner.onboarding.setup.lock().await;
            let setup = guard.as_mut().ok_or_else(no_setup)?;
            let serial = setup
                .identity
                .as_ref()
                .map(|i| i.serial.clone())
                .unwrap_or_default();
            setup
                .registration()?
                .register_and_wait(&handoff, LINK_LIMIT)
                .await
                .map_err(device_error)?;
            serial
        };
        let devices = self
            .client()
            .await?
            .devices()
            .await
            .map_err(|e| AppError::new(e.code(), e.to_string()))?;
        let device = devices
            .devices
            .into_iter()
            .find(|d| d.serial == serial)
            .ok_or_else(|| {
                AppError::new(
                    ErrorCode::DeviceLinkFailed,
                    "The device says it is linked, but your account does not list it. Make \
                     sure you allowed it with the account signed in to Refill.",
                )
            })?;
        tracing::info!(serial, "device linked to the account");
        *self.inner.onboarding.setup.lock().await = None;
        Ok(device)
    }

    /// Stops the setup under way: disconnects from the device and stops waiting for the
    /// consent page. Nothing the device already did is undone.
    pub async fn onboarding_cancel(&self) {
        self.inner.onboarding.link.cancel();
        *self.inner.onboarding.setup.lock().await = None;
    }
}

/// Whether the device being set up was reached at an address on its own network (SoftAP): its
/// id is then that address.
fn is_softap(device_id: &str) -> bool {
    device_id.starts_with("http://")
}

/// The address of a device's provisioning web server on its own network, from what the person
/// typed: `http://` added when left out, the usual `192.168.4.1` when nothing was typed.
fn softap_url(typed: Option<&str>) -> Result<String, AppError> {
    let typed = typed.map(str::trim).filter(|t| !t.is_empty());
    let text = typed.unwrap_or("192.168.4.1");
    let with_scheme = if text.contains("://") {
        text.to_owned()
    } else {
        format!("http://{text}")
    };
    let bad = || {
        AppError::new(
            ErrorCode::BadRequest,
            format!(
                "{text:?} is not an address: type the one the device shows, such as \
                 192.168.4.1 or http://192.168.4.1"
            ),
        )
    };
    let url = url::Url::parse(&with_scheme).map_err(|_| bad())?;
    if url.scheme() != "http" || url.host_str().is_none_or(str::is_empty) {
        return Err(bad());
    }
    Ok(url.as_str().trim_end_matches('/').to_owned())
}

/// Why linking did not come back, in words about the device.
fn link_error(e: AuthError) -> AppError {
    let message = match &e {
        AuthError::Refused { error, .. } if error == "access_denied" => {
            "The device was not linked: it was declined on the consent page. Link it again when \
             you are ready; it stays on Wi-Fi."
                .to_owned()
        }
        AuthError::Refused { description, .. } => {
            format!("The Refill service did not link the device: {description}")
        }
        AuthError::Cancelled => "Linking the device was cancelled; it stays on Wi-Fi.".to_owned(),
        AuthError::TimedOut { .. } => "Linking the device timed out: the consent page was not \
                                       answered. Link it again; it stays on Wi-Fi."
            .to_owned(),
        _ => return auth_error(e),
    };
    AppError::new(ErrorCode::DeviceLinkFailed, message)
}

/// The address of an ESP device on Wi-Fi, or why it did not join, in words.
fn esp_joined(status: WifiStatus, ssid: &str) -> Result<String, AppError> {
    match status {
        WifiStatus::Connected { ip } => Ok(ip),
        WifiStatus::Failed { reason } => Err(match reason {
            WifiFailure::AuthError => AppError::new(
                ErrorCode::WifiWrongPassword,
                format!("The device could not join {ssid}: the password is wrong. Type it again."),
            ),
            WifiFailure::NetworkNotFound => AppError::new(
                ErrorCode::WifiNotFound,
                format!(
                    "The device cannot find {ssid}. Check the name, and that the network \
                         reaches where the device stands."
                ),
            ),
            WifiFailure::Other => AppError::new(
                ErrorCode::WifiFailed,
                format!("The device could not join {ssid}. Try again."),
            ),
        }),
        WifiStatus::Connecting { .. } => Err(device_error(ProvError::Timeout)),
    }
}

/// Gives an Improv device the network; returns the URL it offers once on it.
async fn improv_join(
    client: &mut ImprovClient<ImprovConn>,
    ssid: &str,
    password: &Sensitive<String>,
) -> Result<Option<String>, AppError> {
    if client.state() == ImprovState::AuthorizationRequired {
        return Err(AppError::new(
            ErrorCode::DeviceRefused,
            "The device does not trust this app yet: press the button on it first.",
        ));
    }
    match client.join(ssid, password.expose(), JOIN_LIMIT).await {
        Ok(url) => Ok(url),
        // Improv does not say why; a wrong password is by far the most common reason.
        Err(ProvError::NotJoined) => Err(AppError::new(
            ErrorCode::WifiWrongPassword,
            format!(
                "The device could not join {ssid}. Check the password (and that the network \
                 reaches where the device stands), then type it again."
            ),
        )),
        Err(e) => Err(device_error(e)),
    }
}

/// The host of a URL such as `http://192.168.1.23:8080/setup`.
fn url_host(url: &str) -> String {
    let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
    let authority = rest.split('/').next().unwrap_or_default();
    match authority.rsplit_once(':') {
        Some((host, port)) if port.chars().all(|c| c.is_ascii_digit()) => host.to_owned(),
        _ => authority.to_owned(),
    }
}

fn gone(device_id: &str) -> AppError {
    AppError::new(
        ErrorCode::DeviceUnreachable,
        format!("{device_id} is no longer nearby. Look for devices again."),
    )
}

/// The security for the device: from its QR payload (which must name this device), or from the
/// typed-in secret, for the kind of security the device said it uses.
fn security_for(
    secret: &DeviceSecret,
    name: Option<&str>,
    sec_ver: u32,
) -> Result<Security, AppError> {
    if let Some(qr) = secret.qr.as_deref().filter(|q| !q.trim().is_empty()) {
        let payload = QrPayload::parse(qr).map_err(device_error)?;
        if let Some(name) = name.filter(|name| payload.name != *name) {
            return Err(AppError::new(
                ErrorCode::DeviceRefused,
                format!(
                    "This QR code is for {}, not for {name}. Scan the code on this device.",
                    payload.name
                ),
            ));
        }
        return Ok(payload.security());
    }
    let pop = secret
        .pop
        .as_deref()
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(|p| Sensitive::new(p.to_owned()));
    Ok(match sec_ver {
        0 => Security::Sec0,
        2 => Security::Sec2 {
            username: secret
                .username
                .as_deref()
                .map(str::trim)
                .filter(|u| !u.is_empty())
                .unwrap_or("wifiprov")
                .to_owned(),
            password: pop.ok_or_else(|| {
                AppError::new(
                    ErrorCode::DeviceRefused,
                    "Enter the password printed on the device, or scan its QR code.",
                )
            })?,
        },
        _ => Security::Sec1 { pop },
    })
}
