-- A row of `devices` is one registration of a device to one customer, no longer the device
-- itself: a device that its owner deregistered can be registered by someone else as a new row,
-- which starts empty, while the previous owner's orders, levels and events stay on the old row.
-- At most one registration of a model and serial is current (not deregistered).
--
-- SQLite can't drop a table's UNIQUE constraint, so the table is rebuilt with the same ids.
-- Migrations run in a transaction, where foreign keys can't be turned off; deferred, the rows
-- that refer to a device count as missing their device from the DROP until the same ids are
-- inserted again, and must all have it back by the commit.
PRAGMA defer_foreign_keys = ON;
CREATE TABLE devices_copy AS SELECT * FROM devices;
DROP TABLE devices;
CREATE TABLE devices (
    id                 INTEGER PRIMARY KEY,
    customer_id        INTEGER NOT NULL REFERENCES customers (id),
    model_id           TEXT NOT NULL REFERENCES device_models (model_id),
    serial             TEXT NOT NULL,
    name               TEXT NOT NULL,
    is_test            INTEGER NOT NULL DEFAULT 0,
    registered_at_ms   INTEGER,
    last_active_ms     INTEGER,
    deregistered_at_ms INTEGER,
    client_id          TEXT
);
INSERT INTO devices (id, customer_id, model_id, serial, name, is_test, registered_at_ms,
                     last_active_ms, deregistered_at_ms, client_id)
    SELECT id, customer_id, model_id, serial, name, is_test, registered_at_ms, last_active_ms,
           deregistered_at_ms, client_id
    FROM devices_copy;
DROP TABLE devices_copy;
CREATE UNIQUE INDEX devices_current_registration ON devices (model_id, serial)
    WHERE deregistered_at_ms IS NULL;
CREATE INDEX devices_by_customer ON devices (customer_id, model_id, serial);
