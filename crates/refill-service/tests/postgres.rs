//! Several service instances on one PostgreSQL database: what the API acknowledged on one is seen
//! on the other, the one-open-order rule holds across them, and an event committed through one
//! reaches event streams open on the other (LISTEN/NOTIFY), not only at the next recheck.
//!
//! These need a PostgreSQL server, named by `REFILL_TEST_POSTGRES`: `cargo xtask test` starts
//! one of its own and runs them (with the rest of the service's tests on it); a plain
//! `cargo test` skips them.

mod common;

use common::{fresh, get_json, new_postgres_database, postgres_server, start_on, Sse};
use refill_wire::PressResult;

const BEANS: &str = "B0RFBEAN01";
const FILTERS: &str = "B0RFFILT04";

async fn press(http: &reqwest::Client, base: &str, asin: &str) -> PressResult {
    let res = http
        .post(format!("{base}/v1/buttons/{asin}/press"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    res.json().await.unwrap()
}

#[tokio::test]
#[ignore = "needs a PostgreSQL server: cargo xtask test starts one and sets REFILL_TEST_POSTGRES"]
async fn two_instances_share_orders_the_open_order_rule_and_the_event_stream() {
    let server = postgres_server().expect("REFILL_TEST_POSTGRES names no PostgreSQL server");
    let db = new_postgres_database(&server).await;
    let (_dir, clock) = fresh();
    let a = start_on(&db, clock.clone()).await;
    let b = start_on(&db, clock).await;
    let http = reqwest::Client::new();

    // The second instance found the first one's sandbox data and did not seed it again.
    let customers: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM customers")
        .fetch_one(b.store().pool())
        .await
        .unwrap();
    assert_eq!(customers, 1);

    // A stream on B, from the newest event on.
    let list = get_json(&http, &format!("{}/v1/events?after=0", b.base_url())).await;
    let newest = list["events"]
        .as_array()
        .unwrap()
        .last()
        .map_or(0, |e| e["id"].as_i64().unwrap());
    let mut stream = http
        .get(format!("{}/v1/events/stream", b.base_url()))
        .header("last-event-id", newest.to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(stream.status(), 200);
    // Within 5 s: well under the streams' own recheck (30 s), so only a notification (NOTIFY)
    // brings an event that soon.
    let mut events = Sse::new(&mut stream);

    // An order placed through A reaches the stream on B at once.
    let placed = press(&http, &a.base_url(), BEANS).await;
    let (id, kind) = events.next().await;
    assert_eq!(kind, "OrderPlaced");
    assert!(id > newest);
    let body = get_json(&http, &format!("{}/v1/events?after={newest}", b.base_url())).await;
    assert_eq!(
        body["events"][0]["body"]["eventInstanceId"],
        placed.event_instance_id
    );

    // B sees the order A acknowledged, and a press on B answers with it: one open order.
    let again = press(&http, &b.base_url(), BEANS).await;
    assert_eq!(again.event_instance_id, placed.event_instance_id);

    // Concurrent presses of another item, half through each instance: exactly one order.
    let mut calls = tokio::task::JoinSet::new();
    for i in 0..40 {
        let base = if i % 2 == 0 {
            a.base_url()
        } else {
            b.base_url()
        };
        let http = http.clone();
        calls.spawn(async move { press(&http, &base, FILTERS).await.event_instance_id });
    }
    let ids = calls.join_all().await;
    assert!(ids.iter().all(|id| id == &ids[0]), "{ids:?}");
    let open: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM orders WHERE asin = $1 AND status IN ('placed', 'shipped')",
    )
    .bind(FILTERS)
    .fetch_one(a.store().pool())
    .await
    .unwrap();
    assert_eq!(open, 1);
    // The stream on B tells of it once, after the first order.
    let (next, kind) = events.next().await;
    assert_eq!(kind, "OrderPlaced");
    assert!(next > id);

    drop(events);
    a.shutdown().await;
    b.shutdown().await;
}
