import { createCipheriv, randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deriveKey } from '../../src-main/core/keys.ts';
import { openSqlite } from '../../src-main/core/sqlite.ts';
import { CACHE_MIGRATIONS, migrateCache } from '../../src-main/cache/cacheDb.ts';
import { EXPORT_MAGIC, makeExportFile, writeExportMeta, type ExportMeta } from '../../src-main/data/tenantExport.ts';
import { startTestConsole, type TestConsole } from '../support/console.ts';

/**
 * A sealed tenant file is made by whoever knows its passphrase: an attacker handing support staff
 * a file knows it. What it holds is data: it cannot expand without bound, run a view or a
 * trigger, speak for another tenant, or leave its temporary copy behind.
 */

const PASSPHRASE = 'correct horse battery staple';
let ts: TestConsole;
/** this file's own temporary folder (os.tmpdir() follows TMPDIR): what an import leaves is counted there alone */
let scratch: string;
const savedTmp = process.env.TMPDIR;
beforeAll(async () => {
  ts = await startTestConsole();
  scratch = mkdtempSync(join(tmpdir(), 'tenantscope-imports-'));
  process.env.TMPDIR = scratch;
});
afterAll(async () => {
  if (savedTmp === undefined) delete process.env.TMPDIR;
  else process.env.TMPDIR = savedTmp;
  await ts?.close();
  rmSync(scratch, { recursive: true, force: true });
});

/** Seals `plain` (already gzipped, or not) as an export file: magic | salt | iv | tag | ciphertext. */
async function seal(gzipped: Buffer, magic = EXPORT_MAGIC): Promise<string> {
  const salt = randomBytes(16);
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', await deriveKey(PASSPHRASE, salt), iv);
  const body = Buffer.concat([cipher.update(gzipped), cipher.final()]);
  return Buffer.concat([magic, salt, iv, cipher.getAuthTag(), body]).toString('base64');
}

