-- At most one signing key at a time. Identity creates the first key on
-- first use; without this index, two requests (or two instances) starting
-- at once could each add one, and a zone that fetched the JWKS between the
-- two inserts would not know the key that signs until its next fetch.
--
-- A database that already holds two keys keeps the one that signed (the
-- newest, ties broken by kid, as `Store::signing_key` picks) and retires
-- the others. They never signed except in that race, so retiring them as
-- of the newest key's creation is enough.
UPDATE signing_keys
SET retired_at = (SELECT MAX(created_at) FROM signing_keys)
WHERE retired_at IS NULL
  AND kid <> (
      SELECT kid FROM signing_keys
      WHERE retired_at IS NULL
      ORDER BY created_at DESC, kid
      LIMIT 1
  );

CREATE UNIQUE INDEX signing_keys_one_signing
    ON signing_keys ((COALESCE(retired_at, 0)))
    WHERE retired_at IS NULL;
