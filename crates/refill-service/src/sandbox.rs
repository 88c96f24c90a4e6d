//! The sandbox's data: one customer, three device models from Refill's seed documents (a coffee
//! maker, a four-colour printer, a washing machine with auto-dosing), a catalog for their slots,
//! the customer's devices, and a short order history so that the app has recent items to show.
//!
//! Seeding happens once, into a new database; history dates are relative to the clock at that
//! moment.

use crate::store::to_ms;
use refill_core::{Asin, Currency, DeviceModel, Money, Quantity, SlotSpec, Unit};
use time::{Duration, OffsetDateTime};

/// The sandbox customer.
pub const CUSTOMER_NAME: &str = "Alex Sandbox";
/// The sandbox customer's email.
pub const CUSTOMER_EMAIL: &str = "alex@sandbox.refill.test";
/// The sandbox customer's password. A demo account on a local sandbox, not a secret.
pub const CUSTOMER_PASSWORD: &str = "refill-sandbox";

/// A catalog entry of the sandbox.
pub struct SeedProduct {
    /// ASIN.
    pub asin: &'static str,
    /// Title.
    pub title: &'static str,
    /// Pack size in the slot's unit.
    pub pack: f64,
    /// Unit.
    pub unit: Unit,
    /// Price in cents.
    pub price_cents: i64,
    /// Picture served by the service, if any.
    pub image: Option<&'static str>,
}

/// The sandbox catalog.
pub const PRODUCTS: &[SeedProduct] = &[
    SeedProduct {
        asin: "B0RFBEAN01",
        title: "Refill Roasters Whole Bean Coffee, Medium Roast, 1 kg",
        pack: 1000.0,
        unit: Unit::Gram,
        price_cents: 1899,
        image: Some("beans"),
    },
    SeedProduct {
        asin: "B0RFBEAN02",
        title: "Refill Roasters Whole Bean Coffee, Dark Roast, 500 g",
        pack: 500.0,
        unit: Unit::Gram,
        price_cents: 1149,
        image: Some("beans"),
    },
    SeedProduct {
        asin: "B0RFFILT04",
        title: "Cone Paper Coffee Filters No. 4, 100 count",
        pack: 100.0,
        unit: Unit::Count,
        price_cents: 449,
        image: Some("filters"),
    },
    SeedProduct {
        asin: "B0RFWATR02",
        title: "Charcoal Water Filter Cartridges, 2-pack",
        pack: 2.0,
        unit: Unit::Count,
        price_cents: 1299,
        image: None,
    },
    SeedProduct {
        asin: "B0RFINKBK1",
        title: "InkJet 4C XL Ink Cartridge, Black",
        pack: 22.0,
        unit: Unit::Millilitre,
        price_cents: 2999,
        image: Some("ink-black"),
    },
    SeedProduct {
        asin: "B0RFINKCY1",
        title: "InkJet 4C Ink Cartridge, Cyan",
        pack: 13.0,
        unit: Unit::Millilitre,
        price_cents: 1999,
        image: Some("ink-cyan"),
    },
    SeedProduct {
        asin: "B0RFINKMG1",
        title: "InkJet 4C Ink Cartridge, Magenta",
        pack: 13.0,
        unit: Unit::Millilitre,
        price_cents: 1999,
        image: Some("ink-magenta"),
    },
    SeedProduct {
        asin: "B0RFINKYL1",
        title: "InkJet 4C Ink Cartridge, Yellow",
        pack: 13.0,
        unit: Unit::Millilitre,
        price_cents: 1999,
        image: Some("ink-yellow"),
    },
    SeedProduct {
        asin: "B0RFDTRG30",
        title: "AutoDose Liquid Laundry Detergent, 2.95 l",
        pack: 2950.0,
        unit: Unit::Millilitre,
        price_cents: 1349,
        image: Some("detergent"),
    },
];

fn slot(id: &str, name: &str, unit: Unit, capacity: f64, compatible: &[&str]) -> SlotSpec {
    SlotSpec {
        slot_id: id.to_owned(),
        name: name.to_owned(),
        unit,
        capacity,
        compatible: compatible
            .iter()
            .filter_map(|a| Asin::parse(a).ok())
            .collect(),
    }
}

