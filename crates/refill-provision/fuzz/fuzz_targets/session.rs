//! The handshakes: whatever a device answers on `prov-session`, and whatever an app sends to a
//! device, nothing panics.
#![no_main]

use libfuzzer_sys::fuzz_target;
use refill_core::Sensitive;
use refill_provision::security::{
    ClientHandshake, DeviceHandshake, DeviceSecurity, Security, Step,
};

fuzz_target!(|data: &[u8]| {
    let Some((&selector, rest)) = data.split_first() else {
        return;
    };
    let security = match selector % 3 {
        0 => Security::Sec0,
        1 => Security::Sec1 {
            pop: Some(Sensitive::new("abcd1234".to_owned())),
        },
        _ => Security::Sec2 {
            username: "wifiprov".to_owned(),
            password: Sensitive::new("abcd1234".to_owned()),
        },
    };
    // The app's side against arbitrary answers, twice (both handshake steps).
    let (mut client, _) = ClientHandshake::start(&security, u32::from(selector >> 7));
    let half = rest.len() / 2;
    if let Ok(Step::Send(_)) = client.step(&rest[..half]) {
        let _ = client.step(&rest[half..]);
    }
    // The device's side against arbitrary requests.
    let device_security = match selector % 3 {
        0 => DeviceSecurity::Sec0,
        1 => DeviceSecurity::Sec1 { pop: None },
        _ => DeviceSecurity::Sec2 {
            username: "wifiprov".to_owned(),
            salt: vec![1; 16],
            verifier: vec![2; 384],
            patch_ver: 1,
        },
    };
    let mut device = DeviceHandshake::new(device_security);
    let _ = device.handle(&rest[..half]);
    let _ = device.handle(&rest[half..]);
});
