//! The simulated device against a provisioning client Refill did not write: esp-protocomm
//! (PyPI) over HTTP, with a transport that keeps the session cookie only from a header spelled
//! `Set-Cookie`, as ESP-IDF's esp_prov does (`interop/esp_protocomm_client.py`). Run by
//! `cargo xtask test` with the venv its setup made, named by `REFILL_INTEROP_PYTHON`.

use refill_device_sim::{serve_http_with, Protection, Sessions, SimDevice, HOME_PASSWORD};
use serde_json::Value;
use std::path::PathBuf;

fn python() -> PathBuf {
    std::env::var_os("REFILL_INTEROP_PYTHON")
        .map(PathBuf::from)
        .expect("REFILL_INTEROP_PYTHON names the interop venv's python (cargo xtask test sets it)")
}

/// Runs esp-protocomm against the device at `url`: its answer, as the script prints it.
async fn esp_protocomm(url: &str, pop: &str, (ssid, password): (&str, &str)) -> Value {
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("interop/esp_protocomm_client.py");
    let out = tokio::process::Command::new(python())
        .arg(script)
        .args([url, pop, ssid, password])
        .output()
        .await
        .expect("python runs");
    assert!(
        out.status.success(),
        "esp-protocomm failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("one JSON line")
}

async fn onboard(sessions: Sessions) {
    let device = SimDevice::new("RefillBrew-200", "ESP-0001", Protection::Sec1);
    let served = serve_http_with(device.device.clone(), sessions)
        .await
        .unwrap();
    let url = format!("http://{}", served.addr);
    let pop = device.secret.expose().clone();

    let answer = esp_protocomm(&url, &pop, ("Refill Home", HOME_PASSWORD)).await;
    assert_eq!(answer["session"], "ok", "{answer}");
    assert_eq!(answer["wifi"], "connected", "{answer}");

    let answer = esp_protocomm(&url, &pop, ("Refill Home", "not the password")).await;
    assert_eq!(answer["wifi"], "connection_failed", "{answer}");
    assert_eq!(answer["failure"], "incorrect_password", "{answer}");

    let answer = esp_protocomm(&url, "wrong-pop", ("Refill Home", HOME_PASSWORD)).await;
    assert!(
        answer["session"].as_str().unwrap().starts_with("refused"),
        "{answer}"
    );
}

#[tokio::test]
#[ignore = "needs the interop venv (cargo xtask test)"]
async fn esp_protocomm_onboards_the_simulated_device_over_http() {
    onboard(Sessions::EspIdf).await;
}

#[tokio::test]
#[ignore = "needs the interop venv (cargo xtask test)"]
async fn esp_protocomm_onboards_a_device_that_keys_sessions_by_connection() {
    onboard(Sessions::ConnectionOnly).await;
}
