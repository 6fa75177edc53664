-- The fields a review flag is about (both sides of a mismatch), as JSON
-- `[{"attachment", "page", "name"}]`: the review screen shows the flag next to each of them.
ALTER TABLE review_flags ADD COLUMN fields TEXT NOT NULL DEFAULT '[]';
