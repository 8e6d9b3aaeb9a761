/**
 * bench/crm-seed: rows/s of the reference CRM's scale seeder, and pages/s of a list endpoint.
 * Baselines, measured in the same run on the same PostgreSQL: a bare COPY of as many narrow
 * rows (the floor for any seeder), and the list endpoint's own SQL run straight through pg.
 * Target: 1,000,000 rows in at most 60 s.  Options: --rows N (default 1000000), --tenants N.
 */
import { benchArg } from './_crm.ts';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { Readable } from 'node:stream';
import pg from 'pg';
import copyStreams from 'pg-copy-streams';
import { createDb, createPool, migrate, startEmbeddedPostgres, type EmbeddedServer } from '../src-crm/db.ts';
import { seedScale } from '../src-crm/seed.ts';
import { buildCrmServer } from '../src-crm/server.ts';
import { legacyProfile } from '../src-crm/enforcement.ts';
import { Tokens } from '../src-crm/auth.ts';

const rows = benchArg('rows', 1_000_000);
const tenants = benchArg('tenants', 10);
const log = (s: string) => process.stderr.write(`${s}\n`);

let embedded: EmbeddedServer | undefined;
const dir = mkdtempSync(join(tmpdir(), 'tenantscope-bench-'));
let url = process.env.DATABASE_URL;
if (!url) {
  log('starting an embedded PostgreSQL…');
  embedded = await startEmbeddedPostgres(dir, { fresh: true });
  url = embedded.url;
}
const admin = new pg.Client({ connectionString: url });
await admin.connect();
const dbName = `bench_${Date.now()}`;
await admin.query(`CREATE DATABASE ${dbName}`);
await admin.end();
const u = new URL(url);
u.pathname = `/${dbName}`;
const pool = createPool(u.toString());
const db = createDb(pool);
try {
  await migrate(db);
  // baseline: COPY of the same number of narrow rows
  await pool.query('CREATE TABLE bench_floor (id uuid PRIMARY KEY, company_id uuid, body text, created_at timestamptz, updated_at timestamptz)');
  const client = await pool.connect();
  let t = performance.now();
  const lines = (function* () {
    let chunk = '';
    for (let i = 0; i < rows; i++) {
      chunk += `${crypto.randomUUID()}\t${crypto.randomUUID()}\trow ${i}\t2025-01-01T00:00:00Z\t2025-01-01T00:00:00Z\n`;
      if (chunk.length > 65536) {
        yield chunk;
        chunk = '';
      }
    }
    yield chunk;
  })();
  await pipeline(Readable.from(lines), client.query(copyStreams.from('COPY bench_floor FROM STDIN')));
  client.release();
  const floorSeconds = (performance.now() - t) / 1000;
  log(`baseline COPY: ${rows} rows in ${floorSeconds.toFixed(1)} s`);

  t = performance.now();
  let last = 0;
  await seedScale(db, pool, {
    tenants,
    rows,
    onProgress: (d) => {
      if (d - last >= 200_000) {
        last = d;
        log(`  seeded ${d}/${rows}`);
      }
    },
  });
  const seedSeconds = (performance.now() - t) / 1000;
  log(`scale seeder: ${rows} rows in ${seedSeconds.toFixed(1)} s`);

  // pages/s: the super admin pages through every call, 100 a page
  const app = await buildCrmServer({ db, profile: legacyProfile(), tokens: new Tokens('bench', 3600) });
  await pool.query(`INSERT INTO users (email, full_name, role, password_hash) VALUES ('bench-super@x.test', 'Bench', 'super_admin', 'x')`);
  const superId = (await pool.query(`SELECT id FROM users WHERE email = 'bench-super@x.test'`)).rows[0].id;
  const token = await new Tokens('bench', 3600).issue({ id: superId, role: 'super_admin', companyId: null });
  const base = await app.listen({ host: '127.0.0.1', port: 0 });
  const callCount = Number((await pool.query('SELECT count(*) FROM calls')).rows[0].count);
  const PAGES = Math.max(1, Math.min(300, Math.floor(callCount / 100) - 1));
  t = performance.now();
  let cursor: string | null = null;
  for (let i = 0; i < PAGES; i++) {
    const res = await fetch(`${base}/api/calls?limit=100${cursor ? `&cursor=${cursor}` : ''}`, { headers: { authorization: `Bearer ${token}` } });
    const body = (await res.json()) as { next_cursor: string | null };
    cursor = body.next_cursor;
    if (!cursor) break;
  }
  const httpPagesPerSecond = PAGES / ((performance.now() - t) / 1000);
  t = performance.now();
  let at = '1970-01-01T00:00:00Z',
    id = '00000000-0000-0000-0000-000000000000';
  for (let i = 0; i < PAGES; i++) {
    const r = await pool.query(
      'SELECT t.* FROM calls t WHERE t.deleted_at IS NULL AND (t.updated_at, t.id) > ($1::timestamptz, $2::uuid) ORDER BY t.updated_at, t.id LIMIT 101',
      [at, id],
    );
    const lastRow = r.rows[Math.min(99, r.rows.length - 1)];
    at = lastRow.updated_at;
    id = lastRow.id;
  }
  const sqlPagesPerSecond = PAGES / ((performance.now() - t) / 1000);
  await app.close();

  const result = {
    bench: 'crm-seed',
    rows,
    tenants,
    seedSeconds: +seedSeconds.toFixed(2),
    seedRowsPerSecond: Math.round(rows / seedSeconds),
    baselineCopySeconds: +floorSeconds.toFixed(2),
    seedVsBaselineCopy: +(seedSeconds / floorSeconds).toFixed(2),
    listPagesPerSecond: +httpPagesPerSecond.toFixed(1),
    baselineSqlPagesPerSecond: +sqlPagesPerSecond.toFixed(1),
    listVsBaselineSql: +(httpPagesPerSecond / sqlPagesPerSecond).toFixed(2),
    targets: { seedSecondsPerMillionRows: 60 },
    met: seedSeconds * (1_000_000 / rows) <= 60,
  };
  log(
    `seeder ${result.seedRowsPerSecond} rows/s (${result.seedVsBaselineCopy}x a bare COPY); list ${result.listPagesPerSecond} pages/s (${result.listVsBaselineSql}x the raw SQL)`,
  );
  process.stdout.write(JSON.stringify(result) + '\n');
} finally {
  await db.destroy();
  await embedded?.stop();
  rmSync(dir, { recursive: true, force: true });
}
