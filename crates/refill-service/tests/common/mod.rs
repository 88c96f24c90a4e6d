//! The fixture the service's test files share: a sandbox service on loopback, a SQLite file in
//! a temporary folder (or a PostgreSQL database, see [`database`]), a manual clock, and an HTTP
//! client that does not follow redirects.
#![allow(dead_code)] // each test file uses its own part of it

use refill_core::ManualClock;
use refill_service::auth::SANDBOX_CLIENT_ID;
use refill_service::sandbox::{CUSTOMER_EMAIL, CUSTOMER_PASSWORD};
use refill_service::{start, Database, RunningService, ServiceConfig};
use refill_testkit::{OAuthClient, Person};
use reqwest::Method;
use serde_json::Value;
use std::sync::Arc;
use time::macros::datetime;

pub struct Fixture {
    pub _dir: tempfile::TempDir,
    pub db: Database,
    pub clock: Arc<ManualClock>,
    pub service: RunningService,
    pub http: reqwest::Client,
}

/// A new temporary folder and a manual clock at 2026-11-22 09:00 UTC.
pub fn fresh() -> (tempfile::TempDir, Arc<ManualClock>) {
    let dir = tempfile::tempdir().unwrap();
    (
        dir,
        Arc::new(ManualClock::new(datetime!(2026-11-22 09:00 UTC))),
    )
}

/// A sandbox service on a new database, its clock at 2026-11-22 09:00 UTC.
pub async fn sandbox() -> Fixture {
    sandbox_with(|_| {}).await
}

/// [`sandbox`], with `change` made to its configuration first.
pub async fn sandbox_with(change: impl FnOnce(&mut ServiceConfig)) -> Fixture {
    let (dir, clock) = fresh();
    let db = database(dir.path(), "sandbox").await;
    let service = start_with(&db, clock.clone(), change).await;
    Fixture {
        _dir: dir,
        db,
        clock,
        service,
        http: browser_client(),
    }
}

/// The browser cookie the fixture's client sends, as a browser that signed in here before would:
/// the service ties consent tickets to it.
pub const BROWSER_COOKIE: &str = "refill_signin=fixture-browser";

/// An HTTP client that does not follow redirects and sends [`BROWSER_COOKIE`].
pub fn browser_client() -> reqwest::Client {
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert(
        reqwest::header::COOKIE,
        reqwest::header::HeaderValue::from_static(BROWSER_COOKIE),
    );
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .default_headers(headers)
        .build()
        .unwrap()
}

/// The environment variable that names a PostgreSQL server (`postgres://user@host:port`, no
/// database) to run the service's tests on instead of SQLite. `cargo xtask test` runs them
/// twice: once on SQLite, once on a PostgreSQL server of its own.
pub const POSTGRES_SERVER: &str = "REFILL_TEST_POSTGRES";

/// The PostgreSQL server the tests run on, if this run is on one.
pub fn postgres_server() -> Option<String> {
    std::env::var(POSTGRES_SERVER)
        .ok()
        .filter(|s| !s.is_empty())
        .map(|s| s.trim_end_matches('/').to_owned())
}

/// Where a test's service keeps its data: the SQLite file `name` in `dir`, or a new database of
/// its own on the PostgreSQL server of [`POSTGRES_SERVER`].
pub async fn database(dir: &std::path::Path, name: &str) -> Database {
    match postgres_server() {
        Some(server) => new_postgres_database(&server).await,
        None => Database::File(dir.join(format!("{name}.sqlite"))),
    }
}

/// A new, empty database on the PostgreSQL `server`.
pub async fn new_postgres_database(server: &str) -> Database {
    use rand::Rng;
    use sqlx::Connection;
    let name = format!("refill_test_{:016x}", rand::thread_rng().gen::<u64>());
    let mut admin = sqlx::PgConnection::connect(&format!("{server}/postgres"))
        .await
        .unwrap_or_else(|e| panic!("could not reach the PostgreSQL server {server}: {e}"));
    sqlx::query(&format!("CREATE DATABASE {name}"))
        .execute(&mut admin)
        .await
        .unwrap();
    Database::parse(&format!("{server}/{name}")).unwrap()
}

/// `db` as the service binary's `--db` takes it.
pub fn db_argument(db: &Database) -> String {
    match db {
        Database::File(path) => path.display().to_string(),
        Database::Postgres(url) => url.clone(),
    }
}

