//! What a year of use costs the service, and whether a full database slows it down:
//!
//! * database size per device-year (SQLite): 10 coffee makers (3 slots each) report every
//!   15 minutes for a year; the bytes the database uses for them once the level history is
//!   thinned as the service thins it (hourly after 2 days, daily after 30), against the same year
//!   kept as reported (the baseline).
//! * slotStatus ingest on SQLite with 100 000 registered devices (25 000 households of 4) and a
//!   year of thinned level history for 1 040 of them, among them the 40 the load comes from: the
//!   load of the `ingest` bench (64 connections for 5 s); baseline: `GET /health` of the same
//!   server.
//! * the same on PostgreSQL (when `REFILL_BENCH_POSTGRES` names a server, as `cargo xtask bench`
//!   does): two service instances on one database, the 64 connections split between them.
//!
//! Run by `cargo xtask bench` (`cargo bench -p refill-service --bench growth`); prints one JSON
//! line.

// The service tests' helpers: a new database on a PostgreSQL server.
#[path = "../tests/common/mod.rs"]
mod common;
mod load;

use load::{device_token, throughput};
use refill_service::{Database, RunningService, ServiceConfig, Store};
use std::sync::Arc;

/// Devices registered for the ingest rows.
const REGISTERED: i64 = 100_000;
/// Devices a household has.
const PER_HOUSEHOLD: i64 = 4;
/// Registered devices with a year of history, besides the loaded ones.
const WITH_HISTORY: i64 = 1_000;
/// Devices the load comes from (each with a year of history too).
const LOADED: usize = 40;
/// Devices of the size row.
const SIZE_DEVICES: i64 = 10;

const MINUTE_MS: i64 = 60_000;
const HOUR_MS: i64 = 60 * MINUTE_MS;
const DAY_MS: i64 = 24 * HOUR_MS;
/// How often the devices report.
const REPORT_EVERY_MS: i64 = 15 * MINUTE_MS;

async fn run(store: &Store, sql: &str, binds: &[i64]) -> u64 {
    let mut query = sqlx::query(sql);
    for bind in binds {
        query = query.bind(*bind);
    }
    query
        .execute(store.pool())
        .await
        .unwrap_or_else(|e| panic!("{e}: {sql}"))
        .rows_affected()
}

async fn scalar(store: &Store, sql: &str) -> i64 {
    sqlx::query_scalar(sql)
        .fetch_one(store.pool())
        .await
        .unwrap_or_else(|e| panic!("{e}: {sql}"))
}

/// Numbers 0 to `$1` - 1, as the table `n(i)`.
const NUMBERS: &str =
    "WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i + 1 < $1)";

/// Registers `count` coffee makers (serials `BULK-n`) for households of their own,
/// [`PER_HOUSEHOLD`] each, as if they had signed up and linked them; the first one's id.
async fn register(store: &Store, count: i64, now_ms: i64) -> i64 {
    let households = (count + PER_HOUSEHOLD - 1) / PER_HOUSEHOLD;
    run(
        store,
        &format!(
            "{NUMBERS} INSERT INTO customers (name, email, marketplace, currency) \
             SELECT 'Household ' || i, 'household' || i || '@bench.example', 'US', 'USD' FROM n"
        ),
        &[households],
    )
    .await;
    run(
        store,
        &format!(
            "{NUMBERS} INSERT INTO devices \
             (customer_id, model_id, serial, name, registered_at_ms, last_active_ms) \
             SELECT c.id, 'RefillBrew-200', 'BULK-' || n.i, 'Coffee maker', $2, $2 \
             FROM n JOIN customers c ON c.email = 'household' || (n.i / $3) || '@bench.example'"
        ),
        &[count, now_ms, PER_HOUSEHOLD],
    )
    .await;
    scalar(
        store,
        "SELECT MIN(id) FROM devices WHERE serial LIKE 'BULK-%'",
    )
    .await
}

/// Levels of each of the 3 slots of the devices `which` (a condition on `d`), `count` of them
/// `step_ms` apart from `from_ms`: the beans going down and refilled every 4 days.
async fn levels(store: &Store, which: &str, from_ms: i64, step_ms: i64, count: i64) -> u64 {
    let at = "($2 + n.i * $3)";
    run(
        store,
        &format!(
            "{NUMBERS}, s(slot) AS (SELECT 'brew-beans' UNION ALL SELECT 'brew-filters' \
             UNION ALL SELECT 'brew-water-filter') \
             INSERT INTO slot_levels (device_id, slot_id, at_ms, remaining, source) \
             SELECT d.id, s.slot, {at}, 500.0 - ({at} / 900000 % 384) * 1.3, 'slot_status' \
             FROM devices d, s, n WHERE {which}"
        ),
        &[count, from_ms, step_ms],
    )
    .await
}

