-- Devices linked to a customer through the authorization flow (Dash Replenishment's registration):
-- when, so that the newest shows first. Sandbox devices seeded before this have none.
ALTER TABLE devices ADD COLUMN registered_at_ms INTEGER;