/// Runs the real `refill-service` binary with `args` on `db` (an operator's command): exit code,
/// stdout, stderr.
pub fn operator(db: &Database, args: &[&str]) -> (i32, String, String) {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_refill-service"))
        .args(args)
        .args(["--db", &db_argument(db)])
        .env("REFILL_LOG", "warn")
        .env_remove("REFILL_CONFIG")
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

/// A sandbox service on `db`, reading `clock`.
pub async fn start_on(db: &Database, clock: Arc<ManualClock>) -> RunningService {
    start_with(db, clock, |_| {}).await
}

/// [`start_on`], with `change` made to its configuration first (to turn background tasks on).
pub async fn start_with(
    db: &Database,
    clock: Arc<ManualClock>,
    change: impl FnOnce(&mut ServiceConfig),
) -> RunningService {
    if std::env::var_os("REFILL_LOG").is_some() {
        refill_service::init_logging();
    }
    let mut config = ServiceConfig::sandbox(db.clone());
    config.clock = clock;
    // Tests send webhook notifications themselves (Store::deliver_webhooks), when they choose.
    config.deliver_every = None;
    // The tests' webhook receivers listen on loopback (security.rs checks the default).
    config.allow_private_webhooks = true;
    change(&mut config);
    start(config).await.unwrap()
}

impl Fixture {
    /// `path` on the service.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.service.base_url())
    }
}

pub const REDIRECT: &str = "http://127.0.0.1:49321/callback";
pub const P: &str = "com.amazon.dash.replenishment.";

/// Registers a Brewmaster 200 with `serial` to the sandbox customer (the consent page's default
/// products) and returns the device's own access token.
pub async fn device_token(f: &Fixture, serial: &str, test: bool) -> String {
    device_tokens(f, serial, test).await.0
}

/// [`device_token`], with the device's refresh token.
pub async fn device_tokens(f: &Fixture, serial: &str, test: bool) -> (String, String) {
    tokens(f, "dash:replenish", Some(&brewer(serial, test))).await
}

/// Registers a Brewmaster 200 through a maker's confidential client; its access token.
pub async fn device_token_via(f: &Fixture, serial: &str, client: (&str, &str)) -> String {
    let scope_data =
        format!(r#"{{"dash:replenish":{{"device_model":"RefillBrew-200","serial":"{serial}"}}}}"#);
    tokens_via(
        f,
        "dash:replenish",
        Some(&scope_data),
        client.0,
        Some(client.1),
    )
    .await
    .0
}

/// The sandbox customer's access token for `scope`, through the real sign-in and consent pages.
pub async fn access_token(f: &Fixture, scope: &str, scope_data: Option<&str>) -> String {
    tokens(f, scope, scope_data).await.0
}

/// A new access token from `refresh_token`, as a device gets one when its token has expired.
pub async fn refresh(f: &Fixture, refresh_token: &str) -> String {
    let tokens: Value = f
        .http
        .post(f.url("/auth/o2/token"))
        .form(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh_token),
            ("client_id", SANDBOX_CLIENT_ID),
        ])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    tokens["access_token"].as_str().unwrap().to_owned()
}

/// Access and refresh tokens for `scope`, through the real sign-in and consent pages.
pub async fn tokens(f: &Fixture, scope: &str, scope_data: Option<&str>) -> (String, String) {
    tokens_via(f, scope, scope_data, SANDBOX_CLIENT_ID, None).await
}

/// [`tokens`] through the client `client_id` (with its secret, for a confidential client).
pub async fn tokens_via(
    f: &Fixture,
    scope: &str,
    scope_data: Option<&str>,
    client_id: &str,
    client_secret: Option<&str>,
) -> (String, String) {
    let client = OAuthClient {
        id: client_id,
        secret: client_secret,
        redirect_uri: REDIRECT,
    };
    let person = Person::Existing {
        email: CUSTOMER_EMAIL,
        password: CUSTOMER_PASSWORD,
    };
    refill_testkit::tokens(&f.service.base_url(), client, scope, scope_data, &person)
        .await
        .unwrap()
}

/// Access and refresh tokens of `person` for `scope` through the sandbox's app client, or why
/// the flow stopped.
pub async fn tokens_of(
    f: &Fixture,
    person: &Person<'_>,
    scope: &str,
    scope_data: Option<&str>,
) -> Result<(String, String), String> {
    let client = OAuthClient {
        id: SANDBOX_CLIENT_ID,
        secret: None,
        redirect_uri: REDIRECT,
    };
    refill_testkit::tokens(&f.service.base_url(), client, scope, scope_data, person).await
}

/// The `scope_data` of a Brewmaster 200 coffee maker with `serial`.
pub fn brewer(serial: &str, test: bool) -> String {
    format!(
        r#"{{"dash:replenish":{{"device_model":"RefillBrew-200","serial":"{serial}","is_test_device":{test}}}}}"#
    )
}

