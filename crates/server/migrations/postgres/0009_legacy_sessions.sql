-- What the Go game server's `reconnect` finds (docs/hub-compat.md): a legacy socket that
-- closed in a room leaves its player's token and the room, by client id, until `expires_ms`.
-- Kept here so that a restarted node, or another node of the cluster, finds it too.
CREATE TABLE legacy_sessions (
    client TEXT PRIMARY KEY,
    body TEXT NOT NULL,
    expires_ms BIGINT NOT NULL
);
