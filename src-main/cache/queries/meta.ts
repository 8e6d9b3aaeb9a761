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
