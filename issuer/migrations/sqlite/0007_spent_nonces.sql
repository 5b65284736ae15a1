-- c_nonces are self-contained and authenticated with the tenant's offer key, so handing one out
-- stores nothing. What is stored is a spent nonce, by tenant and SHA-256 of the nonce, from the
-- credential request that used it until the nonce expires: a second request with it is a replay,
-- refused on every node sharing the database. Nonces handed out before this migration were
-- random values the issuer can no longer recognise, so their table goes.
DROP TABLE nonces;

CREATE TABLE spent_nonces (
    tenant     TEXT    NOT NULL,
    nonce_hash BLOB    NOT NULL CHECK (length(nonce_hash) = 32),
    expires_at INTEGER NOT NULL,
    PRIMARY KEY (tenant, nonce_hash)
) STRICT;
CREATE INDEX spent_nonces_by_expiry ON spent_nonces (expires_at);
