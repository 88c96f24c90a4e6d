//! The storage layer: the service's database (SQLite or PostgreSQL, see [`db`]) and every rule
//! that must hold in it. An order the API has acknowledged is committed durably before the
//! answer leaves, and survives a crash or `kill -9`.
//!
//! This layer never imports the HTTP layer ([`crate::http`]): it takes and returns domain values
//! (a [`devices::CallingDevice`], a [`accounts::TokenGrant`], …) and says what went wrong with
//! [`StoreError`], which each API then says in its own words.
//!
//! * [`mod@self`]: opening the database, orders, buttons and events.
//! * [`accounts`]: customers, OAuth clients, authorization codes and tokens.
//! * [`devices`]: device registrations (who owns which device) and the DRS queries of a device.
//! * [`inventory`]: levels and sensor reports, with the reorder rule.
//! * [`fulfilment`]: moving orders along (shipped, delivered).
//! * [`webhooks`]: makers' webhooks and the durable outbox of their notifications.
//! * [`writer`]: the single writer that batches small transactions.
//!
//! Writes are serialised: SQLite's own write lock (`BEGIN IMMEDIATE`), or on PostgreSQL a
//! transaction-scoped advisory lock, which every instance sharing the database takes. So a
//! transaction that reads and then writes never races another instance, and events are committed
//! in the order of their ids (an event stream that has read up to id N never misses one below).

pub mod accounts;
pub mod db;
pub mod devices;
pub mod fulfilment;
pub mod handover;
pub mod inventory;
pub mod items;
pub mod levels;
pub mod manage;
pub mod models;
pub mod say;
pub mod screen;
#[cfg(feature = "hosted")]
pub mod webhooks;
mod writer;

use crate::store::db::{Backend, Database, DbConnection, DbPool, DbRow};
use crate::StartError;
use rand::distributions::Alphanumeric;
use rand::Rng;
use refill_core::{Currency, Money, OrderPolicy, OrderStatus, Quantity, Unit};
use refill_wire::{ButtonTile, DetailCode, MoneyView, OrderView, PressResult, QuantityView};
use sqlx::Row;
use std::collections::HashMap;
use std::time::Duration;
use time::OffsetDateTime;

/// Why a change to the data was not made: what the caller asked for does not exist or can no
/// longer be done (in words for the customer), or the database failed. The HTTP layer says each
/// in its API's own terms (see [`crate::http::error`]).
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// No such thing.
    #[error("{0}")]
    NotFound(String),
    /// The order can no longer be cancelled.
    #[error("{0}")]
    NotCancellable(String),
    /// The request can't be done as asked; the message says why.
    #[error("{0}")]
    Refused(String),
    /// The approval request was answered already, or expired.
    #[error("{0}")]
    ApprovalClosed(String),
    /// It clashes with where things are (an order that already arrived); the message says how.
    #[error("{0}")]
    Conflict(String),
    /// The database failed.
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
}

/// How far back an item must have been ordered to count as recent and get a button.
pub(crate) const RECENT: time::Duration = time::Duration::days(365);
/// The most buttons a grid shows.
const MAX_BUTTONS: usize = 24;
/// Buttons whose supply runs out within this time come first, soonest first.
const NEED_HORIZON: time::Duration = time::Duration::days(30);

/// Ranks `tiles` by need at `now`: those whose supply runs out within [`NEED_HORIZON`] first,
/// soonest first; then the others, most recently ordered first; then products tracked and never
/// ordered, by title. Orders on their way do not count, so that a tap does not move its tile.
/// At most [`MAX_BUTTONS`].
fn rank_by_need(mut tiles: Vec<ButtonTile>, now: OffsetDateTime) -> Vec<ButtonTile> {
    let horizon = now + NEED_HORIZON;
    tiles.sort_by(|a, b| {
        let need = |t: &ButtonTile| t.runs_out.filter(|at| *at <= horizon);
        match (need(a), need(b)) {
            (Some(x), Some(y)) => x.cmp(&y),
            (Some(_), None) => std::cmp::Ordering::Less,
            (None, Some(_)) => std::cmp::Ordering::Greater,
            (None, None) => b.last_ordered_at.cmp(&a.last_ordered_at),
        }
        .then_with(|| a.title.cmp(&b.title))
        .then_with(|| a.asin.cmp(&b.asin))
    });
    tiles.truncate(MAX_BUTTONS);
    tiles
}

