/**
 * The floor of a first sync on this machine, for bench/sync: every page the sync asked for, asked
 * again of the replay server (answered from memory), read, parsed, each record written back to JSON
 * and appended to a table with records' columns and no index, a transaction a page. No partition,
 * no company, no reference, no index build, no sync state: what any console that parses JSON in
 * JavaScript and keeps its rows in SQLite does at the least. Its parts are timed apart: reading and
 * parsing, writing each record as JSON, appending.
 */
import { rmSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { openSqlite } from '../src-main/core/sqlite.ts';
import { pick } from '../src-shared/profile.ts';

export interface Floor {
  rows: number;
  seconds: number;
  rowsPerSecond: number;
  /** reading and parsing the answers, writing each record as JSON, appending the rows */
  parts: { readSeconds: number; stringifySeconds: number; appendSeconds: number };
}

const COLUMNS = 'company_id, resource, id, updated_at, deleted, payload, fetched_by, fetched_from, fetched_at, seen_run, has_company_field, own_company';

/** Asks `base` again for each recorded GET, one after another on one kept-alive socket, into a bare table in `file` (removed after). */
export async function bareListing(base: string, order: Array<{ url: string; auth?: string }>, itemsField: string, file: string): Promise<Floor> {
  const agent = new Agent({ keepAlive: true, maxSockets: 1 });
  const get = (url: string, auth?: string) =>
    new Promise<Buffer>((resolve, reject) => {
      const req = request(new URL(url, base), { agent, headers: { accept: 'application/json', ...(auth ? { authorization: auth } : {}) } }, (res) => {
        const parts: Buffer[] = [];
        res.on('data', (c: Buffer) => parts.push(c));
        res.on('end', () => resolve(Buffer.concat(parts)));
        res.on('error', reject);
      });
      req.on('error', reject);
      req.end();
    });
  const db = openSqlite(file);
  try {
    // the cache's own settings for a load (cache/cacheDb.ts, cache/queries/bulkLoad.ts)
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = NORMAL');
    db.pragma('cache_size = -16384');
    db.pragma('wal_autocheckpoint = 0');
    db.exec(`CREATE TABLE bare (rid INTEGER PRIMARY KEY, company_id TEXT NOT NULL, resource TEXT NOT NULL, id TEXT NOT NULL, updated_at TEXT,
      deleted INTEGER NOT NULL, payload TEXT NOT NULL, fetched_by TEXT NOT NULL, fetched_from TEXT NOT NULL, fetched_at TEXT NOT NULL,
      seen_run INTEGER NOT NULL, has_company_field INTEGER NOT NULL, own_company TEXT)`);
    const append = db.prepare(`INSERT INTO bare (${COLUMNS}) VALUES (?, ?, ?, ?, 0, ?, ?, ?, ?, 1, ?, ?)`);
    const parts = { readSeconds: 0, stringifySeconds: 0, appendSeconds: 0 };
    let rows = 0;
    const started = performance.now();
    for (const { url, auth } of order) {
      let t = performance.now();
      const items = pick(JSON.parse((await get(url, auth)).toString('utf8')), itemsField);
      parts.readSeconds += (performance.now() - t) / 1000;
      if (!Array.isArray(items)) continue; // a sign-in or a single record: not a listing's page
      t = performance.now();
      const payloads = items.map((i) => JSON.stringify(i));
      parts.stringifySeconds += (performance.now() - t) / 1000;
      t = performance.now();
      const at = new Date().toISOString();
      db.transaction(() => {
        items.forEach((v, k) => {
          const item = v as Record<string, unknown>;
          const company = item.company_id === undefined || item.company_id === null ? null : String(item.company_id);
          const updated = typeof item.updated_at === 'string' ? item.updated_at : null;
          append.run(company ?? '', url.split('?')[0]!, String(item.id), updated, payloads[k], 'bench', url, at, company === null ? 0 : 1, company);
        });
      })();
      parts.appendSeconds += (performance.now() - t) / 1000;
      rows += items.length;
    }
    const seconds = (performance.now() - started) / 1000;
    const round = (n: number) => +n.toFixed(2);
    return {
      rows,
      seconds: round(seconds),
      rowsPerSecond: Math.round(rows / seconds),
      parts: { readSeconds: round(parts.readSeconds), stringifySeconds: round(parts.stringifySeconds), appendSeconds: round(parts.appendSeconds) },
    };
  } finally {
    db.close();
    agent.destroy();
    for (const s of ['', '-wal', '-shm']) rmSync(file + s, { force: true });
  }
}
