-- The short lookup code printed on the receipt (with the dossier code it opens the citizen's
-- status page); only its SHA-256 is kept. Dossiers made before this have none.
ALTER TABLE dossiers ADD COLUMN lookup_sha256 TEXT;
