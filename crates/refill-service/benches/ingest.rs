//! Load on loopback against a service on SQLite (WAL, synchronous=FULL):
//!
//! * slotStatus ingest rate: 64 connections sending DRS slotStatus calls as fast as they are
//!   answered, for 5 s; baseline: the same load on `GET /health` of the same server. The load
//!   comes from a minimal HTTP/1.1 client (requests written out whole, answers read by their
//!   `Content-Length`), as load tools such as wrk do, so that the generator, which shares the
//!   machine's cores with the service, takes as little of them as it can.
//! * replenish p99 at 1 000 requests/s (open loop, 5 s) over 40 registered devices' slots;
//!   baseline: `GET /health` at the same rate.
//!
//! Run by `cargo xtask bench` (`cargo bench -p refill-service --bench ingest`); prints one JSON
//! line.

use refill_service::auth::SANDBOX_CLIENT_ID;
use refill_service::sandbox::{CUSTOMER_EMAIL, CUSTOMER_PASSWORD};
use refill_testkit::{OAuthClient, Person};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

const P: &str = "com.amazon.dash.replenishment.";
const CONNECTIONS: usize = 64;
const RUN: Duration = Duration::from_secs(5);
const RATE: u64 = 1000;
const DEVICES: usize = 40;

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .pool_max_idle_per_host(CONNECTIONS * 2)
        .build()
        .expect("HTTP client")
}

