import { createServer } from 'node:http';
import { existsSync, mkdtempSync, statSync, writeFileSync } from 'node:fs';
import { openSqlite } from '../../src-main/core/sqlite.ts';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { ConnectionProfileSchema, type ConnectionProfile } from '../../src-shared/profile.ts';
import { EventBus } from '../../src-main/core/eventBus.ts';
import { openCache, type OpenCache } from '../../src-main/cache/cacheDb.ts';
import { ALL } from '../../src-shared/partitions.ts';
import { SyncService, type SyncIdentity } from '../../src-main/sync/syncService.ts';
import { CrmClient } from '../../src-main/crm/crmClient.ts';
import { startTestCrm, type TestCrm } from '../support/crm.ts';
import { cacheReader, runCli, tempHome } from '../support/cli.ts';
import { MODELS } from '../../src-crm/models.ts';
import { startFaultProxy, type Fault } from '../support/faultProxy.ts';
import { referenceProfile } from '../support/console.ts';

async function identityFor(profile: ConnectionProfile, email: string): Promise<SyncIdentity> {
  const client = new CrmClient(profile);
  let token = (await client.signIn(email, 'demo')).token;
  const me = await client.whoami(token);
  return { email, role: me.role, companyId: me.companyId, token: () => token, refresh: async () => (token = (await client.signIn(email, 'demo')).token) };
}

async function companies(crm: TestCrm) {
  return (await crm.pool.query('SELECT id, name, slug FROM companies ORDER BY slug')).rows as Array<{ id: string; name: string; slug: string }>;
}

function tempCache(): Promise<OpenCache> {
  return openCache(join(mkdtempSync(join(tmpdir(), 'tenantscope-cache-')), 'c.sqlite'));
}

