-- Deletions feed for incremental sync: one tombstone per soft-deleted row.
CREATE TABLE tombstones (
  resource    text NOT NULL,
  id          uuid NOT NULL,
  company_id  uuid,
  owner_id    uuid,
  deleted_at  timestamptz NOT NULL DEFAULT clock_timestamp(),
  PRIMARY KEY (resource, id)
);
CREATE INDEX idx_tombstones_sync ON tombstones(deleted_at, resource, id);
