-- Issue 19: the customer's say over what a screened device may order. Limits per order and per
-- calendar month (UTC) in the customer's currency, NULL for none; "ask me first".
CREATE TABLE device_limits (
    device_id       INTEGER PRIMARY KEY REFERENCES devices (id),
    per_order_minor INTEGER,
    per_month_minor INTEGER,
    ask_first       INTEGER NOT NULL DEFAULT 0
);

-- A press that waits for the customer's approval. It expires unanswered; approved, it places
-- the order it names (event_instance_id). The press's key makes a retried press find it again.
CREATE TABLE approvals (
    id                INTEGER PRIMARY KEY,
    request_id        TEXT NOT NULL UNIQUE,
    customer_id       INTEGER NOT NULL REFERENCES customers (id),
    device_id         INTEGER NOT NULL REFERENCES devices (id),
    asin              TEXT NOT NULL REFERENCES products (asin),
    quantity          INTEGER NOT NULL,
    price_minor       INTEGER NOT NULL,
    currency          TEXT NOT NULL,
    status            TEXT NOT NULL CHECK (status IN ('pending', 'approved', 'declined', 'expired')),
    created_at_ms     INTEGER NOT NULL,
    expires_at_ms     INTEGER NOT NULL,
    decided_at_ms     INTEGER,
    event_instance_id TEXT,
    press_key         TEXT NOT NULL,
    UNIQUE (device_id, press_key)
);
CREATE INDEX approvals_pending ON approvals (status, expires_at_ms);
