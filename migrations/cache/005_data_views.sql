-- Saved views of the Data view: a name, the resource and tenant, and the grid's state (search,
-- sort, filters, columns), per operator.
CREATE TABLE saved_views (
  id          INTEGER PRIMARY KEY,
  owner       TEXT NOT NULL,
  name        TEXT NOT NULL,
  resource    TEXT NOT NULL,
  tenant      TEXT,
  state       TEXT NOT NULL,
  created_at  TEXT NOT NULL,
  UNIQUE (owner, name)
);
