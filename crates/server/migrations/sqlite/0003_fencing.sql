-- Cluster ownership: a room's fencing token grows each time a node takes it over; a write
-- carrying an older token is refused. Codes are unique among live rooms, across nodes.
ALTER TABLE rooms ADD COLUMN fence BIGINT NOT NULL DEFAULT 0;
CREATE UNIQUE INDEX rooms_live_code ON rooms (code) WHERE archived IS NULL;
