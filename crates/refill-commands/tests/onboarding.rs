//! Setting up the sandbox's simulated devices through the app's commands, without a window: the
//! wizard's steps in order, the mistakes a person makes on the way, and the device linked to the
//! account through the real consent page of the embedded sandbox. (Simulated devices on the
//! in-process link: this machine has no Bluetooth radio.)

use refill_commands::onboarding::{MemoryWifi, WifiMemory};
use refill_commands::{
    AppConfig, AppCore, DeviceProtocol, DeviceSecret, DeviceTrust, Host, Platform,
};
use refill_core::Sensitive;
use refill_device_sim::HOME_PASSWORD;
use refill_provision::QrPayload;
use refill_service::sandbox::{CUSTOMER_EMAIL, CUSTOMER_PASSWORD};
use refill_testkit::{Browser, Person};
use refill_wire::ErrorCode;
use std::sync::Arc;

/// A browser where the sandbox customer signs in and allows whatever is asked.
struct Allowing(tokio::runtime::Handle);

impl Host for Allowing {
    fn open_url(&self, url: &str) -> Result<(), String> {
        let url = url.to_owned();
        self.0.spawn(async move {
            let browser = Browser::default();
            let person = Person::Existing {
                email: CUSTOMER_EMAIL,
                password: CUSTOMER_PASSWORD,
            };
            let callback = browser.sign_in(&url, &person, "allow").await.unwrap();
            browser.visit(&callback).await.unwrap();
        });
        Ok(())
    }
}

fn app(dir: &std::path::Path, wifi: Arc<MemoryWifi>) -> AppCore {
    AppCore::new(
        AppConfig {
            data_dir: dir.to_owned(),
            service_url: None,
            auth_provider: None,
            config_dir: None,
            downloads_dir: None,
        },
        Platform {
            host: Arc::new(Allowing(tokio::runtime::Handle::current())),
            tokens: Arc::new(refill_auth::MemoryStore::default()),
            redirect: refill_auth::Redirect::Loopback,
            wifi,
        },
    )
}

