//! The BLE transports, on btleplug: finding devices that offer ESP-IDF provisioning or Improv;
//! protocomm over GATT (a write with response, then a read, on the endpoint's characteristic,
//! found by its 0x2901 name, [`BleTransport`]); and Improv over GATT (RPCs written, state, errors
//! and results notified, [`BleImprovLink`]).

use crate::error::ProvError;
use crate::improv::{self, ImprovLink};
use crate::protocomm::Transport;
use btleplug::api::{
    Central, Manager as _, Peripheral as _, ScanFilter, ValueNotification, WriteType,
};
use btleplug::platform::{Adapter, Manager, Peripheral};
use futures_util::{Stream, StreamExt};
use std::collections::HashMap;
use std::pin::Pin;
use std::time::Duration;
use uuid::Uuid;

/// The service of Espressif's provisioning examples and apps (and esp_prov's fallback).
pub const ESP_SERVICE: Uuid = Uuid::from_u128(0x021a9004_0382_4aea_bff4_6b3f1c5adfb4);
/// wifi_prov_mgr's default service.
pub const ESP_DEFAULT_SERVICE: Uuid = Uuid::from_u128(0x1775244d_6b43_439b_877c_060f2d9bed07);
/// Improv's service.
pub const IMPROV_SERVICE: Uuid = Uuid::from_u128(0x00467768_6228_2272_4663_277478268000);
/// Improv's 16-bit service-data UUID.
pub const IMPROV_SERVICE_DATA: Uuid = Uuid::from_u128(0x00004677_0000_1000_8000_00805f9b34fb);
/// Characteristic User Description.
const USER_DESCRIPTION: Uuid = Uuid::from_u128(0x00002901_0000_1000_8000_00805f9b34fb);

/// How long connecting and discovering services may take.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(20);

fn ble_error(e: btleplug::Error) -> ProvError {
    ProvError::Link(format!("Bluetooth: {e}"))
}

/// Which protocol a device offers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    /// ESP-IDF unified provisioning.
    Esp,
    /// Improv Wi-Fi.
    Improv,
}

/// A device seen while scanning.
#[derive(Debug, Clone)]
pub struct Found {
    /// Its advertised name.
    pub name: String,
    /// Signal strength, dBm.
    pub rssi: Option<i16>,
    /// What it offers.
    pub protocol: Protocol,
    improv_data: Vec<u8>,
    peripheral: Peripheral,
}

impl Found {
    /// Improv devices: the capability bits it advertises (0 when it advertises none).
    pub fn improv_capabilities(&self) -> u8 {
        self.improv_data.get(1).copied().unwrap_or(0)
    }

    /// A stable id for it while the app runs (the OS's peripheral id).
    pub fn id(&self) -> String {
        self.peripheral.id().to_string()
    }
}

/// The Bluetooth adapter to use: the one whose name starts with `name` (such as `hci0`), or the
/// first.
pub async fn adapter(name: Option<&str>) -> Result<Adapter, ProvError> {
    let manager = Manager::new()
        .await
        .map_err(|e| ProvError::Unsupported(format!("Bluetooth is not available here ({e})")))?;
    let adapters = manager.adapters().await.map_err(ble_error)?;
    for adapter in adapters {
        let info = adapter.adapter_info().await.map_err(ble_error)?;
        if name.is_none_or(|n| info.starts_with(n)) {
            return Ok(adapter);
        }
    }
    Err(ProvError::Unsupported(match name {
        Some(name) => format!("no Bluetooth adapter named {name} was found"),
        None => "no Bluetooth adapter was found: turn Bluetooth on".to_owned(),
    }))
}

