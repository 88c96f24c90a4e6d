//! The service as an attacker meets it: every route takes only its own kind of caller, a device
//! can't be taken over by naming its serial, a service off loopback serves no one anonymously,
//! and the sign-in pages are bound to the browser that signed in.

mod common;

use common::{brewer, drs, replenish, sandbox, subscription_info, tokens_of, Fixture, REDIRECT};
use refill_core::Sensitive;
use refill_service::auth::{ClientKind, ClientRegistration};
use refill_service::sandbox::{CUSTOMER_EMAIL, CUSTOMER_PASSWORD};
use refill_service::{start, ServiceConfig};
use refill_testkit::Person;
use reqwest::Method;
use serde_json::Value;

const ALEX: Person<'static> = Person::Existing {
    email: CUSTOMER_EMAIL,
    password: CUSTOMER_PASSWORD,
};

/// Every kind of credential a caller can present.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// The Refill app's sign-in (`profile refill:customer`).
    Customer,
    /// A device's own token (`dash:replenish`).
    Device,
    /// A screened device's own token (`refill:buttons`).
    Screen,
    /// An app that may only read the profile (`profile`).
    Profile,
    /// An app that may only read the account id (`profile:user_id`).
    UserId,
    /// A maker's confidential client (HTTP Basic).
    Maker,
    /// The operator's admin token (`admin-tokens create`).
    Admin,
}

const KINDS: [Kind; 7] = [
    Kind::Customer,
    Kind::Device,
    Kind::Screen,
    Kind::Profile,
    Kind::UserId,
    Kind::Maker,
    Kind::Admin,
];

/// (method, path, the kinds its `security` names) of every operation in the OpenAPI description.
fn operations() -> Vec<(Method, String, Vec<String>)> {
    let mut ops: Vec<(Method, String, Vec<String>)> = Vec::new();
    let mut path: Option<String> = None;
    let mut in_paths = false;
    for line in refill_service::http::OPENAPI.lines() {
        if !line.starts_with(' ') && !line.is_empty() {
            in_paths = line == "paths:";
            continue;
        }
        if !in_paths {
            continue;
        }
        if let Some(security) = line.trim().strip_prefix("security: ") {
            let kinds = security
                .split(['[', ']', '{', '}', ',', ' '])
                .filter_map(|w| w.strip_suffix(':'))
                .map(str::to_owned)
                .collect();
            if let Some(op) = ops.last_mut() {
                op.2 = kinds;
            }
        } else if let Some(p) = line.strip_prefix("  /") {
            path = Some(format!("/{}", p.trim_end_matches(':')));
        } else if let (Some(path), Some(method)) = (&path, line.strip_prefix("    ")) {
            let method = method.trim_end_matches(':');
            if ["get", "post", "patch", "delete", "put"].contains(&method) {
                ops.push((method.to_uppercase().parse().unwrap(), path.clone(), vec![]));
            }
        }
    }
    ops
}

/// The credentials of each kind, all the sandbox customer's.
struct Credentials {
    customer: String,
    device: String,
    screen: String,
    profile: String,
    user_id: String,
    maker: String,
    admin: String,
}

async fn credentials(f: &Fixture) -> Credentials {
    use base64::Engine;
    let token = |scope: &'static str, data: Option<String>| async move {
        tokens_of(f, &ALEX, scope, data.as_deref()).await.unwrap().0
    };
    f.service
        .store()
        .register_client(&ClientRegistration {
            client_id: "maker-table".to_owned(),
            name: "Table Co.".to_owned(),
            kind: ClientKind::Confidential,
            secret: Some(Sensitive::new("maker-table-secret-0123456789".to_owned())),
            redirect_uris: vec![REDIRECT.to_owned()],
        })
        .await
        .unwrap();
    Credentials {
        customer: token("profile refill:customer", None).await,
        device: token("dash:replenish", Some(brewer("TABLE-1", true))).await,
        screen: token(
            "refill:buttons",
            Some(
                r#"{"refill:buttons":{"device_model":"RefillFridge-1","serial":"TABLE-2"}}"#
                    .to_owned(),
            ),
        )
        .await,
        profile: token("profile", None).await,
        user_id: token("profile:user_id", None).await,
        maker: base64::engine::general_purpose::STANDARD
            .encode("maker-table:maker-table-secret-0123456789"),
        admin: f
            .service
            .store()
            .create_admin_token("table", time::OffsetDateTime::now_utc())
            .await
            .unwrap()
            .unwrap()
            .expose()
            .clone(),
    }
}

