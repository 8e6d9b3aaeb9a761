import type { OpenCache } from '../cacheDb.ts';

// The statements a sync writes each page with (prepared once a cache, run inside one transaction a page).

const COLUMNS = 'company_id, resource, id, updated_at, deleted, payload, fetched_by, fetched_from, fetched_at, seen_run, has_company_field, own_company';

/**
 * Place a row (answers its rid): an upsert on records' key, or, while a bulk load holds records
 * without its indexes (queries/bulkLoad.ts), a plain append; its references, who saw it, leak evidence.
 */
export function ingestStatements(raw: OpenCache['raw'], bulk: boolean) {
  return {
    place: raw
      .prepare(
        bulk
          ? `INSERT INTO records (${COLUMNS}) VALUES (?, ?, ?, ?, 0, ?, ?, ?, ?, ?, ?, ?) RETURNING rid`
          : `INSERT INTO records (${COLUMNS}) VALUES (?, ?, ?, ?, 0, ?, ?, ?, ?, ?, ?, ?)
    ON CONFLICT (company_id, resource, id) DO UPDATE SET updated_at = excluded.updated_at, deleted = 0, payload = excluded.payload,
      fetched_by = excluded.fetched_by, fetched_from = excluded.fetched_from, fetched_at = excluded.fetched_at, seen_run = excluded.seen_run,
      has_company_field = excluded.has_company_field, own_company = excluded.own_company
    RETURNING rid`,
      )
      .pluck(),
    existing: raw.prepare('SELECT rid, company_id FROM records WHERE resource = ? AND id = ?'),
    moveOut: raw.prepare('DELETE FROM records WHERE rid = ?'),
    dropRefs: raw.prepare('DELETE FROM refs WHERE company_id = ? AND rid = ?'),
    addRef: raw.prepare('INSERT OR REPLACE INTO refs (company_id, rid, field, target_resource, target_id, resource) VALUES (?, ?, ?, ?, ?, ?)'),
    seenBy: raw.prepare(
      'INSERT INTO record_seen_by (identity, rid, run_id) VALUES (?, ?, ?) ON CONFLICT (identity, rid) DO UPDATE SET run_id = excluded.run_id',
    ),
    leak: raw.prepare(
      'INSERT OR IGNORE INTO leaks (identity_company_id, company_id, resource, id, identity, request, observed_at) VALUES (?, ?, ?, ?, ?, ?, ?)',
    ),
  };
}
