-- DPoP (RFC 9449): the key a DPoP-bound access token is bound to, and the proofs already seen.

-- `cnf.jkt` of the token: the RFC 7638 thumbprint (base64url SHA-256) of the wallet's DPoP key;
-- NULL for a Bearer token.
ALTER TABLE access_tokens ADD COLUMN dpop_jkt TEXT CHECK (dpop_jkt IS NULL OR length(dpop_jkt) = 43);

-- Every accepted DPoP proof, by tenant, key thumbprint and SHA-256 of its `jti`, until its `iat`
-- leaves the accepted window: a second proof with the same key and `jti` is a replay (RFC 9449
-- §11.1), refused on every node sharing the database.
CREATE TABLE dpop_proofs (
    tenant     TEXT   NOT NULL,
    jkt        TEXT   NOT NULL CHECK (length(jkt) = 43),
    jti_hash   BYTEA  NOT NULL CHECK (octet_length(jti_hash) = 32),
    expires_at BIGINT NOT NULL,
    PRIMARY KEY (tenant, jkt, jti_hash)
);
CREATE INDEX dpop_proofs_by_expiry ON dpop_proofs (expires_at);