impl Credentials {
    fn header(&self, kind: Kind) -> String {
        match kind {
            Kind::Customer => format!("Bearer {}", self.customer),
            Kind::Device => format!("Bearer {}", self.device),
            Kind::Screen => format!("Bearer {}", self.screen),
            Kind::Profile => format!("Bearer {}", self.profile),
            Kind::UserId => format!("Bearer {}", self.user_id),
            Kind::Maker => format!("Basic {}", self.maker),
            Kind::Admin => format!("Bearer {}", self.admin),
        }
    }
}

/// Whether an operation whose `security` names `allowed` serves a caller of `kind`.
fn serves(allowed: &[String], kind: Kind) -> bool {
    // The app's token has `profile` too, so it may also read the profile.
    let names: &[&str] = match kind {
        Kind::Customer => &["customer", "profile"],
        Kind::Device => &["device"],
        Kind::Screen => &["screen"],
        Kind::Profile | Kind::UserId => &["profile"],
        Kind::Maker => &["maker"],
        Kind::Admin => &["admin"],
    };
    allowed.iter().any(|a| names.contains(&a.as_str()))
}

#[tokio::test]
async fn every_route_takes_only_its_own_kind_of_caller() {
    let f = sandbox().await;
    let creds = credentials(&f).await;
    let ops = operations();
    let guarded: Vec<_> = ops.iter().filter(|(_, _, s)| !s.is_empty()).collect();
    assert!(guarded.len() >= 25, "{ops:?}");
    let mut checked = 0;
    for (method, path, allowed) in guarded {
        if path.ends_with("/events/stream") && method == Method::GET {
            continue; // stays open when allowed; the refusals are checked below
        }
        // Operations that change what the next ones need are sent without effect: paths that
        // name nothing (no such order, webhook or device), slots that exist.
        let concrete = path
            .replace("{asin}", "B0NOSUCH01")
            .replace("{slotId}", "no-such-slot")
            .replace("{slot}", "brew-beans")
            .replace("{model}", "RefillBrew-200")
            .replace("{serial}", "NO-SUCH-SERIAL")
            .replace("{eventInstanceId}", "no-such-order")
            .replace("{id}", "999999")
            .replace("{file}", "B0RFBEAN01.svg")
            .replace("{email}", "nobody@example.test");
        if concrete.ends_with("registration") {
            continue; // deregistration would revoke the device's token; the refusals below
        }
        for kind in KINDS {
            let res = f
                .http
                .request(method.clone(), f.url(&concrete))
                .header("authorization", creds.header(kind))
                .header("x-amzn-type-version", "unknown")
                .header("x-amzn-accept-type", "unknown")
                .send()
                .await
                .unwrap();
            let status = res.status().as_u16();
            let body = res.text().await.unwrap();
            if serves(allowed, kind) {
                assert!(
                    status != 401 && status != 403 && body != r#"{"message":"Invalid token"}"#,
                    "{method} {path} refused its own caller {kind:?}: {status} {body}"
                );
            } else {
                assert!(
                    status == 401 || status == 403 || body == r#"{"message":"Invalid token"}"#,
                    "{method} {path} served a {kind:?} caller: {status} {body}"
                );
                assert!(!body.is_empty(), "{method} {path}: a refusal says why");
            }
            checked += 1;
        }
    }
    assert!(checked >= 100, "{checked}");

    // The refusals said in words, for the routes skipped above too.
    for (path, token, status, words) in [
        ("/v1/events/stream", &creds.device, 403, "device's token"),
        ("/v1/orders", &creds.profile, 403, "only lets an app read"),
        ("/v1/buttons", &creds.user_id, 403, "only lets an app read"),
    ] {
        let res = f
            .http
            .get(f.url(path))
            .bearer_auth(token)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), status, "{path}");
        let body: Value = res.json().await.unwrap();
        assert_eq!(body["code"], "insufficient_scope");
        assert!(body["message"].as_str().unwrap().contains(words), "{body}");
    }
    for path in [
        "/registration",
        "/deviceModels/RefillBrew-200/devices/TABLE-1/registration",
    ] {
        let (status, _, body) = drs(
            &f,
            Method::DELETE,
            path,
            &creds.customer,
            ("DrsDeregisterInput@2.0", "DrsDeregisterResult@1.0"),
            None,
        )
        .await;
        assert_eq!(status, 403, "{path}: {body}");
        assert!(body["message"]
            .as_str()
            .unwrap()
            .contains("not issued to a device"));
    }
}

