/**
 * bench/sync: the sync engine against the reference CRM seeded with `--seed scale`.
 *  - initial sync of every tenant, end to end (HTTP, JSON, SQLite), rows/s
 *  - an incremental sync after 10,000 rows changed on the server, seconds
 *  - peak RSS of this (the console's) process
 *  - ingest only: the engine's page ingest of rows already in memory, against a raw
 *    better-sqlite3 prepared insert of the same rows into the same table, in the same run
 *  - the same initial sync and ingest into a cache encrypted at rest (SQLCipher 4, a passphrase),
 *    beside the plain figures
 * Targets (2 cores): ingest >= 60% of raw, end to end >= 50,000 rows/s, peak RSS <= 400 MB,
 * the 10,000-change sync within 2 s.  Options: --tenants N (50), --rows N (1000000).
 */
import { benchArg, log, startBenchCrm } from './_crm.ts';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { openCache } from '../src-main/cache/cacheDb.ts';
import { EventBus } from '../src-main/core/eventBus.ts';
import { CrmClient } from '../src-main/crm/crmClient.ts';
import { ALL } from '../src-shared/partitions.ts';
import { SyncService, type SyncIdentity } from '../src-main/sync/syncService.ts';

const tenantsN = benchArg('tenants', 50);
const rowsN = benchArg('rows', 1_000_000);
const dir = mkdtempSync(join(tmpdir(), 'tenantscope-bench-sync-'));

let peak = 0;
const sampler = setInterval(() => {
  peak = Math.max(peak, process.memoryUsage().rss);
}, 50);

