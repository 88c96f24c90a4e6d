-- Issue 20: level history is kept as reported for 2 days, hourly to 30 days, then daily. Each
-- stage remembers up to where it has thinned the history, so that a round reads only what is new.
CREATE TABLE level_compaction (
    stage    TEXT PRIMARY KEY,
    until_ms INTEGER NOT NULL
);
