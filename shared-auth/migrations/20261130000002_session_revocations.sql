-- The revocation log: every session the store ends (sign-out, "sign out
-- that device", "everywhere else", rotation, expiry clean-up), numbered in
-- commit order. A zone that checks session tokens without the store
-- follows it (everything after the last number it saw) and refuses the
-- tokens of ended sessions. `revocation_counter` hands out the numbers:
-- bumping its one row serialises writers, so a number is never seen before
-- a smaller one.
CREATE TABLE session_revocations (
    seq        BIGINT PRIMARY KEY,
    session_id TEXT NOT NULL,
    revoked_at BIGINT NOT NULL
);
CREATE INDEX session_revocations_revoked_at ON session_revocations (revoked_at);

CREATE TABLE revocation_counter (
    id       INTEGER PRIMARY KEY,
    last_seq BIGINT NOT NULL
);
INSERT INTO revocation_counter (id, last_seq) VALUES (1, 0);
