-- Issue 20: orders that the service does not fulfil itself. The customer says when they bought
-- an order and when it arrived; each step's time is kept (the sandbox's own fulfilment records
-- them too). Older orders have none.
ALTER TABLE orders ADD COLUMN shipped_at_ms BIGINT;
ALTER TABLE orders ADD COLUMN delivered_at_ms BIGINT;
