-- Every room a player's `create` made names its creator (not only keyed ones), and each
-- `create` counts the creator's live rooms across every node that shares this database.
CREATE INDEX rooms_live_by_creator ON rooms (creator) WHERE archived IS NULL;
