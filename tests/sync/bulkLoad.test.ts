import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrateCache, openCache, PAGE_SIZE, type OpenCache } from '../../src-main/cache/cacheDb.ts';
import { openSqlite } from '../../src-main/core/sqlite.ts';
import { ALL } from '../../src-shared/partitions.ts';
import { beginBulkLoad, bulkLoadOf } from '../../src-main/cache/queries/bulkLoad.ts';
import { EventBus } from '../../src-main/core/eventBus.ts';
import { CrmClient } from '../../src-main/crm/crmClient.ts';
import { SyncService, type SyncIdentity } from '../../src-main/sync/syncService.ts';
import { ConnectionProfileSchema, type ConnectionProfile } from '../../src-shared/profile.ts';
import { referenceProfile } from '../support/console.ts';
import { startTestCrm, type TestCrm } from '../support/crm.ts';

// A first sync into an empty cache appends without indexes and builds them once (cache/queries/bulkLoad.ts).
// What it leaves must be exactly what the upserts of an ordinary sync leave.

async function identityFor(profile: ConnectionProfile, email: string): Promise<SyncIdentity> {
  const client = new CrmClient(profile);
  let token = (await client.signIn(email, 'demo')).token;
  const me = await client.whoami(token);
  return { email, role: me.role, companyId: me.companyId, token: () => token, refresh: async () => (token = (await client.signIn(email, 'demo')).token) };
}

const dirs: string[] = [];
/** A file in a temp folder of its own, removed after the tests. */
function tempFile(name: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'tenantscope-bulk-'));
  dirs.push(dir);
  return join(dir, name);
}
const tempCache = (): Promise<OpenCache> => openCache(tempFile('c.sqlite'));
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

/** What a sync leaves in a cache, without what differs by run (rids, fetch times). */
function contents(c: OpenCache) {
  const all = (sql: string) => c.raw.prepare(sql).all();
  return {
    records: all(
      'SELECT company_id, resource, id, updated_at, deleted, payload, fetched_by, fetched_from, has_company_field, own_company FROM records ORDER BY resource, id, company_id',
    ),
    refs: all(
      'SELECT f.company_id, r.resource, r.id, f.field, f.target_resource, f.target_id, f.resource AS of FROM refs f JOIN records r ON r.rid = f.rid ORDER BY r.resource, r.id, f.field',
    ),
    leaks: all('SELECT identity_company_id, company_id, resource, id, identity FROM leaks ORDER BY resource, id'),
    seen: all('SELECT s.identity, r.resource, r.id FROM record_seen_by s JOIN records r ON r.rid = s.rid ORDER BY r.resource, r.id'),
    indexes: all("SELECT name, sql FROM sqlite_master WHERE tbl_name = 'records' ORDER BY name"),
  };
}

/** A cache that is not empty, so that its first sync upserts as every later sync does; the extra row is removed afterwards. */
async function upsertingCache(): Promise<OpenCache> {
  const c = await tempCache();
  c.raw
    .prepare(
      "INSERT INTO records (company_id, resource, id, payload, fetched_by, fetched_from, fetched_at) VALUES ('zz', 'placeholder', 'p1', '{}', 't', '/', '2026-01-01')",
    )
    .run();
  return c;
}

