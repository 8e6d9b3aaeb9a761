import { describe, expect, it } from 'vitest';
import type { Page } from '../../src-main/crm/paging.ts';
import { AHEAD, FLUSH_ROWS, PageFeed } from '../../src-main/sync/pipeline.ts';

// sync/pipeline.ts: a listing's pages between the CRM and the writer. What a user relies on: each
// page is written as soon as it is there (the CRM is asked for the next one meanwhile, and a kill
// loses as little as can be), pages that came in during a write are written together, in order,
// never more than FLUSH_ROWS rows at once, and a failure comes after every page before it is written.

/** A listing's pages through a feed opened now, written by `flush`: what a listing in its turn does (sync/run.ts). */
const fetchAhead = (pages: AsyncIterable<Page>, signal: AbortSignal, flush: (batch: Page[]) => void) => new PageFeed(pages, signal).drain(flush);

const page = (n: number, rows: number): Page => ({ items: Array.from({ length: rows }, (_, i) => ({ id: `${n}-${i}` })), url: `/p/${n}`, next: `c${n + 1}` });

async function* slowPages(n: number, rows: number, waitMs: number, events: string[], failAt?: number): AsyncGenerator<Page> {
  for (let i = 0; i < n; i++) {
    if (i === failAt) throw new Error(`page ${i} failed`);
    if (waitMs) await new Promise((r) => setTimeout(r, waitMs));
    events.push(`fetched ${i}`);
    yield page(i, rows);
  }
}

describe('fetchAhead', () => {
  it('writes a page as soon as it has arrived, before the next one has, when the CRM is the slower', async () => {
    const events: string[] = [];
    await fetchAhead(slowPages(4, 10, 15, events), new AbortController().signal, (batch) => events.push(`wrote ${batch.map((p) => p.url).join(' ')}`));
    expect(events).toEqual(['fetched 0', 'wrote /p/0', 'fetched 1', 'wrote /p/1', 'fetched 2', 'wrote /p/2', 'fetched 3', 'wrote /p/3']);
  });

  it('writes the pages that came in during a write together (a CRM faster than the writer), in order, never over FLUSH_ROWS rows', async () => {
    const rows = Math.ceil(FLUSH_ROWS / 3);
    const batches: string[][] = [];
    const events: string[] = [];
    await fetchAhead(slowPages(12, rows, 0, events), new AbortController().signal, (batch) => {
      batches.push(batch.map((p) => p.url));
      const until = Date.now() + 30; // a write slower than the CRM
      while (Date.now() < until);
    });
    expect(batches.flat()).toEqual(Array.from({ length: 12 }, (_, i) => `/p/${i}`));
    expect(batches.some((b) => b.length > 1)).toBe(true);
    for (const b of batches) expect(b.length * rows).toBeLessThanOrEqual(FLUSH_ROWS + rows - 1);
    for (const b of batches) expect(b.length).toBeLessThanOrEqual(AHEAD);
  });

  it('holds no more pages ahead than it is given once drained: the listings written at once share AHEAD (sync/run.ts)', async () => {
    const batches: number[] = [];
    await new PageFeed(slowPages(12, 1, 0, []), new AbortController().signal, 1, 3).drain((batch) => {
      batches.push(batch.length);
      const until = Date.now() + 20; // a write slower than the CRM: pages pile up to the limit
      while (Date.now() < until);
    });
    expect(batches.reduce((a, b) => a + b, 0)).toBe(12);
    expect(Math.max(...batches)).toBe(3);
  });

  it('throws the fetcher failure once every page before it is written', async () => {
    const written: string[] = [];
    const events: string[] = [];
    await expect(fetchAhead(slowPages(5, 3, 1, events, 3), new AbortController().signal, (b) => written.push(...b.map((p) => p.url)))).rejects.toThrow(
      'page 3 failed',
    );
    expect(written).toEqual(['/p/0', '/p/1', '/p/2']);
  });
});
