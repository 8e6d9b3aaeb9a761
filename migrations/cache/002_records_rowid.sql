-- Payloads of a few hundred bytes make a WITHOUT ROWID table a poor fit (SQLite advises against it
-- for rows over ~1/20 of a page): every insert at a random UUID key split and rewrote wide leaf
-- pages. records becomes an ordinary rowid table, appended in arrival order; its key
-- (company_id, resource, id) stays, now as a unique index, and still leads with company_id.
-- refs was keyed by the row's UUID and indexed twice more at random: three B-trees written at a
-- random place per reference. It is now keyed by (company_id, the row's rid, field): rids grow
-- as rows arrive, so a sync appends to it. Who points at a row is found through records.
CREATE TABLE records_new (
  rid           INTEGER PRIMARY KEY,
  company_id    TEXT NOT NULL,
  resource      TEXT NOT NULL,
  id            TEXT NOT NULL,
  updated_at    TEXT,
  deleted       INTEGER NOT NULL DEFAULT 0,
  payload       TEXT NOT NULL,
  fetched_by    TEXT NOT NULL,
  fetched_from  TEXT NOT NULL,
  fetched_at    TEXT NOT NULL,
  seen_run      INTEGER NOT NULL DEFAULT 0,
  UNIQUE (company_id, resource, id)
);
INSERT INTO records_new (company_id, resource, id, updated_at, deleted, payload, fetched_by, fetched_from, fetched_at, seen_run)
  SELECT company_id, resource, id, updated_at, deleted, payload, fetched_by, fetched_from, fetched_at, seen_run FROM records;
DROP TABLE records;
ALTER TABLE records_new RENAME TO records;
CREATE INDEX records_by_update ON records (company_id, resource, updated_at);
CREATE INDEX records_by_id ON records (resource, id);

CREATE TABLE refs_new (
  company_id       TEXT NOT NULL,
  rid              INTEGER NOT NULL,   -- records.rid of the referring row
  field            TEXT NOT NULL,
  target_resource  TEXT NOT NULL,
  target_id        TEXT NOT NULL,
  PRIMARY KEY (company_id, rid, field)
) WITHOUT ROWID;
INSERT INTO refs_new (company_id, rid, field, target_resource, target_id)
  SELECT f.company_id, r.rid, f.field, f.target_resource, f.target_id
  FROM refs f JOIN records r ON r.company_id = f.company_id AND r.resource = f.resource AND r.id = f.id;
DROP TABLE refs;
ALTER TABLE refs_new RENAME TO refs;
