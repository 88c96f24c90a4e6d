//! The service's HTTP API over real loopback HTTP and a real SQLite file.

use refill_core::Clock;
use refill_wire::{
    ButtonList, DetailCode, ErrorBody, ErrorCode, OrderState, OrderView, PressResult,
};
use time::macros::datetime;
use time::Duration;

const BEANS: &str = "B0RFBEAN01";

mod common;
use common::{database, db_argument, sandbox, start_on, Fixture};

impl Fixture {
    async fn buttons(&self) -> ButtonList {
        let res = self.http.get(self.url("/v1/buttons")).send().await.unwrap();
        assert_eq!(res.status(), 200);
        res.json().await.unwrap()
    }
    async fn press(&self, asin: &str) -> PressResult {
        let res = self
            .http
            .post(self.url(&format!("/v1/buttons/{asin}/press")))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
        res.json().await.unwrap()
    }
    async fn open_orders(&self, asin: &str) -> i64 {
        sqlx::query_scalar(
            "SELECT COUNT(*) FROM orders WHERE asin = $1 AND status IN ('placed','shipped')",
        )
        .bind(asin)
        .fetch_one(self.service.store().pool())
        .await
        .unwrap()
    }

    /// Sends `method path` and expects an error answer with `status`.
    async fn error(&self, method: reqwest::Method, path: &str, status: u16) -> ErrorBody {
        let res = self
            .http
            .request(method, self.url(path))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status().as_u16(), status, "{path}");
        res.json().await.unwrap()
    }
}

impl Fixture {
    /// Gives the slot holding `asin` this stock and forecast use, as its last report did now.
    async fn stock(&self, asin: &str, remaining: f64, on_hand: f64, rate: f64) {
        let now = self.clock.now().unix_timestamp() * 1000;
        let done = sqlx::query(
            "INSERT INTO slot_inventory (device_id, slot_id, remaining, on_hand, forecast_rate, \
                 last_report_ms) \
             SELECT device_id, slot_id, $2, $3, $4, $5 FROM device_slots WHERE asin = $1 \
             ON CONFLICT (device_id, slot_id) DO UPDATE SET remaining = excluded.remaining, \
                 on_hand = excluded.on_hand, forecast_rate = excluded.forecast_rate, \
                 last_report_ms = excluded.last_report_ms",
        )
        .bind(asin)
        .bind(remaining)
        .bind(on_hand)
        .bind(rate)
        .bind(now)
        .execute(self.service.store().pool())
        .await
        .unwrap();
        assert_eq!(done.rows_affected(), 1, "{asin} fills one slot");
    }

    async fn asins(&self) -> Vec<String> {
        self.buttons()
            .await
            .tiles
            .into_iter()
            .map(|t| t.asin)
            .collect()
    }
}

