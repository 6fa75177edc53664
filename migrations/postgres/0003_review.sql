-- Dossier review workflow (PostgreSQL), mirroring migrations/sqlite/0003_review.sql.
-- State moves are audited in `audit` (action `dossier.state`).

-- The claim is a lease: a clerk holds the dossier until `claim_until`, renewed while they work.
ALTER TABLE dossiers ADD COLUMN claimed_by BIGINT REFERENCES clerks(id);
ALTER TABLE dossiers ADD COLUMN claim_until BIGINT;
-- When the dossier entered its current state (how long it has waited in the queue).
ALTER TABLE dossiers ADD COLUMN state_since BIGINT NOT NULL DEFAULT 0;

-- `open` (the only status before this migration) becomes the state the attachments imply.
UPDATE dossiers SET state_since = created_at, status = CASE
    WHEN NOT EXISTS (SELECT 1 FROM attachments a WHERE a.dossier_id = dossiers.id) THEN 'receiving'
    WHEN EXISTS (SELECT 1 FROM attachments a WHERE a.dossier_id = dossiers.id
                 AND a.status IN ('queued', 'processing')) THEN 'processing'
    ELSE 'needs_review' END
WHERE status = 'open';
CREATE INDEX dossiers_queue ON dossiers(unit_id, status, created_at);

-- Optimistic concurrency: an edit names the version the clerk saw.
ALTER TABLE fields ADD COLUMN version BIGINT NOT NULL DEFAULT 1;
ALTER TABLE fields ADD COLUMN confirmed_by BIGINT REFERENCES clerks(id);
ALTER TABLE fields ADD COLUMN confirmed_at BIGINT;

-- A clerk's dismissal of a review flag, kept apart from the flags because those are recomputed
-- after every correction: the same disagreement stays dismissed, a new one is open.
CREATE TABLE flag_dismissals (
    dossier_id  BIGINT NOT NULL REFERENCES dossiers(id),
    code        TEXT NOT NULL,
    check_name  TEXT NOT NULL,
    message     TEXT NOT NULL,
    clerk_id    BIGINT NOT NULL REFERENCES clerks(id),
    note        TEXT NOT NULL,
    at          BIGINT NOT NULL,
    PRIMARY KEY (dossier_id, code, check_name, message)
);