/// The sandbox's device models.
pub fn device_models() -> Vec<DeviceModel> {
    vec![
        DeviceModel {
            model_id: "RefillBrew-200".into(),
            name: "Brewmaster 200 coffee maker".into(),
            slots: vec![
                slot(
                    "brew-beans",
                    "Coffee beans",
                    Unit::Gram,
                    500.0,
                    &["B0RFBEAN01", "B0RFBEAN02"],
                ),
                slot(
                    "brew-filters",
                    "Paper filters",
                    Unit::Count,
                    100.0,
                    &["B0RFFILT04"],
                ),
                slot(
                    "brew-water-filter",
                    "Water filter",
                    Unit::Count,
                    1.0,
                    &["B0RFWATR02"],
                ),
            ],
        },
        DeviceModel {
            model_id: "RefillPrint-4C".into(),
            name: "InkJet 4C printer".into(),
            slots: vec![
                slot(
                    "ink-black",
                    "Black ink",
                    Unit::Millilitre,
                    22.0,
                    &["B0RFINKBK1"],
                ),
                slot(
                    "ink-cyan",
                    "Cyan ink",
                    Unit::Millilitre,
                    13.0,
                    &["B0RFINKCY1"],
                ),
                slot(
                    "ink-magenta",
                    "Magenta ink",
                    Unit::Millilitre,
                    13.0,
                    &["B0RFINKMG1"],
                ),
                slot(
                    "ink-yellow",
                    "Yellow ink",
                    Unit::Millilitre,
                    13.0,
                    &["B0RFINKYL1"],
                ),
            ],
        },
        DeviceModel {
            model_id: "RefillWash-9".into(),
            name: "AutoDose 9 washing machine".into(),
            slots: vec![slot(
                "wash-detergent",
                "Detergent",
                Unit::Millilitre,
                1500.0,
                &["B0RFDTRG30"],
            )],
        },
    ]
}

/// The sandbox's models of screened devices, which show the customer's buttons (scope
/// `refill:buttons`) rather than reorder by themselves: (model id, name). They have no slots.
pub const SCREEN_MODELS: &[(&str, &str)] = &[("RefillFridge-1", "FreshCool smart fridge")];

/// The serial of the sandbox customer's smart fridge (a screened device, linked at the start).
pub const FRIDGE_SERIAL: &str = "SANDBOX-FRIDGE";

/// The sandbox fridge's limits: ask the customer first, at most $50 a month.
const FRIDGE_MONTHLY_LIMIT_CENTS: i64 = 5000;

/// How many of the customer's recent items the sandbox fridge shows.
const FRIDGE_BUTTONS: usize = 6;

/// The customer's order history: (ASIN, days ago). All delivered.
pub const HISTORY: &[(&str, i64)] = &[
    ("B0RFWATR02", 75),
    ("B0RFFILT04", 60),
    ("B0RFBEAN01", 41),
    ("B0RFINKBK1", 33),
    ("B0RFINKCY1", 33),
    ("B0RFDTRG30", 19),
    ("B0RFBEAN01", 12),
];

/// Seeds the sandbox into an empty database, and makes sure the sandbox app can sign the sandbox
/// customer in (also in sandbox databases made before sign-in existed).
pub async fn seed(store: &crate::Store, now: OffsetDateTime) -> Result<(), sqlx::Error> {
    seed_data(store, now).await?;
    store
        .register_client(&crate::auth::sandbox_client())
        .await?;
    // Also into sandboxes made before there were screened devices.
    for (model, name) in SCREEN_MODELS {
        sqlx::query(
            "INSERT INTO device_models (model_id, name) VALUES ($1, $2) ON CONFLICT DO NOTHING",
        )
        .bind(model)
        .bind(name)
        .execute(store.pool())
        .await?;
    }
    seed_fridge(store, now).await?;
    let without_password: Option<i64> =
        sqlx::query_scalar("SELECT id FROM customers WHERE email = $1 AND password_hash IS NULL")
            .bind(CUSTOMER_EMAIL)
            .fetch_optional(store.pool())
            .await?;
    if let Some(id) = without_password {
        store
            .set_password(
                id,
                refill_core::Sensitive::new(CUSTOMER_PASSWORD.to_owned()),
            )
            .await?;
    }
    Ok(())
}