#[tokio::test]
async fn the_grid_ranks_buttons_by_need_and_a_tap_does_not_move_one() {
    let f = sandbox().await;
    // Nothing known of their use yet: most recently ordered first.
    assert_eq!(
        f.asins().await,
        [
            BEANS,
            "B0RFDTRG30",
            "B0RFINKCY1",
            "B0RFINKBK1",
            "B0RFFILT04",
            "B0RFWATR02"
        ]
    );
    // Beans run out in 3 days, detergent in 10, cyan ink in 15 counting the cartridges at home;
    // the water filter lasts 100 days: beyond a month, so it ranks by its last order.
    f.stock(BEANS, 300.0, 0.0, 100.0).await;
    f.stock("B0RFDTRG30", 20.0, 0.0, 2.0).await;
    f.stock("B0RFINKCY1", 5.0, 10.0, 1.0).await;
    f.stock("B0RFWATR02", 1.0, 0.0, 0.01).await;
    f.stock("B0RFINKBK1", 60.0, 0.0, 1.0).await;
    assert_eq!(
        f.asins().await,
        [
            BEANS,
            "B0RFDTRG30",
            "B0RFINKCY1",
            "B0RFINKBK1",
            "B0RFFILT04",
            "B0RFWATR02"
        ],
        "black ink: 60 days, by its last order"
    );
    f.stock("B0RFINKBK1", 6.0, 0.0, 1.0).await;
    assert_eq!(
        f.asins().await,
        [
            BEANS,
            "B0RFINKBK1",
            "B0RFDTRG30",
            "B0RFINKCY1",
            "B0RFFILT04",
            "B0RFWATR02"
        ],
        "black ink: 6 days"
    );
    let grid = f.buttons().await;
    assert_eq!(
        grid.tiles[0].runs_out,
        Some(f.clock.now() + Duration::days(3))
    );
    assert_eq!(
        grid.tiles[5].runs_out,
        Some(f.clock.now() + Duration::days(100))
    );
    assert_eq!(
        grid.tiles[4].runs_out, None,
        "no slot of the filters has reported"
    );
    assert!(grid.tiles.iter().all(|t| !t.ran_out), "none is empty");
    // An order on its way does not move the tile that was tapped.
    f.press("B0RFDTRG30").await;
    assert_eq!(f.asins().await[2], "B0RFDTRG30");
    // Black ink reported empty with none at home: it ran out, not "probably"; cyan ink's
    // cartridge is empty but two more are at home.
    f.stock("B0RFINKBK1", 0.0, 0.0, 1.0).await;
    f.stock("B0RFINKCY1", 0.0, 10.0, 1.0).await;
    let grid = f.buttons().await;
    let tile = |asin: &str| grid.tiles.iter().find(|t| t.asin == asin).unwrap().clone();
    assert!(tile("B0RFINKBK1").ran_out);
    assert_eq!(tile("B0RFINKBK1").days_left, Some(0.0));
    assert!(!tile("B0RFINKCY1").ran_out);
}

#[tokio::test]
async fn sandbox_grid_shows_recent_items_with_their_prices_and_pictures() {
    let f = sandbox().await;
    let grid = f.buttons().await;
    let asins: Vec<_> = grid.tiles.iter().map(|t| t.asin.as_str()).collect();
    assert_eq!(asins.len(), 6);
    let beans = &grid.tiles[0];
    assert_eq!(beans.price.amount_minor, 1899);
    assert_eq!(beans.price.currency, "USD");
    assert_eq!(beans.pack.value, 1000.0);
    assert_eq!(
        beans.last_ordered_at,
        Some(datetime!(2026-11-10 09:00 UTC)),
        "the latest of two orders"
    );
    assert!(beans.open_order.is_none());
    let image = beans.image_url.as_deref().unwrap();
    assert_eq!(
        image, "/v1/catalog/images/beans.svg",
        "a path on this service"
    );
    let svg = f.http.get(f.url(image)).send().await.unwrap();
    assert_eq!(svg.headers()["content-type"], "image/svg+xml");
    assert!(
        grid.tiles[5].image_url.is_none(),
        "the water filter has no picture: the UI shows a placeholder"
    );
}

