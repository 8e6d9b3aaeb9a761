-- The Data view at a million rows (data/positions.ts, cache/queries/columnIndexes.ts, searchIndex.ts).
-- records_by_update gains `deleted` before the update time: the grid's default order (newest
-- first, deleted rows hidden) and its count are then read from the index alone, never the rows.
DROP INDEX records_by_update;
CREATE INDEX records_by_update ON records (company_id, resource, deleted, updated_at);
-- The indexes on one payload column the Data view made on demand when a column was sorted or
-- filtered, and when each was last used: the least used are dropped, since every index costs the
-- sync a write per row.
CREATE TABLE column_indexes (
  name          TEXT PRIMARY KEY,
  resource      TEXT NOT NULL,
  field         TEXT NOT NULL,
  created_at    TEXT NOT NULL,
  last_used_at  TEXT NOT NULL,
  UNIQUE (resource, field)
);
