import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openCache } from '../../src-main/cache/cacheDb.ts';
import { EventBus } from '../../src-main/core/eventBus.ts';
import { SyncService } from '../../src-main/sync/syncService.ts';
import { ALL } from '../../src-shared/partitions.ts';
import { ConnectionProfileSchema } from '../../src-shared/profile.ts';

// A sync lists a tenant's resources one after another, and an incremental one finds most of them
// with nothing new: the console opens the next listings while it writes the one before them, so
// their first pages are on their way meanwhile (sync/run.ts LOOKAHEAD). What a user relies on:
// the rows and outcomes are the same, in the catalog's order, a listing that fails is reported in
// its turn with every other one written, and a cancel stops them all. The server runs in a process
// of its own and notes when each request reached it, so that a write holding this thread cannot
// hide when a request was sent.

const RESOURCES = ['alpha', 'beta', 'gamma', 'delta'];
const SERVER = `
const http = require('node:http');
const s = http.createServer((req, res) => {
  const u = new URL(req.url, 'http://x');
  const name = u.pathname.split('/')[2] ?? '';
  const cursor = Number(u.searchParams.get('cursor') ?? 0);
  process.stdout.write('GOT ' + name + ' ' + cursor + ' ' + Date.now() + '\\n');
  res.setHeader('content-type', 'application/json');
  if (name === 'beta' && process.argv[1] === 'beta-drops') return req.socket.destroy();
  if (name === 'gamma' && process.argv[1] === 'gamma-fails') {
    res.statusCode = 404;
    return res.end(JSON.stringify({ detail: 'Not Found' }));
  }
  if (!${JSON.stringify(RESOURCES)}.includes(name)) return res.end(JSON.stringify({ items: [], next_cursor: null }));
  const slow = name === 'alpha' && process.argv[1] === 'alpha-slow' ? 300 : 0;
  const items = Array.from({ length: 20 }, (_, i) => ({ id: name + '-' + (cursor * 20 + i), company_id: 'c' + (i % 2) }));
  setTimeout(() => res.end(JSON.stringify({ items, next_cursor: cursor < 1 ? String(cursor + 1) : null })), slow);
});
s.listen(0, '127.0.0.1', () => process.stdout.write('PORT ' + s.address().port + '\\n'));
`;

type Arrival = { resource: string; cursor: number; at: number };

async function startServer(mode: string): Promise<{ url: string; arrived: Arrival[]; server: ChildProcess }> {
  const arrived: Arrival[] = [];
  const server = spawn(process.execPath, ['-e', SERVER, mode], { stdio: ['ignore', 'pipe', 'inherit'] });
  const url = await new Promise<string>((resolve) =>
    createInterface({ input: server.stdout! }).on('line', (l) => {
      const [what, a, b, c] = l.split(' ');
      if (what === 'PORT') resolve(`http://127.0.0.1:${a}`);
      if (what === 'GOT') arrived.push({ resource: a!, cursor: Number(b), at: Number(c) });
    }),
  );
  return { url, arrived, server };
}

/** The four resources, each with its own company field; `parentOf` makes one take its company from another's rows. */
const profileOf = (url: string, parentOf: Record<string, string> = {}) =>
  ConnectionProfileSchema.parse({
    version: 1,
    name: 'bare',
    baseUrl: url,
    auth: { kind: 'token' },
    whoami: { path: '/me' },
    paging: { kind: 'cursor', maxLimit: 20 },
    catalog: {
      users: 'users',
      resources: RESOURCES.map((name) => ({
        name,
        endpoints: { list: `/api/${name}` },
        table: name,
        companyField: 'company_id',
        class: 'tenant',
        derivation: parentOf[name] ? { kind: 'parent', resource: parentOf[name], field: 'company_id' } : { kind: 'own', field: 'company_id' },
        priority: null,
      })),
    },
  });

const root = { email: 'root', role: 'super_admin' as const, companyId: null, token: () => 't', refresh: async () => 't' };

