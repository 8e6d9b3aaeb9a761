import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PagingSchema } from '../../src-shared/catalog.ts';
import { http } from '../../src-main/crm/http.ts';
import { pagesOf, type Page } from '../../src-main/crm/paging.ts';
import { PageFeed } from '../../src-main/sync/pipeline.ts';

// A listing keeps the CRM busy while the console writes: the request for the next page leaves
// before a page is written, so the CRM answers it meanwhile (sync/pipeline.ts). The server runs in
// a process of its own and notes when each request reached it, so that a write holding this
// thread cannot hide when the request was sent.

/** A listing's pages through a feed opened now, written by `flush`: what a listing in its turn does (sync/run.ts). */
const fetchAhead = (pages: AsyncIterable<Page>, signal: AbortSignal, flush: (batch: Page[]) => void) => new PageFeed(pages, signal).drain(flush);

const SERVER = `
const http = require('node:http');
const s = http.createServer((req, res) => {
  const cursor = Number(new URL(req.url, 'http://x').searchParams.get('cursor') ?? 0);
  process.stdout.write('GOT ' + cursor + ' ' + Date.now() + '\\n');
  const items = Array.from({ length: 50 }, (_, i) => ({ id: cursor * 50 + i }));
  res.setHeader('content-type', 'application/json');
  res.end(JSON.stringify({ items, next_cursor: cursor < 5 ? String(cursor + 1) : null }));
});
s.listen(0, '127.0.0.1', () => process.stdout.write('PORT ' + s.address().port + '\\n'));
`;

describe('a listing', () => {
  let server: ChildProcess;
  let base = '';
  const arrived = new Map<number, number>();
  beforeAll(async () => {
    server = spawn(process.execPath, ['-e', SERVER], { stdio: ['ignore', 'pipe', 'inherit'] });
    base = await new Promise<string>((resolve) =>
      createInterface({ input: server.stdout! }).on('line', (l) => {
        const [what, a, b] = l.split(' ');
        if (what === 'PORT') resolve(`http://127.0.0.1:${a}`);
        if (what === 'GOT') arrived.set(Number(a), Number(b));
      }),
    );
  });
  afterAll(() => server?.kill());

  it('asks the CRM for the next page before it writes the one it has', async () => {
    const paging = PagingSchema.parse({ kind: 'cursor' });
    const get = async (url: string, params: Record<string, string | number>) => {
      const res = await http().get(url, { params });
      return { data: res.data as unknown, url };
    };
    const writes: Array<{ page: string; from: number; to: number }> = [];
    await fetchAhead(pagesOf(paging, base, `${base}/list`, get, { size: 50 }), new AbortController().signal, (batch) => {
      const from = Date.now();
      while (Date.now() < from + 150); // a write that holds the thread, as SQLite's does
      writes.push({ page: String(batch[batch.length - 1]!.next), from, to: Date.now() });
    });
    await new Promise((r) => setTimeout(r, 100)); // the last lines of the server's log
    expect(writes.length).toBeGreaterThanOrEqual(2);
    // while each page but the last was written, the server had the request for the one after it
    for (const w of writes.filter((x) => x.page !== 'null')) {
      const next = Number(w.page);
      expect(arrived.get(next), `the request for page ${next}`).toBeLessThan(w.to);
    }
  });
});