/// The finding: a device's token cancelled the customer's order on `/v1`, and a profile-only
/// token listed the customer's orders.
#[tokio::test]
async fn a_device_token_can_not_act_for_the_customer() {
    let f = sandbox().await;
    let creds = credentials(&f).await;
    let press = f
        .http
        .post(f.url("/v1/buttons/B0RFBEAN01/press"))
        .bearer_auth(&creds.customer)
        .send()
        .await
        .unwrap();
    assert_eq!(press.status(), 200);
    let order: Value = press.json().await.unwrap();
    let id = order["order"]["eventInstanceId"]
        .as_str()
        .unwrap()
        .to_owned();
    for token in [&creds.device, &creds.profile] {
        let cancel = f
            .http
            .post(f.url(&format!("/v1/orders/{id}/cancel")))
            .bearer_auth(token)
            .send()
            .await
            .unwrap();
        assert_eq!(cancel.status(), 403);
        let press = f
            .http
            .post(f.url("/v1/buttons/B0RFFILT04/press"))
            .bearer_auth(token)
            .send()
            .await
            .unwrap();
        assert_eq!(press.status(), 403);
    }
    let status: String =
        sqlx::query_scalar("SELECT status FROM orders WHERE event_instance_id = $1")
            .bind(&id)
            .fetch_one(f.service.store().pool())
            .await
            .unwrap();
    assert_eq!(status, "placed", "the order was not cancelled");
    let filters: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM orders WHERE asin = 'B0RFFILT04' AND status = 'placed'",
    )
    .fetch_one(f.service.store().pool())
    .await
    .unwrap();
    assert_eq!(filters, 0, "no order was placed");
}

const SUBSCRIPTION: (&str, &str) = (
    "DrsSubscriptionInfoInput@1.0",
    "DrsSubscriptionInfoResult@1.0",
);

#[tokio::test]
async fn a_device_can_not_be_taken_over_by_naming_its_serial() {
    let f = sandbox().await;
    // Alex links a coffee maker; it reports a level and orders beans.
    let (alex_device, _) = tokens_of(&f, &ALEX, "dash:replenish", Some(&brewer("OWNED-1", false)))
        .await
        .unwrap();
    let (status, _, _) = drs(
        &f,
        Method::POST,
        "/slotStatus/brew-beans",
        &alex_device,
        ("DrsSlotStatusInput@1.0", "DrsSlotStatusResult@1.0"),
        Some(r#"{"expectedReplenishmentDate":"2026-12-01T00:00:00Z","remainingQuantityInUnit":300,"originalQuantityInUnit":1000,"totalQuantityOnHand":0,"lastUseDate":"2026-11-22T08:00:00Z"}"#),
    )
    .await;
    assert_eq!(status, 200);
    let (status, placed) = replenish(&f, &alex_device, "brew-beans").await;
    assert_eq!(status, 200, "{placed}");
    let alex_order = placed["eventInstanceId"].as_str().unwrap().to_owned();

    // Robin names the same model and serial: refused, in words, and nothing moves.
    let robin = Person::New {
        name: "Robin Taker",
        email: "robin.taker@example.test",
        password: "long enough",
    };
    let refused = tokens_of(
        &f,
        &robin,
        "dash:replenish",
        Some(&brewer("OWNED-1", false)),
    )
    .await
    .unwrap_err();
    assert!(
        refused.contains("linked to another Refill account"),
        "{refused}"
    );
    let robin = Person::Existing {
        email: "robin.taker@example.test",
        password: "long enough",
    };
    let (status, _) = subscription_info(&f, &alex_device).await;
    assert_eq!(status, 200, "Alex's device keeps working");
    let alex_devices: Value = common::get_json(&f.http, &f.url("/v1/devices")).await;
    assert!(alex_devices.to_string().contains("OWNED-1"));

    // The consent form itself refuses too (a page opened before Alex linked it).
    let html = consent_page(&f, "robin.taker@example.test", "long enough", "OWNED-2").await;
    let mut fields = refill_testkit::hidden_fields(&html, Some("/ap/consent"));
    fields.push(("decision".into(), "allow".into()));
    tokens_of(&f, &ALEX, "dash:replenish", Some(&brewer("OWNED-2", false)))
        .await
        .unwrap();
    let res = f
        .http
        .post(f.url("/ap/consent"))
        .form(&fields)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 409);
    assert!(res
        .text()
        .await
        .unwrap()
        .contains("linked to another Refill account"));

    // Alex removes it from the account; its token stops working.
    let removed = f
        .http
        .delete(f.url("/v1/devices/RefillBrew-200/OWNED-1"))
        .send()
        .await
        .unwrap();
    assert_eq!(removed.status(), 204);
    let (status, body) = subscription_info(&f, &alex_device).await;
    assert_eq!(
        (status, body["message"].as_str()),
        (400, Some("Invalid token"))
    );

    // Now Robin can set it up, and starts empty: no levels, no orders of Alex's.
    let (robin_device, _) = tokens_of(
        &f,
        &robin,
        "dash:replenish",
        Some(&brewer("OWNED-1", false)),
    )
    .await
    .unwrap();
    let (robin_app, _) = tokens_of(&f, &robin, "profile refill:customer", None)
        .await
        .unwrap();
    let (status, _, body) = drs(
        &f,
        Method::GET,
        &format!("/getOrderInfo/{alex_order}"),
        &robin_device,
        ("DrsOrderInfoInput@1.0", "DrsOrderInfoResult@1.0"),
        None,
    )
    .await;
    assert_eq!(status, 404, "Alex's order is not the new owner's: {body}");
    let slot = common::json_of(
        f.http
            .get(f.url("/v1/devices/RefillBrew-200/OWNED-1/slots/brew-beans"))
            .bearer_auth(&robin_app),
    )
    .await;
    assert!(slot["levels"].as_array().unwrap().is_empty(), "{slot}");
    assert!(slot["remaining"].is_null(), "{slot}");
    let robin_orders =
        common::json_of(f.http.get(f.url("/v1/orders")).bearer_auth(&robin_app)).await;
    assert_eq!(robin_orders["orders"], serde_json::json!([]));

    // Alex keeps the order and the history of the time it was Alex's.
    let alex_orders: Value = common::get_json(&f.http, &f.url("/v1/orders")).await;
    assert!(alex_orders.to_string().contains(&alex_order));
    // And Robin's device orders for itself, not blocked by Alex's open order of the same slot.
    let (status, placed) = replenish(&f, &robin_device, "brew-beans").await;
    assert_eq!(status, 200, "{placed}");
    assert_eq!(placed["detailCode"], "STANDARD_ORDER_PLACED");
}

