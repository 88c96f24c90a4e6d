-- The last report of a device whose silence its customer was told of: one notice per silence
-- (a report after it starts a new one).
ALTER TABLE devices ADD COLUMN silent_notice_ms BIGINT;
