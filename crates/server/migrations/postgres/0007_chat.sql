-- Each room's chat: every message said, by its number in the room. A message the host
-- deleted keeps its row (so its number is never given again) without its text.
CREATE TABLE chat (
    room   TEXT NOT NULL REFERENCES rooms (id),
    id     BIGINT NOT NULL,
    at_ms  BIGINT NOT NULL,
    -- The message as JSON (`ChatLine`); NULL once deleted.
    line   TEXT,
    PRIMARY KEY (room, id)
);

-- The members the host muted, as a JSON array of player ids; NULL for nobody.
ALTER TABLE rooms ADD COLUMN chat_muted TEXT;