/// A device with a key of its own: `scope_data` naming `serial`, its key, and its signature of the
/// challenge of `verifier` (what it does each time it is set up, with a new verifier).
fn keyed_brewer(serial: &str, seed: u8, verifier: &str) -> String {
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use base64::Engine;
    use ed25519_dalek::Signer;
    let key = ed25519_dalek::SigningKey::from_bytes(&[seed; 32]);
    let message = format!(
        "{}{}",
        refill_core::catalog::POSSESSION_CONTEXT,
        refill_testkit::challenge_of(verifier)
    );
    serde_json::json!({ "dash:replenish": {
        "device_model": "RefillBrew-200",
        "serial": serial,
        "device_key": URL_SAFE_NO_PAD.encode(key.verifying_key().to_bytes()),
        "possession": URL_SAFE_NO_PAD.encode(key.sign(message.as_bytes()).to_bytes()),
    }})
    .to_string()
}

/// The sandbox app's tokens for a device registration with the PKCE `verifier`.
async fn device_tokens(
    f: &Fixture,
    person: &Person<'_>,
    scope_data: &str,
    verifier: &str,
) -> Result<String, String> {
    let app = refill_testkit::OAuthClient {
        id: "refill-app",
        secret: None,
        redirect_uri: REDIRECT,
    };
    refill_testkit::tokens_with(
        &f.service.base_url(),
        app,
        ("dash:replenish", Some(scope_data)),
        person,
        verifier,
    )
    .await
    .map(|(access, _)| access)
}

