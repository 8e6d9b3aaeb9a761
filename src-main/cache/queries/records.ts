import { OUTSIDE, UNASSIGNED } from '../../../src-shared/partitions.ts';
import type { OpenCache } from '../cacheDb.ts';

// The records table: every cached row, partitioned by company_id.

type Db = OpenCache['raw'];

/** The companies the cache holds rows of (by id), not counting the unassigned and outside partitions. */
export function cachedCompanies(db: Db): string[] {
  return db.prepare('SELECT DISTINCT company_id FROM records WHERE company_id NOT IN (?, ?)').pluck().all(UNASSIGNED, OUTSIDE) as string[];
}
