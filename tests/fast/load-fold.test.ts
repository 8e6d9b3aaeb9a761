import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConnectionProfileSchema } from '../../src-shared/profile.ts';
import { openCache, type OpenCache } from '../../src-main/cache/cacheDb.ts';
import { EventBus } from '../../src-main/core/eventBus.ts';
import { SyncService } from '../../src-main/sync/syncService.ts';

// A first sync's index phase leaves its pages in the write-ahead log, far past the automatic
// checkpoint's threshold at scale. They are folded into the file by a worker (cache/cacheDb.ts
// foldLog): the sync's own connection must not fold them in its next commit, on the thread that
// serves the window, before the worker has begun (2.9 s at 1M rows). Here the threshold is made
// small, so that a load of a few thousand rows is past it as 1M rows are past 256 MiB.

let cache: OpenCache;
beforeAll(async () => {
  cache = await openCache(join(tmpdir(), 'fold.sqlite'));
});
afterAll(() => cache?.close());

const profile = ConnectionProfileSchema.parse({
  version: 1,
  name: 'fold',
  baseUrl: 'http://127.0.0.1:9',
  auth: { kind: 'token' },
  whoami: { path: '/me' },
  catalog: {
    users: 'users',
    resources: [
      {
        name: 'contacts',
        endpoints: { list: '/contacts' },
        table: 'contacts',
        companyField: 'company_id',
        class: 'tenant',
        derivation: { kind: 'own', field: 'company_id' },
        priority: null,
      },
    ],
  },
});
const root = { email: 'root', role: 'super_admin' as const, companyId: null, token: () => 't', refresh: async () => 't' };

describe('after a first sync into an empty cache', () => {
  it('leaves the log of its index phase to the worker, then checkpoints as before', async () => {
    const threshold = 20; // pages
    cache.raw.pragma(`wal_autocheckpoint = ${threshold}`);
    const sync = new SyncService(cache, profile, new EventBus());
    const contacts = profile.catalog.resources[0]!;
    const runId = Number(
      cache.raw.prepare("INSERT INTO sync_runs (started_at, identity, tenants) VALUES ('2026-01-01', 'root', '[\"*\"]')").run().lastInsertRowid,
    );
    expect(sync.beginLoad(runId)).toBe(true);
    const rows = Array.from({ length: 3000 }, (_, i) => ({ id: `k${i}`, company_id: `co${i % 7}`, name: `contact ${i}`, updated_at: '2026-01-01T00:00:00Z' }));
    cache.raw.transaction(() => sync.ingest(root, contacts, rows, '/contacts', runId))();
    const frames = () => (cache.raw.pragma('wal_checkpoint(PASSIVE)') as Array<{ log: number }>)[0]!.log;

    const end = sync.endLoad();
    expect(end?.rows).toBe(3000);
    // the next commits on this connection (the deletions feed, the run's record) do not fold the log
    expect(cache.raw.pragma('wal_autocheckpoint', { simple: true })).toBe(0);
    cache.raw.prepare("INSERT INTO cache_meta (key, value) VALUES ('after-load', '1')").run();

    // once the worker's fold has ended, the connection checkpoints as it did before the load
    const fold = await cache.foldLog(false);
    expect(fold.ok).toBe(true);
    expect(cache.raw.pragma('wal_autocheckpoint', { simple: true })).toBe(threshold);
    expect(frames()).toBeGreaterThan(threshold); // what the load wrote, folded by the worker
    expect(cache.raw.prepare('SELECT count(*) FROM records').pluck().get()).toBe(3000);
  });
});
