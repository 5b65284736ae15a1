-- OAuth 2.0 Attestation-Based Client Authentication: the client a token was issued to, and the
-- proofs of possession already seen.

-- The attested client id (the wallet attestation's `sub`) of the token request; NULL for an
-- anonymous one.
ALTER TABLE access_tokens ADD COLUMN client_id TEXT CHECK (client_id IS NULL OR length(client_id) BETWEEN 1 AND 255);

-- Every accepted client attestation PoP, by tenant, client id and SHA-256 of its `jti`, until
-- its `iat` leaves the accepted window: a second PoP with the same `jti` is a replay, refused on
-- every node sharing the database.
CREATE TABLE client_attestation_pops (
    tenant     TEXT    NOT NULL,
    client_id  TEXT    NOT NULL CHECK (length(client_id) BETWEEN 1 AND 255),
    jti_hash   BYTEA   NOT NULL CHECK (octet_length(jti_hash) = 32),
    expires_at BIGINT  NOT NULL,
    PRIMARY KEY (tenant, client_id, jti_hash)
);
CREATE INDEX client_attestation_pops_by_expiry ON client_attestation_pops (expires_at);
