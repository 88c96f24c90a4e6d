-- Issue 17: each slot keeps its forecast as last fitted from its level history (at most once a
-- day), which every report's reorder rule weighs against; it replaces the running use estimate.
ALTER TABLE slot_inventory ADD COLUMN forecast_rate REAL;
ALTER TABLE slot_inventory ADD COLUMN forecast_sigma REAL;
ALTER TABLE slot_inventory ADD COLUMN forecast_every_days REAL;
ALTER TABLE slot_inventory ADD COLUMN forecast_at_ms INTEGER;
ALTER TABLE slot_inventory DROP COLUMN use_amount;
ALTER TABLE slot_inventory DROP COLUMN use_days;
ALTER TABLE slot_inventory DROP COLUMN observed_days;

-- How long each product takes to arrive, learned from its deliveries (placed -> delivered).
CREATE TABLE lead_times (
    asin       TEXT PRIMARY KEY REFERENCES products (asin),
    mean_days  REAL NOT NULL,
    sd_days    REAL NOT NULL,
    deliveries INTEGER NOT NULL
);
