-- Resumable (tus) uploads in progress, and finished ones until they expire (a HEAD then still
-- tells the attachment). The bytes live in the blob store; this row is the truth about how
-- many of them count: upload_offset, the store's state and the running SHA-256 advance
-- together, and only by compare-and-set on upload_offset.
CREATE TABLE tus_uploads (
    id             TEXT PRIMARY KEY,
    dossier_id     INTEGER NOT NULL REFERENCES dossiers(id),
    -- The actor that created it (station:7, citizen:dossier:3): only it may continue.
    owner          TEXT NOT NULL,
    filename       TEXT,
    -- Upload-Metadata as sent, echoed by HEAD.
    metadata       TEXT NOT NULL,
    upload_length  INTEGER NOT NULL,
    upload_offset  INTEGER NOT NULL DEFAULT 0,
    store_state    TEXT NOT NULL DEFAULT '',
    hash_state     TEXT NOT NULL,
    -- Hex of the first bytes, to sniff the type without reading the store.
    head           TEXT NOT NULL DEFAULT '',
    created_at     INTEGER NOT NULL,
    expires_at     INTEGER NOT NULL,
    attachment_id  INTEGER REFERENCES attachments(id)
);
CREATE INDEX tus_uploads_owner ON tus_uploads (owner) WHERE attachment_id IS NULL;
CREATE INDEX tus_uploads_expiry ON tus_uploads (expires_at);
