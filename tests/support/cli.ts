import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { onTestFinished } from 'vitest';
import { projectRoot } from '../../src-main/core/home.ts';
import { openSqlite } from '../../src-main/core/sqlite.ts';

/**
 * The CLI as a user runs it, and the ways a test waits for it: on state it can observe (a
 * ledger row, a committed batch, a line on stderr), never on a fixed delay, so that a slower or
 * loaded machine makes a test slower, not red.
 */

export interface CliRun {
  /** the exit code; null when the process was killed */
  code: number | null;
  signal: NodeJS.Signals | null;
  out: string;
  err: string;
  /** whether `killWhen` fired (the process may still have exited on its own first) */
  killed: boolean;
}

export interface CliOptions {
  home: string;
  env?: Record<string, string | undefined>;
  /**
   * Polled every `pollMs` while the process runs (and on each chunk of its stderr); when it
   * returns true the process gets SIGKILL at once. It sees the stderr so far.
   */
  killWhen?: (state: { err: string }) => boolean | Promise<boolean>;
  pollMs?: number;
}

export function runCli(args: string[], opts: CliOptions): Promise<CliRun> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [join(projectRoot, 'bin', 'tenantscope.mjs'), ...args], {
      env: { ...process.env, TENANTSCOPE_HOME: opts.home, ...opts.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    let killed = false;
    let exited = false;
    let checking = false;
    const check = async () => {
      if (!opts.killWhen || killed || exited || checking) return;
      checking = true;
      try {
        if ((await opts.killWhen({ err })) && !exited) {
          killed = true;
          child.kill('SIGKILL');
        }
      } finally {
        checking = false;
      }
    };
    child.stdout!.on('data', (d) => (out += d));
    child.stderr!.on('data', (d) => {
      err += d;
      void check();
    });
    const timer = opts.killWhen ? setInterval(() => void check(), opts.pollMs ?? 20) : null;
    child.on('exit', (code, signal) => {
      exited = true;
      if (timer) clearInterval(timer);
      resolve({ code, signal, out, err, killed });
    });
  });
}

/** Waits until `probe` returns something truthy and returns it; fails with `what` after `timeoutMs`. */
export async function waitFor<T>(probe: () => T | Promise<T>, what: string, { timeoutMs = 60_000, intervalMs = 25 } = {}): Promise<NonNullable<T>> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v) return v as NonNullable<T>;
    if (Date.now() > until) throw new Error(`waited ${timeoutMs} ms for ${what}`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

/**
 * A read-only look into a console cache that another process is writing (WAL: a reader sees each
 * committed transaction). `count` answers 0 until the file and its tables exist.
 */
export function cacheReader(file: string) {
  let db: ReturnType<typeof openSqlite> | null = null;
  return {
    count(sql: string, ...params: unknown[]): number {
      if (!db) {
        if (!existsSync(file)) return 0;
        try {
          db = openSqlite(file, { readonly: true, fileMustExist: true });
        } catch {
          return 0;
        }
      }
      try {
        return Number(
          db
            .prepare(sql)
            .pluck()
            .get(...params) ?? 0,
        );
      } catch (e) {
        if (/no such table|no such column|database is locked|SQLITE_BUSY/i.test(String(e))) return 0;
        throw e;
      }
    },
    close() {
      db?.close();
      db = null;
    },
  };
}

/** A fresh TENANTSCOPE_HOME, removed when the test that made it finishes (passed or failed). */
export function tempHome(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), `tenantscope-${prefix}-`));
  onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}
