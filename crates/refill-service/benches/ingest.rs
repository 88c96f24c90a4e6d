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

mod load;

use load::{device_token, p99_at_rate, throughput, Request, P};
use std::sync::Arc;

const DEVICES: usize = 40;

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

    let health_rate = throughput(&[address], load::health()).await;
    let ingest_rate = throughput(&[address], load::slot_status(tokens.clone())).await;
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
