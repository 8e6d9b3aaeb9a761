import { processAlive } from '../../core/process.ts';
import { setPragmas } from '../../core/sqlite.ts';
import type { OpenCache } from '../cacheDb.ts';
import { dropColumnIndexes } from './columnIndexes.ts';
import { metaOf, setMeta } from './meta.ts';
import { dropSearchIndex } from './searchIndex.ts';

// A first sync into an empty cache loads like a database: records' indexes are dropped, its rows
// appended in arrival order (each page still committed with its cursor), and the indexes built
// once, sorted, when the load ends. Random UUID keys make every row of a normal upsert land on a
// different page of four B-trees; a sorted build writes each index page once (bench/sync).
//
// The load is kept in cache_meta ('bulk-load'): who runs it and the SQL of the indexes it dropped,
// so that whoever ends it (the sync that began it, or the next opening of the cache after a kill)
// builds exactly what was there, and no second copy of the schema is written here.

type Db = OpenCache['raw'];

export interface BulkLoad {
  /** the process that loads; another may end the load once this one is gone */
  pid: number;
  runId: number;
  startedAt: string;
  /** records' indexes as sqlite_master had them, built again in this order (unique ones last) */
  indexes: Array<{ name: string; sql: string }>;
  /** the catalog's references: refs is filled from the loaded payloads when the load ends, in one sorted pass */
  references: LoadReference[];
}

/** A field of a resource's rows that names a row of another resource. */
export interface LoadReference {
  resource: string;
  field: string;
  target: string;
}

export interface BulkLoadEnd {
  rows: number;
  /** rows the CRM listed twice during the load (a page shifted under an offset listing): the last copy is kept */
  duplicates: number;
  indexSeconds: number;
  /** where the time went, in order: each index built, copies removed, references filled, rows counted, the commit */
  steps: Array<{ step: string; seconds: number }>;
}

export const bulkLoadOf = (db: Db) => metaOf<BulkLoad>(db, 'bulk-load');

/**
 * The page cache while a load appends and while it builds the indexes, in KiB (SQLite's negative
 * cache_size): an append reads nothing back, and a smaller cache makes the sorts behind CREATE INDEX
 * work in smaller runs. At 1M rows, 16 MiB rather than the cache's usual 96 MiB built the indexes
 * in 6.6-6.8 s rather than 9.7-10.2 s, and kept the sync's peak RSS under 400 MB (bench/sync).
 */
export const LOAD_CACHE_KIB = 16384;

/**
 * Begins a bulk load when records holds no row at all and no load is under way: drops records'
 * indexes and remembers them. Answers whether it began (an empty cache is the only one a load
 * can fill without looking up what is already there).
 */
export function beginBulkLoad(db: Db, runId: number, references: LoadReference[]): boolean {
  return db
    .transaction(() => {
      if (bulkLoadOf(db) || db.prepare('SELECT 1 FROM records LIMIT 1').get()) return false;
      // the Data view's indexes are made again when next used: building them here would only slow the load
      dropColumnIndexes(db);
      dropSearchIndex(db);
      const indexes = db
        .prepare(
          "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'records' AND sql IS NOT NULL ORDER BY sql LIKE 'CREATE UNIQUE%', name",
        )
        .all() as BulkLoad['indexes'];
      const load: BulkLoad = { pid: process.pid, runId, startedAt: new Date().toISOString(), indexes, references };
      setMeta(db, 'bulk-load', load);
      for (const i of indexes) db.exec(`DROP INDEX "${i.name.replace(/"/g, '""')}"`);
      return true;
    })
    .immediate();
}

/**
 * Ends the load in one transaction: the indexes are built, the unique key last; every copy but the
 * last of a row listed twice is removed with its references (found through the key, or by a sort
 * when two copies in one company keep the key from being built), then the load's mark removed. A
 * kill before the commit leaves the load as it was, to be ended again.
 */
