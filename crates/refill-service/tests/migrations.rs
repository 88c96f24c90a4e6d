//! Databases made by earlier versions of Refill open in this one with nothing lost.

use refill_service::{Database, Store};
use sqlx::sqlite::SqliteConnectOptions;

/// A SQLite database from before a row of `devices` became one registration (schema version 4,
/// where a model and serial were unique) keeps its devices, their ids and the orders that point
/// at them; the new rule is in force afterwards: one current registration per device, any
/// number of earlier ones.
#[tokio::test]
async fn a_sqlite_database_from_before_registrations_keeps_its_devices_and_orders() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("v4.sqlite");
    let options = SqliteConnectOptions::new()
        .filename(&path)
        .create_if_missing(true)
        .foreign_keys(true);
    let pool = sqlx::SqlitePool::connect_with(options).await.unwrap();
    let mut old = sqlx::migrate!("./migrations/sqlite");
    old.migrations = old
        .migrations
        .iter()
        .filter(|m| m.version <= 4)
        .cloned()
        .collect::<Vec<_>>()
        .into();
    old.run(&pool).await.unwrap();
    sqlx::raw_sql(
        "INSERT INTO customers (id, name, email, marketplace, currency) \
             VALUES (1, 'Alex', 'alex@example.test', 'US', 'USD'); \
         INSERT INTO products (asin, title, pack_quantity, unit, price_minor, currency) \
             VALUES ('B0OLDBEAN1', 'Beans', 1000, 'g', 1299, 'USD'); \
         INSERT INTO device_models (model_id, name) VALUES ('Old-1', 'Old brewer'); \
         INSERT INTO slots (model_id, slot_id, name, unit, capacity, position) \
             VALUES ('Old-1', 'beans', 'Beans', 'g', 1000, 0); \
         INSERT INTO devices (id, customer_id, model_id, serial, name, is_test, \
                              registered_at_ms, deregistered_at_ms, client_id) \
             VALUES (7, 1, 'Old-1', 'S-1', 'Old brewer', 0, 1000, NULL, 'refill-app'), \
                    (9, 1, 'Old-1', 'S-2', 'Old brewer', 1, 2000, 3000, 'refill-app'); \
         INSERT INTO device_slots (device_id, slot_id, asin) VALUES (7, 'beans', 'B0OLDBEAN1'); \
         INSERT INTO orders (event_instance_id, customer_id, asin, device_id, slot_id, kind, \
                             source, status, quantity, price_minor, currency, placed_at_ms, \
                             expected_delivery_ms, cancellable_until_ms, updated_at_ms) \
             VALUES ('amzn1.old.1', 1, 'B0OLDBEAN1', 7, 'beans', 'standard', 'replenish', \
                     'placed', 1, 1299, 'USD', 1000, 2000, 1500, 1000);",
    )
    .execute(&pool)
    .await
    .unwrap();
    pool.close().await;

    let store = Store::open(&Database::File(path)).await.unwrap();
    let devices: Vec<(i64, String, Option<i64>)> =
        sqlx::query_as("SELECT id, serial, deregistered_at_ms FROM devices ORDER BY id")
            .fetch_all(store.pool())
            .await
            .unwrap();
    assert_eq!(
        devices,
        vec![
            (7, "S-1".to_owned(), None),
            (9, "S-2".to_owned(), Some(3000))
        ]
    );
    let (device, slot): (Option<i64>, String) = sqlx::query_as(
        "SELECT o.device_id, ds.slot_id FROM orders o \
         JOIN device_slots ds ON ds.device_id = o.device_id WHERE o.event_instance_id = 'amzn1.old.1'",
    )
    .fetch_one(store.pool())
    .await
    .unwrap();
    assert_eq!((device, slot.as_str()), (Some(7), "beans"));
    let broken: Vec<(String,)> = sqlx::query_as("SELECT \"table\" FROM pragma_foreign_key_check")
        .fetch_all(store.pool())
        .await
        .unwrap();
    assert!(broken.is_empty(), "{broken:?}");

    // One current registration per device; earlier ones can be many.
    let insert = |serial: &'static str| {
        sqlx::query(
            "INSERT INTO devices (customer_id, model_id, serial, name) \
             VALUES (1, 'Old-1', $1, 'Old brewer')",
        )
        .bind(serial)
        .execute(store.pool())
    };
    assert!(insert("S-1").await.is_err(), "S-1 is registered already");
    insert("S-2").await.unwrap();
    store.close().await;
}
