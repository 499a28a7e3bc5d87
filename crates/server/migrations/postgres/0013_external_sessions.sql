-- A party playing an external game: one session per launch, with its players. `status` is
-- `playing`, then `ended` (the game reported its end; `results` holds what it reported) or
-- `returned` (everyone went back to the lobby without an end). The game keeps its own state
-- in `state` (JSON text) with `state_version`, which only grows. Each player's `location`
-- (`lobby`, `game`, `disconnected`) has its own `version`: a report naming an older one is
-- refused with the current state. Times are milliseconds since the Unix epoch.
CREATE TABLE external_sessions (
    id TEXT PRIMARY KEY,
    game TEXT NOT NULL,
    party TEXT NOT NULL,
    round BIGINT NOT NULL,
    settings TEXT NOT NULL,
    status TEXT NOT NULL,
    results TEXT,
    state TEXT,
    state_version BIGINT NOT NULL,
    created_ms BIGINT NOT NULL,
    ended_ms BIGINT
);
CREATE INDEX external_sessions_party ON external_sessions (party);
CREATE TABLE external_players (
    session TEXT NOT NULL,
    player TEXT NOT NULL,
    name TEXT NOT NULL,
    seat BIGINT NOT NULL,
    location TEXT NOT NULL,
    version BIGINT NOT NULL,
    last_seen_ms BIGINT,
    PRIMARY KEY (session, player)
);
