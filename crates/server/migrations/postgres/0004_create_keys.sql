-- A room made by a `create` that carried a request key remembers who sent it and the key,
-- so a retry of that request finds the room instead of making a second one (also after a
-- restart, and on any node). One key per room; a player's keys are unique.
ALTER TABLE rooms ADD COLUMN creator TEXT;
ALTER TABLE rooms ADD COLUMN create_key TEXT;
CREATE UNIQUE INDEX rooms_create_key ON rooms (creator, create_key) WHERE create_key IS NOT NULL;