describe('sync into the cache', () => {
  let crm: TestCrm;
  let profile: ConnectionProfile;
  beforeAll(async () => {
    crm = await startTestCrm({ profile: 'fixed' });
    profile = ConnectionProfileSchema.parse(referenceProfile('ref', crm.url));
  });
  afterAll(() => crm?.close());

  it('a super admin syncs every tenant; each partition matches the server (count, latest, hash)', async () => {
    const cache = await tempCache();
    const sync = new SyncService(cache, profile, new EventBus());
    const who = await identityFor(profile, 'super@tenantscope.test');
    const tenants = await companies(crm);
    const report = await sync.run(who, tenants, { pageSize: 7 });
    expect(report.outcomes.filter((o) => o.status === 'failed')).toEqual([]);
    expect(report.leaks).toBe(0);
    // the write-ahead log is given back once the sync is in the database (it used to stay until exit), off the main thread
    await vi.waitFor(() => expect(statSync(`${cache.raw.name}-wal`).size).toBe(0), { timeout: 10_000 });
    for (const t of tenants) {
      const proofs = await sync.prove(who, t);
      expect(proofs).toHaveLength(32);
      expect(proofs.filter((p) => p.status !== 'in-sync').map((p) => p.resource)).toEqual([]);
    }
    // partitions hold exactly each company's rows: calls through their owner
    const acme = tenants.find((t) => t.slug === 'acme')!.id;
    const serverCalls = Number(
      (await crm.pool.query('SELECT count(*) FROM calls c JOIN users u ON u.id = c.user_id WHERE u.company_id = $1 AND c.deleted_at IS NULL', [acme])).rows[0]
        .count,
    );
    expect(cache.raw.prepare("SELECT count(*) AS n FROM records WHERE company_id = ? AND resource = 'calls' AND deleted = 0").get(acme)).toEqual({
      n: serverCalls,
    });
    // provenance on every row
    const row = cache.raw.prepare("SELECT fetched_by, fetched_from FROM records WHERE resource = 'calls' LIMIT 1").get() as {
      fetched_by: string;
      fetched_from: string;
    };
    expect(row.fetched_by).toBe('super@tenantscope.test');
    expect(row.fetched_from).toMatch(/^\/api\/calls\?company_id=/);

    // random creates, updates and deletes, then an incremental sync: equal again, reading only the changes
    const admin = await crm.login('admin@acme.test');
    const created: string[] = [];
    for (let i = 0; i < 5; i++) created.push((await crm.call(admin, 'POST', '/api/contacts', { first_name: 'New', last_name: `C${i}` })).body.id);
    // the deleted call has a transcript: a child whose parent is gone from the server (and, after an evict, from the cache) stays in its company
    const someCall = (
      await crm.pool.query(
        'SELECT c.id FROM calls c JOIN users u ON u.id = c.user_id WHERE u.company_id = $1 ORDER BY EXISTS (SELECT 1 FROM call_transcripts t WHERE t.call_id = c.id) DESC LIMIT 2',
        [acme],
      )
    ).rows;
    expect(Number((await crm.pool.query('SELECT count(*) FROM call_transcripts WHERE call_id = $1', [someCall[1].id])).rows[0].count)).toBeGreaterThan(0);
    expect((await crm.call(admin, 'PATCH', `/api/calls/${someCall[0].id}`, { notes: 'changed' })).status).toBe(200);
    expect((await crm.call(admin, 'DELETE', `/api/calls/${someCall[1].id}`)).status).toBe(204);
    expect((await crm.call(admin, 'DELETE', `/api/contacts/${created[0]}`)).status).toBe(204);
    const acmeTenant = tenants.find((t) => t.slug === 'acme')!;
    // the sync runs with a small page cache of its own, and gives the cache's back for the Data view
    const own = cache.raw.pragma('cache_size', { simple: true });
    const during = new Set<unknown>();
    const stop = sync.bus.on('onProgress', () => during.add(cache.raw.pragma('cache_size', { simple: true })));
    const again = await sync.run(who, [acmeTenant], { pageSize: 7 });
    stop();
    expect([...during]).toEqual([-16384]);
    expect(cache.raw.pragma('cache_size', { simple: true })).toBe(own);
    expect(own).toBe(-98304);
    expect(again.rows).toBeLessThan(60); // the changes and the boundary rows, not the whole tenant
    expect(again.deletions).toBeGreaterThanOrEqual(1); // the contact was created and deleted between syncs: never cached
    const proofs = await sync.prove(who, acmeTenant);
    expect(proofs.filter((p) => p.status !== 'in-sync').map((p) => p.resource)).toEqual([]);
    expect(cache.raw.prepare("SELECT deleted FROM records WHERE resource = 'calls' AND id = ?").get(someCall[1].id)).toEqual({ deleted: 1 });

    // evict a tenant: its partition is empty, the others untouched
    const globex = tenants.find((t) => t.slug === 'globex')!.id;
    const before = sync.partitions().find((p) => p.company_id === globex)!.rows;
    expect(before).toBeGreaterThan(0);
    expect(sync.evict(acme)).toBeGreaterThan(0);
    expect(sync.partitions().find((p) => p.company_id === acme)).toBeUndefined();
    expect(sync.partitions().find((p) => p.company_id === globex)!.rows).toBe(before);
    // a sync of Acme alone places the transcript of its deleted call in Acme (the CRM was asked for Acme's rows)
    await sync.run(who, [acmeTenant], { pageSize: 50 });
    expect((await sync.prove(who, acmeTenant)).filter((p) => p.status !== 'in-sync').map((p) => p.resource)).toEqual([]);
    // a sync of every tenant at once (one listing a resource) brings the evicted partition back, proven
    const all = await sync.run(who, [{ id: ALL, name: 'every tenant' }], { pageSize: 50 });
    expect(all.outcomes.filter((o) => o.status === 'failed')).toEqual([]);
    expect(all.outcomes.every((o) => o.tenant === ALL)).toBe(true);
    for (const t of tenants)
      expect(
        (await sync.prove(who, t)).filter((p) => p.status !== 'in-sync').map((p) => `${t.slug} ${p.resource} ${p.local.count}/${p.server?.count}`),
      ).toEqual([]);
    await cache.close();
  });
});

