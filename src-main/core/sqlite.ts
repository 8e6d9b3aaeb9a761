import { closeSync, existsSync, openSync, readSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import type BetterSqlite3 from 'better-sqlite3';
import { AppError } from '../../src-shared/result.ts';
import { projectRoot } from './home.ts';

const require = createRequire(import.meta.url);

/**
 * SQLite is better-sqlite3-multiple-ciphers: better-sqlite3's API on SQLite3 Multiple Ciphers, so
 * that a cache can be a SQLCipher 4 database (AES-256, HMAC per page) when a key is given, and a
 * plain SQLite file otherwise.
 *
 * It is built for Node in node_modules (tests, CLI, HTTP host). Electron has its own
 * ABI, so the desktop app loads a second build from .native/ through the `nativeBinding` option:
 * one install serves `npm test` and `npm start` in either order, nothing is rebuilt back and forth.
 */
export function electronNativeBindingPath(abi: string | number, platform = process.platform, arch = process.arch): string {
  return join(projectRoot, '.native', `electron-${abi}-${platform}-${arch}`, 'better_sqlite3.node');
}

/** what opens an encrypted database: a passphrase (SQLCipher's own key derivation) or 32 random bytes */
export type SqliteKey = { passphrase: string } | { rawKey: Buffer };

export function openSqlite(file: string, options: BetterSqlite3.Options = {}, key?: SqliteKey): BetterSqlite3.Database {
  const Database = require('better-sqlite3-multiple-ciphers') as typeof BetterSqlite3;
  let db: BetterSqlite3.Database;
  if (process.versions.electron) {
    const binding = electronNativeBindingPath(process.versions.modules);
    if (!existsSync(binding)) {
      throw new AppError(
        'internal',
        `The SQLite module for Electron is missing at ${binding}: run \`node scripts/electron-native.mjs\` (npm start does it when an Electron binary is present).`,
      );
    }
    db = new Database(file, { ...options, nativeBinding: binding });
  } else db = new Database(file, options);
  if (key) {
    try {
      useKey(db, key, 'key');
    } catch (e) {
      db.close();
      throw e;
    }
  }
  return db;
}

/** The settings `setPragmas` changes for a while: each a number (a SQLite pragma's value). */
export type PragmaValues = Partial<Record<'cache_size' | 'temp_store' | 'threads' | 'wal_autocheckpoint', number>>;

/**
 * Sets connection settings for a while; answers how to put back what the connection had (in the
 * reverse order). The bulk load's page cache, its index sorts and its commit each change a few.
 */
export function setPragmas(db: BetterSqlite3.Database, values: PragmaValues): () => void {
  const had = Object.keys(values).map((name) => [name, db.pragma(name, { simple: true }) as number] as const);
  for (const [name, value] of Object.entries(values)) db.pragma(`${name} = ${Math.trunc(value)}`);
  return () => {
    for (const [name, value] of had.reverse()) db.pragma(`${name} = ${value}`);
  };
}

/** SQLCipher 4's format, so that the `sqlcipher` tool opens a cache with the same passphrase */
function keyPragmas(key: SqliteKey, pragma: 'key' | 'rekey'): string[] {
  const value = 'rawKey' in key ? `"x'${key.rawKey.toString('hex')}'"` : `'${key.passphrase.replace(/'/g, "''")}'`;
  return ["cipher = 'sqlcipher'", 'legacy = 4', `${pragma} = ${value}`];
}

function useKey(db: BetterSqlite3.Database, key: SqliteKey, pragma: 'key' | 'rekey'): void {
  for (const p of keyPragmas(key, pragma)) db.pragma(p);
}

// A worker's whole program: open the file on its own connection, fold the write-ahead log into it, close.
const CHECKPOINT_WORKER = `
const { parentPort, workerData: w } = require('node:worker_threads');
let db;
try {
  const Database = require(w.module);
  db = new Database(w.file, w.nativeBinding ? { nativeBinding: w.nativeBinding } : {});
  for (const p of w.pragmas) db.pragma(p);
  const [r] = db.pragma('wal_checkpoint(PASSIVE)');
  parentPort.postMessage({ ok: r.busy === 0 && r.checkpointed === r.log, frames: r.log });
} catch (e) {
  parentPort.postMessage({ ok: false, message: String((e && e.message) || e) });
} finally {
  if (db) db.close();
}`;

/**
 * Folds a database's write-ahead log back into it on a worker thread, on a connection of its own:
 * a checkpoint writes and syncs every page a sync changed (0.4 s after 10,000 changed rows at 1M,
 * bench/sync), which the main thread (the window's requests, the next page) need not wait for.
 * The fold is PASSIVE: it takes no lock a writer needs, so the main connection writes on while it
 * runs (a TRUNCATE fold holds the writer's lock, and a write that had read first fails BUSY).
 * Answers whether the log was folded whole; an error is the answer's message, never a throw (the
 * next checkpoint, or closing the last connection, folds what this one could not).
 */
export function checkpointInBackground(file: string, key?: SqliteKey): Promise<{ ok: boolean; frames?: number; message?: string }> {
  return new Promise((resolve) => {
    const worker = new Worker(CHECKPOINT_WORKER, {
      eval: true,
      // a few lines of JavaScript: a small heap, so that a fold adds little to the console's memory
      resourceLimits: { maxOldGenerationSizeMb: 16, maxYoungGenerationSizeMb: 4 },
      workerData: {
        module: require.resolve('better-sqlite3-multiple-ciphers'),
        nativeBinding: process.versions.electron ? electronNativeBindingPath(process.versions.modules) : null,
        file,
        pragmas: key ? keyPragmas(key, 'key') : [],
      },
    });
    let answered = false;
    worker.once('message', (m: { ok: boolean; frames?: number; message?: string }) => {
      answered = true;
      resolve(m);
    });
    worker.once('error', (e) => resolve({ ok: false, message: e.message }));
    worker.once('exit', () => answered || resolve({ ok: false, message: 'the checkpoint worker stopped' }));
  });
}

/** Whether a file on disk is a plain SQLite database (its header says so); an encrypted one's header is random. */
export function isPlainSqlite(file: string): boolean {
  if (!existsSync(file) || statSync(file).size === 0) return false;
  const fd = openSync(file, 'r');
  try {
    const head = Buffer.alloc(16);
    readSync(fd, head, 0, 16, 0);
    return head.toString('latin1') === 'SQLite format 3\0';
  } finally {
    closeSync(fd);
  }
}

/**
 * Encrypts a plain SQLite file where it is (its write-ahead log folded in first). Run on a file
 * nobody else has open; a crash part way leaves SQLite's own journal to roll it back.
 */
export function encryptInPlace(file: string, key: SqliteKey): void {
  const db = openSqlite(file);
  try {
    db.pragma('journal_mode = DELETE'); // rekey works on a rollback journal, not a WAL
    // SQLCipher 4's format has 4 KiB pages; a plain cache made with larger ones is rewritten with them first
    if (db.pragma('page_size', { simple: true }) !== 4096) {
      db.pragma('page_size = 4096');
      db.exec('VACUUM');
    }
    useKey(db, key, 'rekey');
  } finally {
    db.close();
  }
}