log(`seeding the reference CRM: ${tenantsN} tenants, ${rowsN} rows…`);
const crm = await startBenchCrm(join(dir, 'crm'), ['--seed', 'scale', '--tenants', String(tenantsN), '--rows', String(rowsN), '--profile', 'fixed']);
try {
  const profile = crm.profile;
  const client = new CrmClient(profile);
  let token = (await client.signIn('super@tenantscope.test', 'demo')).token;
  const identity: SyncIdentity = {
    email: 'super@tenantscope.test',
    role: 'super_admin',
    companyId: null,
    token: () => token,
    refresh: async () => (token = (await client.signIn('super@tenantscope.test', 'demo')).token),
  };
  // what `tenantscope sync --all` does: one listing a resource over every tenant, partitioned in the cache
  const tenants = [{ id: ALL, name: 'every tenant' }];
  const cache = await openCache(join(dir, 'cache.sqlite'));
  const sync = new SyncService(cache, profile, new EventBus());

  peak = 0;
  let t = performance.now();
  const first = await sync.run(identity, tenants, { pageSize: 1000 });
  const initialSeconds = (performance.now() - t) / 1000;
  const failed = first.outcomes.filter((o) => o.status === 'failed');
  if (failed.length) throw new Error(`sync failed: ${failed[0]!.message}`);
  log(`initial sync: ${first.rows} rows in ${initialSeconds.toFixed(1)} s (${Math.round(first.rows / initialSeconds)} rows/s), ${first.pages} pages`);

  // 10,000 changes on the server, spread over tenants and resources
  const db = new pg.Client({ connectionString: crm.databaseUrl });
  await db.connect();
  const per = Math.ceil(10_000 / 3);
  for (const table of ['contacts', 'calls', 'emails']) {
    await db.query(`UPDATE ${table} SET updated_at = clock_timestamp() WHERE id IN (SELECT id FROM ${table} ORDER BY random() LIMIT ${per})`);
  }
  await db.end();
  t = performance.now();
  const second = await sync.run(identity, tenants, { pageSize: 1000 });
  const incrementalSeconds = (performance.now() - t) / 1000;
  log(`incremental sync: ${second.rows} rows (${second.pages} pages) in ${incrementalSeconds.toFixed(2)} s`);

  // ingest only: the engine against a raw prepared insert, on the same rows in memory
  const calls = profile.catalog.resources.find((r) => r.name === 'contacts')!;
  const pages: unknown[][] = [];
  for await (const page of client.listPages(calls, token, { pageSize: 1000 })) {
    pages.push(page);
    if (pages.length >= 100) break;
  }
  const n = pages.reduce((a, p) => a + p.length, 0);
  const ingestCache = await openCache(join(dir, 'ingest.sqlite'));
  const ingestSync = new SyncService(ingestCache, profile, new EventBus());
  t = performance.now();
  for (const page of pages) ingestCache.raw.transaction(() => ingestSync.ingest(identity, calls, page, '/api/contacts', 1))();
  const ingestSeconds = (performance.now() - t) / 1000;
  // the baseline writes the same rows into the same table (same keys and indexes), one prepared insert a row
  const rawCache = await openCache(join(dir, 'raw.sqlite'));
  const rawDb = rawCache.raw;
  const insert = rawDb.prepare(
    'INSERT INTO records (company_id, resource, id, updated_at, payload, fetched_by, fetched_from, fetched_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
  );
  t = performance.now();
  for (const page of pages)
    rawDb.transaction(() => {
      for (const r of page as Array<Record<string, unknown>>)
        insert.run(String(r.company_id), 'contacts', String(r.id), String(r.updated_at), JSON.stringify(r), 'bench', '/api/contacts', '2026-01-01T00:00:00Z');
    })();
  const rawSeconds = (performance.now() - t) / 1000;
  log(`ingest only: ${n} rows in ${ingestSeconds.toFixed(2)} s, raw insert ${rawSeconds.toFixed(2)} s`);
  await ingestCache.close();
  await rawCache.close();
  await cache.close();

  // encrypted at rest: the same initial sync and the same ingest into SQLCipher caches
  const key = { passphrase: 'bench passphrase, long enough' };
  const encCache = await openCache(join(dir, 'encrypted.sqlite'), { key });
  t = performance.now();
  const encFirst = await new SyncService(encCache, profile, new EventBus()).run(identity, tenants, { pageSize: 1000 });
  const encInitialSeconds = (performance.now() - t) / 1000;
  await encCache.close();
  const encIngestCache = await openCache(join(dir, 'ingest-encrypted.sqlite'), { key });
  const encIngestSync = new SyncService(encIngestCache, profile, new EventBus());
  t = performance.now();
  for (const page of pages) encIngestCache.raw.transaction(() => encIngestSync.ingest(identity, calls, page, '/api/contacts', 1))();
  const encIngestSeconds = (performance.now() - t) / 1000;
  await encIngestCache.close();
  log(
    `encrypted: initial sync ${encFirst.rows} rows in ${encInitialSeconds.toFixed(1)} s (${Math.round(encFirst.rows / encInitialSeconds)} rows/s), ingest ${encIngestSeconds.toFixed(2)} s`,
  );
  clearInterval(sampler);

  const endToEnd = first.rows / initialSeconds;
  const ingestRatio = rawSeconds / ingestSeconds;
  const peakMb = Math.round(peak / 1024 / 1024);
  const result = {
    bench: 'sync',
    tenants: tenantsN,
    rows: first.rows,
    initialSeconds: +initialSeconds.toFixed(2),
    endToEndRowsPerSecond: Math.round(endToEnd),
    incrementalChanges: second.rows,
    incrementalSeconds: +incrementalSeconds.toFixed(2),
    peakRssMb: peakMb,
    ingestRowsPerSecond: Math.round(n / ingestSeconds),
    baselineRawInsertRowsPerSecond: Math.round(n / rawSeconds),
    ingestVsRaw: +ingestRatio.toFixed(2),
    encrypted: {
      endToEndRowsPerSecond: Math.round(encFirst.rows / encInitialSeconds),
      ingestRowsPerSecond: Math.round(n / encIngestSeconds),
      endToEndVsPlain: +(first.rows / initialSeconds / (encFirst.rows / encInitialSeconds)).toFixed(2),
      ingestVsPlain: +(ingestSeconds / encIngestSeconds).toFixed(2),
    },
    targets: { ingestVsRaw: 0.6, endToEndRowsPerSecond: 50000, peakRssMb: 400, incrementalSeconds: 2 },
    met: ingestRatio >= 0.6 && endToEnd >= 50000 && peakMb <= 400 && incrementalSeconds <= 2,
  };
  process.stdout.write(JSON.stringify(result) + '\n');
} finally {
  clearInterval(sampler);
  await crm.stop();
  rmSync(dir, { recursive: true, force: true });
}
