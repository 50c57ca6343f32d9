-- Users, provisioned just in time on first sign-in, keyed by the identity
-- provider's subject. Times are Unix seconds (BIGINT works in SQLite and
-- PostgreSQL alike).
CREATE TABLE users (
    id           TEXT PRIMARY KEY,
    subject      TEXT NOT NULL UNIQUE,
    username     TEXT NOT NULL,
    display_name TEXT NOT NULL,
    created_at   BIGINT NOT NULL
);

-- Sessions: only the SHA-256 of the cookie token is stored.
CREATE TABLE sessions (
    id                  TEXT PRIMARY KEY,
    token_hash          TEXT NOT NULL UNIQUE,
    user_id             TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at          BIGINT NOT NULL,
    expires_at          BIGINT NOT NULL,
    absolute_expires_at BIGINT NOT NULL,
    last_seen_at        BIGINT NOT NULL,
    user_agent          TEXT
);
CREATE INDEX sessions_user_id ON sessions (user_id);
CREATE INDEX sessions_expires_at ON sessions (expires_at);

-- Short-lived, single-use grants: OAuth login state, authorization codes,
-- access tokens. Keyed by the SHA-256 of the secret, scoped by kind.
CREATE TABLE grants (
    kind       TEXT NOT NULL,
    key_hash   TEXT NOT NULL,
    payload    TEXT NOT NULL,
    expires_at BIGINT NOT NULL,
    PRIMARY KEY (kind, key_hash)
);
CREATE INDEX grants_expires_at ON grants (expires_at);