async fn device_token(base: &str, serial: &str) -> String {
    let scope_data =
        format!(r#"{{"dash:replenish":{{"device_model":"RefillBrew-200","serial":"{serial}"}}}}"#);
    let client = OAuthClient {
        id: SANDBOX_CLIENT_ID,
        secret: None,
        redirect_uri: "http://127.0.0.1:49321/callback",
    };
    let person = Person::Existing {
        email: CUSTOMER_EMAIL,
        password: CUSTOMER_PASSWORD,
    };
    refill_testkit::tokens(base, client, "dash:replenish", Some(&scope_data), &person)
        .await
        .expect("a device token")
        .0
}

type Request = Arc<dyn Fn(&reqwest::Client, u64) -> reqwest::RequestBuilder + Send + Sync>;

/// A whole HTTP/1.1 request, by its number.
type RawRequest = Arc<dyn Fn(u64) -> Vec<u8> + Send + Sync>;

/// `method path` with `headers` (each `Name: value`) and `body`, as HTTP/1.1 sends it.
fn raw_request(method: &str, path: &str, headers: &[String], body: &str) -> Vec<u8> {
    let mut out = format!("{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n");
    for header in headers {
        out.push_str(header);
        out.push_str("\r\n");
    }
    if !body.is_empty() {
        out.push_str(&format!("Content-Length: {}\r\n", body.len()));
    }
    out.push_str("\r\n");
    out.push_str(body);
    out.into_bytes()
}

/// Reads one answer from `stream` into `buffer` (which may hold the start of the next one);
/// its status.
async fn read_answer(stream: &mut tokio::net::TcpStream, buffer: &mut Vec<u8>) -> u16 {
    use tokio::io::AsyncReadExt;
    loop {
        let mut headers = [httparse::EMPTY_HEADER; 32];
        let mut answer = httparse::Response::new(&mut headers);
        if let httparse::Status::Complete(head) = answer.parse(buffer).expect("an HTTP answer") {
            let status = answer.code.expect("a status");
            let length: usize = answer
                .headers
                .iter()
                .find(|h| h.name.eq_ignore_ascii_case("content-length"))
                .map(|h| {
                    std::str::from_utf8(h.value)
                        .expect("a length")
                        .parse()
                        .expect("a length")
                })
                .expect("answers say their length");
            while buffer.len() < head + length {
                let read = stream.read_buf(buffer).await.expect("the answer's body");
                assert!(read > 0, "the server closed the connection");
            }
            buffer.drain(..head + length);
            return status;
        }
        let read = stream.read_buf(buffer).await.expect("an answer");
        assert!(read > 0, "the server closed the connection");
    }
}

/// Closed loop: `CONNECTIONS` connections for `RUN`, each sending its next request when the
/// last is answered; answers per second.
async fn throughput(address: std::net::SocketAddr, make: RawRequest) -> f64 {
    use tokio::io::AsyncWriteExt;
    let done = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let mut workers = tokio::task::JoinSet::new();
    for w in 0..CONNECTIONS {
        let (make, done) = (make.clone(), done.clone());
        workers.spawn(async move {
            let mut stream = tokio::net::TcpStream::connect(address)
                .await
                .expect("a connection");
            stream.set_nodelay(true).expect("no delay");
            let mut buffer = Vec::with_capacity(4096);
            let mut i = w as u64;
            while started.elapsed() < RUN {
                stream.write_all(&make(i)).await.expect("the request sent");
                let status = read_answer(&mut stream, &mut buffer).await;
                assert!((200..300).contains(&status), "{status}");
                done.fetch_add(1, Ordering::Relaxed);
                i += CONNECTIONS as u64;
            }
        });
    }
    workers.join_all().await;
    done.load(Ordering::Relaxed) as f64 / started.elapsed().as_secs_f64()
}

/// Open loop at `RATE` per second for `RUN`: the latencies' p99 in ms.
async fn p99_at_rate(make: Request) -> f64 {
    let http = client();
    let mut ticks = tokio::time::interval(Duration::from_micros(1_000_000 / RATE));
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    let mut calls = tokio::task::JoinSet::new();
    let total = RATE * RUN.as_secs();
    for i in 0..total {
        ticks.tick().await;
        let (http, make) = (http.clone(), make.clone());
        calls.spawn(async move {
            let started = Instant::now();
            let res = make(&http, i).send().await.expect("an answer");
            assert!(res.status().is_success(), "{}", res.status());
            let _ = res.bytes().await;
            started.elapsed()
        });
    }
    let mut latencies = calls.join_all().await;
    latencies.sort();
    let rank = ((0.99 * latencies.len() as f64).ceil() as usize).clamp(1, latencies.len());
    latencies[rank - 1].as_secs_f64() * 1000.0
}

#[tokio::main]
async fn main() {
    let dir = tempfile::tempdir().expect("temporary folder");
    let mut config = refill_service::ServiceConfig::sandbox(dir.path().join("bench.sqlite"));
    config.deliver_every = None;
    let service = refill_service::start(config)
        .await
        .expect("the service starts");
    let base = service.base_url();
    let mut tokens = Vec::new();
    for d in 0..DEVICES {
        tokens.push(device_token(&base, &format!("BENCH-{d:03}")).await);
    }
    let tokens = Arc::new(tokens);

    let address = service.local_addr();
    let health_raw: RawRequest = {
        let request = raw_request("GET", "/health", &[], "");
        Arc::new(move |_| request.clone())
    };
    let slot_status: RawRequest = {
        let tokens = tokens.clone();
        Arc::new(move |i| {
            let token = &tokens[(i as usize) % tokens.len()];
            raw_request(
                "POST",
                "/slotStatus/brew-beans",
                &[
                    format!("Authorization: Bearer {token}"),
                    format!("x-amzn-type-version: {P}DrsSlotStatusInput@1.0"),
                    format!("x-amzn-accept-type: {P}DrsSlotStatusResult@1.0"),
                    "Content-Type: application/json".to_owned(),
                ],
                &format!(
                    r#"{{"remainingQuantityInUnit":{},"originalQuantityInUnit":500}}"#,
                    400 - (i % 300)
                ),
            )
        })
    };
    let health: Request = {
        let url = format!("{base}/health");
        Arc::new(move |http, _| http.get(&url))
    };
    let replenish: Request = {
        let (base, tokens) = (base.clone(), tokens.clone());
        Arc::new(move |http, i| {
            let token = &tokens[(i as usize) % tokens.len()];
            let slot = ["brew-beans", "brew-filters", "brew-water-filter"][(i as usize / 40) % 3];
            http.post(format!("{base}/replenish/{slot}"))
                .bearer_auth(token)
                .header("x-amzn-type-version", format!("{P}DrsReplenishInput@1.0"))
                .header("x-amzn-accept-type", format!("{P}DrsReplenishResult@1.0"))
        })
    };

    let health_rate = throughput(address, health_raw).await;
    let ingest_rate = throughput(address, slot_status).await;
    let health_p99 = p99_at_rate(health).await;
    let replenish_p99 = p99_at_rate(replenish).await;
    service.shutdown().await;
    println!(
        "{}",
        serde_json::json!({
            "ingest": { "per_s": ingest_rate, "baseline_per_s": health_rate },
            "replenish": { "p99_ms": replenish_p99, "baseline_p99_ms": health_p99 },
        })
    );
}
