-- Intake service schema (SQLite). Times are milliseconds since the Unix epoch (UTC).

CREATE TABLE units (
    id          INTEGER PRIMARY KEY,
    code        TEXT NOT NULL UNIQUE,
    name        TEXT NOT NULL,
    province    TEXT NOT NULL DEFAULT '',
    created_at  INTEGER NOT NULL
);

CREATE TABLE stations (
    id            INTEGER PRIMARY KEY,
    unit_id       INTEGER NOT NULL REFERENCES units(id),
    name          TEXT NOT NULL,
    -- SHA-256 (hex) of the bearer token; the token itself is shown once and never stored.
    token_sha256  TEXT NOT NULL UNIQUE,
    created_at    INTEGER NOT NULL,
    revoked_at    INTEGER
);

CREATE TABLE clerks (
    id             INTEGER PRIMARY KEY,
    unit_id        INTEGER NOT NULL REFERENCES units(id),
    username       TEXT NOT NULL UNIQUE,
    role           TEXT NOT NULL CHECK (role IN ('clerk', 'admin')),
    password_hash  TEXT NOT NULL,  -- argon2id PHC string
    created_at     INTEGER NOT NULL
);

CREATE TABLE dossiers (
    id          INTEGER PRIMARY KEY,
    code        TEXT NOT NULL UNIQUE,
    unit_id     INTEGER NOT NULL REFERENCES units(id),
    procedure   TEXT NOT NULL,
    status      TEXT NOT NULL,
    source      TEXT NOT NULL CHECK (source IN ('station', 'portal')),
    created_at  INTEGER NOT NULL
);
CREATE INDEX dossiers_unit ON dossiers(unit_id, created_at);

-- Citizen upload tokens, each scoped to one dossier.
CREATE TABLE dossier_tokens (
    dossier_id    INTEGER NOT NULL REFERENCES dossiers(id),
    token_sha256  TEXT NOT NULL UNIQUE,
    created_at    INTEGER NOT NULL
);

CREATE TABLE attachments (
    id             INTEGER PRIMARY KEY,
    dossier_id     INTEGER NOT NULL REFERENCES dossiers(id),
    kind           TEXT NOT NULL DEFAULT 'scan',
    filename       TEXT,
    original_key   TEXT NOT NULL,
    sha256         TEXT NOT NULL,
    bytes          INTEGER NOT NULL,
    media_type     TEXT NOT NULL,
    status         TEXT NOT NULL CHECK (status IN ('queued', 'processing', 'done', 'failed')),
    error_code     TEXT,
    error_message  TEXT,
    pdf_key        TEXT,
    page_count     INTEGER,
    created_at     INTEGER NOT NULL,
    updated_at     INTEGER NOT NULL,
    -- Re-uploading the same bytes to the same dossier finds the existing attachment.
    UNIQUE (dossier_id, sha256)
);

CREATE TABLE pages (
    attachment_id    INTEGER NOT NULL REFERENCES attachments(id),
    idx              INTEGER NOT NULL,
    status           TEXT NOT NULL,
    width            INTEGER NOT NULL,
    height           INTEGER NOT NULL,
    orientation      INTEGER NOT NULL,
    skew             REAL NOT NULL,
    blank            INTEGER NOT NULL,
    dpi              REAL NOT NULL,
    mean_confidence  REAL,
    text             TEXT NOT NULL,
    pdf_key          TEXT NOT NULL,
    -- A retried job replaces the pages of its attachment; it can never add a second copy.
    PRIMARY KEY (attachment_id, idx)
);

CREATE TABLE fields (
    id             INTEGER PRIMARY KEY,
    dossier_id     INTEGER NOT NULL REFERENCES dossiers(id),
    attachment_id  INTEGER NOT NULL REFERENCES attachments(id),
    page_idx       INTEGER NOT NULL,
    name           TEXT NOT NULL,
    value          TEXT NOT NULL,
    confidence     REAL,
    box            TEXT,  -- JSON [x0, y0, x1, y1]
    source         TEXT NOT NULL CHECK (source IN ('ocr', 'clerk')),
    validated      INTEGER NOT NULL DEFAULT 0,
    updated_at     INTEGER NOT NULL
);
CREATE INDEX fields_attachment ON fields(attachment_id, page_idx);

CREATE TABLE jobs (
    id             INTEGER PRIMARY KEY,
    kind           TEXT NOT NULL,
    payload        TEXT NOT NULL,  -- JSON of queue::JobPayload
    unit_id        INTEGER NOT NULL REFERENCES units(id),  -- for fair claiming between units
    attachment_id  INTEGER REFERENCES attachments(id),
    state          TEXT NOT NULL CHECK (state IN ('queued', 'running', 'done', 'failed', 'dead')),
    attempts       INTEGER NOT NULL DEFAULT 0,
    run_after      INTEGER NOT NULL,
    lease_until    INTEGER,
    worker         TEXT,
    last_error     TEXT,
    created_at     INTEGER NOT NULL,
    claimed_at     INTEGER,
    finished_at    INTEGER,
    updated_at     INTEGER NOT NULL
);
CREATE INDEX jobs_ready ON jobs(state, run_after);
CREATE INDEX jobs_unit_state ON jobs(unit_id, state);
CREATE INDEX jobs_unit_claimed ON jobs(unit_id, claimed_at);
CREATE INDEX jobs_attachment ON jobs(attachment_id);

CREATE TABLE audit (
    id             INTEGER PRIMARY KEY,
    at             INTEGER NOT NULL,
    actor          TEXT NOT NULL,
    action         TEXT NOT NULL,
    unit_id        INTEGER,
    dossier_id     INTEGER,
    attachment_id  INTEGER,
    detail         TEXT
);
CREATE INDEX audit_dossier ON audit(dossier_id, at);