/// Links the sandbox customer's smart fridge, once (also in sandboxes made before there were
/// screened devices; not again once the customer removed it): its buttons are their recent
/// items, as its consent page would choose, and it asks the customer before it orders, up to
/// $50 a month.
async fn seed_fridge(store: &crate::Store, now: OffsetDateTime) -> Result<(), sqlx::Error> {
    let Some(customer): Option<i64> =
        sqlx::query_scalar("SELECT id FROM customers WHERE email = $1")
            .bind(CUSTOMER_EMAIL)
            .fetch_optional(store.pool())
            .await?
    else {
        return Ok(());
    };
    let (model, name) = SCREEN_MODELS[0];
    let seeded: Option<i64> =
        sqlx::query_scalar("SELECT id FROM devices WHERE model_id = $1 AND serial = $2")
            .bind(model)
            .bind(FRIDGE_SERIAL)
            .fetch_optional(store.pool())
            .await?;
    if seeded.is_some() {
        return Ok(());
    }
    let buttons: Vec<String> = store
        .button_choices(customer, now)
        .await?
        .into_iter()
        .filter(|c| c.recent)
        .take(FRIDGE_BUTTONS)
        .map(|c| c.asin)
        .collect();
    let mut tx = store.pool().begin().await?;
    let device: i64 = sqlx::query_scalar(
        "INSERT INTO devices (customer_id, model_id, serial, name, is_test, registered_at_ms, \
             client_id) VALUES ($1, $2, $3, $4, 0, $5, $6) RETURNING id",
    )
    .bind(customer)
    .bind(model)
    .bind(FRIDGE_SERIAL)
    .bind(name)
    .bind(crate::store::to_ms(now))
    .bind(crate::auth::SANDBOX_CLIENT_ID)
    .fetch_one(&mut *tx)
    .await?;
    crate::store::screen::set_buttons(&mut tx, device, &buttons).await?;
    sqlx::query(
        "INSERT INTO device_limits (device_id, per_order_minor, per_month_minor, ask_first) \
         VALUES ($1, NULL, $2, 1)",
    )
    .bind(device)
    .bind(FRIDGE_MONTHLY_LIMIT_CENTS)
    .execute(&mut *tx)
    .await?;
    tx.commit().await
}

/// A new buttons token (scope `refill:buttons`) for the sandbox fridge, valid for `lifetime`,
/// as its simulated screen holds one; `None` once the customer removed the fridge (then it has
/// nothing to show).
pub async fn fridge_token(
    store: &crate::Store,
    now: OffsetDateTime,
    lifetime: time::Duration,
) -> Result<Option<(String, OffsetDateTime)>, sqlx::Error> {
    let (model, _) = SCREEN_MODELS[0];
    let linked: Option<i64> = sqlx::query_scalar(
        "SELECT id FROM devices WHERE model_id = $1 AND serial = $2 \
           AND deregistered_at_ms IS NULL",
    )
    .bind(model)
    .bind(FRIDGE_SERIAL)
    .fetch_optional(store.pool())
    .await?;
    match linked {
        Some(id) => Ok(Some(
            store
                .issue_device_token(
                    (id, model, FRIDGE_SERIAL),
                    crate::auth::BUTTONS_SCOPE,
                    now,
                    lifetime,
                )
                .await?,
        )),
        None => Ok(None),
    }
}

/// A token to come: `None` once the device is no longer linked; the error in words.
pub type TokenFuture =
    std::pin::Pin<Box<dyn std::future::Future<Output = Result<Option<String>, String>> + Send>>;

