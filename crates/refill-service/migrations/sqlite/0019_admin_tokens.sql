-- Issue 20: the admin API (`/admin/v1/…`) takes an admin token, which only the operator's
-- `refill-service admin-tokens create NAME` makes (shown once; only its digest kept here). A
-- revoked token stays listed, refused.
CREATE TABLE admin_tokens (
    name          TEXT PRIMARY KEY,
    token_hash    TEXT NOT NULL UNIQUE,
    created_at_ms INTEGER NOT NULL,
    last_used_ms  INTEGER,
    revoked_at_ms INTEGER
);
