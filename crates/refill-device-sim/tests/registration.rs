//! Linking a simulated device to the customer's account, as Dash Replenishment does, against the
//! real sandbox service over loopback HTTP: the app reads the device's identity, the customer
//! signs in and chooses products on the real consent page, the device redeems the code with its
//! own verifier. The app never sees the device's tokens. ESP devices take the messages over
//! `custom-data`, Improv devices on their own web server once on Wi-Fi.

use refill_auth::{start_device_authorization, DeviceGrant, Provider, Redirect};
use refill_device_sim::{Protection, SimDevice, SimImprovDevice, HOME_PASSWORD};
use refill_provision::improv::{ImprovClient, SimImprovLink, State};
use refill_provision::link::{Air, SimLink};
use refill_provision::protocomm::Client;
use refill_provision::registration::{
    Handoff, HttpRegistrar, Identity, Registrar, RegistrationState,
};
use refill_provision::ProvError;
use refill_service::sandbox::{CUSTOMER_EMAIL, CUSTOMER_PASSWORD};
use refill_service::{start, ServiceConfig};
use refill_testkit::{Browser, Person};
use std::time::Duration;

#[tokio::test]
async fn a_device_on_wifi_is_linked_to_the_customer_and_holds_its_own_tokens() {
    let dir = tempfile::tempdir().unwrap();
    let service = start(ServiceConfig::sandbox(dir.path().join("s.sqlite")))
        .await
        .unwrap();
    let base = service.base_url();
    let (device, mut client) = connected("SIM-PRINT-1").await;
    let identity = client.identify().await.unwrap();
    assert_eq!(identity.serial, "SIM-PRINT-1");
    assert!(
        identity.is_test_device,
        "simulated devices order test orders"
    );

    let handoff = consent(&base, &identity).await;
    client
        .register_and_wait(&handoff, Duration::from_secs(10))
        .await
        .unwrap();
    assert_eq!(device.registration.state(), RegistrationState::Registered);
    assert!(device.registration.refresh_token().is_some());

    let devices: serde_json::Value = reqwest::get(format!("{base}/v1/devices"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(devices["devices"][0]["serial"], "SIM-PRINT-1", "{devices}");
    assert_eq!(devices["devices"][0]["slots"].as_array().unwrap().len(), 4);

    // The same code a second time is a replay: the device reports the refusal in words.
    let err = client
        .register_and_wait(&handoff, Duration::from_secs(10))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, ProvError::Registration(m) if m.contains("refused the code")),
        "{err}"
    );
    service.shutdown().await;
}

/// A simulated printer with `serial` (Security 1), and a protocomm session with it over the
/// simulated air.
async fn connected(serial: &str) -> (SimDevice, Client<SimLink>) {
    let device = SimDevice::new("RefillPrint-4C", serial, Protection::Sec1);
    let link = SimLink::connect(device.device.clone(), Air::default());
    let security = refill_provision::QrPayload::parse(&device.qr("ble"))
        .unwrap()
        .security();
    let client = Client::connect(link, &security, 512).await.unwrap();
    (device, client)
}

/// The app's part: the authorization with the device's identity, the customer signing in and
/// allowing on the real consent page; returns what the app hands the device.
async fn consent(base: &str, identity: &Identity) -> Handoff {
    consent_trusting(base, identity, refill_tls::Trust::System).await
}

/// [`consent`] with a service whose certificate the app trusts as `trust` says.
async fn consent_trusting(base: &str, identity: &Identity, trust: refill_tls::Trust) -> Handoff {
    let provider = Provider {
        trust,
        ..Provider::refill("sandbox", base)
    };
    let pending = start_device_authorization(
        &provider,
        &Redirect::Loopback,
        &DeviceGrant::replenish(identity.scope_data(), &identity.code_challenge),
    )
    .await
    .unwrap();
    let browser = Browser::trusting(&provider.trust);
    let person = Person::Existing {
        email: CUSTOMER_EMAIL,
        password: CUSTOMER_PASSWORD,
    };
    let callback = browser
        .sign_in(pending.authorize_url(), &person, "allow")
        .await
        .unwrap();
    let (code, _) = tokio::join!(
        pending.finish_code(Duration::from_secs(10), std::future::pending()),
        browser.visit(&callback)
    );
    Handoff {
        code: code.unwrap(),
        client_id: provider.client_id.clone(),
        redirect_uri: pending.redirect_uri().to_owned(),
        token_url: provider.token_url.clone(),
        certificate_fingerprint: provider.trust.fingerprint().map(|f| f.to_string()),
    }
}

