//! The Login-with-Amazon-compatible authorization server over real HTTP: the browser part is
//! done by submitting the real HTML forms.

use refill_core::Sensitive;
use refill_service::auth::{ClientKind, ClientRegistration, SANDBOX_CLIENT_ID};
use refill_service::sandbox::{CUSTOMER_EMAIL, CUSTOMER_NAME, CUSTOMER_PASSWORD};
use refill_service::{start, ServiceConfig};
use serde_json::Value;
use time::Duration;

const REDIRECT: &str = "http://127.0.0.1:49321/callback";
const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";

use refill_core::pkce::challenge_of as challenge;

mod common;
use common::{database, sandbox, Fixture};

fn form_of(html: &str, action: &str) -> Vec<(String, String)> {
    refill_testkit::hidden_fields(html, Some(action))
}

fn form_fields(html: &str) -> Vec<(String, String)> {
    refill_testkit::hidden_fields(html, None)
}

use refill_testkit::query_of;

impl Fixture {
    /// `GET /v1/buttons`, with `token` as the bearer token when given.
    async fn grid_as(&self, token: Option<&str>) -> Value {
        let mut request = self.http.get(self.url("/v1/buttons"));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        request.send().await.unwrap().json().await.unwrap()
    }

    /// The sign-in page of a standard authorization request.
    async fn sign_in_page(&self) -> String {
        self.authorize(&self.authorize_params(&[]))
            .await
            .text()
            .await
            .unwrap()
    }

    fn authorize_params(&self, extra: &[(&str, &str)]) -> Vec<(String, String)> {
        let mut params: Vec<(String, String)> = [
            ("client_id", SANDBOX_CLIENT_ID),
            ("scope", "profile"),
            ("response_type", "code"),
            ("redirect_uri", REDIRECT),
            ("state", "st-123"),
            ("code_challenge_method", "S256"),
        ]
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
        params.push(("code_challenge".into(), challenge(VERIFIER)));
        for (k, v) in extra {
            params.retain(|(name, _)| name != k);
            if !v.is_empty() {
                params.push(((*k).to_owned(), (*v).to_owned()));
            }
        }
        params
    }

    /// GET /ap/oa.
    async fn authorize(&self, params: &[(String, String)]) -> reqwest::Response {
        self.http
            .get(self.url("/ap/oa"))
            .query(params)
            .send()
            .await
            .unwrap()
    }

    /// Submits a form as a browser would.
    async fn submit(&self, action: &str, fields: &[(String, String)]) -> reqwest::Response {
        self.http
            .post(self.url(action))
            .form(fields)
            .send()
            .await
            .unwrap()
    }

    /// Authorize, sign in, answer the consent page; returns where the browser is sent.
    async fn sign_in(&self, extra: &[(&str, &str)], password: &str, decision: &str) -> String {
        let page = self.authorize(&self.authorize_params(extra)).await;
        assert_eq!(page.status(), 200);
        let html = page.text().await.unwrap();
        assert!(html.contains("<h1>Sign in</h1>"), "{html}");
        let mut fields = form_fields(&html);
        fields.push(("email".into(), CUSTOMER_EMAIL.into()));
        fields.push(("password".into(), password.into()));
        let consent = self.submit("/ap/signin", &fields).await;
        let status = consent.status();
        let html = consent.text().await.unwrap();
        assert_eq!(status, 200, "{html}");
        let app = if extra.iter().any(|(k, _)| *k == "client_id") {
            "Maker Cloud"
        } else {
            "Refill"
        };
        assert!(html.contains(&format!("<h1>Allow {app}?</h1>")), "{html}");
        assert!(html.contains(&format!("Signed in as {CUSTOMER_NAME}")));
        assert!(html.contains("See your name and email address"));
        let mut fields = form_fields(&html);
        fields.push(("decision".into(), decision.into()));
        let done = self.submit("/ap/consent", &fields).await;
        assert!(done.status().is_redirection(), "{}", done.status());
        done.headers()["location"].to_str().unwrap().to_owned()
    }

