-- Login-with-Amazon-compatible authorization server. Secrets (passwords, codes, tokens, consent
-- tickets) are never stored: passwords as argon2 hashes, the others as SHA-256 hex digests.

ALTER TABLE customers ADD COLUMN password_hash TEXT;

CREATE TABLE oauth_clients (
    client_id     TEXT PRIMARY KEY,
    name          TEXT NOT NULL,
    kind          TEXT NOT NULL CHECK (kind IN ('public', 'confidential')),
    secret_hash   TEXT,
    -- JSON array of allowed redirect URIs. A loopback URI (http://127.0.0.1/…) matches any port.
    redirect_uris TEXT NOT NULL
);

-- A signed-in customer's pending consent: the sign-in form leads here, the consent form uses it once.
CREATE TABLE oauth_consents (
    ticket_hash   TEXT PRIMARY KEY,
    customer_id   INTEGER NOT NULL REFERENCES customers (id),
    request       TEXT NOT NULL,
    expires_at_ms INTEGER NOT NULL
);

CREATE TABLE oauth_codes (
    code_hash        TEXT PRIMARY KEY,
    client_id        TEXT NOT NULL REFERENCES oauth_clients (client_id),
    customer_id      INTEGER NOT NULL REFERENCES customers (id),
    redirect_uri     TEXT NOT NULL,
    scope            TEXT NOT NULL,
    scope_data       TEXT,
    code_challenge   TEXT,
    challenge_method TEXT CHECK (challenge_method IN ('S256', 'plain')),
    expires_at_ms    INTEGER NOT NULL,
    used_at_ms       INTEGER
);

CREATE TABLE oauth_tokens (
    token_hash    TEXT PRIMARY KEY,
    kind          TEXT NOT NULL CHECK (kind IN ('access', 'refresh')),
    client_id     TEXT NOT NULL REFERENCES oauth_clients (client_id),
    customer_id   INTEGER NOT NULL REFERENCES customers (id),
    scope         TEXT NOT NULL,
    scope_data    TEXT,
    -- The code it was issued from (revoked together when the code is replayed).
    code_hash     TEXT,
    -- For access tokens: the refresh token they came from (revoked together).
    refresh_hash  TEXT,
    expires_at_ms INTEGER,
    revoked_at_ms INTEGER
);

CREATE INDEX oauth_tokens_by_code ON oauth_tokens (code_hash);
CREATE INDEX oauth_tokens_by_refresh ON oauth_tokens (refresh_hash);
