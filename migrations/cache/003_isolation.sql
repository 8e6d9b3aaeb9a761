-- The isolation runner's history: runs, one verdict a (resource, identity, operation), and the
-- cleanup ledger of every canary record it creates (written before the create, so that a run
-- killed mid-way is cleaned up by the next one).
CREATE TABLE isolation_runs (
  id           INTEGER PRIMARY KEY AUTOINCREMENT,
  started_at   TEXT NOT NULL,
  finished_at  TEXT,
  read_only    INTEGER NOT NULL DEFAULT 0,
  outcome      TEXT NOT NULL DEFAULT 'running',   -- running | ok | leaks | incomplete | cancelled
  probes       INTEGER NOT NULL DEFAULT 0,
  leaks        INTEGER NOT NULL DEFAULT 0,
  message      TEXT
);

CREATE TABLE isolation_results (
  run_id      INTEGER NOT NULL,
  resource    TEXT NOT NULL,
  identity    TEXT NOT NULL,   -- the identity's label
  operation   TEXT NOT NULL,   -- list | search | read | update | delete | create
  verdict     TEXT NOT NULL,   -- enforced | leak | suspect | exists-oracle | error | skipped
  detail      TEXT NOT NULL,   -- in words
  evidence    TEXT NOT NULL,   -- JSON: [{request, status, excerpt}]
  PRIMARY KEY (run_id, resource, identity, operation)
) WITHOUT ROWID;

CREATE TABLE canary_ledger (
  id           INTEGER PRIMARY KEY AUTOINCREMENT,
  run_id       INTEGER NOT NULL,
  resource     TEXT NOT NULL,
  marker       TEXT NOT NULL,
  record_id    TEXT,            -- known once the create answered
  delete_path  TEXT,            -- where to delete it (nested collections carry their parent's id)
  owner        TEXT NOT NULL,   -- the identity that created it
  created_at   TEXT NOT NULL,
  removed_at   TEXT,
  note         TEXT             -- why it could not be removed
);
CREATE INDEX canary_ledger_open ON canary_ledger (removed_at, resource);
