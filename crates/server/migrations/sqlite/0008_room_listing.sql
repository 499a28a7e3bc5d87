-- What the public room list filters on besides the game and free seats: the language the
-- room plays in and its tags (a JSON array of lower-case words), both chosen at `create`.
ALTER TABLE rooms ADD COLUMN lang TEXT;
ALTER TABLE rooms ADD COLUMN tags TEXT;
