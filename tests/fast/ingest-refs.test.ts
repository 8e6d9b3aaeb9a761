import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConnectionProfileSchema } from '../../src-shared/profile.ts';
import { openCache, type OpenCache } from '../../src-main/cache/cacheDb.ts';
import { EventBus } from '../../src-main/core/eventBus.ts';
import { SyncService } from '../../src-main/sync/syncService.ts';

// A row listed again with a new payload (an incremental sync, a relist): its references in refs
// follow the payload, whether they changed (written) or not (left as they are, without reading
// refs: cache/queries/ingest.ts writeRefs). What the Data view's "Points at" and "Pointed at by"
// and the audit's orphan check read.

// (the file's own scratch folder is the temporary folder, removed after it: tests/support/scratch.ts)
let cache: OpenCache;
beforeAll(async () => {
  cache = await openCache(join(tmpdir(), 'c.sqlite'));
});
afterAll(() => cache?.close());

const profile = ConnectionProfileSchema.parse({
  version: 1,
  name: 'refs',
  baseUrl: 'http://127.0.0.1:9',
  auth: { kind: 'token' },
  whoami: { path: '/me' },
  catalog: {
    users: 'users',
    resources: [
      ...['contacts', 'deals'].map((name) => ({
        name,
        endpoints: { list: `/${name}` },
        table: name,
        companyField: 'company_id',
        class: 'tenant',
        derivation: { kind: 'own', field: 'company_id' },
        priority: null,
      })),
      {
        name: 'calls',
        endpoints: { list: '/calls' },
        table: 'calls',
        companyField: 'company_id',
        class: 'tenant',
        derivation: { kind: 'own', field: 'company_id' },
        priority: 'HIGH',
        references: [
          { field: 'contact_id', resource: 'contacts' },
          { field: 'deal_id', resource: 'deals' },
        ],
      },
    ],
  },
});
const root = { email: 'root', role: 'super_admin' as const, companyId: null, token: () => 't', refresh: async () => 't' };

describe('the references of a row listed again', () => {
  it('follow its payload: kept when they did not change, rewritten when they did, read again when the old payload cannot be', () => {
    const sync = new SyncService(cache, profile, new EventBus());
    const calls = profile.catalog.resources.find((r) => r.name === 'calls')!;
    const runId = Number(
      cache.raw.prepare("INSERT INTO sync_runs (started_at, identity, tenants) VALUES ('2026-01-01', 'root', '[\"*\"]')").run().lastInsertRowid,
    );
    const list = (rows: Array<Record<string, unknown>>) => cache.raw.transaction(() => sync.ingest(root, calls, rows, '/calls', runId))();
    const refs = () =>
      cache.raw.prepare('SELECT r.id, f.field, f.target_resource, f.target_id FROM refs f JOIN records r ON r.rid = f.rid ORDER BY r.id, f.field').raw().all();

    list([
      { id: 'c1', company_id: 'acme', contact_id: 'k1', deal_id: 'd1', updated_at: '2026-01-01T00:00:00Z', note: 'first' },
      { id: 'c2', company_id: 'acme', contact_id: 'k2', deal_id: null, updated_at: '2026-01-01T00:00:00Z', note: 'first' },
    ]);
    const first = [
      ['c1', 'contact_id', 'contacts', 'k1'],
      ['c1', 'deal_id', 'deals', 'd1'],
      ['c2', 'contact_id', 'contacts', 'k2'],
    ];
    expect(refs()).toEqual(first);

    // a new update time and note, the same targets (a number where a string was reads the same)
    list([
      { id: 'c1', company_id: 'acme', contact_id: 'k1', deal_id: 'd1', updated_at: '2026-01-02T00:00:00Z', note: 'second' },
      { id: 'c2', company_id: 'acme', contact_id: 'k2', updated_at: '2026-01-02T00:00:00Z', note: 'second' },
    ]);
    expect(refs()).toEqual(first);
    expect(cache.raw.prepare("SELECT json_extract(payload, '$.note') FROM records WHERE id = 'c1'").pluck().get()).toBe('second');

    // targets changed: one moved, one emptied, one added
    list([
      { id: 'c1', company_id: 'acme', contact_id: 'k9', deal_id: '', updated_at: '2026-01-03T00:00:00Z' },
      { id: 'c2', company_id: 'acme', contact_id: 'k2', deal_id: 7, updated_at: '2026-01-03T00:00:00Z' },
    ]);
    expect(refs()).toEqual([
      ['c1', 'contact_id', 'contacts', 'k9'],
      ['c2', 'contact_id', 'contacts', 'k2'],
      ['c2', 'deal_id', 'deals', '7'],
    ]);

    // a payload the cache holds that is not JSON: refs is read and set right all the same
    cache.raw.prepare("UPDATE records SET payload = 'not json' WHERE id = 'c2'").run();
    list([{ id: 'c2', company_id: 'acme', contact_id: null, deal_id: 8, updated_at: '2026-01-04T00:00:00Z' }]);
    expect(refs()).toEqual([
      ['c1', 'contact_id', 'contacts', 'k9'],
      ['c2', 'deal_id', 'deals', '8'],
    ]);
  });
});