/// What the sandbox fridge's simulated screen asks for a token with (the device simulator's
/// `TokenSource`): each call a new buttons token valid for `lifetime` on `clock`, or `None` once
/// the customer removed the fridge.
pub fn fridge_tokens(
    store: crate::Store,
    clock: refill_core::SharedClock,
    lifetime: time::Duration,
) -> impl Fn() -> TokenFuture + Send + Sync + 'static {
    move || {
        let (store, clock) = (store.clone(), clock.clone());
        let future: TokenFuture = Box::pin(async move {
            fridge_token(&store, clock.now(), lifetime)
                .await
                .map(|token| token.map(|(token, _)| token))
                .map_err(|e| e.to_string())
        });
        future
    }
}

/// The customer, catalog, devices and history; only into a database with no customer yet.
async fn seed_data(store: &crate::Store, now: OffsetDateTime) -> Result<(), sqlx::Error> {
    let mut tx = store.pool().begin().await?;
    let customers: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM customers")
        .fetch_one(&mut *tx)
        .await?;
    if customers > 0 {
        return Ok(());
    }
    let currency = Currency::USD;
    let customer: i64 = sqlx::query_scalar(
        "INSERT INTO customers (name, email, marketplace, currency) VALUES ($1, $2, 'US', $3) \
         RETURNING id",
    )
    .bind(CUSTOMER_NAME)
    .bind(CUSTOMER_EMAIL)
    .bind(currency.as_str())
    .fetch_one(&mut *tx)
    .await?;
    for p in PRODUCTS {
        let price = Money::new(p.price_cents, currency);
        let pack = Quantity {
            value: p.pack,
            unit: p.unit,
        };
        sqlx::query(
            "INSERT INTO products (asin, title, pack_quantity, unit, price_minor, currency, image_path) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(p.asin)
        .bind(p.title)
        .bind(pack.value)
        .bind(pack.unit.as_str())
        .bind(price.amount_minor)
        .bind(price.currency.as_str())
        .bind(p.image.map(|name| format!("/v1/catalog/images/{name}.svg")))
        .execute(&mut *tx)
        .await?;
    }
    for (serial_no, model) in device_models().into_iter().enumerate() {
        crate::store::models::put_model(&mut tx, &model)
            .await?
            .map_err(|refused| sqlx::Error::Protocol(refused.0))?;
        let device: i64 = sqlx::query_scalar(
            "INSERT INTO devices (customer_id, model_id, serial, name, is_test) \
             VALUES ($1, $2, $3, $4, 1) RETURNING id",
        )
        .bind(customer)
        .bind(&model.model_id)
        .bind(format!("SANDBOX-{:04}", serial_no + 1))
        .bind(&model.name)
        .fetch_one(&mut *tx)
        .await?;
        for slot in &model.slots {
            sqlx::query("INSERT INTO device_slots (device_id, slot_id, asin) VALUES ($1, $2, $3)")
                .bind(device)
                .bind(&slot.slot_id)
                .bind(slot.compatible.first().map(Asin::as_str))
                .execute(&mut *tx)
                .await?;
            // The coffee maker reorders its beans by itself (smart reorder); every other slot
            // notifies when it runs low (the default).
            if slot.slot_id == "brew-beans" {
                sqlx::query(
                    "INSERT INTO slot_inventory (device_id, slot_id, mode) \
                     VALUES ($1, $2, 'reorder')",
                )
                .bind(device)
                .bind(&slot.slot_id)
                .execute(&mut *tx)
                .await?;
            }
        }
    }
    for (i, (asin, days_ago)) in HISTORY.iter().enumerate() {
        let placed = now - Duration::days(*days_ago);
        sqlx::query(
            "INSERT INTO orders (event_instance_id, customer_id, asin, kind, source, status, \
                 quantity, price_minor, currency, placed_at_ms, expected_delivery_ms, \
                 cancellable_until_ms, updated_at_ms) \
             SELECT $1, $2, asin, 'standard', 'history', 'delivered', 1, price_minor, currency, \
                    $3, $4, $5, $4 FROM products WHERE asin = $6",
        )
        .bind(format!("refill.v1.o.sandbox-history-{i}"))
        .bind(customer)
        .bind(to_ms(placed))
        .bind(to_ms(placed + Duration::days(2)))
        .bind(to_ms(placed + Duration::days(1)))
        .bind(asin)
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await
}
