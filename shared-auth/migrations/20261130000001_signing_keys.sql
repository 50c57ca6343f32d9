-- Session-token signing keys: identity signs with the newest key not
-- retired; every zone verifies with the public halves identity publishes
-- (its JWKS). A retired key stays published until every token it signed
-- has expired. `private_key` is a base64 PKCS#8 Ed25519 key: whoever can
-- read this table can sign session tokens.
CREATE TABLE signing_keys (
    kid         TEXT PRIMARY KEY,
    private_key TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    retired_at  BIGINT
);