describe('leak evidence while syncing', () => {
  it("a Globex user whose calls list is not scoped gets Acme's calls: each kept as a leak with the request", async () => {
    const crm = await startTestCrm({ profile: { extends: 'legacy', resources: { calls: { list: 'none' } } } });
    try {
      const profile = ConnectionProfileSchema.parse(referenceProfile('ref', crm.url));
      const cache = await tempCache();
      const sync = new SyncService(cache, profile, new EventBus());
      const who = await identityFor(profile, 'user@globex.test');
      const globex = (await companies(crm)).find((t) => t.slug === 'globex')!;
      const report = await sync.run(who, [globex]);
      const foreignCalls = Number(
        (await crm.pool.query('SELECT count(*) FROM calls c JOIN users u ON u.id = c.user_id WHERE u.company_id <> $1', [globex.id])).rows[0].count,
      );
      expect(report.leaks).toBe(foreignCalls);
      const leaks = cache.raw.prepare('SELECT * FROM leaks').all() as Array<{ resource: string; identity: string; request: string; company_id: string }>;
      expect(new Set(leaks.map((l) => l.resource))).toEqual(new Set(['calls']));
      expect(leaks.every((l) => l.identity === 'user@globex.test' && l.request.startsWith('GET /api/calls?') && l.company_id !== globex.id)).toBe(true);
      await expect(sync.run(who, [(await companies(crm)).find((t) => t.slug === 'acme')!])).rejects.toThrow(/own company only/);
      await cache.close();
    } finally {
      await crm.close();
    }
  });
});