/// A handle on the database; cheap to clone.
#[derive(Clone, Debug)]
pub struct Store {
    pool: DbPool,
    backend: Backend,
    /// Bumped after each commit that recorded events, so that event streams wake up.
    events: std::sync::Arc<tokio::sync::watch::Sender<u64>>,
    /// Set when the service begins to shut down: event streams end, so that it can.
    closing: std::sync::Arc<tokio::sync::watch::Sender<bool>>,
    /// Group commit for the hot writes (orders, reports).
    writer: crate::store::writer::Writer,
    /// Every password hash and check, a few at a time (see [`crate::auth::guard`]).
    pub(crate) passwords: crate::auth::guard::PasswordPool,
    /// Devices by access token digest, so that each DRS call need not look its token up.
    devices: std::sync::Arc<std::sync::Mutex<HashMap<String, CachedDevice>>>,
}

/// A device an access token was found to name.
#[derive(Debug, Clone)]
pub(crate) struct CachedDevice {
    pub(crate) device: crate::store::devices::CallingDevice,
    /// When the token expires (service clock).
    pub(crate) expires: OffsetDateTime,
    /// When it was looked up (real time): entries are trusted for [`DEVICE_CACHE_TTL`].
    pub(crate) found: std::time::Instant,
}

/// How long a token's device is trusted without looking again. Revoking a token, deregistering
/// or registering a device forgets every entry at once; this only bounds what another service
/// instance on a shared database changed.
pub(crate) const DEVICE_CACHE_TTL: Duration = Duration::from_secs(30);

/// The most tokens remembered.
const DEVICE_CACHE_MAX: usize = 20_000;

/// Opens the SQLite file at `path`: WAL, `synchronous = FULL`, foreign keys on, and a wait of up
/// to 10 s for the write lock.
async fn open_sqlite(path: &std::path::Path) -> Result<DbPool, sqlx::Error> {
    use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqliteSynchronous};
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(sqlx::Error::Io)?;
    }
    let options = SqliteConnectOptions::new()
        .filename(path)
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Full)
        .foreign_keys(true)
        .busy_timeout(Duration::from_secs(10));
    #[cfg(not(feature = "postgres"))]
    {
        sqlx::sqlite::SqlitePoolOptions::new()
            .max_connections(4)
            .connect_with(options)
            .await
    }
    #[cfg(feature = "postgres")]
    {
        // Through `Any`, which takes a URL: the settings the URL cannot carry are set on each
        // new connection.
        use sqlx::ConnectOptions;
        sqlx::any::install_default_drivers();
        let url = options.to_url_lossy();
        sqlx::any::AnyPoolOptions::new()
            .max_connections(4)
            .after_connect(|conn, _| {
                Box::pin(async move {
                    use sqlx::Executor;
                    conn.execute(
                        "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; \
                         PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 10000;",
                    )
                    .await?;
                    Ok(())
                })
            })
            .connect_with(sqlx::any::AnyConnectOptions::from_url(&url)?)
            .await
    }
}

/// Connects to the PostgreSQL database at `url`.
#[cfg(feature = "postgres")]
async fn open_postgres(url: &str) -> Result<DbPool, sqlx::Error> {
    sqlx::any::install_default_drivers();
    sqlx::any::AnyPoolOptions::new()
        .max_connections(8)
        .acquire_timeout(Duration::from_secs(10))
        .connect(url)
        .await
}