    async fn code(&self) -> String {
        let location = self.sign_in(&[], CUSTOMER_PASSWORD, "allow").await;
        assert!(location.starts_with(&format!("{REDIRECT}?")), "{location}");
        let q = query_of(&location);
        assert_eq!(q["state"], "st-123");
        assert_eq!(q["scope"], "profile");
        q["code"].clone()
    }

    async fn token(&self, form: &[(&str, &str)]) -> (u16, Value) {
        let res = self
            .http
            .post(self.url("/auth/o2/token"))
            .form(form)
            .send()
            .await
            .unwrap();
        let status = res.status().as_u16();
        assert_eq!(res.headers()["cache-control"], "no-store");
        (status, res.json().await.unwrap())
    }

    async fn exchange(&self, code: &str, verifier: &str) -> (u16, Value) {
        self.token(&[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("client_id", SANDBOX_CLIENT_ID),
            ("redirect_uri", REDIRECT),
            ("code_verifier", verifier),
        ])
        .await
    }

    async fn profile(&self, access: &str) -> reqwest::Response {
        self.http
            .get(self.url("/user/profile"))
            .bearer_auth(access)
            .send()
            .await
            .unwrap()
    }

    async fn token_rows(&self) -> i64 {
        sqlx::query_scalar("SELECT COUNT(*) FROM oauth_tokens")
            .fetch_one(self.service.store().pool())
            .await
            .unwrap()
    }
}

fn assert_error(body: &Value, error: &str, description_contains: &str) {
    assert_eq!(body["error"], error, "{body}");
    let d = body["error_description"].as_str().unwrap();
    assert!(d.contains(description_contains), "{d}");
}

#[tokio::test]
async fn sign_in_consent_token_profile_refresh_and_revoke() {
    let f = sandbox().await;
    let code = f.code().await;
    let (status, tokens) = f.exchange(&code, VERIFIER).await;
    assert_eq!(status, 200, "{tokens}");
    let access = tokens["access_token"].as_str().unwrap().to_owned();
    let refresh = tokens["refresh_token"].as_str().unwrap().to_owned();
    assert!(access.starts_with("Atza|"));
    assert!(refresh.starts_with("Atzr|"));
    assert_eq!(tokens["token_type"], "bearer");
    assert_eq!(tokens["expires_in"], 3600);

    let profile: Value = f.profile(&access).await.json().await.unwrap();
    assert_eq!(profile["name"], CUSTOMER_NAME);
    assert_eq!(profile["email"], CUSTOMER_EMAIL);
    assert!(profile["user_id"]
        .as_str()
        .unwrap()
        .starts_with("refill.account."));

    // Access tokens expire after an hour; the refresh token gets a new one.
    f.clock.advance(Duration::minutes(61));
    assert_eq!(f.profile(&access).await.status(), 401);
    let (status, renewed) = f
        .token(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", &refresh),
            ("client_id", SANDBOX_CLIENT_ID),
        ])
        .await;
    assert_eq!(status, 200, "{renewed}");
    let access2 = renewed["access_token"].as_str().unwrap().to_owned();
    assert_ne!(access2, access);
    assert_eq!(f.profile(&access2).await.status(), 200);

    // Revoking the refresh token revokes the access tokens it made, and it can't be used again.
    let res = f
        .http
        .post(f.url("/auth/o2/revoke"))
        .form(&[
            ("token", refresh.as_str()),
            ("client_id", SANDBOX_CLIENT_ID),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let res = f.profile(&access2).await;
    assert_eq!(res.status(), 401);
    assert!(res.headers()["www-authenticate"]
        .to_str()
        .unwrap()
        .contains("invalid_token"));
    let (status, body) = f
        .token(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", &refresh),
            ("client_id", SANDBOX_CLIENT_ID),
        ])
        .await;
    assert_eq!(status, 400);
    assert_error(
        &body,
        "invalid_grant",
        "refresh_token. User may have revoked",
    );
}

