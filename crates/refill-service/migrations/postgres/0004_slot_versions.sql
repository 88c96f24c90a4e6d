-- A version of each slot's settings and stock at home, bumped whenever one of them changes
-- (the customer's edit, a delivery, a refill from home, a device's report of its stock), so
-- that a save made against what a page showed earlier is refused instead of writing over a
-- newer value.
ALTER TABLE slot_inventory ADD COLUMN settings_version BIGINT NOT NULL DEFAULT 0;