describe('a first sync loads in bulk', () => {
  let crm: TestCrm;
  let profile: ConnectionProfile;
  beforeAll(async () => {
    // calls unscoped for a plain user: the bulk load must keep the leak evidence and who saw what
    crm = await startTestCrm({ profile: { extends: 'legacy', resources: { calls: { list: 'none' } } } });
    profile = ConnectionProfileSchema.parse(referenceProfile('ref', crm.url));
  });
  afterAll(() => crm?.close());

  it('leaves the rows, references, leaks, readers and indexes an ordinary sync leaves', async () => {
    const tenants = (await crm.pool.query('SELECT id, name FROM companies ORDER BY slug')).rows as Array<{ id: string; name: string }>;
    const globex = (await crm.pool.query("SELECT id, name FROM companies WHERE slug = 'globex'")).rows as Array<{ id: string; name: string }>;
    for (const [email, asked] of [
      ['super@tenantscope.test', tenants],
      ['user@globex.test', globex],
    ] as const) {
      const who = await identityFor(profile, email);
      const bulk = await tempCache();
      const loaded = await new SyncService(bulk, profile, new EventBus()).run(who, [...asked], { pageSize: 7 });
      expect(loaded.load?.rows).toBeGreaterThan(0);
      // where the index phase's time went: each index the cache has, in build order, then the rest
      expect(loaded.load?.steps.map((x) => x.step)).toEqual([
        'records_audit',
        'records_by_update',
        'records_key',
        'copies listed twice',
        'references',
        'rows counted',
        'commit',
      ]);
      expect(loaded.load!.steps.reduce((a, x) => a + x.seconds, 0)).toBeCloseTo(loaded.load!.indexSeconds, 1);
      // the load's end leaves its log to the fold worker, and gives the automatic checkpoint back
      // once the fold has ended (tests/fast/load-fold.test.ts: not before)
      await bulk.foldLog(false);
      expect(bulk.raw.pragma('wal_autocheckpoint', { simple: true })).toBe((256 * 1024 * 1024) / PAGE_SIZE);
      // and the page cache, the sorts' threads and temporary store the cache had before the load
      expect([bulk.raw.pragma('cache_size', { simple: true }), bulk.raw.pragma('temp_store', { simple: true })]).toEqual([-98304, 2]);
      expect(bulk.raw.pragma('threads', { simple: true })).toBe(0);
      expect(bulkLoadOf(bulk.raw)).toBeNull();
      const plain = await upsertingCache();
      const upserted = await new SyncService(plain, profile, new EventBus()).run(who, [...asked], { pageSize: 7 });
      expect(upserted.load).toBeUndefined();
      plain.raw.prepare("DELETE FROM records WHERE resource = 'placeholder'").run();
      expect(loaded.rows).toBe(upserted.rows);
      expect(loaded.leaks).toBe(upserted.leaks);
      const [a, b] = [contents(bulk), contents(plain)];
      expect(a.records.length).toBeGreaterThan(50);
      expect(a.refs.length).toBeGreaterThan(50);
      if (email.startsWith('user')) expect(a.leaks.length).toBeGreaterThan(0);
      expect(a).toEqual(b);
      expect(bulk.raw.pragma('integrity_check', { simple: true })).toBe('ok');
      // a second sync into the loaded cache is an ordinary incremental one
      expect((await new SyncService(bulk, profile, new EventBus()).run(who, [...asked], { pageSize: 7 })).load).toBeUndefined();
      await bulk.close();
      await plain.close();
    }
  });
  it('is made with PAGE_SIZE pages; a cache made with 16 KiB pages keeps them, opens, takes a sync, and can be encrypted', async () => {
    const fresh = await tempCache();
    try {
      expect(fresh.raw.pragma('page_size', { simple: true })).toBe(PAGE_SIZE);
    } finally {
      await fresh.close();
    }
    const file = tempFile('old.sqlite');
    const old = openSqlite(file);
    old.pragma('page_size = 16384');
    old.exec('CREATE TABLE made_before (x)');
    old.close();
    const c = await openCache(file);
    try {
      expect(c.raw.pragma('page_size', { simple: true })).toBe(16384);
      const sync = new SyncService(c, profile, new EventBus());
      const report = await sync.run(await identityFor(profile, 'super@tenantscope.test'), [{ id: ALL, name: 'every tenant' }]);
      expect(report.outcomes.filter((o) => o.status === 'failed')).toEqual([]);
      expect(report.load?.rows).toBeGreaterThan(0);
      expect(c.raw.prepare('SELECT count(*) FROM records').pluck().get()).toBeGreaterThan(0);
      // the load's small page cache is given back when it ends
      expect(c.raw.pragma('cache_size', { simple: true })).toBe(-98304);
    } finally {
      await c.close();
    }
    // encrypted where it is, it is rewritten with SQLCipher 4's 4 KiB pages first, every row kept
    const rows = await openCache(file).then(async (p) => [p.raw.prepare('SELECT count(*) FROM records').pluck().get(), await p.close()][0]);
    const keyed = await openCache(file, { key: { passphrase: 'a passphrase for the old cache' } });
    try {
      expect(keyed.encryptedNow).toBe(true);
      expect(keyed.raw.pragma('page_size', { simple: true })).toBe(4096);
      expect(keyed.raw.prepare('SELECT count(*) FROM records').pluck().get()).toBe(rows);
    } finally {
      await keyed.close();
    }
  });

  it('folds its write-ahead log on a worker thread, plain or encrypted, and closes once the fold has ended', async () => {
    for (const key of [undefined, { passphrase: 'a passphrase for the fold' }]) {
      const dir = mkdtempSync(join(tmpdir(), 'tenantscope-bulk-'));
      dirs.push(dir);
      const file = join(dir, 'c.sqlite');
      const c = await openCache(file, key ? { key } : {});
      const put = c.raw.prepare('INSERT INTO cache_meta (key, value) VALUES (?, ?)');
      c.raw.transaction(() => {
        for (let i = 0; i < 2000; i++) put.run(`k${i}`, 'v'.repeat(500));
      })();
      expect(statSync(`${file}-wal`).size).toBeGreaterThan(1_000_000);
      // as during a sync: the pages folded, the log kept; one fold at a time
      const fold = c.foldLog(false);
      expect(c.foldLog(false)).toBe(fold);
      // as when a sync ends: asked while a fold runs, the give-back follows it
      const givenBack = c.foldLog();
      expect(await fold).toMatchObject({ ok: true });
      expect(statSync(`${file}-wal`).size).toBeGreaterThan(0);
      expect(await givenBack).toMatchObject({ ok: true });
      expect(statSync(`${file}-wal`).size).toBe(0);
      c.foldLog();
      await c.close(); // waits for the fold it started: nothing opens the file after it is closed
      const again = await openCache(file, key ? { key } : {});
      expect(again.raw.prepare("SELECT count(*) FROM cache_meta WHERE key LIKE 'k%'").pluck().get()).toBe(2000);
      await again.close();
    }
  });
});

