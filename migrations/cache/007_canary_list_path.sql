-- A canary of a collection with no delete endpoint (a nested one: /documents/{id}/signatures/)
-- goes with its parent; the cleanup confirms that by listing where it was created.
ALTER TABLE canary_ledger ADD COLUMN list_path TEXT;
