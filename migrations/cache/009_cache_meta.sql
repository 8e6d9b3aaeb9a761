-- What the cache belongs to: the CRM's origin and sign-in (the connection's binding). A cache
-- refuses to open under a connection that now points somewhere else.
CREATE TABLE cache_meta (
  key    TEXT PRIMARY KEY,
  value  TEXT NOT NULL
);