#[tokio::test]
async fn a_reused_code_is_refused_and_revokes_what_it_issued() {
    let f = sandbox().await;
    let code = f.code().await;
    let (_, tokens) = f.exchange(&code, VERIFIER).await;
    let access = tokens["access_token"].as_str().unwrap();
    assert_eq!(f.profile(access).await.status(), 200);
    let (status, body) = f.exchange(&code, VERIFIER).await;
    assert_eq!(status, 400);
    assert_error(
        &body,
        "invalid_grant",
        "The request has an invalid grant parameter : code",
    );
    assert_eq!(
        f.profile(access).await.status(),
        401,
        "tokens from a replayed code are revoked"
    );
}

#[tokio::test]
async fn a_wrong_code_verifier_gets_no_token() {
    let f = sandbox().await;
    let code = f.code().await;
    let other = "x".repeat(43);
    let (status, body) = f.exchange(&code, &other).await;
    assert_eq!(status, 400);
    assert_error(&body, "invalid_grant", ": code_verifier");
    let (status, _) = f.exchange(&code, "").await;
    assert_eq!(status, 400);
    assert_eq!(f.token_rows().await, 0);
}

#[tokio::test]
async fn an_expired_code_gets_no_token() {
    let f = sandbox().await;
    let code = f.code().await;
    f.clock.advance(Duration::minutes(5));
    let (status, body) = f.exchange(&code, VERIFIER).await;
    assert_eq!(status, 400);
    assert_error(&body, "invalid_grant", ": code");
    assert_eq!(f.token_rows().await, 0);
}

#[tokio::test]
async fn a_redirect_uri_that_differs_at_the_token_endpoint_gets_no_token() {
    let f = sandbox().await;
    let code = f.code().await;
    let (status, body) = f
        .token(&[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("client_id", SANDBOX_CLIENT_ID),
            ("redirect_uri", "http://127.0.0.1:49322/callback"),
            ("code_verifier", VERIFIER),
        ])
        .await;
    assert_eq!(status, 400);
    assert_error(&body, "invalid_grant", ": redirect_uri");
    assert_eq!(f.token_rows().await, 0);
}

#[tokio::test]
async fn an_unknown_client_or_redirect_uri_shows_a_page_and_never_redirects() {
    let f = sandbox().await;
    for extra in [
        [("client_id", "someone-else")],
        [("redirect_uri", "https://evil.example/callback")],
        [("redirect_uri", "")],
    ] {
        let res = f.authorize(&f.authorize_params(&extra)).await;
        assert_eq!(res.status(), 400, "{extra:?}");
        assert!(res.headers().get("location").is_none());
        assert_eq!(res.headers()["x-frame-options"], "DENY");
        assert!(res.text().await.unwrap().contains("Can&#39;t sign in"));
    }
    let (status, body) = f
        .token(&[
            ("grant_type", "authorization_code"),
            ("code", "x"),
            ("client_id", "someone-else"),
            ("redirect_uri", REDIRECT),
        ])
        .await;
    assert_eq!(status, 401);
    assert_error(&body, "invalid_client", "Client authentication failed");
}

