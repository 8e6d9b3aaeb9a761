-- Users' companies learnt without a users endpoint (the CRM's database, or the identities' own
-- /me): what places owner-derived rows when the catalog's users cannot be listed.
CREATE TABLE user_directory (
  id          TEXT PRIMARY KEY,
  company_id  TEXT,
  source      TEXT NOT NULL,   -- 'database' or 'whoami'
  seen_at     TEXT NOT NULL
);
