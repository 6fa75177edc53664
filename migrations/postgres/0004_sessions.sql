-- Clerk login sessions (PostgreSQL), mirroring migrations/sqlite/0004_sessions.sql.
-- Times are milliseconds since the Unix epoch (UTC).

-- A session cookie is 32 random bytes; like station tokens, only its SHA-256 (hex) is stored.
-- Idle expiry (`last_seen`) and the maximum age (`created_at`) come from `[review]` config, so
-- changing the config applies to sessions already open.
CREATE TABLE sessions (
    token_sha256  TEXT PRIMARY KEY,
    clerk_id      BIGINT NOT NULL REFERENCES clerks(id),
    -- Per-session CSRF token: every state-changing form or fetch must echo it.
    csrf          TEXT NOT NULL,
    created_at    BIGINT NOT NULL,
    last_seen     BIGINT NOT NULL
);
CREATE INDEX sessions_clerk ON sessions(clerk_id);
CREATE INDEX sessions_last_seen ON sessions(last_seen);

-- One row per failed login, for known and unknown usernames alike (so the lockout does not tell
-- which usernames exist). Cleared on a successful login.
CREATE TABLE login_failures (
    username  TEXT NOT NULL,
    at        BIGINT NOT NULL
);
CREATE INDEX login_failures_user ON login_failures(username, at);
