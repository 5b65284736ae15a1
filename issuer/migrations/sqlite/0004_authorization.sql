-- The authorization code flow (OpenID4VCI 1.0 §5, RFC 6749 §4.1, RFC 9126 PAR).

-- Single-use steps of a login in progress, by tenant, step and SHA-256 of their key: a pushed
-- authorization request (`par`, keyed by its request_uri) and a login at the upstream identity
-- provider (`login`, keyed by the state sent there). Taking one deletes it, on every node.
CREATE TABLE authorization_steps (
    tenant     TEXT    NOT NULL,
    step       TEXT    NOT NULL CHECK (step IN ('par', 'login')),
    key_hash   BLOB    NOT NULL CHECK (length(key_hash) = 32),
    payload    TEXT    NOT NULL, -- JSON object
    expires_at INTEGER NOT NULL,
    PRIMARY KEY (tenant, step, key_hash)
) STRICT;
CREATE INDEX authorization_steps_by_expiry ON authorization_steps (expires_at);

-- Authorization codes: what the login authorized is an offer row (claims from the login, the
-- configurations authorized); the code is redeemed once, with PKCE, at the token endpoint. A
-- second redemption revokes the tokens of the first (RFC 6749 §4.1.2), so used codes stay until
-- they expire.
CREATE TABLE authorization_codes (
    tenant         TEXT    NOT NULL,
    code_hash      BLOB    NOT NULL CHECK (length(code_hash) = 32),
    offer_id       TEXT    NOT NULL,
    client_id      TEXT    NOT NULL,
    redirect_uri   TEXT    NOT NULL,
    code_challenge TEXT    NOT NULL,
    used           INTEGER NOT NULL DEFAULT 0 CHECK (used IN (0, 1)),
    expires_at     INTEGER NOT NULL,
    PRIMARY KEY (tenant, code_hash),
    FOREIGN KEY (tenant, offer_id) REFERENCES offers (tenant, id) ON DELETE CASCADE
) STRICT;
CREATE INDEX authorization_codes_by_expiry ON authorization_codes (expires_at);
