-- Segl issuer store, SQLite flavour (see issuer/src/store/mod.rs for the use cases).
-- Every table is keyed by tenant first: a row of one tenant is never reachable through another.
-- Secrets (pre-authorized codes, transaction codes, access tokens, nonces) are SHA-256 digests.

CREATE TABLE offers (
    tenant                       TEXT    NOT NULL,
    id                           TEXT    NOT NULL,
    credential_configuration_ids TEXT    NOT NULL, -- JSON array of strings
    claims                       TEXT    NOT NULL, -- JSON object
    code_hash                    BLOB    NOT NULL CHECK (length(code_hash) = 32),
    tx_code_hash                 BLOB             CHECK (tx_code_hash IS NULL OR length(tx_code_hash) = 32),
    tx_code_attempts             INTEGER NOT NULL DEFAULT 0,
    state                        TEXT    NOT NULL DEFAULT 'pending'
                                         CHECK (state IN ('pending', 'redeemed', 'locked')),
    created_at                   INTEGER NOT NULL,
    expires_at                   INTEGER NOT NULL,
    PRIMARY KEY (tenant, id),
    UNIQUE (tenant, code_hash)
) STRICT;

CREATE TABLE access_tokens (
    tenant     TEXT    NOT NULL,
    token_hash BLOB    NOT NULL CHECK (length(token_hash) = 32),
    offer_id   TEXT    NOT NULL,
    expires_at INTEGER NOT NULL,
    PRIMARY KEY (tenant, token_hash),
    FOREIGN KEY (tenant, offer_id) REFERENCES offers (tenant, id) ON DELETE CASCADE
) STRICT;
CREATE INDEX access_tokens_by_offer ON access_tokens (tenant, offer_id);
CREATE INDEX access_tokens_by_expiry ON access_tokens (expires_at);

CREATE TABLE nonces (
    tenant     TEXT    NOT NULL,
    nonce_hash BLOB    NOT NULL CHECK (length(nonce_hash) = 32),
    expires_at INTEGER NOT NULL,
    PRIMARY KEY (tenant, nonce_hash)
) STRICT;
CREATE INDEX nonces_by_expiry ON nonces (expires_at);

CREATE TABLE issuances (
    tenant                      TEXT    NOT NULL,
    id                          TEXT    NOT NULL,
    offer_id                    TEXT    NOT NULL,
    credential_configuration_id TEXT    NOT NULL,
    count                       INTEGER NOT NULL CHECK (count >= 0),
    notification_id             TEXT    NOT NULL,
    issued_at                   INTEGER NOT NULL,
    PRIMARY KEY (tenant, id),
    UNIQUE (tenant, notification_id),
    FOREIGN KEY (tenant, offer_id) REFERENCES offers (tenant, id) ON DELETE CASCADE
) STRICT;
CREATE INDEX issuances_by_offer ON issuances (tenant, offer_id);

CREATE TABLE notifications (
    tenant          TEXT    NOT NULL,
    notification_id TEXT    NOT NULL,
    event           TEXT    NOT NULL
                            CHECK (event IN ('credential_accepted', 'credential_failure', 'credential_deleted')),
    at              INTEGER NOT NULL,
    PRIMARY KEY (tenant, notification_id, event),
    FOREIGN KEY (tenant, notification_id) REFERENCES issuances (tenant, notification_id) ON DELETE CASCADE
) STRICT;