/// Scans for `duration` and returns the devices offering provisioning, strongest first.
pub async fn scan(adapter: &Adapter, duration: Duration) -> Result<Vec<Found>, ProvError> {
    // BlueZ refuses a second scan while one runs (org.bluez.Error.InProgress).
    let _ = adapter.stop_scan().await;
    let filter = ScanFilter {
        services: vec![ESP_SERVICE, ESP_DEFAULT_SERVICE, IMPROV_SERVICE],
    };
    adapter.start_scan(filter).await.map_err(ble_error)?;
    tokio::time::sleep(duration).await;
    let _ = adapter.stop_scan().await;
    let mut found = Vec::new();
    for peripheral in adapter.peripherals().await.map_err(ble_error)? {
        let Some(props) = peripheral.properties().await.map_err(ble_error)? else {
            continue;
        };
        let protocol = if props.services.contains(&IMPROV_SERVICE)
            || props.service_data.contains_key(&IMPROV_SERVICE_DATA)
        {
            Protocol::Improv
        } else if props.services.contains(&ESP_SERVICE)
            || props.services.contains(&ESP_DEFAULT_SERVICE)
        {
            Protocol::Esp
        } else {
            continue;
        };
        found.push(Found {
            name: props
                .local_name
                .unwrap_or_else(|| "Unnamed device".to_owned()),
            rssi: props.rssi,
            protocol,
            improv_data: props
                .service_data
                .get(&IMPROV_SERVICE_DATA)
                .cloned()
                .unwrap_or_default(),
            peripheral,
        });
    }
    found.sort_by_key(|f| std::cmp::Reverse(f.rssi.unwrap_or(i16::MIN)));
    Ok(found)
}

/// Protocomm over a BLE connection.
pub struct BleTransport {
    peripheral: Peripheral,
    endpoints: HashMap<String, btleplug::api::Characteristic>,
}

/// Connects to `device` and discovers its services, within [`CONNECT_TIMEOUT`].
async fn connect(device: &Found) -> Result<Peripheral, ProvError> {
    let peripheral = device.peripheral.clone();
    let connect = async {
        peripheral.connect().await.map_err(ble_error)?;
        peripheral.discover_services().await.map_err(ble_error)
    };
    tokio::time::timeout(CONNECT_TIMEOUT, connect)
        .await
        .map_err(|_| ProvError::Timeout)??;
    Ok(peripheral)
}

impl BleTransport {
    /// Connects to `device` and maps its endpoints by their 0x2901 names.
    pub async fn connect(device: &Found) -> Result<Self, ProvError> {
        let peripheral = connect(device).await?;
        let mut endpoints = HashMap::new();
        for characteristic in peripheral.characteristics() {
            for descriptor in &characteristic.descriptors {
                if descriptor.uuid == USER_DESCRIPTION {
                    let name = peripheral
                        .read_descriptor(descriptor)
                        .await
                        .map_err(ble_error)?;
                    endpoints.insert(
                        String::from_utf8_lossy(&name).into_owned(),
                        characteristic.clone(),
                    );
                }
            }
        }
        if endpoints.is_empty() {
            return Err(ProvError::protocol(
                "the device names none of its provisioning endpoints",
            ));
        }
        Ok(Self {
            peripheral,
            endpoints,
        })
    }

    /// The largest value one exchange can carry (the ATT limit; longer values use long writes
    /// and reads).
    pub fn max_value(&self) -> usize {
        512
    }

    /// Disconnects.
    pub async fn disconnect(self) {
        let _ = self.peripheral.disconnect().await;
    }
}

impl Transport for BleTransport {
    async fn exchange(&mut self, endpoint: &str, request: &[u8]) -> Result<Vec<u8>, ProvError> {
        let characteristic = self
            .endpoints
            .get(endpoint)
            .ok_or_else(|| ProvError::NoEndpoint(endpoint.to_owned()))?
            .clone();
        let exchange = async {
            self.peripheral
                .write(&characteristic, request, WriteType::WithResponse)
                .await
                .map_err(ble_error)?;
            self.peripheral
                .read(&characteristic)
                .await
                .map_err(ble_error)
        };
        tokio::time::timeout(Duration::from_secs(10), exchange)
            .await
            .map_err(|_| ProvError::Timeout)?
    }
}

