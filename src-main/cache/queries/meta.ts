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

export function importedCopy(db: Db): ImportedCopy | null {
  const text = db.prepare("SELECT value FROM cache_meta WHERE key = 'imported'").pluck().get() as string | undefined;
  return text ? (JSON.parse(text) as ImportedCopy) : null;
}

export function markImported(db: Db, copy: ImportedCopy): void {
  db.prepare("INSERT OR REPLACE INTO cache_meta (key, value) VALUES ('imported', ?)").run(JSON.stringify(copy));
}

/** The last source audit run with this connection, as the audit document's Phase 2 reads it. */
export function phase2Of(db: Db): Phase2 | null {
  const text = db.prepare("SELECT value FROM cache_meta WHERE key = 'phase2'").pluck().get() as string | undefined;
  return text ? (JSON.parse(text) as Phase2) : null;
}

export function savePhase2(db: Db, phase2: Phase2): void {
  db.prepare("INSERT OR REPLACE INTO cache_meta (key, value) VALUES ('phase2', ?)").run(JSON.stringify(phase2));
}