export function finishBulkLoad(db: Db): BulkLoadEnd | null {
  const started = performance.now();
  // the sorts behind CREATE INDEX: two threads (2 cores: about a third faster), spilling to a
  // temporary file past the page cache rather than growing this process (temp_store 1 is FILE;
  // the cache's own is MEMORY), in the load's page cache
  const giveBack = setPragmas(db, { temp_store: 1, threads: 2, cache_size: -LOAD_CACHE_KIB });
  try {
    const ended = end(db, started);
    if (ended) {
      // what the transaction took past its last step: writing the new pages to the log
      const stepped = ended.steps.reduce((a, s) => a + s.seconds, 0);
      ended.indexSeconds = (performance.now() - started) / 1000;
      ended.steps.push({ step: 'commit', seconds: Math.max(0, ended.indexSeconds - stepped) });
    }
    return ended;
  } finally {
    giveBack();
  }
}

function end(db: Db, started: number): BulkLoadEnd | null {
  return db
    .transaction(() => {
      const load = bulkLoadOf(db);
      if (!load) return null;
      const steps: BulkLoadEnd['steps'] = [];
      const step = <T>(name: string, fn: () => T): T => {
        const t = performance.now();
        try {
          return fn();
        } finally {
          steps.push({ step: name, seconds: (performance.now() - t) / 1000 });
        }
      };
      const unique = (sql: string) => /^CREATE\s+UNIQUE/i.test(sql);
      for (const i of load.indexes.filter((x) => !unique(x.sql))) step(i.name, () => db.exec(i.sql));
      let duplicates = 0;
      for (const i of load.indexes.filter((x) => unique(x.sql))) {
        // a row listed twice in the same company is the rare case (a page shifted under an offset
        // listing): the key is built once and its build only repeated after such copies are removed
        if (!step(i.name, () => tryExec(db, i.sql))) {
          duplicates += step('copies listed twice', () => dropEarlierCopies(db));
          step(i.name, () => db.exec(i.sql));
        }
      }
      duplicates += step('copies listed twice', () => dropEarlierCopies(db));
      step('references', () => fillReferences(db, load.references));
      setMeta(db, REFS_CATALOG, referencesKey(load.references));
      setMeta(db, 'bulk-load', null);
      const rows = step('rows counted', () => db.prepare('SELECT count(*) FROM records').pluck().get() as number);
      return { rows, duplicates, indexSeconds: (performance.now() - started) / 1000, steps };
    })
    .immediate();
}

/** Runs a statement that a duplicate row may refuse; answers false when refused, with nothing of it left. */
function tryExec(db: Db, sql: string): boolean {
  db.exec('SAVEPOINT bulk_try');
  try {
    db.exec(sql);
    db.exec('RELEASE bulk_try');
    return true;
  } catch (e) {
    db.exec('ROLLBACK TO bulk_try');
    db.exec('RELEASE bulk_try');
    if ((e as { code?: string }).code === 'SQLITE_CONSTRAINT_UNIQUE') return false;
    throw e;
  }
}

/**
 * The references of the loaded rows, read from their payloads by SQLite in one pass over records
 * in rowid order (what ingest does a row at a time: a value that is not empty, as text), and
 * written in refs' key order: appended, where rowid order would insert into every company's part
 * of the key at once (at 1M rows, sorted is about twice as fast).
 */
function fillReferences(db: Db, references: LoadReference[]): void {
  if (!references.length) return;
  db.exec('CREATE TEMP TABLE load_refs (resource TEXT NOT NULL, field TEXT NOT NULL, target TEXT NOT NULL, path TEXT NOT NULL, PRIMARY KEY (resource, field))');
  try {
    const add = db.prepare('INSERT OR IGNORE INTO load_refs (resource, field, target, path) VALUES (?, ?, ?, ?)');
    for (const r of references) add.run(r.resource, r.field, r.target, `$."${r.field}"`);
    db.exec(`INSERT OR REPLACE INTO refs (company_id, rid, field, target_resource, target_id, resource)
      SELECT company_id, rid, field, target, v, resource FROM (
        SELECT r.company_id, r.rid, f.field, f.target, r.resource, CASE json_type(r.payload, f.path)
          WHEN 'text' THEN json_extract(r.payload, f.path) WHEN 'integer' THEN CAST(json_extract(r.payload, f.path) AS TEXT)
          WHEN 'real' THEN CAST(json_extract(r.payload, f.path) AS TEXT) WHEN 'true' THEN 'true' WHEN 'false' THEN 'false' END AS v
        FROM records r NOT INDEXED JOIN load_refs f ON f.resource = r.resource)
      WHERE v IS NOT NULL AND v != ''
      ORDER BY company_id, rid, field`);
  } finally {
    db.exec('DROP TABLE load_refs');
  }
}