/// A year of history as the service keeps it once thinned: daily, then hourly for the last 30
/// days, then as reported for the last 2. Returns how many readings.
async fn thinned_year(store: &Store, which: &str, now_ms: i64) -> u64 {
    let daily = levels(store, which, now_ms - 365 * DAY_MS, DAY_MS, 335).await;
    let hourly = levels(store, which, now_ms - 30 * DAY_MS, HOUR_MS, 28 * 24).await;
    let raw = levels(
        store,
        which,
        now_ms - 2 * DAY_MS,
        REPORT_EVERY_MS,
        2 * DAY_MS / REPORT_EVERY_MS,
    )
    .await;
    daily + hourly + raw
}

/// Bytes of the SQLite database in use (its free pages left out).
async fn used_bytes(store: &Store) -> i64 {
    scalar(
        store,
        "SELECT (p.page_count - f.freelist_count) * s.page_size \
         FROM pragma_page_count() p, pragma_freelist_count() f, pragma_page_size() s",
    )
    .await
}

fn config(database: Database) -> ServiceConfig {
    let mut config = ServiceConfig::sandbox(database);
    config.deliver_every = None;
    // The size row thins the history itself; the ingest rows load history already thinned.
    config.compact_levels_every = None;
    config
}

/// The size row: MiB per device-year thinned and as reported, and readings kept per slot-year.
async fn size(dir: &std::path::Path) -> serde_json::Value {
    let service = refill_service::start(config(Database::File(dir.join("size.sqlite"))))
        .await
        .expect("the service starts");
    let store = service.store();
    let now = time::OffsetDateTime::now_utc();
    let now_ms = (now.unix_timestamp_nanos() / 1_000_000) as i64;
    let first = register(store, SIZE_DEVICES, now_ms).await;
    let before = used_bytes(store).await;
    let which = format!("d.id BETWEEN {first} AND {}", first + SIZE_DEVICES - 1);
    let year = 365 * DAY_MS / REPORT_EVERY_MS;
    levels(store, &which, now_ms - 365 * DAY_MS, REPORT_EVERY_MS, year).await;
    let raw = used_bytes(store).await - before;
    store
        .compact_levels(now)
        .await
        .expect("the history thinned");
    let thinned = used_bytes(store).await - before;
    let (readings, _) = store.level_count().await.expect("a count");
    service.shutdown().await;
    let per_device_year = |bytes: i64| bytes as f64 / SIZE_DEVICES as f64 / 1_048_576.0;
    serde_json::json!({
        "mib_per_device_year": per_device_year(thinned),
        "raw_mib_per_device_year": per_device_year(raw),
        "readings_per_slot_year": readings as f64 / (SIZE_DEVICES * 3) as f64,
        "raw_readings_per_slot_year": year,
    })
}

/// An ingest row on `instances` of one service (sharing its database).
async fn ingest(instances: &[RunningService]) -> serde_json::Value {
    let store = instances[0].store();
    let now_ms = (time::OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000) as i64;
    let first = register(store, REGISTERED, now_ms).await;
    let base = instances[0].base_url();
    let mut tokens = Vec::new();
    for d in 0..LOADED {
        tokens.push(device_token(&base, &format!("BENCH-{d:03}")).await);
    }
    let which = format!(
        "(d.serial LIKE 'BENCH-%' OR d.id BETWEEN {first} AND {})",
        first + WITH_HISTORY - 1
    );
    let readings = thinned_year(store, &which, now_ms).await;
    let devices = scalar(store, "SELECT COUNT(*) FROM devices").await;
    let addresses: Vec<_> = instances.iter().map(RunningService::local_addr).collect();
    let health = throughput(&addresses, load::health()).await;
    let ingest = throughput(&addresses, load::slot_status(Arc::new(tokens))).await;
    serde_json::json!({
        "per_s": ingest,
        "baseline_per_s": health,
        "devices": devices,
        "readings": readings,
    })
}

#[tokio::main]
async fn main() {
    let dir = tempfile::tempdir().expect("temporary folder");
    let size = size(dir.path()).await;
    eprintln!("growth: size {size}");

    let service = refill_service::start(config(Database::File(dir.path().join("big.sqlite"))))
        .await
        .expect("the service starts");
    let sqlite = ingest(std::slice::from_ref(&service)).await;
    service.shutdown().await;
    eprintln!("growth: SQLite {sqlite}");

    let postgres = match std::env::var("REFILL_BENCH_POSTGRES") {
        Ok(server) if !server.is_empty() => {
            let database = common::new_postgres_database(server.trim_end_matches('/')).await;
            let mut instances = Vec::new();
            for _ in 0..2 {
                instances.push(
                    refill_service::start(config(database.clone()))
                        .await
                        .expect("the service starts on PostgreSQL"),
                );
            }
            let row = ingest(&instances).await;
            for instance in instances {
                instance.shutdown().await;
            }
            eprintln!("growth: PostgreSQL {row}");
            row
        }
        _ => serde_json::Value::Null,
    };
    println!(
        "{}",
        serde_json::json!({ "size": size, "sqlite": sqlite, "postgres": postgres })
    );
}