/// Bumps `events` whenever any instance commits events to the PostgreSQL database at `url`
/// (the schema's trigger on `events` sends `NOTIFY refill_events`), for as long as the
/// service runs (until `closing`). After a lost connection the listener connects again and
/// bumps once, since a notification may have been missed meanwhile; event streams then read what
/// is new.
#[cfg(feature = "postgres")]
async fn listen_for_events(
    url: &str,
    events: std::sync::Arc<tokio::sync::watch::Sender<u64>>,
    mut closing: tokio::sync::watch::Receiver<bool>,
) -> Result<(), sqlx::Error> {
    let mut listener = sqlx::postgres::PgListener::connect(url).await?;
    listener.listen(EVENTS_CHANNEL).await?;
    tokio::spawn(async move {
        loop {
            let received = tokio::select! {
                received = listener.try_recv() => received,
                _ = closing.wait_for(|closing| *closing) => return,
            };
            events.send_modify(|n| *n = n.wrapping_add(1));
            if let Err(e) = received {
                tracing::warn!("lost the PostgreSQL event notifications, trying again: {e}");
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        }
    });
    Ok(())
}

/// The PostgreSQL channel committed events are announced on.
#[cfg(feature = "postgres")]
const EVENTS_CHANNEL: &str = "refill_events";

/// Takes PostgreSQL's write lock for the rest of the transaction on `conn`: an advisory lock that
/// every writer of every instance takes, so that writes are serialised as SQLite's are.
pub(crate) async fn lock_writes(conn: &mut DbConnection) -> Result<(), sqlx::Error> {
    /// The advisory lock's key: "refill" in ASCII.
    const WRITE_LOCK: i64 = 0x7265_6669_6c6c;
    sqlx::query("SELECT COUNT(*) FROM (SELECT pg_advisory_xact_lock($1)) AS locked")
        .bind(WRITE_LOCK)
        .execute(&mut *conn)
        .await
        .map(drop)
}

/// Milliseconds since the Unix epoch.
pub(crate) fn to_ms(t: OffsetDateTime) -> i64 {
    (t.unix_timestamp_nanos() / 1_000_000) as i64
}

/// The instant `ms` milliseconds after the Unix epoch.
pub(crate) fn from_ms(ms: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

/// A new order id in DRS's `eventInstanceId` style.
pub(crate) fn new_event_instance_id() -> String {
    let suffix: String = rand::thread_rng()
        .sample_iter(&Alphanumeric)
        .take(24)
        .map(char::from)
        .collect();
    format!("refill.v1.o.{suffix}")
}

/// An order to place: a button press, or a device's replenish call for one of its slots.
#[derive(Debug, Clone, Copy)]
pub struct NewOrder<'a> {
    /// Whose.
    pub customer: i64,
    /// What.
    pub asin: &'a str,
    /// The device and slot it refills, for a replenish call.
    pub device: Option<(i64, &'a str)>,
    /// A test order (the device was registered as a test device): not charged, not shipped.
    pub test: bool,
    /// Packs.
    pub quantity: u32,
    /// Pressed on a screened device: that device and the press's idempotency key.
    pub pressed_on: Option<(i64, &'a str)>,
}

/// A [`NewOrder`] that owns its text, to travel to the writer.
struct OwnedOrder {
    customer: i64,
    asin: String,
    device: Option<(i64, String)>,
    test: bool,
    quantity: u32,
    pressed_on: Option<(i64, String)>,
}

impl From<&NewOrder<'_>> for OwnedOrder {
    fn from(o: &NewOrder<'_>) -> Self {
        Self {
            customer: o.customer,
            asin: o.asin.to_owned(),
            device: o.device.map(|(d, s)| (d, s.to_owned())),
            test: o.test,
            quantity: o.quantity,
            pressed_on: o.pressed_on.map(|(d, k)| (d, k.to_owned())),
        }
    }
}

impl OwnedOrder {
    fn as_new(&self) -> NewOrder<'_> {
        NewOrder {
            customer: self.customer,
            asin: &self.asin,
            device: self.device.as_ref().map(|(d, s)| (*d, s.as_str())),
            test: self.test,
            quantity: self.quantity,
            pressed_on: self.pressed_on.as_ref().map(|(d, k)| (*d, k.as_str())),
        }
    }
}

/// One of the customer's orders, read on `conn` (inside a transaction, it sees its writes).
pub(crate) async fn order_in(
    conn: &mut DbConnection,
    customer: i64,
    event_instance_id: &str,
    now: OffsetDateTime,
) -> Result<Option<OrderView>, sqlx::Error> {
    let row = sqlx::query(&format!(
        "SELECT {ORDER_COLUMNS} FROM {ORDERS_FROM} \
         WHERE o.customer_id = $1 AND o.event_instance_id = $2"
    ))
    .bind(customer)
    .bind(event_instance_id)
    .fetch_optional(&mut *conn)
    .await?;
    row.map(|r| order_from_row(&r, now)).transpose()
}

/// The customer's open order for the item of `order`, or for its device slot.
pub(crate) async fn open_order_in(
    conn: &mut DbConnection,
    order: &NewOrder<'_>,
    now: OffsetDateTime,
) -> Result<Option<OrderView>, sqlx::Error> {
    let (device, slot) = order.device.unzip();
    let row = sqlx::query(&format!(
        "SELECT {ORDER_COLUMNS} FROM {ORDERS_FROM} \
         WHERE o.customer_id = $1 AND o.status IN ('placed', 'shipped') \
           AND (o.asin = $2 OR (o.device_id = $3 AND o.slot_id = $4))"
    ))
    .bind(order.customer)
    .bind(order.asin)
    .bind(device)
    .bind(slot)
    .fetch_optional(&mut *conn)
    .await?;
    row.map(|r| order_from_row(&r, now)).transpose()
}

/// Places `order` in the caller's transaction, with its `OrderPlaced` event, unless one is
/// open for its item or device slot (then that one, `ORDER_INPROGRESS`).
pub(crate) async fn place_in(
    conn: &mut DbConnection,
    order: &NewOrder<'_>,
    now: OffsetDateTime,
    policy: &OrderPolicy,
) -> Result<PressResult, StoreError> {
    let (pressed_on, press_key) = order.pressed_on.unzip();
    if let (Some(device), Some(key)) = (pressed_on, press_key) {
        // A press retried with its key: the order that press placed, as it is now.
        let placed: Option<String> = sqlx::query_scalar(
            "SELECT event_instance_id FROM orders WHERE pressed_on = $1 AND press_key = $2",
        )
        .bind(device)
        .bind(key)
        .fetch_optional(&mut *conn)
        .await?;
        if let Some(id) = placed {
            let placed = order_in(conn, order.customer, &id, now)
                .await?
                .ok_or_else(|| StoreError::Database(sqlx::Error::RowNotFound))?;
            return Ok(PressResult {
                detail_code: if order.test {
                    DetailCode::TestOrderPlaced
                } else {
                    DetailCode::StandardOrderPlaced
                },
                event_instance_id: id,
                order: placed,
            });
        }
    }
    let id = new_event_instance_id();
    let (device, slot) = order.device.unzip();
    let inserted = sqlx::query(concat!(
        "INSERT INTO orders (event_instance_id, customer_id, asin, device_id, slot_id, kind, \
             source, status, quantity, price_minor, currency, placed_at_ms, \
             expected_delivery_ms, cancellable_until_ms, updated_at_ms, pressed_on, press_key, \
             handover) \
         SELECT $1, $2, asin, $7, $8, $9, $10, 'placed', $11, price_minor * $11, currency, \
                $3, $4, $5, $3, $12, $13, \
                CASE WHEN $9 = 'test' THEN NULL ELSE ",
        handover::handover_of_customer!(),
        " END \
         FROM products WHERE asin = $6 \
         ON CONFLICT DO NOTHING \
         RETURNING handover"
    ))
    .bind(&id)
    .bind(order.customer)
    .bind(to_ms(now))
    .bind(to_ms(policy.expected_delivery(now)))
    .bind(to_ms(policy.cancellable_until(now)))
    .bind(order.asin)
    .bind(device)
    .bind(slot)
    .bind(if order.test { "test" } else { "standard" })
    .bind(if device.is_some() {
        "replenish"
    } else {
        "button"
    })
    .bind(i64::from(order.quantity.max(1)))
    .bind(pressed_on)
    .bind(press_key)
    .bind(handover::default_method(policy.handover))
    .fetch_optional(&mut *conn)
    .await;
    let asin = order.asin;
    // Nothing inserted: an order is open for the item or the slot (the unique indexes; no error,
    // so that the transaction goes on, as PostgreSQL's would not after one), or no such product.
    let Some(inserted) = inserted? else {
        return match open_order_in(conn, order, now).await? {
            Some(open) => Ok(PressResult {
                detail_code: DetailCode::OrderInProgress,
                event_instance_id: open.event_instance_id.clone(),
                order: open,
            }),
            None => Err(StoreError::NotFound(format!(
                "There is no product {asin} in the catalog."
            ))),
        };
    };
    let detail_code = if order.test {
        DetailCode::TestOrderPlaced
    } else {
        DetailCode::StandardOrderPlaced
    };
    let method: Option<String> = inserted.try_get("handover")?;
    handover::queue_in(conn, &id, method.as_deref()).await?;
    let placed = order_in(conn, order.customer, &id, now)
        .await?
        .ok_or_else(|| StoreError::Database(sqlx::Error::RowNotFound))?;
    let body = serde_json::json!({
        "eventInstanceId": id,
        "asin": asin,
        "title": placed.title,
        "slotId": slot,
        "quantity": order.quantity.max(1),
        "test": order.test,
        "expectedDelivery": policy
            .expected_delivery(now)
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap_or_default(),
        "cancellableUntil": placed.cancellable_until.map(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .unwrap_or_default()
        }),
    });
    crate::store::inventory::record_event(conn, order.customer, device, "OrderPlaced", &body, now)
        .await?;
    Ok(PressResult {
        detail_code,
        event_instance_id: id,
        order: placed,
    })
}

