-- Replenishment: the DRS v1 device API, inventory per slot, notify-or-reorder, events.

-- One open order per device slot: a second replenish answers ORDER_INPROGRESS. Enforced here, not
-- in code, so that concurrent replenish calls cannot both place an order.
CREATE UNIQUE INDEX orders_one_open_per_slot
    ON orders (device_id, slot_id)
    WHERE status IN ('placed', 'shipped') AND device_id IS NOT NULL;

-- When the device last said it was active (DeviceStatus), and when it was deregistered (its
-- tokens are revoked then; registering it again clears this).
ALTER TABLE devices ADD COLUMN last_active_ms INTEGER;
ALTER TABLE devices ADD COLUMN deregistered_at_ms INTEGER;

-- Each slot's supply and the customer's settings for it. Amounts are in the slot's unit.
CREATE TABLE slot_inventory (
    device_id     INTEGER NOT NULL REFERENCES devices (id),
    slot_id       TEXT NOT NULL,
    -- In the device; NULL until the device has reported.
    remaining     REAL,
    -- In the home, not loaded into the device.
    on_hand       REAL NOT NULL DEFAULT 0,
    -- 'notify': a low-supply notification; 'reorder': an order, as a replenish call places it.
    mode          TEXT NOT NULL DEFAULT 'notify' CHECK (mode IN ('notify', 'reorder')),
    -- The customer's own threshold and target level (NULL: days of cover, one pack).
    minimum       REAL,
    target        REAL,
    -- Consecutive reports at or below the threshold, and whether this run was acted on.
    low_reports   INTEGER NOT NULL DEFAULT 0,
    low_acted     INTEGER NOT NULL DEFAULT 0,
    -- Recent use, kept report by report with exponential forgetting (refill_core's UseEstimate).
    use_amount    REAL NOT NULL DEFAULT 0,
    use_days      REAL NOT NULL DEFAULT 0,
    observed_days REAL NOT NULL DEFAULT 0,
    last_report_ms INTEGER,
    updated_at_ms INTEGER,
    PRIMARY KEY (device_id, slot_id)
);

-- What was left in each slot over time (for consumption, forecasts and the level chart).
CREATE TABLE slot_levels (
    id        INTEGER PRIMARY KEY,
    device_id INTEGER NOT NULL REFERENCES devices (id),
    slot_id   TEXT NOT NULL,
    at_ms     INTEGER NOT NULL,
    remaining REAL NOT NULL,
    source    TEXT NOT NULL
        CHECK (source IN ('slot_status', 'level', 'usage', 'replaced'))
);

CREATE INDEX slot_levels_by_slot ON slot_levels (device_id, slot_id, at_ms);

-- What happened, per customer, in order: the app's event stream and the makers' notifications
-- are read from here. Written in the same transaction as the change it tells of.
CREATE TABLE events (
    id            INTEGER PRIMARY KEY,
    customer_id   INTEGER NOT NULL REFERENCES customers (id),
    device_id     INTEGER REFERENCES devices (id),
    kind          TEXT NOT NULL,
    body          TEXT NOT NULL,
    created_at_ms INTEGER NOT NULL
);

CREATE INDEX events_by_customer ON events (customer_id, id);

-- The OAuth client (the maker's app) a device was registered through: its webhooks hear of it.
ALTER TABLE devices ADD COLUMN client_id TEXT;

-- Makers' webhooks: DRS-shaped notifications of their devices, signed with HMAC-SHA256.
CREATE TABLE webhooks (
    id            INTEGER PRIMARY KEY,
    client_id     TEXT NOT NULL REFERENCES oauth_clients (client_id),
    url           TEXT NOT NULL,
    -- The signing key. The service needs it to sign, so it is kept as is; it is shown to the
    -- maker once, when the webhook is created, and never logged.
    secret        TEXT NOT NULL,
    -- DRS notification payload version: 1 or 2.
    version       INTEGER NOT NULL CHECK (version IN (1, 2)),
    created_at_ms INTEGER NOT NULL
);

-- The outbox: one row per event and webhook, written with the event, retried until a 2xx.
CREATE TABLE webhook_deliveries (
    id              INTEGER PRIMARY KEY,
    webhook_id      INTEGER NOT NULL REFERENCES webhooks (id) ON DELETE CASCADE,
    event_id        INTEGER NOT NULL REFERENCES events (id),
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_ms INTEGER NOT NULL,
    delivered_at_ms INTEGER,
    last_error      TEXT,
    UNIQUE (webhook_id, event_id)
);

CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_ms)
    WHERE delivered_at_ms IS NULL;
