-- The offline audit: findings a person accepted (they drop out of the failing set), and every
-- audit run's findings, so that two runs can be compared (new, fixed, still open).
CREATE TABLE audit_acceptances (
  finding_id   TEXT NOT NULL PRIMARY KEY,
  reason       TEXT NOT NULL,
  accepted_by  TEXT NOT NULL,
  accepted_at  TEXT NOT NULL
) WITHOUT ROWID;

CREATE TABLE audit_runs (
  id            INTEGER PRIMARY KEY AUTOINCREMENT,
  generated_at  TEXT NOT NULL,
  as_of         TEXT,            -- the last sync the cache holds
  scope         TEXT NOT NULL,   -- '*' (every partition) or one company_id
  findings      TEXT NOT NULL    -- JSON: [{id, severity}]
);

-- What the audit asks of every row, kept as columns when the row is written so that the audit
-- reads an index instead of parsing a million payloads: whether the payload carries the
-- resource's company field at all, and its value (NULL when absent or null).
ALTER TABLE records ADD COLUMN has_company_field INTEGER NOT NULL DEFAULT 0;
ALTER TABLE records ADD COLUMN own_company TEXT;
UPDATE records SET has_company_field = json_type(payload, '$.company_id') IS NOT NULL, own_company = json_extract(payload, '$.company_id');
CREATE INDEX records_audit ON records (company_id, resource, deleted, has_company_field, own_company);
-- a row found by id answers its company from the index alone (references, parents, owners)
DROP INDEX records_by_id;
CREATE INDEX records_by_id ON records (resource, id, company_id, deleted);
-- a reference knows the resource of the row it belongs to: the audit can leave out, before any
-- lookup, the owner and parent references a row's company was derived from
ALTER TABLE refs ADD COLUMN resource TEXT;
UPDATE refs SET resource = (SELECT r.resource FROM records r WHERE r.rid = refs.rid);