describe('bad answers', () => {
  it('a page without ids, a cursor that does not advance, and a 5xx storm: clear errors naming tenant, resource and request; the last good state stays', async () => {
    let mode: 'ok' | 'no-id' | 'stuck' | 'flaky' | 'fewer' | 'long' | 'other' = 'ok';
    let hits = 0;
    const server = createServer((req, res) => {
      hits++;
      const url = new URL(req.url!, 'http://x');
      res.setHeader('content-type', 'application/json');
      if (mode === 'flaky' && hits % 4 === 1) return res.end('{"items": [{"id": "r0", "comp');
      if (mode === 'flaky' && hits % 4 !== 0) {
        res.statusCode = hits % 2 ? 503 : 429;
        res.setHeader('retry-after', '0');
        return res.end('{}');
      }
      if (mode === 'no-id') return res.end(JSON.stringify({ items: [{ name: 'x' }], next_cursor: null }));
      if (mode === 'stuck') return res.end(JSON.stringify({ items: [{ id: `s${hits}` }], next_cursor: 'same' }));
      if (mode === 'other')
        return res.end(
          JSON.stringify({
            items: [
              { id: 't9', company_id: 'T' },
              { id: 'u1', company_id: 'U' },
            ],
            next_cursor: null,
          }),
        );
      if (mode === 'long') {
        const c = Number(url.searchParams.get('cursor') ?? 0);
        return res.end(JSON.stringify({ items: [{ id: `l${c}`, company_id: 'T' }], next_cursor: c < 39 ? String(c + 1) : null }));
      }
      const c = Number(url.searchParams.get('cursor') ?? 0);
      const skip = mode === 'fewer' && c === 1; // r1 vanished from the server
      res.end(
        JSON.stringify({
          items: c < 3 && !skip ? [{ id: `r${c}`, company_id: 'T', updated_at: `2026-01-0${c + 1}T00:00:00Z` }] : [],
          next_cursor: c < 3 ? String(c + 1) : null,
        }),
      );
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    try {
      const base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
      const profile = ConnectionProfileSchema.parse({
        version: 1,
        name: 'fake',
        baseUrl: base,
        auth: { kind: 'token' },
        whoami: { path: '/me' },
        tenants: { listPath: '/t' },
        catalog: {
          resources: [
            {
              name: 'things',
              endpoints: { list: '/things' },
              table: null,
              companyField: 'company_id',
              class: 'tenant',
              derivation: { kind: 'own', field: 'company_id' },
              priority: null,
            },
          ],
        },
      });
      const cache = await tempCache();
      const sync = new SyncService(cache, profile, new EventBus(), { retry: { attempts: 6, baseMs: 1, capMs: 5 } });
      const who: SyncIdentity = { email: 'ops@x', role: 'company_admin', companyId: 'T', token: () => 't', refresh: async () => 't' };
      const ok = await sync.run(who, [{ id: 'T', name: 'Tenant T' }]);
      expect(ok.rows).toBe(3);
      // no updated_since in this profile: every sync relists, and rows it no longer sees are marked deleted
      mode = 'fewer';
      const relist = await sync.run(who, [{ id: 'T', name: 'Tenant T' }]);
      expect(relist.deletions).toBe(1);
      expect(cache.raw.prepare('SELECT id FROM records WHERE deleted = 1').all()).toEqual([{ id: 'r1' }]);
      const good = cache.raw.prepare('SELECT count(*) AS n FROM records').get();
      mode = 'no-id';
      cache.raw.prepare('UPDATE sync_state SET high_water = NULL').run();
      const bad = await sync.run(who, [{ id: 'T', name: 'Tenant T' }]);
      expect(bad.outcomes[0]!.status).toBe('failed');
      expect(bad.outcomes[0]!.message).toMatch(/^Tenant T · things: \/things\?limit=100: a record has no "id"/);
      expect(cache.raw.prepare('SELECT count(*) AS n FROM records').get()).toEqual(good);
      mode = 'stuck';
      const stuck = await sync.run(who, [{ id: 'T', name: 'Tenant T' }]);
      expect(stuck.outcomes[0]!.message).toMatch(/does not advance/);
      // a super admin asks for T's things and gets one of U's: an error naming the request; T keeps its rows
      const su = new SyncService(cache, { ...profile, sync: { tenantParam: 'company_id' } }, new EventBus());
      const superWho: SyncIdentity = { email: 'super@x', role: 'super_admin', companyId: null, token: () => 't', refresh: async () => 't' };
      mode = 'other';
      cache.raw.prepare('UPDATE sync_state SET cursor = NULL, high_water = NULL').run();
      const heldBefore = cache.raw.prepare('SELECT id, updated_at, deleted FROM records ORDER BY id').all();
      const other = await su.run(superWho, [{ id: 'T', name: 'Tenant T' }]);
      expect(other.outcomes[0]!.status).toBe('failed');
      expect(other.outcomes[0]!.message).toBe(
        'Tenant T · things: /things?company_id=T&limit=100: asked for company T, but the page holds things u1 of company U.',
      );
      expect(cache.raw.prepare('SELECT id, updated_at, deleted FROM records ORDER BY id').all()).toEqual(heldBefore);
      // many one-row pages: more than the fetcher may hold ahead of the writer, far fewer rows than a batch
      mode = 'long';
      cache.raw.prepare('UPDATE sync_state SET cursor = NULL, high_water = NULL').run();
      const long = await sync.run(who, [{ id: 'T', name: 'Tenant T' }]);
      expect(long.outcomes[0]!.status).toBe('synced');
      expect(long.pages).toBe(40);
      mode = 'flaky';
      hits = 0;
      cache.raw.prepare('UPDATE sync_state SET cursor = NULL, high_water = NULL').run();
      const flaky = await sync.run(who, [{ id: 'T', name: 'Tenant T' }]);
      expect(flaky.outcomes[0]!.status).toBe('synced');
      expect(flaky.retries).toBeGreaterThan(0);
      expect(flaky.retried.some((r) => /\(503\)|\(429\)/.test(r))).toBe(true);
      expect(flaky.retried.some((r) => /truncated body/.test(r))).toBe(true);
      await cache.close();
    } finally {
      server.close();
    }
  });
});

describe('a full or read-only disk', () => {
  it('stops with an error naming tenant, resource and request; every partition keeps its last good state; the next sync resumes', async () => {
    const crm = await startTestCrm({ profile: 'fixed' });
    try {
      const profile = ConnectionProfileSchema.parse(referenceProfile('ref', crm.url));
      const dir = mkdtempSync(join(tmpdir(), 'tenantscope-full-'));
      const cache = await openCache(join(dir, 'c.sqlite'));
      const sync = new SyncService(cache, profile, new EventBus());
      const who = await identityFor(profile, 'super@tenantscope.test');
      const tenants = await companies(crm);
      const acme = tenants.find((t) => t.slug === 'acme')!;
      const globex = tenants.find((t) => t.slug === 'globex')!;
      await sync.run(who, [acme], { pageSize: 7 });
      const acmeBefore = profile.catalog.resources.map((r) => sync.localManifest(acme.id, r.name));
      // the disk fills up a few pages into Globex's first sync
      const pages = cache.raw.pragma('page_count', { simple: true }) as number;
      cache.raw.pragma(`max_page_count = ${pages + 3}`);
      const failed = await sync.run(who, [globex], { pageSize: 7 }).catch((e) => e);
      expect(failed.code).toBe('storage');
      expect(failed.message).toMatch(
        /^Globex Corporation · \w+: The cache could not be written while storing \/api\/[\w/-]+\?company_id=[\w-]+&limit=7.*: the disk is full \(SQLITE_FULL\)/,
      );
      expect(profile.catalog.resources.map((r) => sync.localManifest(acme.id, r.name))).toEqual(acmeBefore);
      // what Globex has is exactly what its saved cursors say it has: no half-written page
      const held = cache.raw.prepare('SELECT count(*) FROM records WHERE company_id = ?').pluck().get(globex.id) as number;
      const counted = cache.raw.prepare('SELECT coalesce(sum(rows), 0) FROM sync_state WHERE company_id = ?').pluck().get(globex.id) as number;
      expect(held).toBe(counted);
      // space again: the next sync resumes and is proven
      cache.raw.pragma('max_page_count = 1073741823');
      const resumed = await sync.run(who, [globex], { pageSize: 7 });
      expect(resumed.outcomes.filter((o) => o.status === 'failed')).toEqual([]);
      expect((await sync.prove(who, globex)).filter((p) => p.status !== 'in-sync')).toEqual([]);
      await cache.close();

      // a read-only cache: said before anything is asked of the CRM
      const ro = openSqlite(join(dir, 'c.sqlite'), { readonly: true });
      const roSync = new SyncService(
        {
          raw: ro,
          encrypted: false,
          encryptedNow: false,
          foldLog: async () => ({ ok: false }),
          close: async () => {
            ro.close();
          },
        },
        profile,
        new EventBus(),
      );
      const refused = await roSync.run(who, [acme]).catch((e) => e);
      expect(refused.code).toBe('storage');
      expect(refused.message).toMatch(/could not be written before the sync began: the cache is read-only \(SQLITE_READONLY/);
      ro.close();
    } finally {
      await crm.close();
    }
  });
});

describe('through a proxy that injects faults', () => {
  it('5xx, 429, truncated and dropped bodies, slow, hanging and reset answers: the sync converges, proven, and says what it retried', async () => {
    const crm = await startTestCrm({ profile: 'fixed' });
    const faults: Fault[] = ['503', '429', 'truncated', 'dropped', 'slow', 'hang', 'reset'];
    const proxy = await startFaultProxy(crm.url, { rate: 0.3, faults, seed: 11, slowMs: 100 });
    try {
      const direct = ConnectionProfileSchema.parse(referenceProfile('ref', crm.url));
      const profile = ConnectionProfileSchema.parse(referenceProfile('ref', proxy.url));
      const cache = await tempCache();
      // a hanging answer is given up after 400 ms and asked again
      const sync = new SyncService(cache, profile, new EventBus(), { retry: { attempts: 14, baseMs: 2, capMs: 20 }, timeoutMs: 400 });
      const who = await identityFor(direct, 'super@tenantscope.test');
      const tenants = await companies(crm);
      const report = await sync.run(who, tenants, { pageSize: 25 });
      expect(report.outcomes.filter((o) => o.status === 'failed')).toEqual([]);
      for (const f of faults) expect(proxy.injected[f], `${f} injected`).toBeGreaterThan(0);
      // it says what it retried, in words
      const reasons = new Set(report.retried.map((r) => /\((.*)\), try/.exec(r)?.[1]));
      for (const why of ['503', '429', 'truncated body', 'timed out', 'connection dropped']) expect(reasons, why).toContain(why);
      expect(report.retries).toBe(report.retried.length);
      // and the cache equals the server for every tenant and resource (the proof goes through the proxy too)
      for (const t of tenants) {
        const proofs = await sync.prove(who, t);
        expect(proofs).toHaveLength(32);
        expect(proofs.filter((p) => p.status !== 'in-sync').map((p) => p.resource)).toEqual([]);
      }
      await cache.close();
    } finally {
      await proxy.close();
      await crm.close();
    }
  });
});

describe('killed mid-sync', () => {
  it('kill -9 at 20 random points, then resume: every tenant and resource matches the server', async () => {
    const crm = await startTestCrm({ profile: 'fixed' });
    const home = tempHome('kill');
    writeFileSync(
      join(home, 'connections.json'),
      JSON.stringify({
        version: 1,
        connections: [
          { ...referenceProfile('ref', crm.url), identities: [{ label: 'Super', username: 'super@tenantscope.test', passwordEnv: 'TENANTSCOPE_REF_PW' }] },
        ],
      }),
    );
    const cacheFile = join(home, 'cache', 'ref.sqlite');
    const cache = cacheReader(cacheFile);
    /** a sync killed once it has written `rows` rows in its own run (0: as soon as the run is recorded) */
    const runSync = (rows: number | null) => {
      const earlier = cache.count('SELECT max(id) FROM sync_runs');
      return runCli(['--json', 'sync', '--connection', 'ref', '--all', '--page-size', '3'], {
        home,
        env: { TENANTSCOPE_REF_PW: 'demo' },
        killWhen:
          rows === null
            ? undefined
            : () => {
                const run = cache.count('SELECT max(id) FROM sync_runs');
                return run > earlier && cache.count('SELECT count(*) FROM records WHERE seen_run = ?', run) >= rows;
              },
      });
    };
    try {
      let total = 0;
      for (const m of MODELS) total += Number((await crm.pool.query(`SELECT count(*) FROM ${m.name} WHERE deleted_at IS NULL`)).rows[0].count);
      let seed = 2026;
      const rnd = () => {
        seed = (seed * 1103515245 + 12345) % 2 ** 31;
        return seed / 2 ** 31;
      };
      let killed = 0;
      for (let i = 0; i < 20; i++) {
        // every other round starts a full relist over the rows already cached, so that most kills land mid-listing;
        // the rounds between resume whatever the kill left
        if (i % 2 === 0 && existsSync(cacheFile)) {
          cache.close();
          const db = openSqlite(cacheFile);
          db.exec('DELETE FROM sync_state; DELETE FROM deletions_state;');
          db.close();
        }
        const r = await runSync(Math.floor(rnd() * total * 0.9));
        if (r.killed && r.code === null) killed++;
        // a relist round always has more rows to write than its kill point
        if (i % 2 === 0) expect(r.killed, `round ${i} ended before its kill point: ${r.err.slice(-300)}`).toBe(true);
      }
      expect(killed, 'kills that landed before the sync finished').toBeGreaterThanOrEqual(10);
      const last = await runSync(null);
      expect(last.code, last.err.slice(-1000)).toBe(0);
      const doc = JSON.parse(last.out);
      expect(doc.proofs.length).toBe(96);
      expect(doc.proofs.filter((p: { status: string }) => p.status !== 'in-sync')).toEqual([]);
    } finally {
      cache.close();
      await crm.close();
    }
  }, 400_000);
});
