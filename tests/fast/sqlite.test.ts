import { describe, expect, it } from 'vitest';
import { openSqlite, electronNativeBindingPath, setPragmas } from '../../src-main/core/sqlite.ts';
// @ts-expect-error: a plain .mjs script without types
import { electronNativePath } from '../../scripts/electron-native.mjs';

describe('the native SQLite module', () => {
  it('opens in Node from node_modules', () => {
    const db = openSqlite(':memory:');
    db.exec('CREATE TABLE t (company_id TEXT, id TEXT, PRIMARY KEY (company_id, id))');
    db.prepare('INSERT INTO t VALUES (?, ?)').run('acme', '1');
    expect(db.prepare('SELECT count(*) AS n FROM t').get()).toEqual({ n: 1 });
    db.close();
  });

  it('looks for the Electron build where the build script puts it', () => {
    expect(electronNativeBindingPath(150)).toBe(electronNativePath().replace(/electron-\d+-/, 'electron-150-'));
  });

  it('sets settings for a while and gives back what the connection had', () => {
    const db = openSqlite(':memory:');
    db.pragma('cache_size = -4000');
    const read = () => ({
      cache: db.pragma('cache_size', { simple: true }),
      temp: db.pragma('temp_store', { simple: true }),
      threads: db.pragma('threads', { simple: true }),
    });
    const own = read();
    const giveBack = setPragmas(db, { cache_size: -16384, temp_store: 1, threads: 2 });
    expect(read()).toEqual({ cache: -16384, temp: 1, threads: 2 });
    giveBack();
    expect(read()).toEqual(own);
    expect(own.cache).toBe(-4000);
    db.close();
  });
});