/** cache_meta's record of the references refs holds: the catalog's when refs was filled (referencesKey) */
const REFS_CATALOG = 'refs-catalog';

/** The catalog's references in one order, as cache_meta keeps them. */
export const referencesKey = (references: LoadReference[]): string[] => references.map((r) => `${r.resource}.${r.field} -> ${r.target}`).sort();

/** Whether refs was filled with other references than these (and no load, which fills it when it ends, is under way). */
export function referencesStale(db: Db, references: LoadReference[]): boolean {
  if (bulkLoadOf(db)) return false;
  const had = metaOf<string[]>(db, REFS_CATALOG);
  return !had || JSON.stringify(had) !== JSON.stringify(referencesKey(references));
}

/**
 * refs read again from every row's payload when the catalog's references are not those refs was
 * filled with (a field became a reference or stopped being one; or a cache from before this was
 * kept). A sync leaves the references of a row listed again with the payload it had as they are,
 * so they must be the catalog's. Answers whether refs was read again (about 4 s at 1M rows, once).
 */
export function refreshReferences(db: Db, references: LoadReference[]): boolean {
  const key = referencesKey(references);
  return db
    .transaction(() => {
      if (!referencesStale(db, references)) return false;
      const rows = !!db.prepare('SELECT 1 FROM records LIMIT 1').get();
      if (rows) {
        db.exec('DELETE FROM refs');
        fillReferences(db, references);
      }
      setMeta(db, REFS_CATALOG, key);
      return rows;
    })
    .immediate();
}

/**
 * Every copy of a (resource, id) but the last written, with its references and readers: what an
 * upsert would have left. Read through records_key when it is built, by a sort of records when not.
 */
function dropEarlierCopies(db: Db): number {
  const groups = db.prepare('SELECT resource, id FROM records GROUP BY resource, id HAVING count(*) > 1').all() as Array<{ resource: string; id: string }>;
  if (!groups.length) return 0;
  db.exec('CREATE TEMP TABLE bulk_earlier (rid INTEGER PRIMARY KEY, company_id TEXT NOT NULL)');
  try {
    const copies = db.prepare('SELECT rid, company_id FROM records WHERE resource = ? AND id = ? ORDER BY rid');
    const put = db.prepare('INSERT INTO bulk_earlier (rid, company_id) VALUES (?, ?)');
    let n = 0;
    for (const g of groups) {
      const all = copies.all(g.resource, g.id) as Array<{ rid: number; company_id: string }>;
      for (const c of all.slice(0, -1)) n += put.run(c.rid, c.company_id).changes;
    }
    db.exec(`DELETE FROM refs WHERE (company_id, rid) IN (SELECT company_id, rid FROM bulk_earlier);
      DELETE FROM record_seen_by WHERE rid IN (SELECT rid FROM bulk_earlier);
      DELETE FROM records WHERE rid IN (SELECT rid FROM bulk_earlier);`);
    return n;
  } finally {
    db.exec('DROP TABLE bulk_earlier');
  }
}

/**
 * On opening a cache: a load whose process is gone (killed mid-sync) is ended now, so that no
 * cache stays without its indexes; the sync that resumes it goes on with ordinary upserts.
 */
export function endAbandonedLoad(db: Db): BulkLoadEnd | null {
  // a cache not yet migrated as far as cache_meta (a new one among them) holds no load
  if (!db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'cache_meta'").get()) return null;
  const load = bulkLoadOf(db);
  // a process still running is loading it (this one too, through another handle on the same file)
  if (!load || processAlive(load.pid)) return null;
  return finishBulkLoad(db);
}
