-- A room's password, as an argon2id PHC string (never the password itself); NULL for a room
-- without one.
ALTER TABLE rooms ADD COLUMN lock TEXT;