/// The columns an [`OrderView`] is built from (orders `o` joined with products `p`).
const ORDER_COLUMNS: &str = "o.event_instance_id, o.asin, p.title, o.status, o.quantity, \
     o.price_minor, o.currency, o.placed_at_ms, o.expected_delivery_ms, o.cancellable_until_ms, \
     o.shipped_at_ms, o.delivered_at_ms, o.handover, h.target AS handover_to, \
     h.sent_at_ms AS handover_sent_ms, h.failed_at_ms AS handover_failed_ms, \
     h.last_error AS handover_error";

/// The tables [`ORDER_COLUMNS`] reads: orders `o`, their products `p` and hand-overs `h`.
const ORDERS_FROM: &str = "orders o JOIN products p ON p.asin = o.asin \
     LEFT JOIN order_handovers h ON h.order_id = o.id";

fn order_from_row(row: &DbRow, now: OffsetDateTime) -> Result<OrderView, sqlx::Error> {
    let status_text: String = row.try_get("status")?;
    let status = OrderStatus::parse(&status_text).ok_or_else(|| corrupt("status", &status_text))?;
    let currency_text: String = row.try_get("currency")?;
    let currency =
        Currency::parse(&currency_text).ok_or_else(|| corrupt("currency", &currency_text))?;
    let until = from_ms(row.try_get("cancellable_until_ms")?);
    let quantity: i64 = row.try_get("quantity")?;
    Ok(OrderView {
        event_instance_id: row.try_get("event_instance_id")?,
        asin: row.try_get("asin")?,
        title: row.try_get("title")?,
        status: status.into(),
        quantity: u32::try_from(quantity).map_err(|_| corrupt("quantity", &quantity))?,
        price: Money::new(row.try_get("price_minor")?, currency).into(),
        placed_at: from_ms(row.try_get("placed_at_ms")?),
        expected_delivery: from_ms(row.try_get("expected_delivery_ms")?),
        cancellable_until: (status == OrderStatus::Placed && now < until).then_some(until),
        shipped_at: row.try_get::<Option<i64>, _>("shipped_at_ms")?.map(from_ms),
        delivered_at: row
            .try_get::<Option<i64>, _>("delivered_at_ms")?
            .map(from_ms),
        handover: handover::view_of(row)?,
    })
}

