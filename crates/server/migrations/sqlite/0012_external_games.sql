-- Games that run elsewhere (their own web app or server) and use the platform's parties
-- (docs/external-games.md). Registered, and re-registered to update them, over the API;
-- `revision` counts the registrations. `settings_schema` is the game's JSON Schema for its
-- settings, as text. Times are milliseconds since the Unix epoch.
CREATE TABLE external_games (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    url TEXT NOT NULL,
    min_players BIGINT NOT NULL,
    max_players BIGINT NOT NULL,
    settings_schema TEXT NOT NULL,
    revision BIGINT NOT NULL,
    registered_by TEXT NOT NULL,
    created_ms BIGINT NOT NULL,
    updated_ms BIGINT NOT NULL
);
