import { createHash } from 'node:crypto';
import type { Catalog, Resource } from '../../src-shared/catalog.ts';
import type { Finding } from '../../src-shared/contract/audit.ts';
import type { OpenCache } from '../cache/cacheDb.ts';

/** What every pass of the audit shares, and the small helpers they use. */

export type Db = OpenCache['raw'];

export const findingId = (...parts: string[]) => createHash('sha1').update(parts.join('\u0000')).digest('hex').slice(0, 12);
export const quoteIdent = (s: string) => `"${s.replace(/"/g, '""')}"`;
/** verdict words (from the VERDICTS table, never from a CRM) as a SQL list */
export const sqlList = (words: string[]) => words.map((w) => `'${w.replace(/'/g, "''")}'`).join(', ');

/** What every pass of the audit shares: the cache, the catalog, the scope, and where findings go. */
export interface Pass {
  db: Db;
  catalog: Catalog;
  /** one partition (a company admin's audit), or null for every one */
  company: string | null;
  /** the SQL that limits a query on records r to the partition, and its parameters */
  part: string;
  params: Record<string, unknown>;
  byName: Map<string, Resource>;
  add(f: Omit<Finding, 'accepted'>): void;
  /** up to 20 ids a query gives, as a finding's evidence */
  idsOf(sql: string, p: Record<string, unknown>): string[];
  timings?: Map<string, number>;
}

/** The ids of the super admins among the cached users. */
export function superAdminIds(db: Db, catalog: Catalog): string[] {
  return db
    .prepare(`SELECT id FROM records WHERE resource = ? AND deleted = 0 AND json_extract(payload, '$.role') = 'super_admin'`)
    .pluck()
    .all(catalog.users) as string[];
}
