import { createRequire } from 'node:module';
import type pg from 'pg';

// pg, loaded when a target is first made: commands that never reach the CRM's database never load it
const require = createRequire(import.meta.url);
let pgModule: typeof pg | undefined;
const pgLazy = (): typeof pg => (pgModule ??= require('pg') as typeof pg);
import { AppError } from '../../src-shared/result.ts';

/**
 * The CRM's PostgreSQL as one target: one pool a call (a plan, a run, an audit, a discovery),
 * shared by every function that call makes, ended when the call ends. Connection failures say
 * what went wrong in words (wrong password, missing database, nobody answering).
 */

export const ident = (s: string) => `"${s.replace(/"/g, '""')}"`;

/** host:port/database of a URL, never its user or password. */
export function databaseLabel(url: string): string {
  try {
    const u = new URL(url);
    return `${u.hostname}${u.port ? `:${u.port}` : ''}${u.pathname}`;
  } catch {
    return 'the database';
  }
}

function openError(e: unknown, url: string, purpose: string): AppError {
  const code = (e as { code?: string }).code ?? '';
  const what = code === '28P01' ? 'the user name or password is wrong' : code === '3D000' ? 'the database does not exist' : (e as Error).message;
  return new AppError(code === '28P01' ? 'bad-credentials' : 'unreachable', `Cannot open the CRM's database (${databaseLabel(url)})${purpose}: ${what}.`);
}

export class PgTarget {
  readonly label: string;
  private readonly pool: pg.Pool;

  constructor(
    readonly url: string,
    private readonly purpose = '',
  ) {
    this.label = databaseLabel(url);
    this.pool = new (pgLazy().Pool)({
      connectionString: url,
      connectionTimeoutMillis: 8000,
      max: 4,
      idleTimeoutMillis: 10_000,
      application_name: 'tenantscope',
    });
    // an idle client the server dropped: the next checkout makes a new one
    this.pool.on('error', () => {});
  }

  /**
   * A client of its own (a run's session with its advisory lock and search_path, the monitor),
   * named in pg_stat_activity. Release it with `release(true)` when its session settings must
   * not outlive it; ending the target closes it anyway.
   */
  async client(applicationName: string): Promise<pg.PoolClient> {
    let c: pg.PoolClient;
    try {
      c = await this.pool.connect();
    } catch (e) {
      throw openError(e, this.url, this.purpose);
    }
    c.on('error', () => {
      /* a dropped connection fails the running query, which says so */
    });
    await c.query(`SET application_name = ${pgLazy().escapeLiteral(applicationName)}`);
    return c;
  }

  /**
   * `fn` in a read-only transaction (statement_timeout set for it alone; 0 for none) on a pooled client, which
   * goes back to the pool as it came: what reads the catalog, counts rows or lists runs.
   */
  async reading<T>(applicationName: string, fn: (c: pg.PoolClient) => Promise<T>, statementTimeoutMs = 60_000): Promise<T> {
    const c = await this.client(applicationName);
    let broken: Error | undefined;
    try {
      await c.query('BEGIN READ ONLY');
      await c.query(`SET LOCAL statement_timeout = ${Math.max(0, Math.floor(statementTimeoutMs))}`);
      const out = await fn(c);
      await c.query('COMMIT');
      return out;
    } catch (e) {
      await c.query('ROLLBACK').catch((r: Error) => {
        broken = r;
      });
      throw e;
    } finally {
      // a client whose ROLLBACK failed (its connection dropped) is not reused
      c.release(broken);
    }
  }

  async end(): Promise<void> {
    await this.pool.end().catch(() => {});
  }
}

/** A target for the length of `fn`: a URL opens its own and ends it; a target given is shared. */
export async function onTarget<T>(db: PgTarget | string, fn: (t: PgTarget) => Promise<T>, purpose = ''): Promise<T> {
  if (db instanceof PgTarget) return fn(db);
  const t = new PgTarget(db, purpose);
  try {
    return await fn(t);
  } finally {
    await t.end();
  }
}
