-- Rooms, their action log and snapshots. Versions, times and seeds are u64 in Rust and
-- stored as BIGINT (two's complement for seeds and hashes above i64::MAX).
CREATE TABLE rooms (
    id             TEXT PRIMARY KEY,
    code           TEXT NOT NULL,
    game           TEXT NOT NULL,
    config         TEXT NOT NULL,
    seed           BIGINT NOT NULL,
    created_ms     BIGINT NOT NULL,
    public         BOOLEAN NOT NULL,
    max_players    BIGINT NOT NULL,
    max_spectators BIGINT NOT NULL,
    seat_grace_ms  BIGINT NOT NULL,
    -- NULL while the room is live; set when it is archived.
    archived       TEXT,
    archived_ms    BIGINT
);

CREATE TABLE log (
    room   TEXT NOT NULL REFERENCES rooms (id),
    v      BIGINT NOT NULL,
    at_ms  BIGINT NOT NULL,
    entry  TEXT NOT NULL,
    PRIMARY KEY (room, v)
);

CREATE TABLE snapshots (
    room   TEXT NOT NULL REFERENCES rooms (id),
    v      BIGINT NOT NULL,
    hash   BIGINT NOT NULL,
    state  TEXT NOT NULL,
    PRIMARY KEY (room, v)
);
