-- Who signed in to this connection, as the CRM said at the time: the console opens offline on the
-- cache with the role and company recorded here, after checking the password against a local
-- scrypt verifier (the password itself is never stored).
CREATE TABLE operators (
  username      TEXT NOT NULL PRIMARY KEY,
  user_json     TEXT NOT NULL,
  role          TEXT NOT NULL,
  company_json  TEXT,
  tenants_json  TEXT NOT NULL,
  verifier      TEXT,
  signed_in_at  TEXT NOT NULL
) WITHOUT ROWID;
