-- Issue 20: where a customer's orders go on a service that does not fulfil them itself.
-- Each customer chooses (NULL: the operator's default): 'manual' (they buy it themselves and
-- say so in the app), 'webhook' (POSTed, signed, to their own automation, which may call back)
-- or 'email' (mailed to their shopping address).
ALTER TABLE customers ADD COLUMN orders_go TEXT CHECK (orders_go IN ('manual', 'webhook', 'email'));
ALTER TABLE customers ADD COLUMN orders_webhook_url TEXT;
ALTER TABLE customers ADD COLUMN orders_webhook_secret TEXT;
ALTER TABLE customers ADD COLUMN orders_email TEXT;

-- How each order was handed over, chosen when it was placed; NULL: the service fulfils it
-- itself (the sandbox), or it was placed before this.
ALTER TABLE orders ADD COLUMN handover TEXT CHECK (handover IN ('manual', 'webhook', 'email'));

-- The hand-over outbox: written with the order, due when it can no longer be cancelled, retried
-- with backoff until it is sent or the last try fails (failed_at_ms, last_error: told to the
-- customer). A cancelled order's pending hand-over is deleted with the cancellation.
CREATE TABLE order_handovers (
    order_id        INTEGER PRIMARY KEY REFERENCES orders (id),
    method          TEXT NOT NULL CHECK (method IN ('webhook', 'email')),
    target          TEXT NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_ms INTEGER NOT NULL,
    last_error      TEXT,
    sent_at_ms      INTEGER,
    failed_at_ms    INTEGER
);
CREATE INDEX order_handovers_due ON order_handovers (next_attempt_ms)
    WHERE sent_at_ms IS NULL AND failed_at_ms IS NULL;
