-- records had two indexes on the same three columns: records_key (company_id, resource, id), the
-- unique key an upsert names, and records_by_id (resource, id, company_id, deleted), which finds a
-- row by resource and id whatever its company. A unique index's columns may come in any order (an
-- upsert's ON CONFLICT names them as a set), so one unique index (resource, id, company_id) is both.
-- Every row written keeps one B-tree fewer up to date, and a first sync builds one index fewer
-- (about 1.2 s and 70 MB at 1M rows). `deleted` is no longer in it: a lookup that needs it reads
-- the row after the index has matched (the audit's references pass measured 1.0 s against 1.1 s).
DROP INDEX IF EXISTS records_by_id;
DROP INDEX IF EXISTS records_key;
CREATE UNIQUE INDEX records_key ON records (resource, id, company_id);
