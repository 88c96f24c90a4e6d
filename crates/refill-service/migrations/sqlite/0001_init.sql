-- Refill service schema, version 1. Instants are Unix milliseconds (UTC).

CREATE TABLE customers (
    id          INTEGER PRIMARY KEY,
    name        TEXT NOT NULL,
    email       TEXT NOT NULL UNIQUE,
    marketplace TEXT NOT NULL,
    currency    TEXT NOT NULL
);

CREATE TABLE products (
    asin          TEXT PRIMARY KEY,
    title         TEXT NOT NULL,
    pack_quantity REAL NOT NULL,
    unit          TEXT NOT NULL CHECK (unit IN ('count', 'g', 'ml')),
    price_minor   INTEGER NOT NULL,
    currency      TEXT NOT NULL,
    image_path    TEXT
);

CREATE TABLE device_models (
    model_id TEXT PRIMARY KEY,
    name     TEXT NOT NULL
);

CREATE TABLE slots (
    model_id TEXT NOT NULL REFERENCES device_models (model_id),
    slot_id  TEXT NOT NULL,
    name     TEXT NOT NULL,
    unit     TEXT NOT NULL CHECK (unit IN ('count', 'g', 'ml')),
    capacity REAL NOT NULL,
    position INTEGER NOT NULL,
    PRIMARY KEY (model_id, slot_id)
);

CREATE TABLE slot_products (
    model_id TEXT NOT NULL,
    slot_id  TEXT NOT NULL,
    asin     TEXT NOT NULL REFERENCES products (asin),
    PRIMARY KEY (model_id, slot_id, asin),
    FOREIGN KEY (model_id, slot_id) REFERENCES slots (model_id, slot_id)
);

CREATE TABLE devices (
    id          INTEGER PRIMARY KEY,
    customer_id INTEGER NOT NULL REFERENCES customers (id),
    model_id    TEXT NOT NULL REFERENCES device_models (model_id),
    serial      TEXT NOT NULL,
    name        TEXT NOT NULL,
    is_test     INTEGER NOT NULL DEFAULT 0,
    UNIQUE (model_id, serial)
);

-- The product the customer chose for each slot of each device.
CREATE TABLE device_slots (
    device_id INTEGER NOT NULL REFERENCES devices (id),
    slot_id   TEXT NOT NULL,
    asin      TEXT REFERENCES products (asin),
    PRIMARY KEY (device_id, slot_id)
);

CREATE TABLE orders (
    id                   INTEGER PRIMARY KEY,
    event_instance_id    TEXT NOT NULL UNIQUE,
    customer_id          INTEGER NOT NULL REFERENCES customers (id),
    asin                 TEXT NOT NULL REFERENCES products (asin),
    device_id            INTEGER REFERENCES devices (id),
    slot_id              TEXT,
    kind                 TEXT NOT NULL CHECK (kind IN ('standard', 'test')),
    source               TEXT NOT NULL CHECK (source IN ('button', 'replenish', 'history')),
    status               TEXT NOT NULL CHECK (status IN ('placed', 'shipped', 'delivered', 'cancelled')),
    quantity             INTEGER NOT NULL CHECK (quantity > 0),
    price_minor          INTEGER NOT NULL,
    currency             TEXT NOT NULL,
    placed_at_ms         INTEGER NOT NULL,
    expected_delivery_ms INTEGER NOT NULL,
    cancellable_until_ms INTEGER NOT NULL,
    updated_at_ms        INTEGER NOT NULL
);

-- At most one open order per customer and item: a second press answers ORDER_INPROGRESS.
-- Enforced here, not in code, so that concurrent presses cannot both place an order.
CREATE UNIQUE INDEX orders_one_open_per_item
    ON orders (customer_id, asin)
    WHERE status IN ('placed', 'shipped');

CREATE INDEX orders_by_customer ON orders (customer_id, placed_at_ms);