/// A product's price and pack, from its row's `price_minor`, `currency`, `pack_quantity` and
/// `unit`.
pub(crate) fn price_and_pack(row: &DbRow) -> Result<(MoneyView, QuantityView), sqlx::Error> {
    let unit_text: String = row.try_get("unit")?;
    let unit = Unit::parse(&unit_text).ok_or_else(|| corrupt("unit", &unit_text))?;
    let currency_text: String = row.try_get("currency")?;
    let currency =
        Currency::parse(&currency_text).ok_or_else(|| corrupt("currency", &currency_text))?;
    Ok((
        Money::new(row.try_get("price_minor")?, currency).into(),
        QuantityView::from(Quantity {
            value: row.try_get("pack_quantity")?,
            unit,
        }),
    ))
}

pub(crate) fn corrupt(column: &str, value: &dyn std::fmt::Display) -> sqlx::Error {
    sqlx::Error::Decode(format!("unexpected {column} '{value}' in the database").into())
}

impl Store {
    /// Claims the rows of an outbox that are due at `now`: `select` (binding `$1` to `now`)
    /// reads them and `update` (binding `$1` to `now + claim`, `$2` to each row's `key`) puts
    /// each off in the same transaction, so that another instance on the same database does not
    /// send it too. Sent or failed, its row is updated again; if this instance dies meanwhile,
    /// another sends it once the claim runs out (at least once).
    #[cfg(feature = "hosted")]
    pub(crate) async fn claim_due(
        &self,
        select: &str,
        update: &str,
        key: &str,
        now: OffsetDateTime,
        claim: time::Duration,
    ) -> Result<Vec<DbRow>, sqlx::Error> {
        let mut tx = self.write().await?;
        let rows = sqlx::query(select)
            .bind(to_ms(now))
            .fetch_all(&mut *tx)
            .await?;
        for row in &rows {
            sqlx::query(update)
                .bind(to_ms(now + claim))
                .bind(row.try_get::<i64, _>(key)?)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(rows)
    }
}

impl Store {
    /// Opens (creating a SQLite file and its folder if needed) the database and brings its
    /// schema up to date.
    pub async fn open(database: &Database) -> Result<Self, StartError> {
        let failed = |source| StartError::Database {
            database: database.to_string(),
            source,
        };
        let pool = match database {
            Database::File(path) => open_sqlite(path).await.map_err(failed)?,
            #[cfg(feature = "postgres")]
            Database::Postgres(url) => open_postgres(url).await.map_err(failed)?,
        };
        let backend = database.backend();
        let migrations = match backend {
            Backend::Sqlite => sqlx::migrate!("./migrations/sqlite"),
            // Only with the feature (the app's sandbox carries no PostgreSQL schema).
            #[cfg(feature = "postgres")]
            Backend::Postgres => sqlx::migrate!("./migrations/postgres"),
            #[cfg(not(feature = "postgres"))]
            Backend::Postgres => unreachable!("a PostgreSQL database needs the postgres feature"),
        };
        migrations
            .run(&pool)
            .await
            .map_err(|source| StartError::Migrate {
                database: database.to_string(),
                source,
            })?;
        let events = std::sync::Arc::new(tokio::sync::watch::channel(0).0);
        let closing = std::sync::Arc::new(tokio::sync::watch::channel(false).0);
        #[cfg(feature = "postgres")]
        if let Database::Postgres(url) = database {
            listen_for_events(url, events.clone(), closing.subscribe())
                .await
                .map_err(failed)?;
        }
        Ok(Self {
            writer: crate::store::writer::Writer::start(pool.clone(), backend, events.clone()),
            pool,
            backend,
            events,
            closing,
            passwords: crate::auth::guard::PasswordPool::default(),
            devices: std::sync::Arc::default(),
        })
    }

