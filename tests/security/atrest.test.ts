import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cacheKeyFromEnv, cachePath } from '../../src-main/cache/cacheFiles.ts';
import { openCache } from '../../src-main/cache/cacheDb.ts';
import { isPlainSqlite } from '../../src-main/core/sqlite.ts';
import { startTestCrm, type TestCrm } from '../support/crm.ts';
import { referenceProfile, startTestConsole } from '../support/console.ts';

/** Issue 15, point 8: a cache is encrypted at rest (SQLCipher 4) when a key is given, and opens with that key only. */

let crm: TestCrm;
const home = mkdtempSync(join(tmpdir(), 'tenantscope-atrest-'));
const KEY = { key: { passphrase: 'correct horse battery staple' }, source: 'passphrase' as const };

beforeAll(async () => {
  crm = await startTestCrm({ profile: 'legacy' });
});
afterAll(async () => {
  await crm?.close();
  rmSync(home, { recursive: true, force: true });
});

const fileBytes = (connection: string) => readFileSync(cachePath(home, connection));
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

describe('caches at rest', () => {
  it('with a key, what a sync wrote is nowhere readable in the files; the same key opens it again', async () => {
    const ts = await startTestConsole({ home, cacheKey: KEY });
    try {
      expect((await ts.call('connections:save', { profile: referenceProfile('ref', crm.url) })).status).toBe(200);
      expect((await ts.call('session:signIn', { connection: 'ref', username: 'admin@acme.test', password: 'demo' })).body.ok).toBe(true);
      const report = (await ts.call('sync:run', {})).body.value;
      expect(report.rows).toBeGreaterThan(50);
      expect((await ts.call('app:info', {})).body.value.cacheEncryption).toBe('passphrase');
    } finally {
      await ts.close();
    }
    const file = cachePath(home, 'ref');
    expect(isPlainSqlite(file)).toBe(false);
    const bytes = Buffer.concat([fileBytes('ref'), ...['-wal'].filter((s) => existsSync(file + s)).map((s) => readFileSync(file + s))]);
    expect(bytes.subarray(0, 16).toString('latin1')).not.toBe('SQLite format 3\0');
    // nothing the CRM gave is in the files: the operator's email, table names, a company name
    for (const plain of ['admin@acme.test', 'Acme Corporation', 'CREATE TABLE', 'records']) expect(bytes.includes(plain), plain).toBe(false);
    // the same passphrase opens it, the rows all there
    const again = await openCache(file, { key: KEY.key });
    try {
      expect(again.raw.pragma('integrity_check', { simple: true })).toBe('ok');
      expect(again.raw.prepare('SELECT count(*) FROM records').pluck().get()).toBeGreaterThan(50);
    } finally {
      await again.close();
    }
  });

  it('a wrong key, or none, is refused with what to do, and the file is left exactly as it was', async () => {
    const before = sha(fileBytes('ref'));
    for (const cacheKey of [{ key: { passphrase: 'a different passphrase' }, source: 'passphrase' as const }, null]) {
      const ts = await startTestConsole({ home, cacheKey });
      try {
        const r = await ts.call('session:openOffline', { connection: 'ref', username: 'admin@acme.test', password: 'demo' });
        expect(r.body.ok).toBe(false);
        expect(r.body.error.code).toBe('locked');
        expect(r.body.error.message).toMatch(
          cacheKey ? /is encrypted and the key given does not open it: set TENANTSCOPE_CACHE_KEY/ : /is encrypted and no key was given/,
        );
        expect(r.body.error.message).toMatch(/Nothing was changed\.$/);
      } finally {
        await ts.close();
      }
    }
    expect(sha(fileBytes('ref'))).toBe(before);
    // and the right one still opens it offline
    const ts = await startTestConsole({ home, cacheKey: KEY });
    try {
      const r = await ts.call('session:openOffline', { connection: 'ref', username: 'admin@acme.test', password: 'demo' });
      expect(r.body.value.role).toBe('company_admin');
    } finally {
      await ts.close();
    }
  });

  it('a plain cache from before is encrypted where it is the first time a key is given, keeping every row', async () => {
    const plainHome = mkdtempSync(join(tmpdir(), 'tenantscope-atrest-plain-'));
    try {
      const ts = await startTestConsole({ home: plainHome, cacheKey: null });
      try {
        await ts.call('connections:save', { profile: referenceProfile('ref', crm.url) });
        await ts.call('session:signIn', { connection: 'ref', username: 'admin@acme.test', password: 'demo' });
        expect((await ts.call('sync:run', {})).body.ok).toBe(true);
      } finally {
        await ts.close();
      }
      const file = cachePath(plainHome, 'ref');
      expect(isPlainSqlite(file)).toBe(true);
      const plain = await openCache(file);
      const stored = plain.raw.prepare('SELECT count(*) FROM records').pluck().get() as number;
      const shown = plain.raw.prepare("SELECT count(*) FROM records WHERE company_id NOT IN ('unassigned', 'outside')").pluck().get() as number;
      await plain.close();
      expect(stored).toBeGreaterThan(50);
      expect(readFileSync(file).includes('admin@acme.test')).toBe(true);

      const keyed = await startTestConsole({ home: plainHome, cacheKey: KEY });
      try {
        const r = await keyed.call('session:openOffline', { connection: 'ref', username: 'admin@acme.test', password: 'demo' });
        expect(r.body, JSON.stringify(r.body)).toMatchObject({ ok: true });
        expect(keyed.logs.join('\n')).toMatch(/connection ref: its cache was plain SQLite and is now encrypted/);
        const counts = (await keyed.call('records:resources', {})).body.value.resources as Array<{ rows: number }>;
        expect(counts.reduce((n, c) => n + c.rows, 0)).toBeGreaterThan(50);
      } finally {
        await keyed.close();
      }
      expect(isPlainSqlite(file)).toBe(false);
      expect(readFileSync(file).includes('admin@acme.test')).toBe(false);
      const encrypted = await openCache(file, { key: KEY.key });
      expect(encrypted.raw.prepare('SELECT count(*) FROM records').pluck().get()).toBe(stored);
      expect(encrypted.raw.prepare("SELECT count(*) FROM records WHERE company_id NOT IN ('unassigned', 'outside')").pluck().get()).toBe(shown);
      await encrypted.close();
      expect(statSync(file).mode & 0o777).toBe(0o600);
    } finally {
      rmSync(plainHome, { recursive: true, force: true });
    }
  });

  it('TENANTSCOPE_CACHE_KEY: unset means plain files; a short passphrase is refused', () => {
    expect(cacheKeyFromEnv({})).toBeUndefined();
    expect(cacheKeyFromEnv({ TENANTSCOPE_CACHE_KEY: 'a long enough passphrase' })).toEqual({ passphrase: 'a long enough passphrase' });
    expect(() => cacheKeyFromEnv({ TENANTSCOPE_CACHE_KEY: 'short' })).toThrow(
      /5 characters long: a passphrase that encrypts every cached tenant needs at least 12/,
    );
  });
});
