-- Token Status List (draft-ietf-oauth-status-list, DIGEST §4): every issued credential holds one
-- entry of one status list of its tenant; status changes are audited in an append-only table.

-- The subject an authority named when it created the offer (optional), so that everything issued
-- to one person can be revoked at once.
ALTER TABLE offers ADD COLUMN subject TEXT;

-- A tenant's status lists, numbered 1, 2, ... (the number is the list id in its URI). Allocation
-- fills the lowest-numbered list that is not full; `version` grows with every status change.
CREATE TABLE status_lists (
    tenant     TEXT    NOT NULL,
    id         BIGINT  NOT NULL CHECK (id >= 1),
    size       BIGINT  NOT NULL CHECK (size >= 1),
    bits       BIGINT  NOT NULL CHECK (bits IN (1, 2, 4, 8)),
    is_full    BOOLEAN NOT NULL DEFAULT FALSE,
    version    BIGINT  NOT NULL DEFAULT 0,
    created_at BIGINT  NOT NULL,
    PRIMARY KEY (tenant, id)
);

-- One row per issued credential: its entry (list_id, idx), never handed out twice, and its status.
CREATE TABLE credentials (
    tenant                      TEXT   NOT NULL,
    id                          TEXT   NOT NULL,
    list_id                     BIGINT NOT NULL,
    idx                         BIGINT NOT NULL CHECK (idx >= 0),
    offer_id                    TEXT   NOT NULL,
    subject                     TEXT,
    credential_configuration_id TEXT   NOT NULL,
    status                      TEXT   NOT NULL DEFAULT 'valid'
                                       CHECK (status IN ('valid', 'invalid', 'suspended')),
    issued_at                   BIGINT NOT NULL,
    PRIMARY KEY (tenant, id),
    UNIQUE (tenant, list_id, idx),
    FOREIGN KEY (tenant, list_id) REFERENCES status_lists (tenant, id),
    FOREIGN KEY (tenant, offer_id) REFERENCES offers (tenant, id)
);
CREATE INDEX credentials_by_offer ON credentials (tenant, offer_id);
CREATE INDEX credentials_by_subject ON credentials (tenant, subject);

-- Every status change: who, when, why. Rows are only ever inserted.
CREATE TABLE status_changes (
    seq           BIGSERIAL PRIMARY KEY,
    tenant        TEXT   NOT NULL,
    credential_id TEXT   NOT NULL,
    from_status   TEXT   NOT NULL,
    to_status     TEXT   NOT NULL,
    actor         TEXT   NOT NULL,
    reason        TEXT   NOT NULL,
    at            BIGINT NOT NULL,
    FOREIGN KEY (tenant, credential_id) REFERENCES credentials (tenant, id)
);
CREATE INDEX status_changes_by_credential ON status_changes (tenant, credential_id);

CREATE FUNCTION status_changes_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'status_changes is append-only';
END;
$$;
CREATE TRIGGER status_changes_no_change BEFORE UPDATE OR DELETE ON status_changes
    FOR EACH ROW EXECUTE FUNCTION status_changes_append_only();