    /// Closes every connection.
    pub async fn close(&self) {
        self.begin_closing();
        self.writer.stop().await;
        self.pool.close().await;
    }

    /// A write transaction, holding the write lock from its start: SQLite's (`BEGIN IMMEDIATE`:
    /// a transaction that reads first and writes later would otherwise fail with "database is
    /// locked" when another writer committed in between), or PostgreSQL's [`lock_writes`].
    pub(crate) async fn write(
        &self,
    ) -> Result<sqlx::Transaction<'static, crate::store::db::Db>, sqlx::Error> {
        match self.backend {
            Backend::Sqlite => self.pool.begin_with("BEGIN IMMEDIATE").await,
            Backend::Postgres => {
                let mut tx = self.pool.begin().await?;
                lock_writes(&mut tx).await?;
                Ok(tx)
            }
        }
    }

    /// Which kind of database it is.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Runs `work` in the next group-committed transaction (see [`crate::writer`]); its answer
    /// once that transaction is durable.
    pub(crate) async fn batched<T, F>(&self, work: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: for<'c> FnOnce(
                &'c mut crate::store::db::DbConnection,
            )
                -> futures_util::future::BoxFuture<'c, Result<T, StoreError>>
            + Send
            + 'static,
    {
        self.writer.write(work).await
    }

    /// The device the token with `digest` names, if it was looked up lately and is valid at
    /// `now`.
    pub(crate) fn cached_device(
        &self,
        digest: &str,
        now: OffsetDateTime,
    ) -> Option<crate::store::devices::CallingDevice> {
        let cache = self.devices.lock().unwrap_or_else(|e| e.into_inner());
        cache
            .get(digest)
            .filter(|c| now < c.expires && c.found.elapsed() < DEVICE_CACHE_TTL)
            .map(|c| c.device.clone())
    }

    /// Remembers the device a token names.
    pub(crate) fn cache_device(&self, digest: String, entry: CachedDevice) {
        let mut cache = self.devices.lock().unwrap_or_else(|e| e.into_inner());
        if cache.len() >= DEVICE_CACHE_MAX {
            cache.clear();
        }
        cache.insert(digest, entry);
    }

    /// Forgets every token's device: after a revocation, a deregistration or a registration.
    pub(crate) fn forget_devices(&self) {
        self.devices
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clear();
    }

    /// Queues a slot report for the next group-committed transaction.
    pub(crate) async fn queue_report(
        &self,
        job: crate::store::inventory::ReportJob,
    ) -> Result<(), StoreError> {
        self.writer.report(job).await
    }

    /// Tells the event streams that events were committed.
    pub(crate) fn events_committed(&self) {
        self.events.send_modify(|n| *n = n.wrapping_add(1));
    }

    /// Ends the event streams (the service is shutting down: it waits for its open requests).
    pub(crate) fn begin_closing(&self) {
        self.closing.send_replace(true);
    }

    /// Becomes `true` when the service begins to shut down.
    pub(crate) fn closing(&self) -> tokio::sync::watch::Receiver<bool> {
        self.closing.subscribe()
    }

    /// Changes when events are committed: an event stream waits on it between reads.
    pub fn event_signal(&self) -> tokio::sync::watch::Receiver<u64> {
        self.events.subscribe()
    }

    /// The time of the latest level or event recorded (read from the newest rows, so it costs
    /// the same on any size of database), `None` on a new one.
    pub async fn latest_activity(&self) -> Result<Option<OffsetDateTime>, sqlx::Error> {
        let ms: Option<i64> = sqlx::query_scalar(
            "SELECT MAX(at_ms) FROM ( \
                 SELECT at_ms FROM (SELECT at_ms FROM slot_levels ORDER BY id DESC LIMIT 100) l \
                 UNION ALL \
                 SELECT created_at_ms FROM (SELECT created_at_ms FROM events \
                                            ORDER BY id DESC LIMIT 1) e) t",
        )
        .fetch_one(&self.pool)
        .await?;
        Ok(ms.map(from_ms))
    }

    /// The connection pool, for the sandbox seed and for tests that inspect the database.
    pub fn pool(&self) -> &DbPool {
        &self.pool
    }