#[tokio::test]
async fn an_improv_device_is_linked_over_the_network_at_the_url_it_returned() {
    let dir = tempfile::tempdir().unwrap();
    let service = start(ServiceConfig::sandbox(dir.path().join("s.sqlite")))
        .await
        .unwrap();
    let base = service.base_url();
    let device = SimImprovDevice::new("RefillWash-9", "SIM-WASH-IMPROV").unwrap();
    assert!(device.name.starts_with("refillwash-9-"), "{}", device.name);

    // Before Wi-Fi, the device is not on the network: refused in words, not a hang.
    let mut early = HttpRegistrar::new(&device.url);
    let err = early.identify().await.unwrap_err();
    assert!(err.to_string().contains("HTTP 503"), "{err}");

    let link = SimImprovLink::connect(&device.improv, 20, Duration::from_millis(5));
    let mut client = ImprovClient::connect(link).await.unwrap();
    assert_eq!(client.state(), State::AuthorizationRequired);
    client.identify().await.unwrap();
    let button = device.improv.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(50)).await;
        button.press_button();
    });
    client
        .wait_for_authorization(Duration::from_secs(5))
        .await
        .unwrap();
    let url = client
        .join("Refill Home", HOME_PASSWORD, Duration::from_secs(5))
        .await
        .unwrap()
        .expect("a redirect URL");
    assert_eq!(url, device.url);

    let mut registrar = HttpRegistrar::new(&url);
    let identity = registrar.identify().await.unwrap();
    assert_eq!(identity.model, "RefillWash-9");
    let handoff = consent(&base, &identity).await;
    registrar
        .register_and_wait(&handoff, Duration::from_secs(10))
        .await
        .unwrap();
    assert!(device.registration.refresh_token().is_some());
    let devices: serde_json::Value = reqwest::get(format!("{base}/v1/devices"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(
        devices["devices"]
            .as_array()
            .unwrap()
            .iter()
            .any(|d| d["serial"] == "SIM-WASH-IMPROV"),
        "{devices}"
    );
    // A device without the registration path says so.
    let mut nothing_there = HttpRegistrar::new(&format!("{base}/nothing"));
    let err = nothing_there.identify().await.unwrap_err();
    assert!(matches!(err, ProvError::Unsupported(_)), "{err:?}");
    service.shutdown().await;
}

/// A home server's service with its own certificate: the app hands the device its fingerprint
/// inside the secure session, and the device redeems its code over HTTPS with that certificate
/// pinned. Handed another fingerprint, the device refuses to send its code, and says why.
#[tokio::test]
async fn a_device_handed_the_services_fingerprint_links_over_https_and_refuses_another() {
    let dir = tempfile::tempdir().unwrap();
    let config = ServiceConfig::sandbox(dir.path().join("s.sqlite"))
        .with_self_signed(dir.path())
        .unwrap();
    let service = start(config).await.unwrap();
    let certificate = service.certificate().unwrap().clone();
    let base = service.base_url();
    assert!(base.starts_with("https://"), "{base}");
    let pinned = refill_tls::Trust::Pinned(certificate.clone());

    let (device, mut client) = connected("SIM-PRINT-TLS").await;
    let identity = client.identify().await.unwrap();

    // The wrong fingerprint (someone else's service at that address): the code is not sent.
    let mut wrong = consent_trusting(&base, &identity, pinned.clone()).await;
    assert_eq!(
        wrong.certificate_fingerprint.as_deref(),
        Some(certificate.fingerprint().to_string().as_str())
    );
    wrong.certificate_fingerprint = Some("00".repeat(32));
    let err = client
        .register_and_wait(&wrong, Duration::from_secs(10))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, ProvError::Registration(m) if m.contains("different certificate")),
        "{err}"
    );
    assert!(device.registration.refresh_token().is_none());

    // The right one: linked over HTTPS.
    let handoff = consent_trusting(&base, &identity, pinned.clone()).await;
    client
        .register_and_wait(&handoff, Duration::from_secs(10))
        .await
        .unwrap();
    assert_eq!(device.registration.state(), RegistrationState::Registered);
    let devices: serde_json::Value = pinned
        .client_builder()
        .build()
        .unwrap()
        .get(format!("{base}/v1/devices"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        devices["devices"][0]["serial"], "SIM-PRINT-TLS",
        "{devices}"
    );

    // Linked, the device reports its slots to that service (pinned, with its own tokens):
    // what is left in each shows in the customer's account.
    device.reporting.set_every(Some(Duration::from_millis(100)));
    let http = pinned.client_builder().build().unwrap();
    let slot = devices["devices"][0]["slots"][0]["slotId"]
        .as_str()
        .unwrap()
        .to_owned();
    let url = format!("{base}/v1/devices/RefillPrint-4C/SIM-PRINT-TLS/slots/{slot}");
    let mut levels = Vec::new();
    for _ in 0..100 {
        let slot: serde_json::Value = http.get(&url).send().await.unwrap().json().await.unwrap();
        if let Some(remaining) = slot["remaining"].as_f64() {
            if levels.last() != Some(&remaining) {
                levels.push(remaining);
            }
        }
        if levels.len() >= 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        levels.len() >= 2 && levels[1] < levels[0],
        "the device's reports show as a level going down: {levels:?} ({:?})",
        device.reporting.problem()
    );
    assert!(device.reporting.accepted() >= 2);

    // Removed from the account, the device's tokens are refused: it stops, and says why.
    let removed = http
        .delete(format!("{base}/v1/devices/RefillPrint-4C/SIM-PRINT-TLS"))
        .send()
        .await
        .unwrap();
    assert!(removed.status().is_success(), "{}", removed.status());
    let mut problem = None;
    for _ in 0..50 {
        problem = device.reporting.problem();
        if problem.as_deref().is_some_and(|p| p.contains("unlinked")) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        problem.as_deref().is_some_and(|p| p.contains("unlinked")),
        "{problem:?}"
    );
    service.shutdown().await;
}
