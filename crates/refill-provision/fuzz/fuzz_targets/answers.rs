//! The app reading what a device says: `proto-ver`, QR payloads, and every answer of a session
//! (scan, config, control) through a transport that answers with fuzzed bytes. Nothing panics.
#![no_main]

use libfuzzer_sys::fuzz_target;
use refill_provision::protocomm::{Client, ProvInfo, Transport};
use refill_provision::security::Security;
use refill_provision::{ProvError, QrPayload};

/// A device whose every answer comes from the fuzzer.
struct Scripted(Vec<Vec<u8>>);

impl Transport for Scripted {
    async fn exchange(&mut self, _endpoint: &str, _request: &[u8]) -> Result<Vec<u8>, ProvError> {
        self.0.pop().ok_or(ProvError::Timeout)
    }
}

fuzz_target!(|data: &[u8]| {
    let _ = ProvInfo::parse(data);
    let _ = QrPayload::parse(&String::from_utf8_lossy(data));
    // Answers: split on 0xff; the first two are proto-ver and the Security 0 answer.
    let mut answers: Vec<Vec<u8>> = data.split(|b| *b == 0xff).map(<[u8]>::to_vec).collect();
    answers.reverse();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    runtime.block_on(async {
        let Ok(mut client) = Client::connect(Scripted(answers), &Security::Sec0, 512).await else {
            return;
        };
        let _ = client.scan().await;
        let _ = client.join("Home", "pw").await;
        let _ = client.wifi_status().await;
        let _ = client.reset().await;
    });
});
