import { AsyncLocalStorage } from 'node:async_hooks';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { Kysely, PostgresDialect } from 'kysely';
import type pg from 'pg';
import type { Tokens } from './auth.ts';
import type { Db } from './db.ts';

/**
 * The reference CRM's row-level security mode: what TenantScope's RLS phase tells an application
 * to do, as one middleware, without touching an endpoint. Each request's queries run in one
 * transaction that first says whose data it may touch (set_config('app.company_id', …, true),
 * never per connection) as the application's role, which is neither superuser nor BYPASSRLS; a
 * super admin's requests run as the connection's own role, which bypasses the policies.
 */

interface RequestTx {
  request: FastifyRequest;
  client?: pg.PoolClient;
  begun?: Promise<pg.PoolClient>;
}

const ident = (s: string) => `"${s.replace(/"/g, '""')}"`;

export interface RlsMode {
  db: Db;
  install(app: FastifyInstance): void;
}

/** The application's role: made once if missing, granted the CRM's tables (what its deployment would do). */
export async function ensureAppRole(pool: pg.Pool, role: string): Promise<void> {
  await pool.query(`DO $$ BEGIN CREATE ROLE ${ident(role)} NOLOGIN; EXCEPTION WHEN duplicate_object THEN NULL; END $$`).catch((e: { code?: string }) => {
    if (e.code !== '23505' && e.code !== '42710') throw e;
  });
  await pool.query(`GRANT USAGE ON SCHEMA public TO ${ident(role)}`);
  await pool.query(`GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO ${ident(role)}`);
  await pool.query(`GRANT USAGE ON ALL SEQUENCES IN SCHEMA public TO ${ident(role)}`);
}

export function rlsMode(pool: pg.Pool, tokens: Tokens, role: string): RlsMode {
  const als = new AsyncLocalStorage<RequestTx>();

  /** The request's transaction, begun on its first query with its caller's company. */
  const begin = async (tx: RequestTx): Promise<pg.PoolClient> => {
    const client = await pool.connect();
    tx.client = client;
    const match = tx.request.headers.authorization?.match(/^Bearer\s+(.+)$/i);
    const caller = match ? await tokens.verify(match[1]!.trim()) : null;
    await client.query('BEGIN');
    if (!caller || 'refused' in caller || caller.role !== 'super_admin') {
      await client.query(`SET LOCAL ROLE ${ident(role)}`);
      const company = caller && !('refused' in caller) ? (caller.companyId ?? '') : '';
      await client.query(`SELECT set_config('app.company_id', $1, true)`, [company]);
    }
    return client;
  };

  /** Kysely's own transactions inside the request's become savepoints. */
  const nested = (text: string): string => {
    if (/^\s*(begin|start transaction)/i.test(text)) return 'SAVEPOINT kysely';
    if (/^\s*commit/i.test(text)) return 'RELEASE SAVEPOINT kysely';
    if (/^\s*rollback/i.test(text)) return 'ROLLBACK TO SAVEPOINT kysely';
    return text;
  };

  const routed = {
    connect: async () => {
      const tx = als.getStore();
      if (!tx) return pool.connect();
      const client = await (tx.begun ??= begin(tx));
      return {
        query: (text: string, values?: unknown[]) => client.query(nested(text), values),
        release: () => {},
      };
    },
    end: () => pool.end(),
  };

  const end = async (tx: RequestTx | undefined, ok: boolean) => {
    if (!tx?.begun) return;
    const begun = tx.begun;
    tx.begun = undefined;
    const client = await begun.catch(() => tx.client);
    if (!client) return;
    let broken: Error | undefined;
    await client.query(ok ? 'COMMIT' : 'ROLLBACK').catch((e: Error) => {
      broken = e;
    });
    client.release(broken);
  };

  return {
    db: new Kysely({ dialect: new PostgresDialect({ pool: routed as unknown as pg.Pool }) }),
    install(app) {
      app.addHook('onRequest', (request, _reply, done) => als.run({ request }, done));
      // committed before the answer goes out: what the client is told was written, was
      app.addHook('onSend', async (_request, reply, payload) => {
        await end(als.getStore(), reply.statusCode < 500);
        return payload;
      });
      app.addHook('onResponse', async () => end(als.getStore(), false));
    },
  };
}
