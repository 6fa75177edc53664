-- The station's spool: every file taken from the hot folder and where it stands. A row leaves
-- `queued` only when the server acknowledged the file (`sent`) or refused it (`failed`).
CREATE TABLE files (
    id              INTEGER PRIMARY KEY,
    -- Relative to the hot folder; the first component is the dossier's folder, if any.
    path            TEXT NOT NULL,
    folder          TEXT,
    bytes           INTEGER NOT NULL,
    mtime_ms        INTEGER NOT NULL,
    sha256          TEXT NOT NULL,
    state           TEXT NOT NULL,
    dossier         TEXT,
    upload_url      TEXT,
    offset_bytes    INTEGER NOT NULL DEFAULT 0,
    attachment_id   INTEGER,
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL,
    last_error      TEXT,
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL
);
CREATE UNIQUE INDEX files_queued_path ON files (path) WHERE state = 'queued';
CREATE INDEX files_due ON files (state, next_attempt_at);
-- The dossier each subfolder became.
CREATE TABLE folders (
    name    TEXT PRIMARY KEY,
    dossier TEXT NOT NULL
);
