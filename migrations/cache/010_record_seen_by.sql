-- Which rows each plain user's own sync was given, and in which run: a user reads only those
-- (not every row of the company that an admin synced into the same partition).
CREATE TABLE record_seen_by (
  identity  TEXT NOT NULL,
  rid       INTEGER NOT NULL,
  run_id    INTEGER NOT NULL,
  PRIMARY KEY (identity, rid)
) WITHOUT ROWID;
