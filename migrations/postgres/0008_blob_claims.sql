-- Originals an upload is publishing before its rows commit. The orphan sweep removes an
-- original only when no attachment row references it and no live claim holds it, and it checks
-- and deletes under an advisory lock on the key that taking a claim takes too: an upload can never
-- deduplicate onto a blob the sweep is deleting.
CREATE TABLE blob_claims (
    claim_id    TEXT NOT NULL,
    blob_key    TEXT NOT NULL,
    expires_at  BIGINT NOT NULL,
    PRIMARY KEY (claim_id, blob_key)
);
CREATE INDEX blob_claims_key ON blob_claims (blob_key);
CREATE INDEX blob_claims_expiry ON blob_claims (expires_at);
CREATE INDEX attachments_original_key ON attachments (original_key);
