import { OUTSIDE, UNASSIGNED } from '../../../src-shared/partitions.ts';
import type { OpenCache } from '../cacheDb.ts';

// The records table: every cached row, partitioned by company_id.

type Db = OpenCache['raw'];

/** The companies the cache holds rows of (by id), not counting the unassigned and outside partitions. */
export function cachedCompanies(db: Db): string[] {
  return db.prepare('SELECT DISTINCT company_id FROM records WHERE company_id NOT IN (?, ?)').pluck().all(UNASSIGNED, OUTSIDE) as string[];
}

/** a plain user's rows: those their own sync was given (record_seen_by), never the rest of the company's partition */
export const SEEN = 'rid IN (SELECT rid FROM record_seen_by WHERE identity = @seenBy)';

export interface RecordRow {
  rid: number;
  company_id: string;
  resource: string;
  id: string;
  updated_at: string | null;
  deleted: number;
  payload: string;
  fetched_by: string;
  fetched_from: string;
  fetched_at: string;
}

/** One record by resource and id, in one partition (or any when `company` is null), a live row before a deleted one. */
export function findRecord(db: Db, opts: { resource: string; id: string; company: string | null; seenBy?: string }): RecordRow | undefined {
  return db
    .prepare(
      `SELECT rid, company_id, resource, id, updated_at, deleted, payload, fetched_by, fetched_from, fetched_at FROM records
      WHERE resource = @resource AND id = @id ${opts.company !== null ? 'AND company_id = @company' : ''} ${opts.seenBy !== undefined ? `AND ${SEEN}` : ''} ORDER BY deleted LIMIT 1`,
    )
    .get({ resource: opts.resource, id: opts.id, company: opts.company, seenBy: opts.seenBy }) as RecordRow | undefined;
}

/** What a row points at, each target's company from the cache (null when the cache does not hold it). */
export function refsFrom(db: Db, company: string, rid: number): { field: string; target_resource: string; target_id: string; target_company: string | null }[] {
  return db
    .prepare(
      `SELECT f.field, f.target_resource, f.target_id, (SELECT t.company_id FROM records t WHERE t.resource = f.target_resource AND t.id = f.target_id AND t.deleted = 0 LIMIT 1) AS target_company
      FROM refs f WHERE f.company_id = ? AND f.rid = ? ORDER BY f.field`,
    )
    .all(company, rid) as { field: string; target_resource: string; target_id: string; target_company: string | null }[];
}

/**
 * Live rows that point at a row (the first 50), of one company when `company` is set (a company
 * admin's), only those a plain user's sync was given when `seenBy` is set. refs is keyed by the
 * referring row's company: one company's referrers are one range of it (a few ms at 1M rows,
 * where every company's were a scan of all refs, 0.26-0.75 s, and the first 50 of them could be
 * other companies', which the caller then left out).
 */
export function refsTo(
  db: Db,
  rid: number,
  opts: { company?: string | null; seenBy?: string } = {},
): { resource: string; id: string; company_id: string; field: string }[] {
  const { company = null, seenBy } = opts;
  return db
    .prepare(
      `SELECT r.resource, r.id, r.company_id, f.field FROM records t JOIN refs f ON f.target_resource = t.resource AND f.target_id = t.id JOIN records r ON r.rid = f.rid
      WHERE t.rid = @rid AND r.deleted = 0 ${company !== null ? 'AND f.company_id = @company' : ''}
        ${seenBy !== undefined ? 'AND r.rid IN (SELECT rid FROM record_seen_by WHERE identity = @seenBy)' : ''} ORDER BY r.resource, r.id LIMIT 50`,
    )
    .all({ rid, company, seenBy }) as { resource: string; id: string; company_id: string; field: string }[];
}

/** Live rows by partition and resource, with how many lack a company field. */
export function rowsByPartition(db: Db, seenBy?: string): { company_id: string; resource: string; rows: number; missing: number }[] {
  return db
    .prepare(
      `SELECT company_id, resource, count(*) AS rows, sum(has_company_field = 0) AS missing FROM records WHERE deleted = 0 ${seenBy !== undefined ? `AND ${SEEN}` : ''} GROUP BY company_id, resource`,
    )
    .all({ seenBy }) as { company_id: string; resource: string; rows: number; missing: number }[];
}

/** Resources one partition holds live rows of, with counts. */
export function resourceCounts(db: Db, company: string, seenBy?: string): { resource: string; rows: number }[] {
  return db
    .prepare(
      `SELECT resource, count(*) AS rows FROM records WHERE company_id = @company AND deleted = 0 ${seenBy !== undefined ? `AND ${SEEN}` : ''} GROUP BY resource ORDER BY resource`,
    )
    .all({ company, seenBy }) as { resource: string; rows: number }[];
}