#[tokio::test]
async fn a_reset_device_that_proves_possession_changes_hands_and_nothing_else_does() {
    let f = sandbox().await;
    const FIRST: &str = "first-setup-verifier-0123456789-0123456789-0123";
    const AFTER_RESET: &str = "after-reset-verifier-0123456789-0123456789-0123";
    // Alex sets up a coffee maker that has its own key (seed 42); it orders beans.
    let alex_device = device_tokens(&f, &ALEX, &keyed_brewer("KEYED-1", 42, FIRST), FIRST)
        .await
        .unwrap();
    let (status, placed) = replenish(&f, &alex_device, "brew-beans").await;
    assert_eq!(status, 200, "{placed}");
    let alex_order = placed["eventInstanceId"].as_str().unwrap().to_owned();

    let robin = Person::New {
        name: "Robin Buyer",
        email: "robin.buyer@example.test",
        password: "long enough",
    };
    // Naming the serial without a proof, or with another key's proof: refused.
    let refused = device_tokens(&f, &robin, &brewer("KEYED-1", false), AFTER_RESET)
        .await
        .unwrap_err();
    assert!(
        refused.contains("linked to another Refill account"),
        "{refused}"
    );
    let robin = Person::Existing {
        email: "robin.buyer@example.test",
        password: "long enough",
    };
    let refused = device_tokens(
        &f,
        &robin,
        &keyed_brewer("KEYED-1", 7, AFTER_RESET),
        AFTER_RESET,
    )
    .await
    .unwrap_err();
    assert!(
        refused.contains("linked to another Refill account"),
        "{refused}"
    );
    // The device's own proof from Alex's setup, seen and sent again: refused.
    let refused = device_tokens(&f, &robin, &keyed_brewer("KEYED-1", 42, FIRST), FIRST)
        .await
        .unwrap_err();
    assert!(
        refused.contains("linked to another Refill account"),
        "{refused}"
    );
    // A proof that is not a signature of this request's challenge: told so.
    let refused = device_tokens(&f, &robin, &keyed_brewer("KEYED-1", 42, FIRST), AFTER_RESET)
        .await
        .unwrap_err();
    assert!(refused.contains("does not check out"), "{refused}");
    let (status, _) = subscription_info(&f, &alex_device).await;
    assert_eq!(status, 200, "Alex's device kept working through all that");

    // Reset, the device signs its new challenge with the same key: it is Robin's now.
    let robin_device = device_tokens(
        &f,
        &robin,
        &keyed_brewer("KEYED-1", 42, AFTER_RESET),
        AFTER_RESET,
    )
    .await
    .unwrap();
    let (status, body) = subscription_info(&f, &alex_device).await;
    assert_eq!(
        (status, body["message"].as_str()),
        (400, Some("Invalid token")),
        "the previous registration's token is revoked"
    );
    let alex_devices: Value = common::get_json(&f.http, &f.url("/v1/devices")).await;
    assert!(
        !alex_devices.to_string().contains("KEYED-1"),
        "{alex_devices}"
    );
    let alex_orders: Value = common::get_json(&f.http, &f.url("/v1/orders")).await;
    assert!(
        alex_orders.to_string().contains(&alex_order),
        "Alex keeps the order"
    );
    let (status, _, body) = drs(
        &f,
        Method::GET,
        &format!("/getOrderInfo/{alex_order}"),
        &robin_device,
        ("DrsOrderInfoInput@1.0", "DrsOrderInfoResult@1.0"),
        None,
    )
    .await;
    assert_eq!(status, 404, "Alex's order is not the new owner's: {body}");
    let (status, placed) = replenish(&f, &robin_device, "brew-beans").await;
    assert_eq!(
        placed["detailCode"], "STANDARD_ORDER_PLACED",
        "{status} {placed}"
    );
    let events: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM events e JOIN devices d ON d.id = e.device_id \
         WHERE d.serial = 'KEYED-1' AND e.kind = 'DeviceDeregistered'",
    )
    .fetch_one(f.service.store().pool())
    .await
    .unwrap();
    assert_eq!(events, 1, "Alex's registration ended with its event");
}

/// The sandbox app's authorization request for `scope` (and `scope_data`) on the fixture.
fn authorize(f: &Fixture, scope: &str, scope_data: Option<&str>) -> String {
    let app = refill_testkit::OAuthClient {
        id: "refill-app",
        secret: None,
        redirect_uri: REDIRECT,
    };
    refill_testkit::authorize_url(&f.service.base_url(), app, scope, scope_data)
}

/// Loads the sign-in page of an authorization request for `scope` (and `scope_data`) in the
/// browser `http`; the page's headers and its sign-in form filled in for `email`.
async fn sign_in_form(
    f: &Fixture,
    http: &reqwest::Client,
    (scope, scope_data): (&str, Option<&str>),
    (email, password): (&str, &str),
) -> (reqwest::header::HeaderMap, Vec<(String, String)>) {
    let page = http
        .get(authorize(f, scope, scope_data))
        .send()
        .await
        .unwrap();
    let headers = page.headers().clone();
    let mut fields = refill_testkit::hidden_fields(&page.text().await.unwrap(), Some("/ap/signin"));
    fields.push(("email".into(), email.into()));
    fields.push(("password".into(), password.into()));
    (headers, fields)
}

/// The consent page of a registration of a Brewmaster with `serial`, signed in as `email`.
async fn consent_page(f: &Fixture, email: &str, password: &str, serial: &str) -> String {
    let data = brewer(serial, false);
    let (_, fields) = sign_in_form(
        f,
        &f.http,
        ("dash:replenish", Some(&data)),
        (email, password),
    )
    .await;
    let res = f
        .http
        .post(f.url("/ap/signin"))
        .form(&fields)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    res.text().await.unwrap()
}