/** An export's file (a cache made by the cache's migrations), with `extra` SQL run in it. */
async function exportDb(extra: string, meta: unknown = META, migrations = CACHE_MIGRATIONS.length): Promise<Buffer> {
  const dir = mkdtempSync(join(tmpdir(), 'tenantscope-craft-'));
  try {
    const file = join(dir, 'x.sqlite');
    if (migrations === CACHE_MIGRATIONS.length) await makeExportFile(file);
    else {
      const raw = openSqlite(file);
      await migrateCache(raw, 'an older export', migrations);
      raw.close();
    }
    const db = openSqlite(file);
    writeExportMeta(db, meta as ExportMeta);
    db.exec(extra);
    db.close();
    return readFileSync(file);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
const META = {
  tenant: { id: 'c1', name: 'Acme' },
  profile: { version: 1, name: 'x', baseUrl: 'http://127.0.0.1:9', auth: { kind: 'token' }, whoami: { path: '/me' } },
  exportedAt: '2026-01-01T00:00:00Z',
  exportedBy: 'x',
  dataAsOf: null,
  rows: 0,
};

const importDirs = () => readdirSync(scratch).filter((f) => f.startsWith('tenantscope-import-')).length;
const tryImport = async (name: string, data: string) => ts.call('cache:import', { name, data, passphrase: PASSPHRASE });

describe('importing a sealed tenant file someone else made', () => {
  it('refuses a gzip bomb before it fills memory, a view or trigger inside, and a file that is not an export; nothing is left behind', async () => {
    expect(tmpdir()).toBe(scratch);
    const before = importDirs();
    // 300 MiB of zeros gzip to about 300 KB
    const bomb = await seal(gzipSync(Buffer.alloc(300 * 1024 * 1024), { level: 9 }));
    const r = await tryImport('bomb', bomb);
    expect(r.status).toBe(400);
    expect(r.body.error.message).toMatch(/The export expands to more than 64 MiB \(100 times its size at most/);

    const withView = await seal(
      gzipSync(await exportDb('CREATE VIEW slow AS WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n) SELECT i FROM n')),
    );
    const view = await tryImport('view', withView);
    expect(view.status).toBe(400);
    expect(view.body.error.message).toMatch(/This export holds a view "slow", which TenantScope never writes: nothing was imported/);

    const withTrigger = await seal(gzipSync(await exportDb('CREATE TRIGGER t AFTER INSERT ON records BEGIN DELETE FROM refs; END')));
    expect((await tryImport('trigger', withTrigger)).body.error.message).toMatch(/holds a trigger "t"/);

    const notSqlite = await seal(gzipSync(Buffer.from('just some text, sealed')));
    const junk = await tryImport('junk', notSqlite);
    expect(junk.status).toBe(400);
    expect(junk.body.error.message).toMatch(/could not be read .*nothing was imported/);

    const notGzip = await seal(Buffer.from('not gzip at all'));
    expect((await tryImport('plain', notGzip)).body.error.message).toMatch(/not compressed as TenantScope writes it/);

    expect(importDirs()).toBe(before);
    const names = (await ts.call('connections:list', {})).body.value.connections.map((c: { name: string }) => c.name);
    expect(names).toEqual(['demo']);
  }, 120_000);

  it('an export speaks for its own tenant only: sync state and leak evidence about others stay out', async () => {
    const crafted = await seal(
      gzipSync(
        await exportDb(`
      INSERT INTO records (rid, company_id, resource, id, updated_at, deleted, payload, fetched_by, fetched_from, fetched_at, has_company_field, own_company) VALUES
        (1, 'c1', 'calls', 'call-1', NULL, 0, '{"id":"call-1"}', 'x', '/calls', '2026-01-01', 1, 'c1'),
        (2, 'c2', 'calls', 'call-2', NULL, 0, '{"id":"call-2"}', 'x', '/calls', '2026-01-01', 1, 'c2');
      INSERT INTO sync_state (company_id, resource, high_water, rows, pages, last_finished_at, proof) VALUES ('c1', 'calls', NULL, 1, 1, '2026-01-01', NULL), ('*', 'calls', '2099-01-01', 1, 1, '2099-01-01', NULL);
      INSERT INTO leaks (identity_company_id, company_id, resource, id, identity, request, observed_at) VALUES ('c1', 'c2', 'calls', 'call-2', 'x', 'GET /calls', '2026-01-01'), ('c3', 'c4', 'calls', 'call-9', 'x', 'GET /calls', '2026-01-01');`),
      ),
    );
    const r = await tryImport('copy', crafted);
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    expect(r.body.value.rows).toBe(1);
    const raw = (await ts.services.cache('copy')).raw;
    expect(raw.prepare('SELECT company_id FROM records').pluck().all()).toEqual(['c1']);
    expect(raw.prepare('SELECT company_id FROM sync_state').pluck().all()).toEqual(['c1']);
    expect(raw.prepare("SELECT identity_company_id || '>' || company_id FROM leaks").pluck().all()).toEqual(['c1>c2']);
    await ts.call('session:signOut', {});
  });

  it("an export from an older TenantScope is brought forward by the cache's own migrations; one from a newer one, or in the old format, is refused", async () => {
    const older = await seal(
      gzipSync(
        await exportDb(
          `INSERT INTO records (company_id, resource, id, payload, fetched_by, fetched_from, fetched_at) VALUES ('c1', 'calls', 'call-1', '{"id":"call-1"}', 'x', '/calls', '2026-01-01')`,
          META,
          CACHE_MIGRATIONS.length - 2,
        ),
      ),
    );
    const r = await tryImport('older', older);
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    expect(r.body.value.rows).toBe(1);
    const newer = await seal(gzipSync(await exportDb("INSERT INTO kysely_migration (name, timestamp) VALUES ('999_from_the_future', '2030-01-01')")));
    expect((await tryImport('newer', newer)).body.error.message).toMatch(/^This export was made by a newer TenantScope .*999_from_the_future/);
    const tsx1 = await seal(gzipSync(await exportDb('')), Buffer.from('TSX1'));
    expect((await tryImport('tsx1', tsx1)).body.error.message).toMatch(/made by an older TenantScope, in a format this one no longer reads/);
    const names = (await ts.call('connections:list', {})).body.value.connections.map((c: { name: string }) => c.name);
    expect(names).not.toContain('newer');
    expect(names).not.toContain('tsx1');
  });
});
