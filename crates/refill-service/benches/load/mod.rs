//! What the service's load benches share: device tokens through the real sign-in, a minimal
//! HTTP/1.1 load generator (closed loop) and an open-loop latency probe.

#![allow(dead_code)] // each bench uses its part

use refill_service::auth::SANDBOX_CLIENT_ID;
use refill_service::sandbox::{CUSTOMER_EMAIL, CUSTOMER_PASSWORD};
use refill_testkit::{OAuthClient, Person};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

pub const P: &str = "com.amazon.dash.replenishment.";
pub const CONNECTIONS: usize = 64;
pub const RUN: Duration = Duration::from_secs(5);
pub const RATE: u64 = 1000;

pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .pool_max_idle_per_host(CONNECTIONS * 2)
        .build()
        .expect("HTTP client")
}

pub async fn device_token(base: &str, serial: &str) -> String {
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

pub type Request = Arc<dyn Fn(&reqwest::Client, u64) -> reqwest::RequestBuilder + Send + Sync>;

/// A whole HTTP/1.1 request, by its number.
pub type RawRequest = Arc<dyn Fn(u64) -> Vec<u8> + Send + Sync>;

/// `method path` with `headers` (each `Name: value`) and `body`, as HTTP/1.1 sends it.
pub fn raw_request(method: &str, path: &str, headers: &[String], body: &str) -> Vec<u8> {
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
pub async fn read_answer(stream: &mut tokio::net::TcpStream, buffer: &mut Vec<u8>) -> u16 {
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

/// Closed loop: `CONNECTIONS` connections for `RUN`, spread over `addresses` (instances of one
/// service), each sending its next request when the last is answered; answers per second.
pub async fn throughput(addresses: &[std::net::SocketAddr], make: RawRequest) -> f64 {
    use tokio::io::AsyncWriteExt;
    let done = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let mut workers = tokio::task::JoinSet::new();
    for w in 0..CONNECTIONS {
        let (make, done) = (make.clone(), done.clone());
        let address = addresses[w % addresses.len()];
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
pub async fn p99_at_rate(make: Request) -> f64 {
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

/// `GET /health`, the baseline of the load rows.
pub fn health() -> RawRequest {
    let request = raw_request("GET", "/health", &[], "");
    Arc::new(move |_| request.clone())
}

/// DRS slotStatus calls for the beans slot, the `i`th by the device `tokens[i % len]`, levels
/// going down and refilled.
pub fn slot_status(tokens: Arc<Vec<String>>) -> RawRequest {
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
}