describe('an incremental sync', () => {
  let crm: TestCrm;
  let profile: ConnectionProfile;
  beforeAll(async () => {
    crm = await startTestCrm({ profile: { extends: 'fixed' } });
    profile = ConnectionProfileSchema.parse(referenceProfile('ref', crm.url));
  });
  afterAll(() => crm?.close());

  it('writes rows in place where it can and leaves exactly the rows and references a fresh sync of the same server leaves', async () => {
    const who = await identityFor(profile, 'super@tenantscope.test');
    const tenants = (await crm.pool.query('SELECT id, name FROM companies ORDER BY slug')).rows as Array<{ id: string; name: string }>;
    const kept = await tempCache();
    const sync = new SyncService(kept, profile, new EventBus());
    const first = await sync.run(who, tenants, { pageSize: 7 });
    // on the server: a payload changed, a reference changed, a reference cleared, a row moved to another company, a row deleted
    const q = async (sql: string, params: unknown[] = []) => (await crm.pool.query(sql, params)).rows;
    const [acme, globex] = ['acme', 'globex'].map((slug) => tenants.find((t) => t.name.toLowerCase().startsWith(slug))!.id);
    const acmeCalls = await q(
      'SELECT c.id, c.contact_id FROM calls c JOIN users u ON u.id = c.user_id WHERE u.company_id = $1 AND c.contact_id IS NOT NULL ORDER BY c.id LIMIT 3',
      [acme],
    );
    // an email moves to another company (emails have no children: a child whose parent moves is placed again only when it changes itself)
    const moved = (await q('SELECT e.id FROM emails e JOIN users u ON u.id = e.owner_id WHERE u.company_id = $1 ORDER BY e.id LIMIT 1', [acme]))[0].id;
    const otherContact = (
      await q('SELECT c.id FROM contacts c JOIN users u ON u.id = c.owner_id WHERE u.company_id = $1 AND c.id <> $2 LIMIT 1', [acme, acmeCalls[1].contact_id])
    )[0].id;
    const globexUser = (await q('SELECT id FROM users WHERE company_id = $1 LIMIT 1', [globex]))[0].id;
    await q(`UPDATE calls SET notes = 'changed on the server', updated_at = now() WHERE id = $1`, [acmeCalls[0].id]);
    await q('UPDATE calls SET contact_id = $2, updated_at = now() WHERE id = $1', [acmeCalls[1].id, otherContact]);
    await q('UPDATE calls SET contact_id = NULL, updated_at = now() WHERE id = $1', [acmeCalls[2].id]);
    await q('UPDATE emails SET owner_id = $2, updated_at = now() WHERE id = $1', [moved, globexUser]);
    // a deletion through the API (the deletions feed is the CRM's own)
    const admin = await crm.login('admin@acme.test');
    const gone = (await q('SELECT c.id FROM contacts c JOIN users u ON u.id = c.owner_id WHERE u.company_id = $1 ORDER BY c.id DESC LIMIT 1', [acme]))[0].id;
    expect((await crm.call(admin, 'DELETE', `/api/contacts/${gone}`)).status).toBe(204);
    const again = await sync.run(who, tenants, { pageSize: 7 });
    // the changes and each listing's boundary rows, not every row again
    expect(again.rows).toBeLessThan(first.rows / 2);
    // a fresh cache synced from the server as it is now, by upserts
    const fresh = await upsertingCache();
    await new SyncService(fresh, profile, new EventBus()).run(who, tenants, { pageSize: 7 });
    fresh.raw.prepare("DELETE FROM records WHERE resource = 'placeholder'").run();
    // what was fetched when differs (a row not changed was not asked again), and a deleted row stays as a tombstone; the rest may not
    const comparable = (c: OpenCache) => {
      const x = contents(c);
      const records = (x.records as Array<Record<string, unknown>>).filter((r) => !r.deleted).map(({ fetched_from: _f, ...r }) => r);
      const live = new Set(records.map((r) => `${r.resource}\0${r.id}`));
      return { ...x, records, refs: (x.refs as Array<Record<string, unknown>>).filter((r) => live.has(`${r.resource}\0${r.id}`)) };
    };
    const [a, b] = [comparable(kept), comparable(fresh)];
    expect(a.records.find((r) => r.id === acmeCalls[0].id)?.payload).toContain('changed on the server');
    expect(a.records.find((r) => r.id === moved)?.company_id).toBe(globex);
    expect(a.refs.filter((r) => (r as { id: string }).id === acmeCalls[2].id).map((r) => (r as { field: string }).field)).toEqual(['user_id']);
    expect(kept.raw.prepare('SELECT deleted FROM records WHERE id = ?').pluck().get(gone)).toBe(1);
    expect(a).toEqual(b);
    expect(kept.raw.pragma('integrity_check', { simple: true })).toBe('ok');
    await kept.close();
    await fresh.close();
  });

  it("keeps refs to the catalog's references: a row listed again unchanged keeps its own, and a field that becomes or stops being a reference is read again from every payload", async () => {
    const who = await identityFor(profile, 'super@tenantscope.test');
    const tenants = (await crm.pool.query('SELECT id, name FROM companies ORDER BY slug')).rows as Array<{ id: string; name: string }>;
    // the same CRM, where the catalog does not (yet) call calls.contact_id a reference
    const narrow = ConnectionProfileSchema.parse({
      ...profile,
      catalog: {
        ...profile.catalog,
        resources: profile.catalog.resources.map((r) => (r.name === 'calls' ? { ...r, references: r.references.filter((x) => x.field !== 'contact_id') } : r)),
      },
    });
    const contactRefs = (c: OpenCache) => c.raw.prepare("SELECT count(*) FROM refs WHERE resource = 'calls' AND field = 'contact_id'").pluck().get() as number;
    const freshRefs = async (p: ConnectionProfile) => {
      const fresh = await upsertingCache();
      await new SyncService(fresh, p, new EventBus()).run(who, tenants, { pageSize: 7 });
      fresh.raw.prepare("DELETE FROM records WHERE resource = 'placeholder'").run();
      const refs = contents(fresh).refs;
      await fresh.close();
      return refs;
    };
    const cache = await tempCache();
    try {
      await new SyncService(cache, narrow, new EventBus()).run(who, tenants, { pageSize: 7 });
      expect(contactRefs(cache)).toBe(0);
      // the catalog now lists the reference: the rows did not change on the server, and every call has it
      const bus = new EventBus();
      const labels: string[] = [];
      bus.on('onProgress', (p) => labels.push(p.label));
      const wide = await new SyncService(cache, profile, bus).run(who, tenants, { pageSize: 7 });
      // the window is told why the sync has not begun listing yet
      expect(labels).toContain("reading every row's references again: the catalog's references changed");
      expect(wide.rows).toBeLessThan(100); // boundary rows, listed again unchanged
      expect(contactRefs(cache)).toBeGreaterThan(10);
      expect(contents(cache).refs).toEqual(await freshRefs(profile));
      // and a sync with nothing new keeps them (each row listed again keeps its references)
      await new SyncService(cache, profile, new EventBus()).run(who, tenants, { pageSize: 7 });
      expect(contents(cache).refs).toEqual(await freshRefs(profile));
      // no longer a reference: gone from refs
      await new SyncService(cache, narrow, new EventBus()).run(who, tenants, { pageSize: 7 });
      expect(contactRefs(cache)).toBe(0);
      expect(contents(cache).refs).toEqual(await freshRefs(narrow));
      // a cache kept by a version that did not note its refs' catalog, with refs short of one: read again once
      cache.raw.prepare("DELETE FROM cache_meta WHERE key = 'refs-catalog'").run();
      await new SyncService(cache, profile, new EventBus()).run(who, tenants, { pageSize: 7 });
      expect(contents(cache).refs).toEqual(await freshRefs(profile));
    } finally {
      await cache.close();
    }
  });
});

