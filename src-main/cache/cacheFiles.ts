import { existsSync, mkdirSync, readdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { AppError } from '../../src-shared/result.ts';
import { originOf } from '../connections/connectionStore.ts';
import type { OpenCache } from './cacheDb.ts';
import type { SqliteKey } from '../core/sqlite.ts';

/**
 * Where each connection's cache lives, and what it is bound to. A cache belongs to one CRM (its
 * origin and sign-in): when a connection is pointed elsewhere its cache is detached (moved aside,
 * never opened under the new address), and a removed connection's cache goes aside with it, so a
 * connection added later under the same name starts from an empty cache.
 */

const SUFFIXES = ['', '-wal', '-shm'];

/** the passphrase the HTTP host and the CLI encrypt caches with (the desktop app keeps a key in the OS keyring) */
export const CACHE_KEY_ENV = 'TENANTSCOPE_CACHE_KEY';
export const CACHE_KEY_MIN = 12;

/** The caches' key from TENANTSCOPE_CACHE_KEY; none when it is unset or empty (the caches stay plain SQLite). */
export function cacheKeyFromEnv(env: NodeJS.ProcessEnv = process.env): SqliteKey | undefined {
  const given = env[CACHE_KEY_ENV];
  if (!given) return undefined;
  if (given.length < CACHE_KEY_MIN) {
    throw new AppError(
      'invalid-input',
      `${CACHE_KEY_ENV} is ${given.length} characters long: a passphrase that encrypts every cached tenant needs at least ${CACHE_KEY_MIN}.`,
    );
  }
  return { passphrase: given };
}

export function cachePath(home: string, connection: string): string {
  return join(home, 'cache', `${connection}.sqlite`);
}

/** Records the binding in a new cache; refuses a cache made for another CRM. */
export function bindCache(raw: OpenCache['raw'], connection: string, binding: string): void {
  const had = raw.prepare("SELECT value FROM cache_meta WHERE key = 'binding'").pluck().get() as string | undefined;
  if (had === undefined) {
    raw.prepare("INSERT INTO cache_meta (key, value) VALUES ('binding', ?)").run(binding);
    return;
  }
  if (had !== binding) {
    throw new AppError(
      'conflict',
      `The cache of "${connection}" was filled from ${originOf(had)} with another sign-in than the connection now names (${originOf(binding)}): it is not opened under another CRM. Save the connection again (its old cache is then set aside) or point it back.`,
    );
  }
}

/** Moves a connection's cache files into cache/detached/ under `tag`; false when there was none. */
export function detachCache(home: string, connection: string, tag: string): boolean {
  const from = cachePath(home, connection);
  if (!existsSync(from)) return false;
  const dir = join(home, 'cache', 'detached');
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  for (const s of SUFFIXES) if (existsSync(from + s)) renameSync(from + s, join(dir, `${connection}.${tag}.sqlite${s}`));
  return true;
}

/** Puts a detached cache back (undo of a removal); false when it is gone or a new cache took its place. */
export function reattachCache(home: string, connection: string, tag: string): boolean {
  const from = join(home, 'cache', 'detached', `${connection}.${tag}.sqlite`);
  const to = cachePath(home, connection);
  if (!existsSync(from) || existsSync(to)) return false;
  for (const s of SUFFIXES) if (existsSync(from + s)) renameSync(from + s, to + s);
  return true;
}

/** Deletes the caches of removed connections whose undo has run out (tags starting "removed-"). */
export function pruneRemoved(home: string, olderThanMs: number, now = Date.now()): number {
  const dir = join(home, 'cache', 'detached');
  if (!existsSync(dir)) return 0;
  let n = 0;
  for (const f of readdirSync(dir)) {
    if (!/\.removed-[0-9a-f]+\.sqlite(-wal|-shm)?$/.test(f)) continue;
    const p = join(dir, f);
    if (now - statSync(p).mtimeMs < olderThanMs) continue;
    rmSync(p, { force: true });
    if (!/-(wal|shm)$/.test(f)) n++;
  }
  return n;
}
