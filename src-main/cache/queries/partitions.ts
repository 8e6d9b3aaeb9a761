import { ALL } from '../../../src-shared/partitions.ts';
import type { OpenCache } from '../cacheDb.ts';

// The cache's partitions (one a company, plus unassigned and outside): their summary, and eviction.

type Db = OpenCache['raw'];

export interface PartitionSummary {
  company_id: string;
  rows: number;
  deleted: number;
  last_sync: string | null;
  leaks: number;
  proven: number;
  drifted: number;
  proof_as_of: string | null;
}

/**
 * Rows per partition, last finished sync, open leaks; a company synced or proven with no rows
 * (the CRM has none of it to give) is a partition of 0 rows, not "not synced".
 */
export function partitionSummaries(db: Db): PartitionSummary[] {
  return db
    .prepare(
      `
      WITH known AS (
        SELECT company_id, deleted FROM records
        UNION ALL SELECT DISTINCT company_id, NULL FROM sync_state WHERE company_id <> '${ALL}' AND company_id NOT LIKE '%@%')
      SELECT r.company_id, coalesce(sum(r.deleted = 0), 0) AS rows, coalesce(sum(r.deleted = 1), 0) AS deleted,
        (SELECT max(last_finished_at) FROM sync_state s WHERE s.company_id IN (r.company_id, '${ALL}')) AS last_sync,
        (SELECT count(*) FROM leaks l WHERE l.company_id = r.company_id) AS leaks,
        (SELECT count(proof) FROM sync_state s WHERE s.company_id = r.company_id) AS proven,
        (SELECT count(*) FROM sync_state s WHERE s.company_id = r.company_id AND json_extract(s.proof, '$.status') = 'drifted') AS drifted,
        (SELECT max(json_extract(s.proof, '$.asOf')) FROM sync_state s WHERE s.company_id = r.company_id) AS proof_as_of
      FROM known r GROUP BY r.company_id ORDER BY r.company_id`,
    )
    .all() as PartitionSummary[];
}

/** Removes a partition: its rows, references, sync state and leak evidence about it; answers the rows removed. */
export function evictPartition(db: Db, company: string): number {
  return db.transaction(() => {
    db.prepare('DELETE FROM record_seen_by WHERE rid IN (SELECT rid FROM records WHERE company_id = ?)').run(company);
    const n = db.prepare('DELETE FROM records WHERE company_id = ?').run(company).changes;
    db.prepare('DELETE FROM refs WHERE company_id = ?').run(company);
    db.prepare('DELETE FROM sync_state WHERE company_id = ?').run(company);
    db.prepare('DELETE FROM deletions_state WHERE company_id = ?').run(company);
    // an all-tenant sync's high-water marks would skip the evicted rows: the next one relists in full
    db.prepare(`DELETE FROM sync_state WHERE company_id = '${ALL}'`).run();
    db.prepare(`DELETE FROM deletions_state WHERE company_id = '${ALL}'`).run();
    return n;
  })();
}