/// Improv over a BLE connection.
pub struct BleImprovLink {
    peripheral: Peripheral,
    characteristics: HashMap<improv::Characteristic, btleplug::api::Characteristic>,
    notifications: Pin<Box<dyn Stream<Item = ValueNotification> + Send>>,
}

impl BleImprovLink {
    /// Connects to `device`, finds Improv's characteristics and subscribes to its state, errors
    /// and RPC results.
    pub async fn connect(device: &Found) -> Result<Self, ProvError> {
        let peripheral = connect(device).await?;
        let mut characteristics = HashMap::new();
        for found in peripheral.characteristics() {
            if found.service_uuid != IMPROV_SERVICE {
                continue;
            }
            if let Some(c) = improv::Characteristic::ALL
                .into_iter()
                .find(|c| Uuid::parse_str(c.uuid()).is_ok_and(|u| u == found.uuid))
            {
                characteristics.insert(c, found);
            }
        }
        use improv::Characteristic as C;
        if let Some(missing) = [C::State, C::Error, C::Rpc, C::RpcResult]
            .into_iter()
            .find(|c| !characteristics.contains_key(c))
        {
            return Err(ProvError::protocol(format!(
                "its Improv service has no {missing:?} characteristic"
            )));
        }
        // The stream first, so nothing notified after subscribing is missed.
        let notifications = peripheral.notifications().await.map_err(ble_error)?;
        for c in [C::State, C::Error, C::RpcResult] {
            peripheral
                .subscribe(&characteristics[&c])
                .await
                .map_err(ble_error)?;
        }
        Ok(Self {
            peripheral,
            characteristics,
            notifications,
        })
    }

    fn characteristic(
        &self,
        c: improv::Characteristic,
    ) -> Result<btleplug::api::Characteristic, ProvError> {
        self.characteristics
            .get(&c)
            .cloned()
            .ok_or_else(|| ProvError::Unsupported(format!("it has no Improv {c:?} characteristic")))
    }

    /// Disconnects.
    pub async fn disconnect(self) {
        let _ = self.peripheral.disconnect().await;
    }
}

impl ImprovLink for BleImprovLink {
    async fn read(&mut self, c: improv::Characteristic) -> Result<Vec<u8>, ProvError> {
        if c == improv::Characteristic::Capabilities && !self.characteristics.contains_key(&c) {
            // Firmware before Improv 2 has no capabilities: it offers none.
            return Ok(vec![0]);
        }
        let characteristic = self.characteristic(c)?;
        tokio::time::timeout(
            Duration::from_secs(10),
            self.peripheral.read(&characteristic),
        )
        .await
        .map_err(|_| ProvError::Timeout)?
        .map_err(ble_error)
    }

    async fn write(&mut self, c: improv::Characteristic, data: &[u8]) -> Result<(), ProvError> {
        let characteristic = self.characteristic(c)?;
        // Long writes: BlueZ splits values above the MTU (prepared writes).
        tokio::time::timeout(
            Duration::from_secs(10),
            self.peripheral
                .write(&characteristic, data, WriteType::WithResponse),
        )
        .await
        .map_err(|_| ProvError::Timeout)?
        .map_err(ble_error)
    }

    async fn notification(
        &mut self,
        limit: Duration,
    ) -> Result<Option<(improv::Characteristic, Vec<u8>)>, ProvError> {
        let deadline = tokio::time::Instant::now() + limit;
        loop {
            let next = tokio::time::timeout_at(deadline, self.notifications.next())
                .await
                .map_err(|_| ProvError::Timeout)?;
            let Some(notification) = next else {
                return Ok(None);
            };
            if let Some(c) = self
                .characteristics
                .iter()
                .find(|(_, found)| found.uuid == notification.uuid)
                .map(|(c, _)| *c)
            {
                return Ok(Some((c, notification.value)));
            }
        }
    }
}
