-- Issue 20: a service that is not a sandbox takes new accounts by invitation: the operator's
-- `refill-service customers invite EMAIL` makes a one-time code (only its digest kept) for that
-- email, valid for some days.
CREATE TABLE invitations (
    code_hash     TEXT PRIMARY KEY,
    email         TEXT NOT NULL,
    created_at_ms INTEGER NOT NULL,
    expires_at_ms INTEGER NOT NULL,
    used_at_ms    INTEGER
);