fn label(found: &refill_commands::FoundDevice) -> QrPayload {
    QrPayload::parse(found.sandbox_label.as_deref().expect("a sandbox label")).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sandbox_device_is_set_up_from_scan_to_linked_with_the_mistakes_corrected() {
    let dir = tempfile::tempdir().unwrap();
    let wifi = Arc::new(MemoryWifi::default());
    let core = app(dir.path(), wifi.clone());

    // No Bluetooth adapter here: the sandbox's devices, each marked so, and why no real ones.
    let scan = core.onboarding_scan().await.unwrap();
    let why = scan.bluetooth.expect("why no real devices are listed");
    assert!(
        why.contains("only the sandbox's simulated devices"),
        "{why}"
    );
    let found = scan.devices;
    assert!(found.iter().all(|d| d.sandbox), "{found:?}");
    assert_eq!(
        found.len(),
        4,
        "one ESP device of each sandbox model and an Improv washer"
    );
    assert!(found
        .windows(2)
        .all(|w| w[0].rssi.unwrap() >= w[1].rssi.unwrap()));
    assert_eq!(
        found
            .iter()
            .filter(|d| d.protocol == DeviceProtocol::Esp)
            .count(),
        3
    );
    let brew = &found[0];

    let opened = core.onboarding_open(brew.id.clone()).await.unwrap();
    assert_eq!(opened.name, brew.name);
    assert_eq!(opened.trust, DeviceTrust::ProofOfPossession);

    // A mistyped code is refused; the right one is taken in the same setup.
    let wrong = core
        .onboarding_secure(DeviceSecret {
            pop: Some("00000000".to_owned()),
            ..DeviceSecret::default()
        })
        .await
        .unwrap_err();
    assert_eq!(wrong.code, ErrorCode::DeviceRefused, "{}", wrong.message);
    assert!(
        wrong.message.contains("proof of possession"),
        "{}",
        wrong.message
    );
    let networks = core
        .onboarding_secure(DeviceSecret {
            pop: label(brew).pop,
            ..DeviceSecret::default()
        })
        .await
        .unwrap();
    assert_eq!(networks.networks[0].ssid, "Refill Home");
    assert!(networks.networks[0].secured);
    assert!(!networks.networks[0].remembered);
    assert!(networks
        .networks
        .iter()
        .any(|n| n.ssid == "Guest" && !n.secured));
    assert!(!networks.more);

    // A wrong password means typing it again, not starting over.
    let err = core
        .onboarding_join(
            "Refill Home".to_owned(),
            Some("wrong-password".to_owned()),
            true,
        )
        .await
        .unwrap_err();
    assert_eq!(err.code, ErrorCode::WifiWrongPassword, "{}", err.message);
    assert!(
        wifi.recall("Refill Home").unwrap().is_none(),
        "only a password that worked is kept"
    );
    let err = core
        .onboarding_join("Nowhere".to_owned(), Some("x".to_owned()), false)
        .await
        .unwrap_err();
    assert_eq!(err.code, ErrorCode::WifiNotFound, "{}", err.message);
    let joined = core
        .onboarding_join(
            "Refill Home".to_owned(),
            Some(HOME_PASSWORD.to_owned()),
            true,
        )
        .await
        .unwrap();
    assert_eq!(joined.ssid, "Refill Home");
    assert!(!joined.ip.is_empty());
    assert_eq!(
        wifi.recall("Refill Home").unwrap(),
        Some(Sensitive::new(HOME_PASSWORD.to_owned()))
    );

    // Linking: the consent page comes back, the device redeems its own code.
    let started = core.onboarding_link().await.unwrap();
    assert!(started.authorize_url.contains("scope=dash%3Areplenish"));
    let device = core.onboarding_finish_link().await.unwrap();
    assert_eq!(device.model, "RefillBrew-200");
    assert_eq!(device.model_name, "Brewmaster 200 coffee maker");
    assert!(device.is_test);
    assert_eq!(device.slots.len(), 3);
    assert!(device.slots.iter().all(|s| s.product.is_some()));

    // A set-up device stops advertising; the next one takes the remembered password.
    let found = core.onboarding_scan().await.unwrap().devices;
    assert_eq!(found.len(), 3);
    assert!(found.iter().all(|d| d.id != brew.id));
    let wash = found
        .iter()
        .filter(|d| d.protocol == DeviceProtocol::Esp)
        .find(|d| label(d).username.is_none())
        .expect("the Security 1 washer");
    core.onboarding_open(wash.id.clone()).await.unwrap();
    let networks = core
        .onboarding_secure(DeviceSecret {
            qr: wash.sandbox_label.clone(),
            ..DeviceSecret::default()
        })
        .await
        .unwrap();
    assert!(networks.networks[0].remembered);
    core.onboarding_join("Refill Home".to_owned(), None, false)
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_security_2_device_takes_its_username_and_password() {
    let dir = tempfile::tempdir().unwrap();
    let core = app(dir.path(), Arc::default());
    let found = core.onboarding_scan().await.unwrap().devices;
    let printer = found
        .iter()
        .filter(|d| d.protocol == DeviceProtocol::Esp)
        .find(|d| label(d).username.is_some())
        .expect("the Security 2 printer");
    let opened = core.onboarding_open(printer.id.clone()).await.unwrap();
    assert_eq!(opened.trust, DeviceTrust::UsernameAndPassword);
    let qr = label(printer);
    let err = core
        .onboarding_secure(DeviceSecret {
            username: qr.username.clone(),
            pop: Some("not-it".to_owned()),
            qr: None,
        })
        .await
        .unwrap_err();
    assert_eq!(err.code, ErrorCode::DeviceRefused);
    let networks = core
        .onboarding_secure(DeviceSecret {
            username: qr.username,
            pop: qr.pop,
            qr: None,
        })
        .await
        .unwrap();
    assert_eq!(networks.networks[0].ssid, "Refill Home");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn steps_out_of_order_or_a_code_for_another_device_are_explained() {
    let dir = tempfile::tempdir().unwrap();
    let core = app(dir.path(), Arc::default());
    let err = core
        .onboarding_join("Refill Home".to_owned(), None, false)
        .await
        .unwrap_err();
    assert_eq!(err.code, ErrorCode::NoDeviceSetup);
    let err = core
        .onboarding_open("PROV_NOPE".to_owned())
        .await
        .unwrap_err();
    assert_eq!(err.code, ErrorCode::DeviceUnreachable);
    assert!(err.message.contains("no longer nearby"));

    let found = core.onboarding_scan().await.unwrap().devices;
    core.onboarding_open(found[0].id.clone()).await.unwrap();
    let err = core
        .onboarding_secure(DeviceSecret {
            qr: found[1].sandbox_label.clone(),
            ..DeviceSecret::default()
        })
        .await
        .unwrap_err();
    assert_eq!(err.code, ErrorCode::DeviceRefused);
    assert!(
        err.message.contains("This QR code is for"),
        "{}",
        err.message
    );
    let err = core.onboarding_link().await.unwrap_err();
    assert_eq!(err.code, ErrorCode::NoDeviceSetup);
    core.onboarding_cancel().await;
    let err = core.onboarding_more_networks().await.unwrap_err();
    assert_eq!(err.code, ErrorCode::NoDeviceSetup);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_improv_device_is_set_up_with_a_button_press_and_linked_over_the_network() {
    let dir = tempfile::tempdir().unwrap();
    let core = app(dir.path(), Arc::default());
    let found = core.onboarding_scan().await.unwrap().devices;
    let washer = found
        .iter()
        .find(|d| d.protocol == DeviceProtocol::Improv)
        .expect("the sandbox's Improv washer");
    assert_eq!(washer.sandbox_label, None, "Improv devices have no code");

    let opened = core.onboarding_open(washer.id.clone()).await.unwrap();
    assert_eq!(opened.trust, DeviceTrust::ButtonPress);
    assert!(opened.can_identify && opened.sandbox);
    let err = core
        .onboarding_join(
            "Refill Home".to_owned(),
            Some(HOME_PASSWORD.to_owned()),
            false,
        )
        .await
        .unwrap_err();
    assert_eq!(err.code, ErrorCode::DeviceRefused, "{}", err.message);
    assert!(err.message.contains("press the button"), "{}", err.message);

    // Waiting for the button does not shut out Identify, and the press ends the wait.
    let waiting = {
        let core = core.clone();
        tokio::spawn(async move { core.onboarding_secure(DeviceSecret::default()).await })
    };
    tokio::time::sleep(std::time::Duration::from_millis(400)).await;
    assert!(!waiting.is_finished(), "it waits for the button");
    core.onboarding_identify().await.unwrap();
    let sandbox = core.sandbox_devices().expect("the sandbox radio");
    let device = sandbox
        .improv_devices()
        .iter()
        .find(|d| d.name == washer.name)
        .unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    assert_eq!(device.improv.identified(), 1, "it was asked to blink");
    core.onboarding_press_button().await.unwrap();
    let networks = waiting.await.unwrap().unwrap();
    assert_eq!(networks.networks[0].ssid, "Refill Home");
    assert!(!networks.more, "Improv gives every network at once");

    // A wrong password keeps the session: typed again, it joins.
    let err = core
        .onboarding_join("Refill Home".to_owned(), Some("wrong".to_owned()), false)
        .await
        .unwrap_err();
    assert_eq!(err.code, ErrorCode::WifiWrongPassword);
    let joined = core
        .onboarding_join(
            "Refill Home".to_owned(),
            Some(HOME_PASSWORD.to_owned()),
            false,
        )
        .await
        .unwrap();
    assert_eq!(joined.ip, "127.0.0.1", "the host of the URL it returned");

    // Linked over the network at the URL it returned, not over Bluetooth.
    core.onboarding_link().await.unwrap();
    let linked = core.onboarding_finish_link().await.unwrap();
    assert_eq!(linked.model, "RefillWash-9");
    assert_eq!(linked.serial, device.serial);
    assert!(device.registration.refresh_token().is_some());
    let found = core.onboarding_scan().await.unwrap().devices;
    assert!(
        found.iter().all(|d| d.id != washer.id),
        "set up: no longer waiting"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_esp_device_has_no_button_to_press_or_light_to_blink() {
    let dir = tempfile::tempdir().unwrap();
    let core = app(dir.path(), Arc::default());
    let found = core.onboarding_scan().await.unwrap().devices;
    let esp = found
        .iter()
        .find(|d| d.protocol == DeviceProtocol::Esp)
        .unwrap();
    let opened = core.onboarding_open(esp.id.clone()).await.unwrap();
    assert!(!opened.can_identify);
    let err = core.onboarding_identify().await.unwrap_err();
    assert_eq!(err.code, ErrorCode::DeviceUnsupported);
    let err = core.onboarding_press_button().await.unwrap_err();
    assert_eq!(err.code, ErrorCode::DeviceUnsupported, "{}", err.message);
}

/// The opened `device` secured with its QR code, put on "Refill Home" and linked.
async fn secure_join_link(
    core: &AppCore,
    device: &refill_device_sim::SimDevice,
) -> refill_wire::DeviceView {
    let networks = core
        .onboarding_secure(DeviceSecret {
            qr: Some(device.qr("softap")),
            ..DeviceSecret::default()
        })
        .await
        .unwrap();
    assert_eq!(networks.networks[0].ssid, "Refill Home");
    core.onboarding_join(
        "Refill Home".to_owned(),
        Some(HOME_PASSWORD.to_owned()),
        false,
    )
    .await
    .unwrap();
    core.onboarding_link().await.unwrap();
    core.onboarding_finish_link().await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_device_on_its_own_wifi_network_is_set_up_at_the_address_it_shows() {
    let dir = tempfile::tempdir().unwrap();
    let core = app(dir.path(), Arc::new(MemoryWifi::default()));

    // Nothing at the address, or no address at all: said in words.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let nobody = closed.local_addr().unwrap();
    drop(closed);
    let err = core
        .onboarding_open_softap(Some(nobody.to_string()))
        .await
        .unwrap_err();
    assert_eq!(err.code, ErrorCode::DeviceUnreachable, "{}", err.message);
    assert!(
        err.message.contains("Join this computer"),
        "{}",
        err.message
    );
    let err = core
        .onboarding_open_softap(Some("not an address".to_owned()))
        .await
        .unwrap_err();
    assert_eq!(err.code, ErrorCode::BadRequest, "{}", err.message);

    // A device serving its provisioning over HTTP, as on its own access point.
    let device = refill_device_sim::SimDevice::new(
        "RefillWash-9",
        "WASH-SOFTAP-01",
        refill_device_sim::Protection::Sec1,
    );
    let served = refill_device_sim::serve_http(device.device.clone())
        .await
        .unwrap();
    let opened = core
        .onboarding_open_softap(Some(served.addr.to_string()))
        .await
        .unwrap();
    assert_eq!(opened.trust, DeviceTrust::ProofOfPossession);
    assert!(!opened.sandbox);
    assert!(
        opened.name.contains(&served.addr.to_string()),
        "{}",
        opened.name
    );
    // A wrong code: refused, and the app connects again through the access point for the next.
    let err = core
        .onboarding_secure(DeviceSecret {
            pop: Some("00000000".to_owned()),
            ..DeviceSecret::default()
        })
        .await
        .unwrap_err();
    assert_eq!(err.code, ErrorCode::DeviceRefused, "{}", err.message);
    let linked = secure_join_link(&core, &device).await;
    assert_eq!(linked.serial, "WASH-SOFTAP-01");
    assert_eq!(linked.model_name, "AutoDose 9 washing machine");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn devices_on_the_home_network_reach_the_sandbox_over_https_when_asked() {
    // Any free port here (the app's own is 8750): tests run side by side.
    std::env::set_var("REFILL_NETWORK_PORT", "0");
    let dir = tempfile::tempdir().unwrap();
    let core = app(dir.path(), Arc::new(MemoryWifi::default()));

    // Off at first: devices can reach only what this computer's loopback can.
    let access = core.network_access(None).await.unwrap();
    assert!(
        access.available && !access.on && access.url.is_none(),
        "{access:?}"
    );

    // On: HTTPS at this computer's address on its network, with its own certificate.
    let access = core.network_access(Some(true)).await.unwrap();
    let url = access.url.clone().unwrap_or_else(|| panic!("{access:?}"));
    assert!(url.starts_with("https://"), "{url}");
    assert!(!url.contains("127.0.0.1"), "{url}");
    let fingerprint = access.fingerprint.clone().unwrap();
    let certificate = refill_tls::pin(&url, fingerprint.parse().unwrap())
        .await
        .unwrap();
    let http = refill_tls::Trust::Pinned(certificate)
        .client_builder()
        .build()
        .unwrap();
    let health = http.get(format!("{url}/health")).send().await.unwrap();
    assert_eq!(health.status(), 200);
    // Only the device API: no customer's grid there, and nothing without a device's token.
    let grid = http.get(format!("{url}/v1/buttons")).send().await.unwrap();
    assert_eq!(grid.status(), 404);
    let anonymous = http
        .get(format!("{url}/subscriptionInfo"))
        .header(
            "x-amzn-type-version",
            "com.amazon.dash.replenishment.DrsSubscriptionInfoInput@1.0",
        )
        .header(
            "x-amzn-accept-type",
            "com.amazon.dash.replenishment.DrsSubscriptionInfoResult@1.0",
        )
        .send()
        .await
        .unwrap();
    assert!(
        anonymous.status() == 400 || anonymous.status() == 401,
        "{}",
        anonymous.status()
    );

    // A device set up now is handed that address and fingerprint: it reports there, pinned.
    let device = refill_device_sim::SimDevice::new(
        "RefillWash-9",
        "WASH-NET-01",
        refill_device_sim::Protection::Sec1,
    );
    device
        .reporting
        .set_every(Some(std::time::Duration::from_millis(100)));
    let served = refill_device_sim::serve_http(device.device.clone())
        .await
        .unwrap();
    core.onboarding_open_softap(Some(served.addr.to_string()))
        .await
        .unwrap();
    secure_join_link(&core, &device).await;
    for _ in 0..100 {
        if device.reporting.accepted() > 0 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(
        device.reporting.accepted() > 0,
        "{:?}",
        device.reporting.problem()
    );
    assert_eq!(device.reporting.service().as_deref(), Some(url.as_str()));
    let access = core.network_access(None).await.unwrap();
    assert_eq!(access.moved_from, None, "{access:?}");

    // Off: nothing listens there any more.
    let access = core.network_access(Some(false)).await.unwrap();
    assert!(!access.on && access.url.is_none(), "{access:?}");
    assert!(http.get(format!("{url}/health")).send().await.is_err());

    // On again, kept across a restart with the same certificate (devices pin it).
    core.network_access(Some(true)).await.unwrap();
    core.shutdown().await;
    let again = app(dir.path(), Arc::new(MemoryWifi::default()));
    let access = again.network_access(None).await.unwrap();
    assert!(access.on, "{access:?}");
    assert_eq!(access.fingerprint.as_deref(), Some(fingerprint.as_str()));
    // (This test serves on any free port: one other than the device was handed strands it too.)
    let stranded = (access.url.as_deref() != Some(url.as_str())).then(|| url.clone());
    assert_eq!(access.moved_from, stranded, "{access:?}");
    again.shutdown().await;

    // This computer's address changed since a device was set up (as a DHCP lease may): said,
    // with where the devices set up before look for it.
    let handed = std::fs::read_to_string(dir.path().join("network-tls/handed-address")).unwrap();
    assert_eq!(handed, url);
    std::fs::write(
        dir.path().join("network-tls/handed-address"),
        "https://192.0.2.77:8750",
    )
    .unwrap();
    let moved = app(dir.path(), Arc::new(MemoryWifi::default()));
    let access = moved.network_access(None).await.unwrap();
    assert_eq!(
        access.moved_from.as_deref(),
        Some("https://192.0.2.77:8750"),
        "{access:?}"
    );
    moved.shutdown().await;
}
