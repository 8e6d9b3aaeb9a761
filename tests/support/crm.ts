import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { inject } from 'vitest';
import { createDb, createPool, migrate, type Db } from '../../src-crm/db.ts';
import { loadProfile, parseProfile, type EnforcementProfile } from '../../src-crm/enforcement.ts';
import { Tokens } from '../../src-crm/auth.ts';
import { buildCrmServer } from '../../src-crm/server.ts';
import { ensureAppRole, rlsMode } from '../../src-crm/rlsMode.ts';
import { seedDemo } from '../../src-crm/seed.ts';

/** A fresh database on the run's PostgreSQL server. */
export async function createTestDatabase(): Promise<{ url: string; drop(): Promise<void> }> {
  const adminUrl = inject('pgAdminUrl');
  const name = `t_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    drop: async () => {
      const c = new pg.Client({ connectionString: adminUrl });
      await c.connect();
      await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await c.end();
    },
  };
}

export interface TestCrm {
  url: string;
  databaseUrl: string;
  db: Db;
  pool: pg.Pool;
  /** sign in as one of the demo users, returns the bearer token */
  login(email: string): Promise<string>;
  /** fetch JSON as a signed-in user */
  call(token: string | null, method: string, path: string, body?: unknown): Promise<{ status: number; body: any }>;
  close(): Promise<void>;
}

export async function startTestCrm(
  opts: {
    profile?: string | EnforcementProfile | object;
    tokenTtl?: number;
    seed?: boolean;
    databaseUrl?: string;
    frozenWrites?: boolean;
    /** row-level security mode, its requests as this role (made if missing) */
    rlsRole?: string;
  } = {},
): Promise<TestCrm> {
  const database = opts.databaseUrl ? { url: opts.databaseUrl, drop: async () => {} } : await createTestDatabase();
  const pool = createPool(database.url);
  const db = createDb(pool);
  await migrate(db);
  if (opts.seed !== false) await seedDemo(db);
  const profile =
    typeof opts.profile === 'string'
      ? loadProfile(opts.profile)
      : opts.profile && 'rules' in opts.profile
        ? (opts.profile as EnforcementProfile)
        : opts.profile
          ? parseProfile(opts.profile)
          : loadProfile('legacy');
  const signer = new Tokens('test-secret', opts.tokenTtl ?? 3600);
  if (opts.rlsRole) await ensureAppRole(pool, opts.rlsRole);
  const rls = opts.rlsRole ? rlsMode(pool, signer, opts.rlsRole) : undefined;
  const app = await buildCrmServer({ db, profile, tokens: signer, frozenWrites: opts.frozenWrites, rls });
  const url = await app.listen({ host: '127.0.0.1', port: 0 });
  const call: TestCrm['call'] = async (token, method, path, body) => {
    const res = await fetch(url + path, {
      method,
      headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
      body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
    });
    const text = await res.text();
    let parsed: unknown = text;
    try {
      parsed = text ? JSON.parse(text) : null;
    } catch {
      /* keep text */
    }
    return { status: res.status, body: parsed };
  };
  const tokens = new Map<string, string>();
  return {
    url,
    databaseUrl: database.url,
    db,
    pool,
    call,
    login: async (email) => {
      const cached = tokens.get(email);
      if (cached) return cached;
      const r = await call(null, 'POST', '/api/auth/login', { email, password: 'demo' });
      if (r.status !== 200) throw new Error(`login ${email}: ${r.status} ${JSON.stringify(r.body)}`);
      tokens.set(email, r.body.access_token);
      return r.body.access_token;
    },
    close: async () => {
      await app.close();
      await db.destroy();
      await database.drop();
    },
  };
}

/** id of some row of `table` belonging to company `slug` (through company_id, owner or parent). */
export async function rowOf(crm: TestCrm, table: string, slug: string, extraWhere = 'TRUE'): Promise<string> {
  const { Catalog } = await import('../../src-crm/catalog.ts');
  const { MODEL_BY_NAME } = await import('../../src-crm/models.ts');
  const catalog = new Catalog(crm.db);
  await catalog.refresh();
  const expr = catalog.companyExpr(MODEL_BY_NAME.get(table)!, 't');
  const { rows } = await crm.pool.query(
    `SELECT t.id FROM ${table} t WHERE t.deleted_at IS NULL AND ${expr} = (SELECT id FROM companies WHERE slug = $1) AND ${extraWhere} ORDER BY t.id LIMIT 1`,
    [slug],
  );
  if (!rows[0]) throw new Error(`no ${table} row for ${slug}`);
  return rows[0].id;
}
