//! `refill devices provision` against a simulated device reached through its access point (its
//! provisioning endpoints over real HTTP on loopback).

use refill_device_sim::{serve_http, HttpDevice, Protection, SimDevice, HOME_PASSWORD};

async fn refill(args: Vec<String>) -> std::process::Output {
    tokio::task::spawn_blocking(move || {
        std::process::Command::new(env!("CARGO_BIN_EXE_refill"))
            .args(args)
            .stdin(std::process::Stdio::null())
            .output()
            .unwrap()
    })
    .await
    .unwrap()
}

async fn device() -> (SimDevice, HttpDevice) {
    let device = SimDevice::new("RefillWash-9", "WASH-CLI-01", Protection::Sec1);
    let served = serve_http(device.device.clone()).await.unwrap();
    (device, served)
}

fn provision(device: &SimDevice, served: &HttpDevice, more: &[&str]) -> Vec<String> {
    let mut args: Vec<String> = [
        "devices",
        "provision",
        "--qr",
        &device.qr("softap"),
        "--softap",
    ]
    .iter()
    .map(|s| (*s).to_owned())
    .collect();
    args.push(format!("http://{}", served.addr));
    args.extend(more.iter().map(|s| (*s).to_owned()));
    args
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_device_is_given_wifi_from_the_command_line() {
    let (device, served) = device().await;
    let listed = refill(provision(&device, &served, &[])).await;
    let stdout = String::from_utf8_lossy(&listed.stdout);
    assert!(listed.status.success(), "{listed:?}");
    assert!(
        stdout.starts_with("Refill Home\t-42 dBm\tsecured"),
        "{stdout}"
    );
    assert!(stdout.contains("Guest\t-80 dBm\topen"), "{stdout}");

    let joined = refill(provision(
        &device,
        &served,
        &["--ssid", "Refill Home", "--passphrase", HOME_PASSWORD],
    ))
    .await;
    let stdout = String::from_utf8_lossy(&joined.stdout);
    let stderr = String::from_utf8_lossy(&joined.stderr);
    assert!(joined.status.success(), "{joined:?}");
    assert!(
        stdout.contains("Wi-Fi connected: the device joined Refill Home"),
        "{stdout}"
    );
    for step in ["Securing the session", "waiting for the device to join"] {
        assert!(stderr.contains(step), "{stderr}");
    }
    assert!(device.device.lock().unwrap().connected_ip().is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_passwords_and_unknown_networks_are_explained_and_can_be_retried() {
    let (device, served) = device().await;
    let wrong = refill(provision(
        &device,
        &served,
        &["--ssid", "Refill Home", "--passphrase", "guess"],
    ))
    .await;
    assert_eq!(wrong.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&wrong.stderr);
    assert!(stderr.contains("the password was not accepted"), "{stderr}");
    let missing = refill(provision(
        &device,
        &served,
        &["--ssid", "Nowhere", "--passphrase", "x"],
    ))
    .await;
    assert_eq!(missing.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&missing.stderr).contains("cannot see a network named Nowhere"));
    // The device was reset after each failure, so the right password now works.
    let right = refill(provision(
        &device,
        &served,
        &["--ssid", "Refill Home", "--passphrase", HOME_PASSWORD],
    ))
    .await;
    assert!(right.status.success(), "{right:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_proof_of_possession_and_bad_options_are_explained() {
    let (device, served) = device().await;
    let url = format!("http://{}", served.addr);
    let args = [
        "devices",
        "provision",
        "--name",
        &device.name,
        "--pop",
        "00000000",
        "--softap",
        &url,
    ];
    let out = refill(args.iter().map(|s| (*s).to_owned()).collect()).await;
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("did not accept the proof of possession"));
    let out = refill(
        ["devices", "provision"]
            .iter()
            .map(|s| (*s).to_owned())
            .collect(),
    )
    .await;
    assert!(String::from_utf8_lossy(&out.stderr).contains("--qr PAYLOAD or --name NAME"));
    let out = refill(["devices", "fly"].iter().map(|s| (*s).to_owned()).collect()).await;
    assert_eq!(out.status.code(), Some(2), "a usage mistake");
    assert!(String::from_utf8_lossy(&out.stderr).contains("unrecognized subcommand 'fly'"));
    // Each option is declared once, with its help and its environment variable.
    let out = refill(
        ["devices", "provision", "--help"]
            .iter()
            .map(|s| (*s).to_owned())
            .collect(),
    )
    .await;
    let help = String::from_utf8_lossy(&out.stdout);
    for said in [
        "--qr <PAYLOAD>",
        "--softap <URL>",
        "[env: REFILL_SERVICE_URL",
        "[env: REFILL_SERVICE_FINGERPRINT",
        "press its button",
    ] {
        assert!(help.contains(said), "{said:?} not in {help}");
    }
}

/// Runs in the keyring gate of `cargo xtask test` (a gnome-keyring of its own).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs a Secret Service: run by `cargo xtask test`"]
async fn a_remembered_wifi_password_sets_up_the_next_device() {
    assert_eq!(
        std::env::var("REFILL_KEYRING_ISOLATED").as_deref(),
        Ok("1"),
        "run through `cargo xtask test`, which gives this test a keyring of its own"
    );
    refill_auth::KeyringStore::use_os_keyring().unwrap();
    let passwords = refill_auth::WifiPasswords::default();
    passwords.forget("Refill Home").unwrap();
    let (first, served) = device().await;
    let out = refill(provision(
        &first,
        &served,
        &[
            "--ssid",
            "Refill Home",
            "--passphrase",
            HOME_PASSWORD,
            "--remember",
        ],
    ))
    .await;
    assert!(out.status.success(), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stdout).contains("remembered for your next device"));
    assert_eq!(
        passwords
            .recall("Refill Home")
            .unwrap()
            .map(|p| p.expose().clone())
            .as_deref(),
        Some(HOME_PASSWORD)
    );

    // The next device: no password given, none typed (no terminal), the remembered one is used.
    let (second, served) = device().await;
    let out = refill(provision(&second, &served, &["--ssid", "Refill Home"])).await;
    assert!(out.status.success(), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stderr)
        .contains("Using the password remembered for Refill Home"));
    assert!(second.device.lock().unwrap().connected_ip().is_some());
    passwords.forget("Refill Home").unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_device_is_linked_to_the_account_from_the_command_line() {
    use std::io::BufRead;
    let dir = tempfile::tempdir().unwrap();
    let service = refill_service::start(refill_service::ServiceConfig::sandbox(
        dir.path().join("s.sqlite"),
    ))
    .await
    .unwrap();
    let base = service.base_url();
    let (device, served) = device().await;
    let args = provision(
        &device,
        &served,
        &[
            "--ssid",
            "Refill Home",
            "--passphrase",
            HOME_PASSWORD,
            "--link",
            "--service",
            &base,
            "--no-browser",
        ],
    );
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_refill"))
        .args(args)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let (tx, rx) = tokio::sync::oneshot::channel();
    let reader = std::thread::spawn(move || {
        let mut tx = Some(tx);
        let mut seen = String::new();
        for line in std::io::BufReader::new(stderr).lines() {
            let line = line.unwrap();
            if line.contains("/ap/oa?") {
                if let Some(tx) = tx.take() {
                    let _ = tx.send(line.trim().to_owned());
                }
            }
            seen.push_str(&line);
            seen.push('\n');
        }
        seen
    });
    let url = tokio::time::timeout(std::time::Duration::from_secs(30), rx)
        .await
        .expect("the consent page's address is printed")
        .unwrap();
    assert!(url.contains("scope=dash%3Areplenish"), "{url}");
    let browser = refill_testkit::Browser::default();
    let person = refill_testkit::Person::Existing {
        email: refill_service::sandbox::CUSTOMER_EMAIL,
        password: refill_service::sandbox::CUSTOMER_PASSWORD,
    };
    let callback = browser.sign_in(&url, &person, "allow").await.unwrap();
    browser.visit(&callback).await.unwrap();
    let out = tokio::task::spawn_blocking(move || child.wait_with_output().unwrap())
        .await
        .unwrap();
    let stderr = reader.join().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    assert!(
        stdout.contains("Linked: the RefillWash-9 (serial WASH-CLI-01) is linked"),
        "{stdout}"
    );
    assert!(device.registration.refresh_token().is_some());
    service.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn linking_without_a_service_is_refused_before_the_device_is_touched() {
    let (device, served) = device().await;
    let mut args = provision(
        &device,
        &served,
        &[
            "--ssid",
            "Refill Home",
            "--passphrase",
            HOME_PASSWORD,
            "--link",
        ],
    );
    args.push("--service".to_owned());
    args.push("svc.example".to_owned());
    let out = refill(args).await;
    assert_eq!(out.status.code(), Some(2), "a usage mistake");
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("is not a service URL"),
        "{out:?}"
    );
    assert!(device.device.lock().unwrap().connected_ip().is_none());
}