    /// The customer an anonymous caller on loopback acts for (a sandbox on this computer): the
    /// service's first customer whose account was not deleted.
    pub async fn default_customer(&self) -> Result<Option<i64>, sqlx::Error> {
        sqlx::query_scalar(
            "SELECT id FROM customers WHERE email NOT LIKE 'deleted-%@deleted.invalid' \
             ORDER BY id LIMIT 1",
        )
        .fetch_optional(&self.pool)
        .await
    }

    /// The customer's virtual Dash buttons: one per item ordered in the last year or tracked in
    /// their "At home" list, each with its open order if any, ranked by need (see
    /// [`rank_by_need`]).
    pub async fn buttons(
        &self,
        customer: i64,
        now: OffsetDateTime,
    ) -> Result<Vec<ButtonTile>, sqlx::Error> {
        const TRACKED: &str = "SELECT ds.asin FROM device_models m \
             JOIN devices d ON d.model_id = m.model_id \
             JOIN device_slots ds ON ds.device_id = d.id \
             WHERE m.home_of = $1 AND d.deregistered_at_ms IS NULL";
        let rows = sqlx::query(&format!(
            "SELECT p.asin, p.title, p.pack_quantity, p.unit, p.price_minor, p.currency, \
                    p.image_path, \
                    MAX(CASE WHEN o.status != 'cancelled' THEN o.placed_at_ms END) AS last_ms \
             FROM products p \
             LEFT JOIN orders o ON o.asin = p.asin AND o.customer_id = $1 \
             WHERE o.id IS NOT NULL OR p.asin IN ({TRACKED}) \
             GROUP BY p.asin, p.title, p.pack_quantity, p.unit, p.price_minor, p.currency, \
                      p.image_path \
             HAVING MAX(o.placed_at_ms) >= $2 OR p.asin IN ({TRACKED})"
        ))
        .bind(customer)
        .bind(to_ms(now - RECENT))
        .fetch_all(&self.pool)
        .await?;
        let mut open = self.open_orders(customer, now).await?;
        let mut runs_out = self.runs_out_by_asin(customer).await?;
        let tiles = rows
            .iter()
            .map(|row| {
                let asin: String = row.try_get("asin")?;
                let (price, pack) = price_and_pack(row)?;
                let image: Option<String> = row.try_get("image_path")?;
                let last: Option<i64> = row.try_get("last_ms")?;
                let supply = runs_out.remove(&asin);
                let runs_out = supply.map(|s| s.at);
                Ok(ButtonTile {
                    open_order: open.remove(&asin),
                    days_left: runs_out.map(|at| (at - now).as_seconds_f64() / 86_400.0),
                    runs_out,
                    ran_out: supply.is_some_and(|s| s.empty),
                    asin,
                    title: row.try_get("title")?,
                    image_url: image,
                    price,
                    pack,
                    last_ordered_at: last.map(from_ms),
                })
            })
            .collect::<Result<Vec<_>, sqlx::Error>>()?;
        Ok(rank_by_need(tiles, now))
    }

    /// When each product the customer's slots hold runs out at the slot's forecast use,
    /// counting the packs at home (the soonest slot's, per product), and whether it has.
    async fn runs_out_by_asin(
        &self,
        customer: i64,
    ) -> Result<HashMap<String, Supply>, sqlx::Error> {
        let rows = sqlx::query(
            "SELECT ds.asin, i.last_report_ms, i.remaining, i.on_hand, i.forecast_rate, \
                    s.capacity \
             FROM devices d JOIN device_slots ds ON ds.device_id = d.id \
             JOIN slots s ON s.model_id = d.model_id AND s.slot_id = ds.slot_id \
             JOIN slot_inventory i ON i.device_id = d.id AND i.slot_id = ds.slot_id \
             WHERE d.customer_id = $1 AND d.deregistered_at_ms IS NULL \
               AND ds.asin IS NOT NULL AND i.remaining IS NOT NULL \
               AND i.last_report_ms IS NOT NULL AND i.forecast_rate > 0",
        )
        .bind(customer)
        .fetch_all(&self.pool)
        .await?;
        let mut soonest: HashMap<String, Supply> = HashMap::new();
        for row in rows {
            let left = row.try_get::<f64, _>("remaining")? + row.try_get::<f64, _>("on_hand")?;
            let days = left / row.try_get::<f64, _>("forecast_rate")?;
            // Beyond ten years is not in sight.
            if !(0.0..3650.0).contains(&days) {
                continue;
            }
            let at = from_ms(row.try_get("last_report_ms")?)
                + time::Duration::seconds_f64(days * 86_400.0);
            let capacity: f64 = row.try_get("capacity")?;
            let supply = Supply {
                at,
                empty: left <= (capacity * refill_core::forecast::EMPTY_SHARE).max(1e-9),
            };
            let entry = soonest.entry(row.try_get("asin")?).or_insert(supply);
            if supply.at < entry.at {
                *entry = supply;
            }
        }
        Ok(soonest)
    }

