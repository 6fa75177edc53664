-- Field extraction: the placeholder `fields` table of 0001 (never written) is replaced by one
-- that keeps the OCR text, the document model, validation and clerk corrections; review flags
-- from cross-document checks. Portable SQL: mirrored into migrations/postgres.

DROP INDEX fields_attachment;
DROP TABLE fields;

CREATE TABLE fields (
    id             INTEGER PRIMARY KEY,
    dossier_id     INTEGER NOT NULL REFERENCES dossiers(id),
    attachment_id  INTEGER NOT NULL REFERENCES attachments(id),
    page_idx       INTEGER NOT NULL,
    model          TEXT NOT NULL,            -- document model the page was read with
    name           TEXT NOT NULL,
    value          TEXT,                     -- normalized; NULL when not found
    raw            TEXT NOT NULL,            -- OCR text the value came from
    confidence     REAL NOT NULL,
    box            TEXT,                     -- JSON {"x0","y0","x1","y1"}, page pixels
    source         TEXT NOT NULL CHECK (source IN ('ocr', 'clerk')),
    validation     TEXT NOT NULL CHECK (validation IN ('valid', 'invalid', 'unchecked')),
    notes          TEXT NOT NULL DEFAULT '[]',  -- JSON array of strings
    repair         TEXT,
    created_at     INTEGER NOT NULL,
    updated_at     INTEGER NOT NULL,
    UNIQUE (attachment_id, page_idx, name)
);
CREATE INDEX fields_dossier ON fields(dossier_id, attachment_id, page_idx);

CREATE TABLE review_flags (
    id          INTEGER PRIMARY KEY,
    dossier_id  INTEGER NOT NULL REFERENCES dossiers(id),
    code        TEXT NOT NULL,
    check_name  TEXT NOT NULL,
    message     TEXT NOT NULL,
    created_at  INTEGER NOT NULL
);
CREATE INDEX review_flags_dossier ON review_flags(dossier_id);
