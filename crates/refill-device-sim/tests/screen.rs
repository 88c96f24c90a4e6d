//! The sandbox fridge's simulated screen against the real sandbox service over loopback HTTP:
//! its page embeds the web SDK, its token route hands the page the fridge's own buttons token
//! (which the service takes), to its own page only, and nothing once the fridge is removed.
//! (A real browser presses its buttons in the end-to-end tests.)

use refill_device_sim::screen::BUNDLE;
use refill_device_sim::{serve_screen, TokenSource};
use refill_service::sandbox::{fridge_tokens, FRIDGE_SERIAL};
use refill_service::{start, ServiceConfig};
use std::sync::Arc;

#[tokio::test]
async fn the_fridge_screen_embeds_the_component_and_hands_its_page_the_fridges_token() {
    let dir = tempfile::tempdir().unwrap();
    let service = start(ServiceConfig::sandbox(dir.path().join("s.sqlite")))
        .await
        .unwrap();
    let tokens: TokenSource = Arc::new(fridge_tokens(
        service.store().clone(),
        Arc::new(refill_core::SystemClock),
        time::Duration::hours(1),
    ));
    let screen = serve_screen("FreshCool smart fridge", &service.base_url(), tokens)
        .await
        .unwrap();
    let url = format!("http://{}", screen.addr);
    let http = reqwest::Client::new();

    let page = http.get(&url).send().await.unwrap();
    assert_eq!(page.status(), 200);
    let page = page.text().await.unwrap();
    assert!(page.contains(&format!(
        r#"<refill-buttons service="{}" token-url="/refill/token">"#,
        service.base_url()
    )));
    assert!(page.contains(r#"<script type="module" src="/refill-buttons.js">"#));
    let bundle = http
        .get(format!("{url}/refill-buttons.js"))
        .send()
        .await
        .unwrap();
    assert!(bundle.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/javascript"));
    let bundle = bundle.text().await.unwrap();
    assert_eq!(bundle, BUNDLE);
    assert!(bundle.contains("refill-buttons"));

    // The page's token works on the button API, and only there.
    let token = |origin: Option<String>, renew: bool| {
        let mut request = http
            .post(format!("{url}/refill/token"))
            .json(&serde_json::json!({ "renew": renew }));
        if let Some(origin) = origin {
            request = request.header("Origin", origin);
        }
        request.send()
    };
    let given = token(Some(url.clone()), false).await.unwrap();
    assert_eq!(given.status(), 200);
    let given: serde_json::Value = given.json().await.unwrap();
    let access = given["accessToken"].as_str().unwrap().to_owned();
    let buttons = http
        .get(format!("{}/v1/screen/buttons", service.base_url()))
        .bearer_auth(&access)
        .send()
        .await
        .unwrap();
    assert_eq!(buttons.status(), 200);
    let again: serde_json::Value = token(None, false).await.unwrap().json().await.unwrap();
    assert_eq!(again["accessToken"], access.as_str(), "kept until renewed");
    let renewed: serde_json::Value = token(None, true).await.unwrap().json().await.unwrap();
    assert_ne!(renewed["accessToken"], access.as_str());

    // Another page does not get it.
    let other = token(Some("http://127.0.0.1:1".into()), false)
        .await
        .unwrap();
    assert_eq!(other.status(), 403);

    // Removed in the app: no token any more, and the page is told so.
    let removed = http
        .delete(format!(
            "{}/v1/devices/RefillFridge-1/{FRIDGE_SERIAL}",
            service.base_url()
        ))
        .send()
        .await
        .unwrap();
    assert!(removed.status().is_success());
    let refused = token(None, true).await.unwrap();
    assert_eq!(refused.status(), 404);
    let said: serde_json::Value = refused.json().await.unwrap();
    assert!(said["message"]
        .as_str()
        .unwrap()
        .contains("not linked to Refill"));
}
