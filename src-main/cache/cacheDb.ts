import { endAbandonedLoad } from './queries/bulkLoad.ts';
import { chmodSync, closeSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { Migration, MigrationProvider } from 'kysely';
import { AppError } from '../../src-shared/result.ts';
import { projectRoot } from '../core/home.ts';
import { checkpointInBackground, encryptInPlace, isPlainSqlite, openSqlite, type SqliteKey } from '../core/sqlite.ts';

import { ALL } from '../../src-shared/partitions.ts';

/**
 * The sync_state key of a listing: the partition, or "partition@email" for a plain user's own
 * (dataAsOf below counts those too).
 */
export function stateKeyOf(identity: { role: string; email: string }, company: string): string {
  return identity.role === 'user' ? `${company}@${identity.email}` : company;
}

/**
 * When the cached data was last synced: for one company (its own listings and the syncs of
 * every tenant at once, kept under '*'), or for the whole cache (`company` null).
 */
export function dataAsOf(raw: { prepare(sql: string): { get(...params: unknown[]): unknown } }, company: string | null): string | null {
  const row =
    company === null
      ? raw.prepare('SELECT max(last_finished_at) AS t FROM sync_state').get()
      : raw
          .prepare(
            `SELECT max(last_finished_at) AS t FROM sync_state WHERE company_id IN (@company, @all) OR substr(company_id, 1, length(@company) + 1) = @company || '@'`,
          )
          .get({ company, all: ALL });
  return (row as { t: string | null }).t;
}

const MIGRATIONS_DIR = join(projectRoot, 'migrations', 'cache');

/** The cache's migrations by name, in order: the numbered SQL files in migrations/cache (landed files are never edited). */
export const CACHE_MIGRATIONS: readonly string[] = readdirSync(MIGRATIONS_DIR)
  .filter((f) => /^\d+_.*\.sql$/.test(f))
  .sort()
  .map((f) => f.replace(/\.sql$/, ''));

/** The first `upTo` migrations (all by default) for Kysely's Migrator. */
class SqlFileProvider implements MigrationProvider {
  /** better-sqlite3 prepares one statement at a time; a migration file is run whole with exec on the same handle */
  constructor(
    private readonly raw: { exec(sql: string): unknown },
    private readonly upTo = CACHE_MIGRATIONS.length,
  ) {}
  async getMigrations(): Promise<Record<string, Migration>> {
    const out: Record<string, Migration> = {};
    for (const name of CACHE_MIGRATIONS.slice(0, this.upTo)) {
      const text = readFileSync(join(MIGRATIONS_DIR, `${name}.sql`), 'utf8');
      out[name] = {
        up: async () => {
          this.raw.exec(text);
        },
      };
    }
    return out;
  }
}

/**
 * Runs the cache's migrations (the first `upTo`, all by default) on an open database; throws what
 * failed and closes it then. Kysely only runs migrations: the cache's queries are plain prepared
 * statements in cache/queries, so no typed table list is kept beside the SQL.
 */
export async function migrateCache(raw: ReturnType<typeof openSqlite>, label: string, upTo?: number): Promise<void> {
  // loaded when a cache is opened, not when the CLI starts (Kysely is some three hundred modules)
  const { Kysely, Migrator, SqliteDialect } = await import('kysely');
  const db = new Kysely<unknown>({ dialect: new SqliteDialect({ database: raw }) });
  const { error, results } = await new Migrator({ db, provider: new SqlFileProvider(raw, upTo) }).migrateToLatest();
  if (error) {
    await db.destroy();
    const failed = results?.find((r) => r.status === 'Error')?.migrationName;
    throw new AppError('internal', `${label} could not be migrated${failed ? ` (${failed})` : ''}: ${(error as Error).message}`);
  }
}

/** A database object as sqlite_master has it. */
export interface SchemaObject {
  type: string;
  name: string;
  sql: string | null;
}

export function schemaObjects(raw: { prepare(sql: string): { all(): unknown[] } }): SchemaObject[] {
  return raw.prepare("SELECT type, name, sql FROM sqlite_master WHERE name NOT LIKE 'sqlite_autoindex_%' ORDER BY type, name").all() as SchemaObject[];
}

/** What a cache made by the first `upTo` migrations holds, object by object (made in memory). */
export async function cacheSchemaAt(upTo: number): Promise<SchemaObject[]> {
  const raw = openSqlite(':memory:');
  await migrateCache(raw, 'A scratch cache', upTo);
  try {
    return schemaObjects(raw);
  } finally {
    raw.close();
  }
}

/**
 * The page size of a new plain cache: SQLite's 4 KiB. 16 KiB pages made a first sync of 1M rows a
 * third faster or more (the append, each index build, the commit; bench/sync), but in bench/grid
 * the longest frame while scrolling 1M rows went from 50 ms to 67-83 ms (three runs against two at
 * 4 KiB, the same day): the Data view's frame budget comes first until that is understood.
 */
export const PAGE_SIZE = 4096;

export type FoldResult = { ok: boolean; message?: string };

export interface OpenCache {
  /** the raw handle, for the hot path (prepared statements in one transaction a page) */
  raw: ReturnType<typeof openSqlite>;
  /** a SQLCipher database (opened with a key) */
  encrypted: boolean;
  /** a plain cache this open encrypted where it was */
  encryptedNow: boolean;
  /**
   * Folds the write-ahead log into the file on a worker thread (core/sqlite.ts), so that neither a
   * sync nor the window waits for it: during a sync (`giveBack` false) the pages written so far, so
   * that no commit folds a large log itself; when a sync ends, everything, and the log is then
   * given back. One fold runs at a time: a give-back asked for while one runs follows it.
   */
  foldLog(giveBack?: boolean): Promise<FoldResult>;
  /** closes the cache, once a fold under way has ended */
  close(): Promise<void>;
}

/**
 * Opens (or makes) a cache. With a key it is a SQLCipher database: a plain cache from before is
 * encrypted where it is, first. An encrypted cache opened without its key is refused and left as
 * it is.
 */
export async function openCache(file: string, opts: { key?: SqliteKey } = {}): Promise<OpenCache> {
  // only this user reads a cache (it holds every synced tenant's rows and the offline verifiers)
  mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  let raw;
  let encryptedNow = false;
  try {
    const fresh = !existsSync(file) || statSync(file).size === 0;
    if (!existsSync(file)) closeSync(openSync(file, 'a', 0o600));
    else chmodSync(file, 0o600);
    if (opts.key && isPlainSqlite(file)) {
      encryptInPlace(file, opts.key);
      encryptedNow = true;
    }
    raw = openSqlite(file, {}, opts.key);
    try {
      raw.prepare('SELECT count(*) FROM sqlite_master').get();
    } catch (e) {
      raw.close();
      if ((e as { code?: string }).code !== 'SQLITE_NOTADB') throw e;
      throw new AppError(
        'locked',
        `The cache ${file} is encrypted and ${opts.key ? 'the key given does not open it' : 'no key was given'}: set TENANTSCOPE_CACHE_KEY to the passphrase it was encrypted with (the desktop app keeps its own key in the OS keyring). Nothing was changed.`,
      );
    }
    // a new plain cache is made with PAGE_SIZE pages. A page size holds once the file has a table,
    // so a cache made before keeps its own; SQLCipher keeps its format's 4 KiB.
    if (fresh && !opts.key) raw.pragma(`page_size = ${PAGE_SIZE}`);
    raw.pragma('journal_mode = WAL');
    raw.pragma('synchronous = NORMAL');
    // a sync dirties pages all over random UUID keys: checkpoint every 256 MiB of WAL rather than
    // every 4 MiB, so that an incremental sync of 10,000 changes commits without folding the log
    // on the way (a sync folds it on a worker thread when it ends: bench/sync), and give the WAL
    // back once it is checkpointed
    const pageSize = raw.pragma('page_size', { simple: true }) as number;
    raw.pragma(`wal_autocheckpoint = ${Math.round((256 * 1024 * 1024) / pageSize)}`);
    raw.pragma('journal_size_limit = 67108864');
    // random UUID keys touch pages all over the B-trees: a larger page cache keeps a big sync off the disk
    raw.pragma('cache_size = -98304'); // 96 MiB
    raw.pragma('temp_store = MEMORY');
    raw.pragma('foreign_keys = ON');
  } catch (e) {
    if (e instanceof AppError) throw e;
    throw new AppError('internal', `Cannot open the cache ${file}: ${(e as Error).message}`);
  }
  try {
    // a first sync killed while it loaded: its indexes are built now (its rows and cursors are
    // kept), before a migration changes them: the load builds what its own version dropped
    endAbandonedLoad(raw);
  } catch (e) {
    raw.close();
    throw new AppError('storage', `The cache ${file} holds a first sync that was stopped, and its indexes could not be built: ${(e as Error).message}`);
  }
  await migrateCache(raw, `The cache ${file}`);
  const { foldLog, close } = logFolder(raw, file, opts.key);
  return {
    raw,
    encrypted: !!opts.key,
    encryptedNow,
    foldLog,
    close,
  };
}

/** OpenCache's foldLog, and a close that waits for a fold under way (one fold at a time; a give-back asked for during one follows it). */
function logFolder(raw: OpenCache['raw'], file: string, key: SqliteKey | undefined) {
  let folding: Promise<FoldResult> | null = null;
  let thenGiveBack: Promise<FoldResult> | null = null;
  let closed = false;
  const foldLog = (giveBack = true): Promise<FoldResult> => {
    if (folding) return giveBack ? (thenGiveBack ??= folding.then(() => ((thenGiveBack = null), foldLog(true)))) : folding;
    folding = checkpointInBackground(file, key).then((r) => {
      folding = null;
      // the pages are in the file: the log is given back here, with nothing left to copy but what
      // was written while the worker folded (a few pages at the end of a sync)
      if (giveBack && r.ok && !closed)
        try {
          raw.pragma('wal_checkpoint(TRUNCATE)');
        } catch {
          /* busy: the next fold, or closing, gives it back */
        }
      return r;
    });
    return folding;
  };
  const close = async () => {
    await thenGiveBack;
    await folding;
    closed = true;
    raw.close();
  };
  return { foldLog, close };
}