#[tokio::test]
async fn only_a_sandbox_on_loopback_serves_anonymous_callers() {
    // A sandbox on every address without sign-in does not start, and says which flag to add.
    let dir = tempfile::tempdir().unwrap();
    let mut config = ServiceConfig::sandbox(common::database(dir.path(), "open").await);
    config.listen = "0.0.0.0:0".parse().unwrap();
    let Err(e) = start(config.clone()).await else {
        panic!("a sandbox without sign-in started on 0.0.0.0");
    };
    assert!(e.to_string().contains("--require-sign-in"), "{e}");
    // With sign-in required it starts, and serves no one anonymously.
    config.require_sign_in = true;
    let service = start(config).await.unwrap();
    let port = service.local_addr().port();
    let res = reqwest::get(format!("http://127.0.0.1:{port}/v1/buttons"))
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
    service.shutdown().await;

    // A service that is not a sandbox requires sign-in even on loopback.
    let mut config = ServiceConfig::sandbox(common::database(dir.path(), "hosted").await);
    config.sandbox = false;
    let service = start(config).await.unwrap();
    let res = reqwest::get(format!("{}/v1/orders", service.base_url()))
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["code"], "sign_in_required");
    service.shutdown().await;

    // The loopback sandbox serves anonymous callers only under a loopback name: a page
    // elsewhere that rebinds its own name to 127.0.0.1 is refused.
    let f = sandbox().await;
    let res = f
        .http
        .post(f.url("/v1/buttons/B0RFBEAN01/press"))
        .header("host", "attacker.example")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
    let res = f
        .http
        .get(f.url("/v1/buttons"))
        .header("host", "localhost")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
}

/// An authorization request's sign-in, up to its consent page, in a browser with `cookie`.
async fn consent_with_cookie(f: &Fixture, http: &reqwest::Client) -> (String, Option<String>) {
    let (headers, fields) = sign_in_form(
        f,
        http,
        ("profile", None),
        (CUSTOMER_EMAIL, CUSTOMER_PASSWORD),
    )
    .await;
    assert_eq!(headers["x-content-type-options"], "nosniff");
    assert_eq!(headers["referrer-policy"], "no-referrer");
    let csp = headers["content-security-policy"].to_str().unwrap();
    assert!(
        csp.contains("form-action 'self' http://127.0.0.1:49321;"),
        "the app's redirect is an allowed form target: {csp}"
    );
    let res = http
        .post(f.url("/ap/signin"))
        .form(&fields)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let cookie = res
        .headers()
        .get("set-cookie")
        .map(|c| c.to_str().unwrap().to_owned());
    (res.text().await.unwrap(), cookie)
}

#[tokio::test]
async fn a_consent_ticket_works_only_in_the_browser_that_signed_in() {
    let f = sandbox().await;
    let fresh = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let (html, cookie) = consent_with_cookie(&f, &fresh).await;
    let cookie = cookie.expect("a browser without the cookie gets one");
    assert!(cookie.contains("HttpOnly"), "{cookie}");
    assert!(cookie.contains("SameSite=Lax"), "{cookie}");
    assert!(
        !cookie.contains("Secure"),
        "plain HTTP on loopback: {cookie}"
    );
    let mut fields = refill_testkit::hidden_fields(&html, Some("/ap/consent"));
    fields.push(("decision".into(), "allow".into()));

    // Another browser (no cookie, or its own) can't use the ticket...
    let res = fresh
        .post(f.url("/ap/consent"))
        .form(&fields)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
    assert!(res.text().await.unwrap().contains("cookie"));
    let res = fresh
        .post(f.url("/ap/consent"))
        .header("cookie", "refill_signin=someone-else")
        .form(&fields)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
    // ...nor a form sent from another site's page...
    let value = cookie.split(';').next().unwrap().to_owned();
    let res = fresh
        .post(f.url("/ap/consent"))
        .header("cookie", &value)
        .header("origin", "https://attacker.example")
        .form(&fields)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 403);
    // ...and neither used it up: its own browser still can.
    let res = fresh
        .post(f.url("/ap/consent"))
        .header("cookie", &value)
        .header("origin", f.service.base_url())
        .form(&fields)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 303);
    let location = res.headers()["location"].to_str().unwrap();
    assert!(
        location.starts_with(REDIRECT) && location.contains("code="),
        "{location}"
    );

    // Over HTTPS (behind a proxy that says so) the cookie is Secure.
    let (_, fields) = sign_in_form(
        &f,
        &fresh,
        ("profile", None),
        (CUSTOMER_EMAIL, CUSTOMER_PASSWORD),
    )
    .await;
    let res = fresh
        .post(f.url("/ap/signin"))
        .header("x-forwarded-proto", "https")
        .form(&fields)
        .send()
        .await
        .unwrap();
    assert!(res.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .contains("; Secure"));

    // A sign-in form sent from another site is refused before the password is looked at,
    // whether the browser says so in Origin or in Sec-Fetch-Site; `Origin: null` (what the
    // pages' no-referrer policy makes browsers send) counts only with Sec-Fetch-Site.
    for (name, value, status) in [
        ("origin", "http://attacker.example", 403),
        ("origin", "null", 403),
        ("sec-fetch-site", "cross-site", 403),
        ("sec-fetch-site", "same-site", 403),
        ("sec-fetch-site", "same-origin", 200),
    ] {
        let res = fresh
            .post(f.url("/ap/signin"))
            .header(name, value)
            .header("origin", if name == "origin" { value } else { "null" })
            .form(&fields)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), status, "{name}: {value}");
    }
}

