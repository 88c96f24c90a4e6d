-- Issue 19: a one-tap order whose price is more than 10 % above what the customer paid last time
-- asks first. A screen's press that waits for that keeps the price paid last time, to show both.
ALTER TABLE approvals ADD COLUMN previous_price_minor BIGINT;
