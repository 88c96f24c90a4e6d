//! Load on loopback against a service on SQLite (WAL, synchronous=FULL):
//!
//! * slotStatus ingest rate: 64 connections sending DRS slotStatus calls as fast as they are
//!   answered, for 5 s; baseline: the same load on `GET /health` of the same server.
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

/// Closed loop: `CONNECTIONS` workers for `RUN`; answers per second.
async fn throughput(make: Request) -> f64 {
    let http = client();
    let done = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let mut workers = tokio::task::JoinSet::new();
    for w in 0..CONNECTIONS {
        let (http, make, done) = (http.clone(), make.clone(), done.clone());
        workers.spawn(async move {
            let mut i = w as u64;
            while started.elapsed() < RUN {
                let res = make(&http, i).send().await.expect("an answer");
                assert!(res.status().is_success(), "{}", res.status());
                let _ = res.bytes().await;
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

    let health: Request = {
        let url = format!("{base}/health");
        Arc::new(move |http, _| http.get(&url))
    };
    let slot_status: Request = {
        let (base, tokens) = (base.clone(), tokens.clone());
        Arc::new(move |http, i| {
            let token = &tokens[(i as usize) % tokens.len()];
            http.post(format!("{base}/slotStatus/brew-beans"))
                .bearer_auth(token)
                .header("x-amzn-type-version", format!("{P}DrsSlotStatusInput@1.0"))
                .header("x-amzn-accept-type", format!("{P}DrsSlotStatusResult@1.0"))
                .header("content-type", "application/json")
                .body(format!(
                    r#"{{"remainingQuantityInUnit":{},"originalQuantityInUnit":500}}"#,
                    400 - (i % 300)
                ))
        })
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

    let health_rate = throughput(health.clone()).await;
    let ingest_rate = throughput(slot_status).await;
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