#[tokio::test]
async fn webhooks_do_not_reach_private_addresses_unless_the_operator_allows_it() {
    use base64::Engine;
    let f = sandbox().await;
    let strict = common::start_with(&f.db, f.clock.clone(), |c| {
        c.allow_private_webhooks = false;
    })
    .await;
    let maker = ClientRegistration {
        client_id: "maker-ssrf".to_owned(),
        name: "SSRF Co.".to_owned(),
        kind: ClientKind::Confidential,
        secret: Some(Sensitive::new("maker-ssrf-secret-0123456789".to_owned())),
        redirect_uris: vec![REDIRECT.to_owned()],
    };
    strict.store().register_client(&maker).await.unwrap();
    let basic =
        base64::engine::general_purpose::STANDARD.encode("maker-ssrf:maker-ssrf-secret-0123456789");
    let register = |base: String, url: &'static str| {
        let http = f.http.clone();
        let basic = basic.clone();
        async move {
            http.post(format!("{base}/v1/webhooks"))
                .header("authorization", format!("Basic {basic}"))
                .json(&serde_json::json!({ "url": url }))
                .send()
                .await
                .unwrap()
        }
    };
    for url in [
        "http://127.0.0.1:8080/hook",
        "http://169.254.169.254/latest/meta-data/",
        "http://[::1]:9/",
        "http://localhost:9/",
        "http://192.168.1.10/drs",
    ] {
        let res = register(strict.base_url(), url).await;
        assert_eq!(res.status(), 400, "{url}");
        let body: Value = res.json().await.unwrap();
        assert!(
            body["message"]
                .as_str()
                .unwrap()
                .contains("--allow-private-webhooks"),
            "{body}"
        );
    }
    let res = register(strict.base_url(), "https://maker.example/drs").await;
    assert_eq!(res.status(), 201, "a public address is taken");
    // An operator who allows them (a home network) can have them.
    let res = register(f.service.base_url(), "http://192.168.1.10/drs").await;
    assert_eq!(res.status(), 201);
    strict.shutdown().await;
}

/// One sign-in attempt through the real form in the fixture's browser: its status and page.
async fn attempt(f: &Fixture, email: &str, password: &str) -> (u16, String) {
    let (_, fields) = sign_in_form(f, &f.http, ("profile", None), (email, password)).await;
    let res = f
        .http
        .post(f.url("/ap/signin"))
        .form(&fields)
        .send()
        .await
        .unwrap();
    let status = res.status().as_u16();
    if status == 429 {
        assert!(res.headers().contains_key("retry-after"));
    }
    (status, res.text().await.unwrap())
}

#[tokio::test]
async fn wrong_passwords_are_throttled_for_known_and_unknown_emails_alike() {
    let f = sandbox().await;
    // 300 wrong passwords in a row: after the first few, none is even checked.
    let mut statuses = Vec::new();
    for _ in 0..300 {
        statuses.push(attempt(&f, CUSTOMER_EMAIL, "not the password").await.0);
    }
    let checked = statuses.iter().filter(|s| **s == 401).count();
    let paused = statuses.iter().filter(|s| **s == 429).count();
    assert_eq!((checked, paused), (4, 296), "{statuses:?}");
    // Meanwhile the right password is not accepted either, and the page says why.
    let (status, page) = attempt(&f, CUSTOMER_EMAIL, CUSTOMER_PASSWORD).await;
    assert_eq!(status, 429);
    assert!(
        page.contains("sign-in is paused. Try again in 1 seconds"),
        "{page}"
    );
    // An email nobody has is answered exactly the same way: the pause tells nothing.
    let mut unknown = Vec::new();
    for _ in 0..6 {
        unknown.push(
            attempt(&f, "nobody@example.test", "not the password")
                .await
                .0,
        );
    }
    assert_eq!(unknown, [401, 401, 401, 401, 429, 429]);
    // Once the pause is over the owner signs in, and is told what was tried.
    f.clock.advance(time::Duration::seconds(2));
    let (status, page) = attempt(&f, CUSTOMER_EMAIL, CUSTOMER_PASSWORD).await;
    assert_eq!(status, 200, "{page}");
    assert!(
        page.contains("4 wrong passwords were tried for your account"),
        "{page}"
    );
    // Signing up with a taken email never says it is taken: a wrong password answers as a
    // wrong sign-in does.
    let html = f
        .http
        .get(authorize(&f, "profile", None))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let mut fields = refill_testkit::hidden_fields(&html, Some("/ap/signup"));
    fields.extend([
        ("name".to_owned(), "Mallory".to_owned()),
        ("email".to_owned(), CUSTOMER_EMAIL.to_owned()),
        ("password".to_owned(), "a guess at it".to_owned()),
    ]);
    let res = f
        .http
        .post(f.url("/ap/signup"))
        .form(&fields)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
    let page = res.text().await.unwrap();
    assert!(page.contains("Wrong email or password."), "{page}");
    assert!(!page.to_lowercase().contains("already"), "{page}");
}

