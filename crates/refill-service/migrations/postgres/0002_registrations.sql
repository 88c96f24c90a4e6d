-- A row of `devices` is one registration of a device to one customer, no longer the device
-- itself: a device that its owner deregistered can be registered by someone else as a new row,
-- which starts empty, while the previous owner's orders, levels and events stay on the old row.
-- At most one registration of a model and serial is current (not deregistered).
ALTER TABLE devices DROP CONSTRAINT devices_model_id_serial_key;
CREATE UNIQUE INDEX devices_current_registration ON devices (model_id, serial)
    WHERE deregistered_at_ms IS NULL;
CREATE INDEX devices_by_customer ON devices (customer_id, model_id, serial);