#[tokio::test]
async fn bad_authorization_requests_go_back_to_the_app_with_the_spec_error() {
    let f = sandbox().await;
    for (extra, error) in [
        (
            vec![("response_type", "token")],
            "unsupported_response_type",
        ),
        (vec![("scope", "")], "invalid_scope"),
        (vec![("scope", "profile admin")], "invalid_scope"),
        (
            vec![("code_challenge", ""), ("code_challenge_method", "")],
            "invalid_request",
        ),
        (vec![("code_challenge_method", "S512")], "invalid_request"),
        // PKCE plain, named or by default, is refused: S256 only.
        (vec![("code_challenge_method", "plain")], "invalid_request"),
        (
            vec![("code_challenge_method", ""), ("code_challenge", VERIFIER)],
            "invalid_request",
        ),
        (vec![("scope_data", "not json")], "invalid_request"),
        (vec![("scope", "dash:replenish")], "invalid_request"),
        (
            vec![
                ("scope", "dash:replenish"),
                (
                    "scope_data",
                    r#"{"device_model":"Toaster-9","serial":"S1"}"#,
                ),
            ],
            "invalid_request",
        ),
        (
            vec![
                ("scope", "dash:replenish"),
                ("scope_data", r#"{"device_model":"RefillBrew-200"}"#),
            ],
            "invalid_request",
        ),
    ] {
        let res = f.authorize(&f.authorize_params(&extra)).await;
        assert!(res.status().is_redirection(), "{extra:?}: {}", res.status());
        let location = res.headers()["location"].to_str().unwrap();
        assert!(location.starts_with(REDIRECT), "{location}");
        let q = query_of(location);
        assert_eq!(q["error"], error, "{extra:?}");
        assert!(!q["error_description"].is_empty());
        assert_eq!(q["state"], "st-123");
        assert!(!q.contains_key("code"));
    }
}

#[tokio::test]
async fn denying_consent_or_cancelling_sends_access_denied() {
    let f = sandbox().await;
    let location = f.sign_in(&[], CUSTOMER_PASSWORD, "deny").await;
    let q = query_of(&location);
    assert_eq!(q["error"], "access_denied");
    assert_eq!(q["state"], "st-123");
    assert!(!q.contains_key("code"));

    let html = f.sign_in_page().await;
    let res = f.submit("/ap/cancel", &form_fields(&html)).await;
    assert_eq!(
        query_of(res.headers()["location"].to_str().unwrap())["error"],
        "access_denied"
    );
}

#[tokio::test]
async fn a_wrong_password_shows_the_page_again_and_issues_nothing() {
    let f = sandbox().await;
    let html = f.sign_in_page().await;
    let mut fields = form_fields(&html);
    fields.push(("email".into(), CUSTOMER_EMAIL.into()));
    fields.push(("password".into(), "not-the-password".into()));
    let res = f.submit("/ap/signin", &fields).await;
    assert_eq!(res.status(), 401);
    assert!(res.headers().get("location").is_none());
    assert!(res
        .text()
        .await
        .unwrap()
        .contains("Wrong email or password."));
    let codes: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM oauth_codes")
        .fetch_one(f.service.store().pool())
        .await
        .unwrap();
    assert_eq!(codes, 0);
}

#[tokio::test]
async fn a_consent_page_works_once() {
    let f = sandbox().await;
    let html = f.sign_in_page().await;
    let mut fields = form_fields(&html);
    fields.push(("email".into(), CUSTOMER_EMAIL.into()));
    fields.push(("password".into(), CUSTOMER_PASSWORD.into()));
    let consent = f.submit("/ap/signin", &fields).await.text().await.unwrap();
    let mut fields = form_fields(&consent);
    fields.push(("decision".into(), "allow".into()));
    assert!(f
        .submit("/ap/consent", &fields)
        .await
        .status()
        .is_redirection());
    let again = f.submit("/ap/consent", &fields).await;
    assert_eq!(again.status(), 400);
    assert!(again
        .text()
        .await
        .unwrap()
        .contains("This page has expired"));
}

#[tokio::test]
async fn a_new_customer_can_sign_up_in_the_sandbox() {
    let f = sandbox().await;
    let html = f.sign_in_page().await;
    assert!(html.contains("Create an account"));
    let mut fields = form_of(&html, "/ap/signup");
    fields.extend([
        ("name".into(), "Sam New".into()),
        ("email".into(), "Sam@Example.test".into()),
        ("password".into(), "long enough".into()),
    ]);
    let consent = f.submit("/ap/signup", &fields).await;
    assert_eq!(consent.status(), 200);
    assert!(consent
        .text()
        .await
        .unwrap()
        .contains("Signed in as Sam New"));
    // The same email again never says it is taken: with the account's own password it signs
    // in (security.rs: with another, it answers as a wrong sign-in does).
    let again = f.submit("/ap/signup", &fields).await.text().await.unwrap();
    assert!(again.contains("Signed in as Sam New"), "{again}");
    // A short password is refused.
    let mut short = form_of(&html, "/ap/signup");
    short.extend([
        ("name".into(), "X".into()),
        ("email".into(), "x@example.test".into()),
        ("password".into(), "short".into()),
    ]);
    assert!(f
        .submit("/ap/signup", &short)
        .await
        .text()
        .await
        .unwrap()
        .contains("8 characters or more"));
}

#[tokio::test]
async fn confidential_clients_authenticate_with_their_secret() {
    let f = sandbox().await;
    f.service
        .store()
        .register_client(&ClientRegistration {
            client_id: "maker-cloud".into(),
            name: "Maker Cloud".into(),
            kind: ClientKind::Confidential,
            secret: Some(Sensitive::new("s3cret-of-maker".into())),
            redirect_uris: vec!["https://maker.example/lwa".into()],
        })
        .await
        .unwrap();
    let location = f
        .sign_in(
            &[
                ("client_id", "maker-cloud"),
                ("redirect_uri", "https://maker.example/lwa"),
                ("code_challenge", ""),
                ("code_challenge_method", ""),
            ],
            CUSTOMER_PASSWORD,
            "allow",
        )
        .await;
    let code = query_of(&location)["code"].clone();
    let form = [
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", "https://maker.example/lwa"),
    ];
    let wrong = f
        .http
        .post(f.url("/auth/o2/token"))
        .basic_auth("maker-cloud", Some("nope"))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), 401);
    let ok = f
        .http
        .post(f.url("/auth/o2/token"))
        .basic_auth("maker-cloud", Some("s3cret-of-maker"))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), 200);
}

