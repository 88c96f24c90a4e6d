-- Issue 19: the customer's say over smart reorders of any slot. A request that a device's own
-- order (DRS replenish, or a smart reorder) waits on names its slot; approved, the order is the
-- slot's.
ALTER TABLE approvals ADD COLUMN slot_id TEXT;
