-- API keys for server-to-server calls (the external-game API, docs/external-games.md). The
-- key itself is shown once, when it is made; only the SHA-256 of it is kept. `scopes` is a
-- space-separated list (`game:read game:write admin`); `game` limits the key to one external
-- game. A rotated key names its successor (`replaced_by`) and keeps working until its
-- `expires_ms`, the end of the grace period; the successor names it (`rotated_from`).
-- Times are milliseconds since the Unix epoch.
CREATE TABLE api_keys (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    hash TEXT NOT NULL,
    scopes TEXT NOT NULL,
    game TEXT,
    rate TEXT NOT NULL,
    created_ms BIGINT NOT NULL,
    expires_ms BIGINT,
    revoked_ms BIGINT,
    last_used_ms BIGINT,
    rotated_from TEXT,
    replaced_by TEXT
);
