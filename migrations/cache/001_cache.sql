-- The console's cache of one CRM connection. company_id leads every key and index; rows whose
-- company cannot be derived live in the explicit 'unassigned' partition.
CREATE TABLE records (
  company_id    TEXT NOT NULL,
  resource      TEXT NOT NULL,
  id            TEXT NOT NULL,
  updated_at    TEXT,
  deleted       INTEGER NOT NULL DEFAULT 0,
  payload       TEXT NOT NULL,
  fetched_by    TEXT NOT NULL,   -- the identity (email) the CRM returned the row to
  fetched_from  TEXT NOT NULL,   -- the request that returned it
  fetched_at    TEXT NOT NULL,
  seen_run      INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (company_id, resource, id)
) WITHOUT ROWID;
CREATE INDEX records_by_update ON records (company_id, resource, updated_at);
-- the one exception to "company_id first": a row is found by id when its children are synced
-- (a child's company is its parent's) and when a backfill moves it between partitions
CREATE INDEX records_by_id ON records (resource, id);

CREATE TABLE refs (
  company_id       TEXT NOT NULL,
  resource         TEXT NOT NULL,
  id               TEXT NOT NULL,
  field            TEXT NOT NULL,
  target_resource  TEXT NOT NULL,
  target_id        TEXT NOT NULL,
  PRIMARY KEY (company_id, resource, id, field)
) WITHOUT ROWID;
CREATE INDEX refs_by_target ON refs (target_resource, target_id);
CREATE INDEX refs_by_row ON refs (resource, id);

CREATE TABLE sync_state (
  company_id      TEXT NOT NULL,
  resource        TEXT NOT NULL,
  cursor          TEXT,            -- the next page of an unfinished listing
  listing_since   TEXT,            -- the updated_since of that listing
  high_water      TEXT,            -- latest updated_at of a finished listing
  rows            INTEGER NOT NULL DEFAULT 0,
  pages           INTEGER NOT NULL DEFAULT 0,
  last_finished_at TEXT,
  last_error      TEXT,
  proof           TEXT,            -- JSON: the last comparison with the server
  PRIMARY KEY (company_id, resource)
) WITHOUT ROWID;

CREATE TABLE deletions_state (
  company_id  TEXT NOT NULL PRIMARY KEY,
  since       TEXT
) WITHOUT ROWID;

CREATE TABLE leaks (
  identity_company_id TEXT NOT NULL,
  company_id          TEXT NOT NULL,   -- the row's own company
  resource            TEXT NOT NULL,
  id                  TEXT NOT NULL,
  identity            TEXT NOT NULL,
  request             TEXT NOT NULL,
  observed_at         TEXT NOT NULL,
  PRIMARY KEY (identity_company_id, resource, id, identity)
) WITHOUT ROWID;

CREATE TABLE sync_runs (
  id          INTEGER PRIMARY KEY AUTOINCREMENT,
  started_at  TEXT NOT NULL,
  finished_at TEXT,
  identity    TEXT NOT NULL,
  tenants     TEXT NOT NULL,
  outcome     TEXT NOT NULL DEFAULT 'running',
  rows        INTEGER NOT NULL DEFAULT 0,
  retries     INTEGER NOT NULL DEFAULT 0,
  message     TEXT
);