/** A sync whose every page write holds the thread for 120 ms, as a large page into SQLite does; answers when each listing's writes ended. */
class SlowWrites extends SyncService {
  readonly lastWrite = new Map<string, number>();
  readonly firstWrite = new Map<string, number>();
  override ingest(...args: Parameters<SyncService['ingest']>) {
    const name = args[1].name;
    if (!this.firstWrite.has(name)) this.firstWrite.set(name, Date.now());
    const until = Date.now() + 120;
    while (Date.now() < until);
    try {
      return super.ingest(...args);
    } finally {
      this.lastWrite.set(name, Date.now());
    }
  }
}

describe('a sync of many resources', () => {
  const dirs: string[] = [];
  const servers: ChildProcess[] = [];
  const cacheIn = async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tenantscope-lookahead-'));
    dirs.push(dir);
    return openCache(join(dir, 'c.sqlite'));
  };
  let ok: Awaited<ReturnType<typeof startServer>>;
  beforeAll(async () => {
    ok = await startServer('ok');
    servers.push(ok.server);
  });
  afterAll(() => {
    for (const s of servers) s.kill();
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  for (const lookahead of [2, 0]) {
    it(`asks for the next listings' first pages while it writes the one before them (lookahead ${lookahead})`, async () => {
      ok.arrived.length = 0;
      const cache = await cacheIn();
      try {
        const sync = new SlowWrites(cache, profileOf(ok.url), new EventBus());
        const report = await sync.run(root, [{ id: ALL, name: 'every tenant' }], { lookahead, listings: 1 });
        await new Promise((r) => setTimeout(r, 100)); // the last lines of the server's log
        expect(report.outcomes.map((o) => [o.resource, o.status, o.rows])).toEqual(RESOURCES.map((r) => [r, 'synced', 40]));
        expect(cache.raw.prepare('SELECT resource, count(*) FROM records GROUP BY resource ORDER BY resource').raw().all()).toEqual(
          [...RESOURCES].sort().map((r) => [r, 40]),
        );
        // each listing is written after the one before it (parents first), whatever was fetched ahead
        for (const [a, b] of RESOURCES.slice(0, -1).map((r, i) => [r, RESOURCES[i + 1]!] as const))
          expect(sync.firstWrite.get(b)!).toBeGreaterThanOrEqual(sync.lastWrite.get(a)!);
        const first = (r: string) => ok.arrived.find((x) => x.resource === r && x.cursor === 0)!.at;
        for (const [a, b] of RESOURCES.slice(0, -1).map((r, i) => [r, RESOURCES[i + 1]!] as const)) {
          if (lookahead) expect(first(b), `${b}'s first page asked for while ${a} was written`).toBeLessThan(sync.lastWrite.get(a)!);
          else expect(first(b), `${b}'s first page asked for after ${a} was written`).toBeGreaterThanOrEqual(sync.lastWrite.get(a)!);
        }
        // a listing opened ahead asks for its first page only while the one before it is written
        for (const [a, b] of RESOURCES.slice(0, -1).map((r, i) => [r, RESOURCES[i + 1]!] as const))
          expect(ok.arrived.filter((x) => x.resource === b && x.at < sync.lastWrite.get(a)!).length).toBeLessThanOrEqual(1);
      } finally {
        await cache.close();
      }
    }, 30_000);
  }

  it('reports a listing that fails in its turn, and writes every other one', async () => {
    const failing = await startServer('gamma-fails');
    servers.push(failing.server);
    const cache = await cacheIn();
    try {
      const report = await new SlowWrites(cache, profileOf(failing.url), new EventBus()).run(root, [{ id: ALL, name: 'every tenant' }], { listings: 1 });
      expect(report.outcomes.map((o) => [o.resource, o.status])).toEqual([
        ['alpha', 'synced'],
        ['beta', 'synced'],
        ['gamma', 'failed'],
        ['delta', 'synced'],
      ]);
      expect(report.outcomes[2]!.message).toMatch(/gamma/);
      expect(cache.raw.prepare('SELECT count(*) FROM records').pluck().get()).toBe(120);
    } finally {
      await cache.close();
    }
  }, 30_000);

  it('writes two listings beside each other, and one that takes its companies from another after that one has ended', async () => {
    // alpha's CRM takes 300 ms a page: beta is written while alpha's next page is on its way
    const slow = await startServer('alpha-slow');
    servers.push(slow.server);
    const cache = await cacheIn();
    try {
      // gamma's rows take their company from alpha's (a parent): alpha must be written whole first
      const sync = new SlowWrites(cache, profileOf(slow.url, { gamma: 'alpha' }), new EventBus());
      const report = await sync.run(root, [{ id: ALL, name: 'every tenant' }], { listings: 2 });
      expect(report.outcomes.map((o) => [o.resource, o.status, o.rows])).toEqual(RESOURCES.map((r) => [r, 'synced', 40]));
      expect(cache.raw.prepare('SELECT resource, count(*) FROM records GROUP BY resource ORDER BY resource').raw().all()).toEqual(
        [...RESOURCES].sort().map((r) => [r, 40]),
      );
      // alpha and beta are written beside each other: beta's first page before alpha's last (with one
      // listing at a time, beta's first write would come after alpha's last)
      expect(sync.firstWrite.get('beta')!).toBeLessThan(sync.lastWrite.get('alpha')!);
      // gamma only once alpha has ended, whatever ran beside it
      expect(sync.firstWrite.get('gamma')!).toBeGreaterThanOrEqual(sync.lastWrite.get('alpha')!);
      // every listing's cursor ended, each with its own count
      expect(cache.raw.prepare('SELECT resource, cursor, rows FROM sync_state ORDER BY resource').raw().all()).toEqual(
        [...RESOURCES].sort().map((r) => [r, null, 40]),
      );
    } finally {
      await cache.close();
    }
  }, 30_000);

  it('stops the listing beside one that finds the CRM gone, keeping what it wrote with its cursor', async () => {
    const refused = await startServer('beta-drops');
    servers.push(refused.server);
    const cache = await cacheIn();
    try {
      // beta's connection is dropped at every try: the CRM is gone, which ends the sync
      const sync = new SlowWrites(cache, profileOf(refused.url), new EventBus(), { retry: { attempts: 2, baseMs: 1, capMs: 5 } });
      await expect(sync.run(root, [{ id: ALL, name: 'every tenant' }], { listings: 2 })).rejects.toMatchObject({ code: 'unreachable' });
      const stoppedAt = Date.now();
      await new Promise((r) => setTimeout(r, 300));
      // nothing more asked of the CRM once the sync has failed, and nothing begun after beta
      expect(refused.arrived.filter((x) => x.at > stoppedAt + 50)).toEqual([]);
      expect(sync.firstWrite.has('delta')).toBe(false);
      // alpha, written beside beta, kept each page it wrote with the cursor after it: the next sync resumes there
      const alpha = cache.raw.prepare("SELECT cursor, rows FROM sync_state WHERE resource = 'alpha'").get() as
        { cursor: string | null; rows: number } | undefined;
      const written = cache.raw.prepare("SELECT count(*) FROM records WHERE resource = 'alpha'").pluck().get() as number;
      expect(alpha?.rows ?? 0).toBe(written);
      if (written < 40) expect(alpha?.cursor).not.toBeNull();
    } finally {
      await cache.close();
    }
  }, 30_000);

  it('stops every listing opened ahead when it is cancelled', async () => {
    ok.arrived.length = 0;
    const cache = await cacheIn();
    try {
      const stop = new AbortController();
      const sync = new SlowWrites(cache, profileOf(ok.url), new EventBus());
      const running = sync.run(root, [{ id: ALL, name: 'every tenant' }], { signal: stop.signal });
      // cancelled while alpha's first page is written (beta, written beside it, may have begun)
      while (!sync.firstWrite.has('alpha')) await new Promise((r) => setTimeout(r, 5));
      stop.abort();
      const stoppedAt = Date.now();
      await expect(running).rejects.toMatchObject({ code: 'cancelled' });
      await new Promise((r) => setTimeout(r, 300));
      expect(ok.arrived.filter((x) => x.at > stoppedAt + 50)).toEqual([]);
      expect(sync.firstWrite.has('gamma') || sync.firstWrite.has('delta')).toBe(false);
    } finally {
      await cache.close();
    }
  }, 30_000);
});
