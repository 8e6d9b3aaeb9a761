-- A first sync loads like a database (sync/bulkLoad.ts): rows are appended to records with its
-- secondary indexes dropped, and the indexes are built once, sorted, when the load ends. SQLite
-- cannot drop the index behind a UNIQUE constraint of the table, so records' key
-- (company_id, resource, id) becomes a named unique index, records_key: the same key, the same
-- upsert target, but an index the load can drop and build again.
CREATE TABLE records_new (
  rid                INTEGER PRIMARY KEY,
  company_id         TEXT NOT NULL,
  resource           TEXT NOT NULL,
  id                 TEXT NOT NULL,
  updated_at         TEXT,
  deleted            INTEGER NOT NULL DEFAULT 0,
  payload            TEXT NOT NULL,
  fetched_by         TEXT NOT NULL,
  fetched_from       TEXT NOT NULL,
  fetched_at         TEXT NOT NULL,
  seen_run           INTEGER NOT NULL DEFAULT 0,
  has_company_field  INTEGER NOT NULL DEFAULT 0,
  own_company        TEXT
);
INSERT INTO records_new (rid, company_id, resource, id, updated_at, deleted, payload, fetched_by, fetched_from, fetched_at, seen_run, has_company_field, own_company)
  SELECT rid, company_id, resource, id, updated_at, deleted, payload, fetched_by, fetched_from, fetched_at, seen_run, has_company_field, own_company FROM records;
DROP TABLE records;
ALTER TABLE records_new RENAME TO records;
CREATE UNIQUE INDEX records_key ON records (company_id, resource, id);
CREATE INDEX records_by_update ON records (company_id, resource, updated_at);
CREATE INDEX records_audit ON records (company_id, resource, deleted, has_company_field, own_company);
CREATE INDEX records_by_id ON records (resource, id, company_id, deleted);
