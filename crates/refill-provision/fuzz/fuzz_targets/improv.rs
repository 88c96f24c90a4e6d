//! Improv frames and strings, reassembly, and a simulated device taking arbitrary writes:
//! nothing panics, and what decodes encodes back to the same bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;
use refill_provision::improv::{self, Characteristic, ImprovDevice, ImprovSetup, Reassembly};

fuzz_target!(|data: &[u8]| {
    if let Ok((command, body)) = improv::unframe(data) {
        assert_eq!(improv::frame(command, body).unwrap(), data);
        if let Ok(strings) = improv::parse_strings(body) {
            let items: Vec<&str> = strings.iter().map(String::as_str).collect();
            let _ = improv::strings(&items);
        }
    }
    let mut reassembly = Reassembly::default();
    for piece in data.chunks(7) {
        let _ = reassembly.push(piece);
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .unwrap();
    runtime.block_on(async {
        let device = ImprovDevice::new(ImprovSetup {
            info: ["fw".into(), "1".into(), "chip".into(), "name".into()],
            networks: vec![("Home".into(), "pw".into(), -40)],
            needs_authorization: false,
            join_time: std::time::Duration::ZERO,
            redirect_url: String::new(),
            disconnect_after_provisioned: false,
            chatty: false,
        });
        let _notifications = device.connect();
        for piece in data.chunks(20) {
            device.write(Characteristic::Rpc, piece);
        }
    });
});