/// The time one wrong sign-in's POST takes (the page is loaded before the clock starts).
async fn time_wrong_sign_in(f: &Fixture, email: &str) -> std::time::Duration {
    let (_, fields) = sign_in_form(f, &f.http, ("profile", None), (email, "wrong")).await;
    let started = std::time::Instant::now();
    let res = f
        .http
        .post(f.url("/ap/signin"))
        .form(&fields)
        .send()
        .await
        .unwrap();
    let took = started.elapsed();
    assert_eq!(res.status(), 401);
    took
}

/// An unknown email is checked against a dummy hash, so it takes as long as a known one: the
/// fastest of 21 tries of each (the least disturbed by whatever else the machine runs, such as
/// this file's other tests, which hash passwords too) within 35 % of each other; alone, the two
/// differ by up to 18 % from run to run on 2 cores. (Before the dummy hash: 1.3 ms against
/// 22.6 ms, 17 times as long.)
#[tokio::test]
async fn an_unknown_email_costs_what_a_known_one_does() {
    let f = sandbox().await;
    let mut known = Vec::new();
    let mut unknown = Vec::new();
    for i in 0..21 {
        // Failures an hour apart are forgotten: every attempt is checked.
        f.clock.advance(time::Duration::hours(2));
        let email = format!("nobody{i}@example.test");
        if i % 2 == 0 {
            known.push(time_wrong_sign_in(&f, CUSTOMER_EMAIL).await);
            unknown.push(time_wrong_sign_in(&f, &email).await);
        } else {
            unknown.push(time_wrong_sign_in(&f, &email).await);
            known.push(time_wrong_sign_in(&f, CUSTOMER_EMAIL).await);
        }
    }
    let fastest = |v: &[std::time::Duration]| v.iter().min().unwrap().as_secs_f64();
    let (k, u) = (fastest(&known), fastest(&unknown));
    assert!(
        (u / k - 1.0).abs() < 0.35,
        "fastest known {k:.4} s, unknown {u:.4} s"
    );
}

#[tokio::test]
async fn devices_and_token_requests_over_their_rate_are_told_to_wait() {
    use refill_service::http::serve::{Limits, Rate};
    let f = common::sandbox_with(|c| {
        let slow = Some(Rate {
            per_second: 0.1,
            burst: 5.0,
        });
        c.limits = Limits {
            device_requests: slow,
            token_requests: slow,
            ..Limits::default()
        };
    })
    .await;
    // Two device tokens: two token requests of this address's five.
    let (one, _) = tokens_of(&f, &ALEX, "dash:replenish", Some(&brewer("RATE-1", false)))
        .await
        .unwrap();
    let (two, _) = tokens_of(&f, &ALEX, "dash:replenish", Some(&brewer("RATE-2", false)))
        .await
        .unwrap();
    for _ in 0..5 {
        let (status, _) = subscription_info(&f, &one).await;
        assert_eq!(status, 200);
    }
    let (status, headers, body) = drs(
        &f,
        Method::GET,
        "/subscriptionInfo",
        &one,
        SUBSCRIPTION,
        None,
    )
    .await;
    assert_eq!(status, 429, "{body}");
    assert!(headers["x-amzn-errortype"]
        .to_str()
        .unwrap()
        .starts_with("ThrottlingException"));
    assert!(
        headers["retry-after"]
            .to_str()
            .unwrap()
            .parse::<u64>()
            .unwrap()
            >= 1
    );
    assert!(body["message"]
        .as_str()
        .unwrap()
        .contains("too many requests"));
    // Its sensor events too, in the Alexa gateway's shape.
    let res = f
        .http
        .post(f.url("/v3/events"))
        .bearer_auth(&one)
        .json(&serde_json::json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 429);
    assert!(res.headers().contains_key("retry-after"));
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["payload"]["code"], "THROTTLING_EXCEPTION");
    // Another device is not held back by it.
    let (status, _) = subscription_info(&f, &two).await;
    assert_eq!(status, 200);
    // Token requests: three more of the five, then 429 in OAuth's shape.
    let form = [
        ("grant_type", "refresh_token"),
        ("refresh_token", "Atzr|not-a-token"),
        ("client_id", "refill-app"),
    ];
    for _ in 0..3 {
        let res = f
            .http
            .post(f.url("/auth/o2/token"))
            .form(&form)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 400);
    }
    let res = f
        .http
        .post(f.url("/auth/o2/token"))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 429);
    assert!(res.headers().contains_key("retry-after"));
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["error"], "temporarily_unavailable");
}
