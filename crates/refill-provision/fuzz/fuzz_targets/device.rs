//! A simulated device after a Security 0 session: whatever arrives on any endpoint, it answers or
//! ignores it, and never panics.
#![no_main]

use libfuzzer_sys::fuzz_target;
use refill_provision::device::{DeviceSetup, ProtocommDevice, SimNetwork};
use refill_provision::protocomm::endpoint;
use refill_provision::security::DeviceSecurity;

const ENDPOINTS: [&str; 7] = [
    endpoint::PROTO_VER,
    endpoint::SESSION,
    endpoint::SCAN,
    endpoint::CONFIG,
    endpoint::CTRL,
    endpoint::CUSTOM_DATA,
    "prov-unknown",
];

fuzz_target!(|data: &[u8]| {
    let version = if data.first().is_some_and(|b| b & 1 == 1) {
        "netprov-v1.2"
    } else {
        "v1.1"
    };
    let mut device = ProtocommDevice::new(DeviceSetup {
        version: version.to_owned(),
        security: DeviceSecurity::Sec0,
        networks: vec![
            SimNetwork::new("Home", "pw", -40),
            SimNetwork::new("Cafe", "", -70),
        ],
        join_time: std::time::Duration::ZERO,
        custom_data: Box::new(|r| r.to_vec()),
    });
    let _ = device.handle(endpoint::SESSION, &[0x52, 0x03, 0xa2, 0x01, 0x00]);
    // Requests: [endpoint selector][length][bytes]...
    let mut rest = data.get(1..).unwrap_or_default();
    while let [selector, len, tail @ ..] = rest {
        let len = usize::from(*len).min(tail.len());
        let _ = device.handle(
            ENDPOINTS[usize::from(*selector) % ENDPOINTS.len()],
            &tail[..len],
        );
        rest = &tail[len..];
    }
});