/// DRS Replenish of `slot` by the device whose token is `token`: the status and the body.
pub async fn replenish(f: &Fixture, token: &str, slot: &str) -> (u16, Value) {
    let (status, _, body) = drs(
        f,
        Method::POST,
        &format!("/replenish/{slot}"),
        token,
        ("DrsReplenishInput@1.0", "DrsReplenishResult@1.0"),
        None,
    )
    .await;
    (status, body)
}

/// DRS SubscriptionInfo (v1) by the device whose token is `token`: the status and the body.
pub async fn subscription_info(f: &Fixture, token: &str) -> (u16, Value) {
    let (status, _, body) = drs(
        f,
        Method::GET,
        "/subscriptionInfo",
        token,
        (
            "DrsSubscriptionInfoInput@1.0",
            "DrsSubscriptionInfoResult@1.0",
        ),
        None,
    )
    .await;
    (status, body)
}

/// A DRS call with its version headers, as DRS clients send it.
pub async fn drs(
    f: &Fixture,
    method: Method,
    path: &str,
    token: &str,
    versions: (&str, &str),
    body: Option<&str>,
) -> (u16, reqwest::header::HeaderMap, Value) {
    let mut request = f
        .http
        .request(method, f.url(path))
        .bearer_auth(token)
        .header("x-amzn-type-version", format!("{P}{}", versions.0))
        .header("x-amzn-accept-type", format!("{P}{}", versions.1));
    if let Some(body) = body {
        request = request
            .header("content-type", "application/json")
            .body(body.to_owned());
    }
    let res = request.send().await.unwrap();
    let status = res.status().as_u16();
    let headers = res.headers().clone();
    let text = res.text().await.unwrap();
    let json = if text.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).unwrap_or(Value::String(text))
    };
    (status, headers, json)
}

/// Server-sent events read from an open stream, one at a time.
pub struct Sse<'a> {
    res: &'a mut reqwest::Response,
    buffer: String,
}

impl<'a> Sse<'a> {
    pub fn new(res: &'a mut reqwest::Response) -> Self {
        Self {
            res,
            buffer: String::new(),
        }
    }

    /// The next event, as (id, kind); it must come within 5 s.
    pub async fn next(&mut self) -> (i64, String) {
        loop {
            while let Some(end) = self.buffer.find("\n\n") {
                let block: String = self.buffer.drain(..end + 2).collect();
                let field = |name: &str| {
                    block
                        .lines()
                        .find_map(|l| l.strip_prefix(name))
                        .map(|v| v.trim().to_owned())
                };
                if let (Some(id), Some(kind)) = (field("id:"), field("event:")) {
                    return (id.parse().unwrap(), kind);
                }
            }
            let chunk = tokio::time::timeout(std::time::Duration::from_secs(5), self.res.chunk())
                .await
                .expect("an event within 5 s")
                .unwrap()
                .expect("the stream stays open");
            self.buffer.push_str(std::str::from_utf8(&chunk).unwrap());
        }
    }
}

/// `GET url` as JSON.
pub async fn get_json(http: &reqwest::Client, url: &str) -> Value {
    json_of(http.get(url)).await
}

/// Sends `request`; the status and the JSON body (`null` when there is none).
pub async fn answer(request: reqwest::RequestBuilder) -> (u16, Value) {
    let res = request.send().await.unwrap();
    let status = res.status().as_u16();
    let text = res.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

/// The JSON answer to `request`, which must succeed.
pub async fn json_of(request: reqwest::RequestBuilder) -> Value {
    let res = request.send().await.unwrap();
    let url = res.url().clone();
    assert!(res.status().is_success(), "{url}: {}", res.status());
    res.json().await.unwrap()
}

/// A maker's model file (`models add`): a filter jug with one slot for the catalog's
/// B0FILTER01, which the tests import first.
pub const JUG: &str = r#"
id = "AcmeJug-1"
name = "Acme filter jug"

[[slots]]
id = "filter"
name = "Water filter"
unit = "count"
capacity = 1
products = ["B0FILTER01"]
"#;

/// What a webhook receiver got: headers and body of each POST.
pub type Received = Arc<std::sync::Mutex<Vec<(axum::http::HeaderMap, String)>>>;

/// A webhook receiver (a maker's server, a customer's automation) on loopback, at the URL it
/// returns, that answers 500 to the first `failures` POSTs and 200 after.
pub async fn receiver(failures: usize) -> (String, Received) {
    let received: Received = Arc::default();
    let seen = received.clone();
    let app = axum::Router::new().route(
        "/drs",
        axum::routing::post(move |headers: axum::http::HeaderMap, body: String| {
            let seen = seen.clone();
            async move {
                let mut seen = seen.lock().unwrap();
                seen.push((headers, body));
                if seen.len() <= failures {
                    axum::http::StatusCode::INTERNAL_SERVER_ERROR
                } else {
                    axum::http::StatusCode::OK
                }
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/drs", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (url, received)
}
