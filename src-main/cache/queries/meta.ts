import type { Phase2 } from '../../../src-shared/contract/audit.ts';
import type { OpenCache } from '../cacheDb.ts';

// The cache_meta table: what the cache says of itself (its binding to a CRM, whether it is an imported copy).

type Db = OpenCache['raw'];

/** What an imported copy says of where it came from. */
export interface ImportedCopy {
  tenant: string;
  exportedBy: string;
  exportedAt: string;
}

/** A value kept as JSON under `key`, or null. */
export function metaOf<T>(db: Db, key: string): T | null {
  const text = db.prepare('SELECT value FROM cache_meta WHERE key = ?').pluck().get(key) as string | undefined;
  return text ? (JSON.parse(text) as T) : null;
}

/** Keeps `value` as JSON under `key` (null removes it). */
export function setMeta(db: Db, key: string, value: unknown): void {
  if (value === null) db.prepare('DELETE FROM cache_meta WHERE key = ?').run(key);
  else db.prepare('INSERT OR REPLACE INTO cache_meta (key, value) VALUES (?, ?)').run(key, JSON.stringify(value));
}

export const importedCopy = (db: Db) => metaOf<ImportedCopy>(db, 'imported');
export const markImported = (db: Db, copy: ImportedCopy) => setMeta(db, 'imported', copy);

/** The last source audit run with this connection, as the audit document's Phase 2 reads it. */
export const phase2Of = (db: Db) => metaOf<Phase2>(db, 'phase2');
export const savePhase2 = (db: Db, phase2: Phase2) => setMeta(db, 'phase2', phase2);