    pub(crate) async fn open_orders(
        &self,
        customer: i64,
        now: OffsetDateTime,
    ) -> Result<HashMap<String, OrderView>, sqlx::Error> {
        let rows = sqlx::query(&format!(
            "SELECT {ORDER_COLUMNS} FROM {ORDERS_FROM} \
             WHERE o.customer_id = $1 AND o.status IN ('placed', 'shipped')"
        ))
        .bind(customer)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| order_from_row(row, now).map(|o| (o.asin.clone(), o)))
            .collect()
    }

    /// The customer's `limit` latest orders, newest first.
    pub async fn orders(
        &self,
        customer: i64,
        limit: u32,
        now: OffsetDateTime,
    ) -> Result<Vec<OrderView>, sqlx::Error> {
        let rows = sqlx::query(&format!(
            "SELECT {ORDER_COLUMNS} FROM {ORDERS_FROM} \
             WHERE o.customer_id = $1 ORDER BY o.placed_at_ms DESC, o.id DESC LIMIT $2"
        ))
        .bind(customer)
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(|row| order_from_row(row, now)).collect()
    }

    /// One of the customer's orders.
    pub async fn order(
        &self,
        customer: i64,
        event_instance_id: &str,
        now: OffsetDateTime,
    ) -> Result<Option<OrderView>, sqlx::Error> {
        let mut conn = self.pool.acquire().await?;
        order_in(&mut conn, customer, event_instance_id, now).await
    }

    /// Orders one pack of `asin` for the customer (a button press), unless an order for it is
    /// already open, in which case that order is returned with `ORDER_INPROGRESS`. When this
    /// returns, the order is on disk.
    pub async fn press(
        &self,
        customer: i64,
        asin: &str,
        now: OffsetDateTime,
        policy: &OrderPolicy,
    ) -> Result<PressResult, StoreError> {
        let order = NewOrder {
            customer,
            asin,
            device: None,
            test: false,
            quantity: 1,
            pressed_on: None,
        };
        self.place_order(&order, now, policy).await
    }

    /// Places `order` unless one is already open for its item or its device slot (then that
    /// one is returned with `ORDER_INPROGRESS`). The database's unique indexes decide, so
    /// concurrent calls place one order. When this returns, the order is on disk (its write was
    /// group-committed with the others that came in meanwhile).
    pub async fn place_order(
        &self,
        order: &NewOrder<'_>,
        now: OffsetDateTime,
        policy: &OrderPolicy,
    ) -> Result<PressResult, StoreError> {
        let owned = OwnedOrder::from(order);
        let policy = *policy;
        self.batched(move |conn| {
            Box::pin(async move { place_in(conn, &owned.as_new(), now, &policy).await })
        })
        .await
    }

    /// Cancels one of the customer's orders while its cancellation window is open. Cancelling an
    /// order that is already cancelled answers with it unchanged.
    pub async fn cancel(
        &self,
        customer: i64,
        event_instance_id: &str,
        now: OffsetDateTime,
    ) -> Result<OrderView, StoreError> {
        let mut tx = self.write().await?;
        let cancelled = sqlx::query(&format!(
            "UPDATE orders SET status = 'cancelled', updated_at_ms = $1 \
             WHERE customer_id = $2 AND event_instance_id = $3 \
               AND status = 'placed' AND cancellable_until_ms > $1 \
             RETURNING {}",
            manage::CANCELLED
        ))
        .bind(to_ms(now))
        .bind(customer)
        .bind(event_instance_id)
        .fetch_optional(&mut *tx)
        .await?;
        if let Some(row) = cancelled {
            manage::record_cancelled(&mut tx, customer, &row, manage::CancelledBy::Customer, now)
                .await?;
        }
        tx.commit().await?;
        self.events_committed();
        let order = self
            .order(customer, event_instance_id, now)
            .await?
            .ok_or_else(|| {
                StoreError::NotFound(format!("There is no order {event_instance_id}."))
            })?;
        use refill_wire::OrderState;
        match order.status {
            OrderState::Cancelled => Ok(order),
            OrderState::Placed => Err(StoreError::NotCancellable(format!(
                "This order can no longer be cancelled: the time to cancel it has passed. \
                 It arrives by {}.",
                order.expected_delivery.date()
            ))),
            OrderState::Shipped | OrderState::Delivered => Err(StoreError::NotCancellable(
                "This order can no longer be cancelled: it has already shipped.".to_owned(),
            )),
        }
    }
}

/// How long a product's supply at a customer's lasts: when it runs out at its forecast use,
/// and whether a slot holding it reported empty with nothing at home.
#[derive(Debug, Clone, Copy)]
struct Supply {
    at: OffsetDateTime,
    empty: bool,
}