#[tokio::test]
async fn a_press_places_exactly_one_order_and_a_second_press_returns_it() {
    let f = sandbox().await;
    let first = f.press(BEANS).await;
    assert_eq!(first.detail_code, DetailCode::StandardOrderPlaced);
    assert_eq!(first.order.status, OrderState::Placed);
    assert_eq!(
        first.order.expected_delivery,
        datetime!(2026-11-24 09:00 UTC)
    );
    assert_eq!(
        first.order.cancellable_until,
        Some(datetime!(2026-11-23 09:00 UTC))
    );
    assert_eq!(f.open_orders(BEANS).await, 1);

    let second = f.press(BEANS).await;
    assert_eq!(second.detail_code, DetailCode::OrderInProgress);
    assert_eq!(second.event_instance_id, first.event_instance_id);
    assert_eq!(f.open_orders(BEANS).await, 1);

    let tile = f
        .buttons()
        .await
        .tiles
        .into_iter()
        .find(|t| t.asin == BEANS)
        .unwrap();
    assert_eq!(
        tile.open_order.unwrap().event_instance_id,
        first.event_instance_id
    );
    assert_eq!(tile.last_ordered_at, Some(datetime!(2026-11-22 09:00 UTC)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_presses_place_one_order() {
    let f = sandbox().await;
    let url = f.url("/v1/buttons/B0RFFILT04/press");
    let tasks: Vec<_> = (0..16)
        .map(|_| {
            let (http, url) = (f.http.clone(), url.clone());
            tokio::spawn(async move {
                let res = http.post(url).send().await.unwrap();
                assert_eq!(res.status(), 200);
                res.json::<PressResult>().await.unwrap()
            })
        })
        .collect();
    let mut results = Vec::new();
    for task in tasks {
        results.push(task.await.unwrap());
    }
    let placed = results
        .iter()
        .filter(|r| r.detail_code == DetailCode::StandardOrderPlaced)
        .count();
    assert_eq!(placed, 1, "exactly one press places the order");
    let ids: std::collections::HashSet<_> = results
        .iter()
        .map(|r| r.event_instance_id.clone())
        .collect();
    assert_eq!(ids.len(), 1, "every press answers with the same order");
    assert_eq!(f.open_orders("B0RFFILT04").await, 1);
}

#[tokio::test]
async fn cancel_works_inside_the_window_and_is_refused_after_it() {
    let f = sandbox().await;
    let placed = f.press(BEANS).await;
    let cancel_url = f.url(&format!("/v1/orders/{}/cancel", placed.event_instance_id));

    let res = f.http.post(&cancel_url).send().await.unwrap();
    assert_eq!(res.status(), 200);
    let cancelled: OrderView = res.json().await.unwrap();
    assert_eq!(cancelled.status, OrderState::Cancelled);
    assert_eq!(cancelled.cancellable_until, None);
    assert_eq!(f.open_orders(BEANS).await, 0);
    // Cancelling again is harmless and answers with the same cancelled order.
    let again: OrderView = f
        .http
        .post(&cancel_url)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(again.status, OrderState::Cancelled);

    // The tile has no open order again, and its last-ordered date ignores the cancelled order.
    let tile = f
        .buttons()
        .await
        .tiles
        .into_iter()
        .find(|t| t.asin == BEANS)
        .unwrap();
    assert!(tile.open_order.is_none());
    assert_eq!(tile.last_ordered_at, Some(datetime!(2026-11-10 09:00 UTC)));

    // A new press after a cancel places a new order; once the window has passed it can't be cancelled.
    let second = f.press(BEANS).await;
    assert_eq!(second.detail_code, DetailCode::StandardOrderPlaced);
    assert_ne!(second.event_instance_id, placed.event_instance_id);
    f.clock.advance(Duration::hours(24));
    let path = format!("/v1/orders/{}/cancel", second.event_instance_id);
    let err = f.error(reqwest::Method::POST, &path, 409).await;
    assert_eq!(err.code, ErrorCode::OrderNotCancellable);
    assert!(
        err.message.contains("can no longer be cancelled"),
        "{}",
        err.message
    );
    assert_eq!(
        f.open_orders(BEANS).await,
        1,
        "the refused cancel changed nothing"
    );
}

#[tokio::test]
async fn bad_requests_get_4xx_with_a_message() {
    use reqwest::Method;
    let f = sandbox().await;
    let err = f
        .error(Method::POST, "/v1/buttons/not-an-asin/press", 400)
        .await;
    assert_eq!(err.code, ErrorCode::BadRequest);
    assert!(
        err.message.contains("10 letters or digits"),
        "{}",
        err.message
    );

    let err = f
        .error(Method::POST, "/v1/buttons/B0NOSUCH00/press", 404)
        .await;
    assert_eq!(err.code, ErrorCode::NotFound);
    assert!(err.message.contains("B0NOSUCH00"), "{}", err.message);

    let err = f.error(Method::POST, "/v1/orders/nope/cancel", 404).await;
    assert_eq!(err.code, ErrorCode::NotFound);
    let err = f.error(Method::GET, "/v1/nothing-here", 404).await;
    assert_eq!(err.code, ErrorCode::NotFound);
    let err = f.error(Method::DELETE, "/v1/buttons", 405).await;
    assert_eq!(err.code, ErrorCode::BadRequest);
    let err = f
        .error(Method::GET, "/v1/catalog/images/../../etc/passwd", 404)
        .await;
    assert_eq!(err.code, ErrorCode::NotFound);
    assert_eq!(f.open_orders(BEANS).await, 0);
}

#[tokio::test]
async fn orders_survive_a_restart_and_the_sandbox_is_seeded_once() {
    let f = sandbox().await;
    let placed = f.press(BEANS).await;
    let Fixture {
        _dir,
        db,
        clock,
        service,
        http,
    } = f;
    service.shutdown().await;

    let service = start_on(&db, clock).await;
    let grid: ButtonList = http
        .get(format!("{}/v1/buttons", service.base_url()))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(grid.tiles.len(), 6, "no second copy of the sandbox data");
    let tile = grid.tiles.iter().find(|t| t.asin == BEANS).unwrap();
    assert_eq!(
        tile.open_order.as_ref().unwrap().event_instance_id,
        placed.event_instance_id
    );
    let customers: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM customers")
        .fetch_one(service.store().pool())
        .await
        .unwrap();
    assert_eq!(customers, 1);
}

/// An order acknowledged with 200 is on disk: killing the service process with SIGKILL right
/// after the answer loses nothing.
#[tokio::test]
async fn an_acknowledged_order_survives_kill_9() {
    let dir = tempfile::tempdir().unwrap();
    let db = database(dir.path(), "crash").await;
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_refill-service"))
        .args(["--sandbox", "--db", &db_argument(&db)])
        .args(["--listen", &format!("127.0.0.1:{port}")])
        .env("REFILL_LOG", "warn")
        .spawn()
        .unwrap();
    let http = reqwest::Client::new();
    let base = format!("http://127.0.0.1:{port}");
    let mut up = false;
    for _ in 0..200 {
        if http.get(format!("{base}/health")).send().await.is_ok() {
            up = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    assert!(up, "the service binary did not come up");
    let res = http
        .post(format!("{base}/v1/buttons/{BEANS}/press"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let placed: PressResult = res.json().await.unwrap();
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();

    let store = refill_service::Store::open(&db).await.unwrap();
    let status: String =
        sqlx::query_scalar("SELECT status FROM orders WHERE event_instance_id = $1")
            .bind(&placed.event_instance_id)
            .fetch_one(store.pool())
            .await
            .unwrap();
    assert_eq!(status, "placed");
}

#[tokio::test]
async fn the_order_list_is_newest_first_and_a_bad_limit_is_refused_in_words() {
    let f = sandbox().await;
    let placed = f.press(BEANS).await;
    let res = f
        .http
        .get(f.url("/v1/orders?limit=3"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let list: refill_wire::OrderList = res.json().await.unwrap();
    assert_eq!(list.orders.len(), 3, "the limit is kept");
    assert_eq!(list.orders[0].event_instance_id, placed.event_instance_id);
    assert!(list
        .orders
        .windows(2)
        .all(|w| w[0].placed_at >= w[1].placed_at));
    for bad in ["limit=0", "limit=501", "limit=many", "limit=3&page=2"] {
        let err = f
            .error(reqwest::Method::GET, &format!("/v1/orders?{bad}"), 400)
            .await;
        assert_eq!(
            err.message,
            "The order list takes one parameter, limit: a number from 1 to 500."
        );
    }
    // So do the events' parameters: found by checking the service against its description.
    for bad in ["after=-1", "after=x", "after=1&before=2"] {
        let err = f
            .error(reqwest::Method::GET, &format!("/v1/events?{bad}"), 400)
            .await;
        assert!(err.message.contains("after: an event id"), "{bad}");
    }
}
