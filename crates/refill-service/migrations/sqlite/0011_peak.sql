-- Issue 17: each slot's forecast also keeps the heaviest use its history shows over the reorder
-- rule's window (lead time, its spread and the review interval), which the reorder point covers
-- where the normal margin would not. Days 0: not enough history for one yet.
ALTER TABLE slot_inventory ADD COLUMN forecast_peak REAL;
ALTER TABLE slot_inventory ADD COLUMN forecast_peak_days REAL;
