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
