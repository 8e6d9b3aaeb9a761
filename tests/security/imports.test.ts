import { createCipheriv, randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deriveKey } from '../../src-main/core/keys.ts';
import { openSqlite } from '../../src-main/core/sqlite.ts';
import { EXPORT_SCHEMA } from '../../src-main/data/tenantExport.ts';
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

/** Seals `plain` (already gzipped, or not) as an export file: "TSX1" | salt | iv | tag | ciphertext. */
async function seal(gzipped: Buffer): Promise<string> {
  const salt = randomBytes(16);
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', await deriveKey(PASSPHRASE, salt), iv);
  const body = Buffer.concat([cipher.update(gzipped), cipher.final()]);
  return Buffer.concat([Buffer.from('TSX1'), salt, iv, cipher.getAuthTag(), body]).toString('base64');
}

/** A SQLite file shaped like an export, with `extra` SQL run in it. */
function exportDb(extra: string, meta: unknown = { tenant: { id: 'c1', name: 'Acme' }, profile: { version: 1, name: 'x', baseUrl: 'http://127.0.0.1:9', auth: { kind: 'token' }, whoami: { path: '/me' } }, exportedAt: '2026-01-01T00:00:00Z', exportedBy: 'x', dataAsOf: null, rows: 0 }): Buffer {
  const dir = mkdtempSync(join(tmpdir(), 'tenantscope-craft-'));
  try {
    const file = join(dir, 'x.sqlite');
    const db = openSqlite(file);
    db.exec(EXPORT_SCHEMA);
    db.prepare('INSERT INTO meta VALUES (?)').run(JSON.stringify(meta));
    db.exec(extra);
    db.close();
    return readFileSync(file);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

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

    const withView = await seal(gzipSync(exportDb('CREATE VIEW slow AS WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n) SELECT i FROM n')));
    const view = await tryImport('view', withView);
    expect(view.status).toBe(400);
    expect(view.body.error.message).toMatch(/This export holds a view "slow", which TenantScope never writes: nothing was imported/);

    const withTrigger = await seal(gzipSync(exportDb("CREATE TRIGGER t AFTER INSERT ON records BEGIN DELETE FROM refs; END")));
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
    const crafted = await seal(gzipSync(exportDb(`
      INSERT INTO records VALUES (1, 'c1', 'calls', 'call-1', NULL, 0, '{"id":"call-1"}', 'x', '/calls', '2026-01-01', 1, 'c1');
      INSERT INTO records VALUES (2, 'c2', 'calls', 'call-2', NULL, 0, '{"id":"call-2"}', 'x', '/calls', '2026-01-01', 1, 'c2');
      INSERT INTO sync_state VALUES ('c1', 'calls', NULL, 1, 1, '2026-01-01', NULL), ('*', 'calls', '2099-01-01', 1, 1, '2099-01-01', NULL);
      INSERT INTO leaks VALUES ('c1', 'c2', 'calls', 'call-2', 'x', 'GET /calls', '2026-01-01'), ('c3', 'c4', 'calls', 'call-9', 'x', 'GET /calls', '2026-01-01');`)));
    const r = await tryImport('copy', crafted);
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    expect(r.body.value.rows).toBe(1);
    const raw = (await ts.services.cache('copy')).raw;
    expect(raw.prepare('SELECT company_id FROM records').pluck().all()).toEqual(['c1']);
    expect(raw.prepare('SELECT company_id FROM sync_state').pluck().all()).toEqual(['c1']);
    expect(raw.prepare('SELECT identity_company_id || \'>\' || company_id FROM leaks').pluck().all()).toEqual(['c1>c2']);
    await ts.call('session:signOut', {});
  });
});