describe('a bulk load that was stopped', () => {
  const references = [{ resource: 'calls', field: 'user_id', target: 'users' }];
  const insert = (c: OpenCache | OpenCache['raw'], id: string, payload: object, company = 'acme') =>
    ('raw' in c ? c.raw : c)
      .prepare('INSERT INTO records (company_id, resource, id, payload, fetched_by, fetched_from, fetched_at) VALUES (?, ?, ?, ?, ?, ?, ?)')
      .run(company, 'calls', id, JSON.stringify(payload), 't', '/api/calls', '2026-01-01');
  const markPid = (c: OpenCache | OpenCache['raw'], pid: number) => {
    const db = 'raw' in c ? c.raw : c;
    const load = bulkLoadOf(db)!;
    db.prepare("UPDATE cache_meta SET value = ? WHERE key = 'bulk-load'").run(JSON.stringify({ ...load, pid }));
  };
  const goneProcess = () => spawnSync(process.execPath, ['-e', '0']).pid!;
  const calls = (c: OpenCache) => c.raw.prepare("SELECT company_id, id, payload FROM records WHERE resource = 'calls' ORDER BY id").all();

  it('is ended when the cache is next opened: indexes built, a row listed twice kept once (its last copy), its references filled', async () => {
    const c = await tempCache();
    const fresh = contents(c).indexes;
    expect(beginBulkLoad(c.raw, 1, references)).toBe(true);
    expect(contents(c).indexes).toEqual([{ name: 'records', sql: expect.any(String) }]);
    insert(c, 'c1', { id: 'c1', user_id: 'u-old' });
    insert(c, 'c2', { id: 'c2', user_id: 7 });
    insert(c, 'c1', { id: 'c1', user_id: 'u-new' }); // the listing shifted: c1 came again
    // the process that loaded is gone (killed)
    markPid(c, goneProcess());
    const file = c.raw.name;
    await c.close();
    const again = await openCache(file);
    try {
      expect(bulkLoadOf(again.raw)).toBeNull();
      expect(contents(again).indexes).toEqual(fresh);
      expect(again.raw.prepare("SELECT id, payload FROM records WHERE resource = 'calls' ORDER BY id").all()).toEqual([
        { id: 'c1', payload: JSON.stringify({ id: 'c1', user_id: 'u-new' }) },
        { id: 'c2', payload: JSON.stringify({ id: 'c2', user_id: 7 }) },
      ]);
      expect(contents(again).refs.map((r) => [(r as { id: string }).id, (r as { target_id: string }).target_id])).toEqual([
        ['c1', 'u-new'],
        ['c2', '7'],
      ]);
    } finally {
      await again.close();
    }
  });

  it('keeps the last copy of a row listed under two companies, its key built at the first try', async () => {
    const c = await tempCache();
    const fresh = contents(c).indexes;
    expect(beginBulkLoad(c.raw, 1, references)).toBe(true);
    insert(c, 'c1', { id: 'c1', user_id: 'u1' }, 'globex');
    insert(c, 'c2', { id: 'c2', user_id: 'u2' });
    insert(c, 'c1', { id: 'c1', user_id: 'u1' }); // moved to acme between two pages
    markPid(c, goneProcess());
    const file = c.raw.name;
    await c.close();
    const again = await openCache(file);
    try {
      expect(contents(again).indexes).toEqual(fresh);
      expect(calls(again)).toEqual([
        { company_id: 'acme', id: 'c1', payload: JSON.stringify({ id: 'c1', user_id: 'u1' }) },
        { company_id: 'acme', id: 'c2', payload: JSON.stringify({ id: 'c2', user_id: 'u2' }) },
      ]);
      expect(contents(again).refs).toHaveLength(2);
      expect(again.raw.pragma('integrity_check', { simple: true })).toBe('ok');
    } finally {
      await again.close();
    }
  });

  it('stopped by a version with two keys on records (migration 14) is ended with those, then migrated to one', async () => {
    const now = await tempCache();
    const fresh = contents(now).indexes;
    await now.close();
    const file = tempFile('old.sqlite');
    const old = openSqlite(file);
    old.pragma('journal_mode = WAL');
    await migrateCache(old, 'old', 14);
    expect(beginBulkLoad(old, 1, references)).toBe(true);
    expect(bulkLoadOf(old)!.indexes.map((i) => i.name)).toEqual(['records_audit', 'records_by_id', 'records_by_update', 'records_key']);
    insert(old, 'c1', { id: 'c1', user_id: 'u-old' });
    insert(old, 'c2', { id: 'c2', user_id: 'u2' }, 'globex');
    insert(old, 'c1', { id: 'c1', user_id: 'u-new' });
    markPid(old, goneProcess());
    old.close();
    const again = await openCache(file);
    try {
      expect(bulkLoadOf(again.raw)).toBeNull();
      expect(contents(again).indexes).toEqual(fresh);
      expect(calls(again)).toEqual([
        { company_id: 'acme', id: 'c1', payload: JSON.stringify({ id: 'c1', user_id: 'u-new' }) },
        { company_id: 'globex', id: 'c2', payload: JSON.stringify({ id: 'c2', user_id: 'u2' }) },
      ]);
      expect(contents(again).refs.map((r) => (r as { target_id: string }).target_id)).toEqual(['u-new', 'u2']);
      expect(again.raw.pragma('integrity_check', { simple: true })).toBe('ok');
    } finally {
      await again.close();
    }
  });

  it('while its process runs, another sync of the same cache is refused in words, and the load is left alone', async () => {
    const c = await tempCache();
    expect(beginBulkLoad(c.raw, 1, references)).toBe(true);
    markPid(c, process.ppid); // a live process that is not this one
    const file = c.raw.name;
    await c.close();
    const again = await openCache(file);
    try {
      expect(bulkLoadOf(again.raw)?.pid).toBe(process.ppid);
      const profile = ConnectionProfileSchema.parse(referenceProfile('ref', 'http://127.0.0.1:9'));
      const who: SyncIdentity = { email: 'super@x.test', role: 'super_admin', companyId: null, token: () => 't', refresh: async () => 't' };
      await expect(new SyncService(again, profile, new EventBus()).run(who, [{ id: 'acme', name: 'Acme' }])).rejects.toThrow(
        /Another sync \(run 1, process \d+\) is loading this cache/,
      );
      expect(bulkLoadOf(again.raw)?.pid).toBe(process.ppid);
    } finally {
      await again.close();
    }
  });
});
