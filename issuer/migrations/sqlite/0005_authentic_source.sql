-- The authentic source (issuer/src/source/) and deferred issuance (OpenID4VCI 1.0 §9).
-- Persons are named only by the keyed hash of their identifier (HMAC-SHA256 under the tenant's
-- source key); a CPR number, when kept at all, is AES-256-GCM sealed.

-- One person's record: `ready` = 0 while the authority has announced the person but not yet
-- delivered the data (issuance is deferred until then).
CREATE TABLE source_records (
    tenant     TEXT    NOT NULL,
    person_key BLOB    NOT NULL CHECK (length(person_key) = 32),
    ready      INTEGER NOT NULL CHECK (ready IN (0, 1)),
    claims     TEXT    NOT NULL, -- JSON object keyed by PID rulebook data identifiers
    protected  INTEGER NOT NULL CHECK (protected IN (0, 1)), -- navne- og adressebeskyttelse
    cpr_sealed BLOB,
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (tenant, person_key)
) STRICT;

-- The person an offer issues to, when its claims come from the authentic source.
CREATE TABLE offer_sources (
    tenant     TEXT NOT NULL,
    offer_id   TEXT NOT NULL,
    person_key BLOB NOT NULL CHECK (length(person_key) = 32),
    PRIMARY KEY (tenant, offer_id)
) STRICT;

-- A credential request answered 202: the proven holder keys wait here for the data.
CREATE TABLE deferred_transactions (
    tenant                      TEXT    NOT NULL,
    transaction_hash            BLOB    NOT NULL CHECK (length(transaction_hash) = 32),
    token_hash                  BLOB    NOT NULL CHECK (length(token_hash) = 32),
    offer_id                    TEXT    NOT NULL,
    credential_configuration_id TEXT    NOT NULL,
    holder_keys                 TEXT    NOT NULL, -- JSON array of public JWKs
    state                       TEXT    NOT NULL CHECK (state IN ('pending', 'issued')),
    created_at                  INTEGER NOT NULL,
    expires_at                  INTEGER NOT NULL,
    PRIMARY KEY (tenant, transaction_hash),
    FOREIGN KEY (tenant, offer_id) REFERENCES offers (tenant, id) ON DELETE CASCADE
) STRICT;
CREATE INDEX deferred_transactions_by_expiry ON deferred_transactions (expires_at);