#[tokio::test]
async fn malformed_token_requests_get_4xx_with_a_message() {
    let f = sandbox().await;
    let (status, body) = f.token(&[("client_id", SANDBOX_CLIENT_ID)]).await;
    assert_eq!(status, 400);
    assert_error(&body, "invalid_request", "grant_type");
    let (status, body) = f
        .token(&[("client_id", SANDBOX_CLIENT_ID), ("grant_type", "password")])
        .await;
    assert_eq!(status, 400);
    assert_error(&body, "unsupported_grant_type", "not supported");
    let res = f
        .http
        .post(f.url("/auth/o2/token"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("grant_type=a&grant_type=b&client_id=refill-app")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
    let body: Value = res.json().await.unwrap();
    assert_error(&body, "invalid_request", "more than once");
    let res = f.http.get(f.url("/user/profile")).send().await.unwrap();
    assert_eq!(res.status(), 401);
}

#[tokio::test]
async fn no_secret_is_stored_in_the_clear() {
    let f = sandbox().await;
    let code = f.code().await;
    let (_, tokens) = f.exchange(&code, VERIFIER).await;
    let secrets = [
        code.clone(),
        tokens["access_token"].as_str().unwrap().to_owned(),
        tokens["refresh_token"].as_str().unwrap().to_owned(),
        CUSTOMER_PASSWORD.to_owned(),
    ];
    let mut stored: Vec<Vec<u8>> = Vec::new();
    if let refill_service::Database::Postgres(_) = &f.db {
        // Every row of every table, as PostgreSQL writes it out as text.
        let pool = f.service.store().pool();
        let tables: Vec<String> = sqlx::query_scalar(
            "SELECT table_name::text FROM information_schema.tables \
             WHERE table_schema = 'public'",
        )
        .fetch_all(pool)
        .await
        .unwrap();
        assert!(tables.len() > 10, "{tables:?}");
        for table in tables {
            let rows: Vec<String> =
                sqlx::query_scalar(&format!("SELECT CAST(t AS TEXT) FROM {table} t"))
                    .fetch_all(pool)
                    .await
                    .unwrap();
            stored.extend(rows.into_iter().map(String::into_bytes));
        }
    }
    let Fixture {
        _dir, db, service, ..
    } = f;
    service.shutdown().await;
    if let refill_service::Database::File(path) = &db {
        for file in std::fs::read_dir(path.parent().unwrap()).unwrap() {
            stored.push(std::fs::read(file.unwrap().path()).unwrap());
        }
    }
    assert!(!stored.is_empty());
    for bytes in &stored {
        for secret in &secrets {
            let found = bytes.windows(secret.len()).any(|w| w == secret.as_bytes());
            assert!(!found, "a secret is stored in the clear");
        }
    }
}

/// Signs a new customer up through the real forms for `scope`; returns their access token.
async fn new_customer_token_for(f: &Fixture, email: &str, scope: &str) -> String {
    let html = f
        .authorize(&f.authorize_params(&[("scope", scope)]))
        .await
        .text()
        .await
        .unwrap();
    let mut fields = form_of(&html, "/ap/signup");
    fields.extend([
        ("name".into(), "Robin New".into()),
        ("email".into(), email.into()),
        ("password".into(), "long enough".into()),
    ]);
    let consent = f.submit("/ap/signup", &fields).await.text().await.unwrap();
    let mut fields = form_fields(&consent);
    fields.push(("decision".into(), "allow".into()));
    let location = f.submit("/ap/consent", &fields).await.headers()["location"]
        .to_str()
        .unwrap()
        .to_owned();
    let (_, tokens) = f.exchange(&query_of(&location)["code"], VERIFIER).await;
    tokens["access_token"].as_str().unwrap().to_owned()
}

/// Signs a new customer up through the real forms, as the Refill app does (`profile
/// refill:customer`); returns their access token.
async fn new_customer_token(f: &Fixture, email: &str) -> String {
    new_customer_token_for(f, email, "profile refill:customer").await
}

#[tokio::test]
async fn the_api_acts_for_the_customer_whose_token_it_gets() {
    let f = sandbox().await;
    let token = new_customer_token(&f, "robin@example.test").await;
    let mine: Value = f.grid_as(Some(&token)).await;
    assert_eq!(
        mine["tiles"].as_array().unwrap().len(),
        0,
        "a new customer has no recent items"
    );
    let anonymous: Value = f.grid_as(None).await;
    assert_eq!(
        anonymous["tiles"].as_array().unwrap().len(),
        6,
        "no token: the sandbox customer"
    );

    let pressed = f
        .http
        .post(f.url("/v1/buttons/B0RFBEAN01/press"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(pressed.status(), 200);
    let mine: Value = f.grid_as(Some(&token)).await;
    assert_eq!(
        mine["tiles"][0]["asin"], "B0RFBEAN01",
        "the order is the new customer's"
    );
    let anonymous: Value = f.grid_as(None).await;
    let beans = anonymous["tiles"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["asin"] == "B0RFBEAN01")
        .unwrap()
        .clone();
    assert!(
        beans["openOrder"].is_null(),
        "the sandbox customer's beans were not ordered"
    );

    let res = f
        .http
        .get(f.url("/v1/buttons"))
        .bearer_auth("Atza|not-a-token")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
    assert!(res.headers()["www-authenticate"]
        .to_str()
        .unwrap()
        .contains("invalid_token"));
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["code"], "invalid_token");
    assert!(body["message"].as_str().unwrap().contains("sign in again"));
}

#[tokio::test]
async fn a_service_that_requires_sign_in_refuses_requests_without_it() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = ServiceConfig::sandbox(database(dir.path(), "strict").await);
    config.require_sign_in = true;
    let service = start(config).await.unwrap();
    let res = reqwest::get(format!("{}/v1/buttons", service.base_url()))
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["code"], "sign_in_required");
    assert_eq!(body["message"], "This Refill service needs you to sign in.");
    let res = reqwest::Client::new()
        .post(format!(
            "{}/v1/buttons/B0RFBEAN01/press",
            service.base_url()
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
    let orders: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM orders WHERE source = 'button'")
        .fetch_one(service.store().pool())
        .await
        .unwrap();
    assert_eq!(orders, 0);
}

/// The consent page of a device's registration, after signing in as `email`.
async fn registration_consent(f: &Fixture, serial: &str, email: &str, password: &str) -> String {
    let scope_data = format!(
        r#"{{"dash:replenish":{{"device_model":"RefillBrew-200","serial":"{serial}","is_test_device":true}}}}"#
    );
    let page = f
        .authorize(&f.authorize_params(&[("scope", "dash:replenish"), ("scope_data", &scope_data)]))
        .await;
    assert_eq!(page.status(), 200);
    let mut fields = form_fields(&page.text().await.unwrap());
    fields.push(("email".into(), email.into()));
    fields.push(("password".into(), password.into()));
    f.submit("/ap/signin", &fields).await.text().await.unwrap()
}

async fn registered_devices(f: &Fixture, token: Option<&str>) -> Value {
    let mut request = f.http.get(f.url("/v1/devices"));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let res = request.send().await.unwrap();
    assert_eq!(res.status(), 200);
    res.json().await.unwrap()
}

#[tokio::test]
async fn a_device_is_registered_with_the_products_the_customer_chose() {
    let f = sandbox().await;
    let html = registration_consent(&f, "SIM-0042", CUSTOMER_EMAIL, CUSTOMER_PASSWORD).await;
    assert!(html.contains("Reorder supplies for your devices"), "{html}");
    assert!(
        html.contains("Link your Brewmaster 200 coffee maker"),
        "{html}"
    );
    assert!(html.contains("Serial SIM-0042 (a test device"));
    assert!(html.contains("name=\"slot.brew-beans\""));
    assert!(html.contains("<option value=\"B0RFBEAN02\">"));

    // A product that does not fit the slot registers nothing.
    let mut fields = form_of(&html, "/ap/consent");
    fields.push(("slot.brew-beans".into(), "B0RFINKBK1".into()));
    fields.push(("decision".into(), "allow".into()));
    let refused = f.submit("/ap/consent", &fields).await;
    assert_eq!(refused.status(), 400);
    assert!(refused.text().await.unwrap().contains("does not fit"));
    let devices = registered_devices(&f, None).await;
    assert!(!devices.to_string().contains("SIM-0042"));

    let html = registration_consent(&f, "SIM-0042", CUSTOMER_EMAIL, CUSTOMER_PASSWORD).await;
    let mut fields = form_of(&html, "/ap/consent");
    fields.push(("slot.brew-beans".into(), "B0RFBEAN02".into()));
    fields.push(("decision".into(), "allow".into()));
    let done = f.submit("/ap/consent", &fields).await;
    let location = done.headers()["location"].to_str().unwrap().to_owned();
    let q = query_of(&location);
    assert_eq!(q["scope"], "dash:replenish");

    // The device redeems the code with its own verifier and holds its own tokens.
    let (status, tokens) = f.exchange(&q["code"], VERIFIER).await;
    assert_eq!(status, 200, "{tokens}");
    assert_eq!(tokens["scope"], "dash:replenish");
    assert!(tokens["refresh_token"].as_str().is_some());

    let devices = registered_devices(&f, None).await;
    let device = &devices["devices"][0];
    assert_eq!(device["serial"], "SIM-0042", "{devices}");
    assert_eq!(device["model"], "RefillBrew-200");
    assert_eq!(device["modelName"], "Brewmaster 200 coffee maker");
    assert_eq!(device["isTest"], true);
    let slots = device["slots"].as_array().unwrap();
    let product = |slot: &str| {
        slots
            .iter()
            .find(|s| s["slotId"] == slot)
            .map(|s| s["product"]["asin"].clone())
            .unwrap()
    };
    assert_eq!(product("brew-beans"), "B0RFBEAN02");
    assert_eq!(product("brew-filters"), "B0RFFILT04", "the default");
    assert_eq!(slots.len(), 3);
}
