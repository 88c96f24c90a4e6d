-- Issue 17: each slot keeps its forecast as last fitted from its level history (at most once a
-- day), which every report's reorder rule weighs against; it replaces the running use estimate.
ALTER TABLE slot_inventory ADD COLUMN forecast_rate DOUBLE PRECISION;
ALTER TABLE slot_inventory ADD COLUMN forecast_sigma DOUBLE PRECISION;
ALTER TABLE slot_inventory ADD COLUMN forecast_every_days DOUBLE PRECISION;
ALTER TABLE slot_inventory ADD COLUMN forecast_at_ms BIGINT;
ALTER TABLE slot_inventory DROP COLUMN use_amount;
ALTER TABLE slot_inventory DROP COLUMN use_days;
ALTER TABLE slot_inventory DROP COLUMN observed_days;

-- How long each product takes to arrive, learned from its deliveries (placed -> delivered).
CREATE TABLE lead_times (
    asin       TEXT PRIMARY KEY REFERENCES products (asin),
    mean_days  DOUBLE PRECISION NOT NULL,
    sd_days    DOUBLE PRECISION NOT NULL,
    deliveries BIGINT NOT NULL
);
