-- Finished games: one row per game, and one row per player and place for per-player lists.
CREATE TABLE results (
    room    TEXT NOT NULL REFERENCES rooms (id),
    v       BIGINT NOT NULL,
    game    TEXT NOT NULL,
    at_ms   BIGINT NOT NULL,
    ranking TEXT NOT NULL,
    PRIMARY KEY (room, v)
);

CREATE TABLE result_players (
    room   TEXT NOT NULL,
    v      BIGINT NOT NULL,
    player TEXT NOT NULL,
    place  BIGINT NOT NULL,
    PRIMARY KEY (room, v, player),
    FOREIGN KEY (room, v) REFERENCES results (room, v)
);

CREATE INDEX result_players_by_player ON result_players (player);
