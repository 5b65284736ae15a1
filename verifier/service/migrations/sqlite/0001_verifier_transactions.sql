-- Segl verifier store, SQLite flavour (see verifier/service/src/store/mod.rs).
-- One row per presentation transaction. The secret transaction_id is kept only as its SHA-256
-- digest; `body` is the flow's Transaction JSON, which holds the ephemeral direct_post.jwt
-- decryption key: it is cleared when the transaction completes.

CREATE TABLE verifier_transactions (
    transaction_id_hash BLOB    NOT NULL PRIMARY KEY CHECK (length(transaction_id_hash) = 32),
    request_id          TEXT    NOT NULL UNIQUE,
    body                TEXT,            -- JSON, NULL once completed
    state               TEXT    NOT NULL DEFAULT 'pending'
                                CHECK (state IN ('pending', 'verified', 'rejected')),
    outcome             TEXT,            -- JSON summary, set exactly once with the final state
    created_at          INTEGER NOT NULL,
    expires_at          INTEGER NOT NULL, -- after this the row may be purged
    completed_at        INTEGER
) STRICT;
CREATE INDEX verifier_transactions_by_expiry ON verifier_transactions (expires_at);
