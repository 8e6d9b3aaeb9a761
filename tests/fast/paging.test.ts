import { describe, expect, it } from 'vitest';
import { PagingSchema } from '../../src-shared/catalog.ts';
import { diffRuns } from '../../src-shared/isolation.ts';
import { nextLink, pagesOf, readPage, sniffListAnswer } from '../../src-main/crm/paging.ts';
import { retryDelay, TransientAnswer } from '../../src-main/crm/retry.ts';

const BASE = 'https://crm.example.test';
/** a list of n records served by a function of the query, as a CRM would */
async function collect(
  paging: ReturnType<typeof PagingSchema.parse>,
  serve: (params: Record<string, string | number>, url: string) => { data: unknown; headers?: Record<string, unknown> },
  size = 3,
) {
  const pages = [];
  for await (const p of pagesOf(paging, BASE, `${BASE}/api/calls`, async (url, params) => ({ ...serve(params, url), url }), { size })) pages.push(p);
  return pages;
}

describe('paging: every style the profile can name reads every record once', () => {
  const records = Array.from({ length: 7 }, (_, i) => ({ id: `r${i}` }));

  it('cursor: follows next_cursor until it is null', async () => {
    const paging = PagingSchema.parse({ kind: 'cursor' });
    const pages = await collect(paging, (q) => {
      const from = Number(q.cursor ?? 0);
      const next = from + Number(q.limit) < records.length ? String(from + Number(q.limit)) : null;
      return { data: { items: records.slice(from, from + Number(q.limit)), next_cursor: next } };
    });
    expect(pages.flatMap((p) => p.items)).toEqual(records);
    expect(pages.at(-1)!.next).toBeNull();
  });

  it('offset: stops on a short page', async () => {
    const paging = PagingSchema.parse({ kind: 'offset', offsetParam: 'skip', itemsField: '' });
    const pages = await collect(paging, (q) => ({ data: records.slice(Number(q.skip), Number(q.skip) + Number(q.limit)) }));
    expect(pages.flatMap((p) => p.items)).toEqual(records);
    expect(pages).toHaveLength(3);
  });

  it('Link header: follows rel="next" on the same origin, refuses another host', async () => {
    const paging = PagingSchema.parse({ kind: 'link', itemsField: '' });
    const pages = await collect(paging, (_q, url) => {
      const from = Number(new URL(url).searchParams.get('from') ?? 0);
      const more = from + 3 < records.length;
      return { data: records.slice(from, from + 3), headers: more ? { link: `<${BASE}/api/calls?from=${from + 3}>; rel="next"` } : {} };
    });
    expect(pages.flatMap((p) => p.items)).toEqual(records);
    expect(() =>
      readPage(paging, { data: [{ id: 1 }], headers: { link: '<https://evil.example/next>; rel="next"' }, url: `${BASE}/api/calls` }, 3, null, BASE),
    ).toThrow(/another host/);
    expect(nextLink('<https://a/2>; rel="prev", <https://a/3>; rel="next"')).toBe('https://a/3');
  });

  it('a cursor that does not advance is an error, not an endless loop; records not where the profile says are an error, not an empty page', async () => {
    const paging = PagingSchema.parse({ kind: 'cursor' });
    await expect(collect(paging, () => ({ data: { items: [{ id: 1 }], next_cursor: 'same' } }))).rejects.toThrow(/does not advance/);
    expect(() => readPage(paging, { data: { results: [] }, url: `${BASE}/api/calls` }, 3, null, BASE)).toThrow(/at "items"/);
    expect(sniffListAnswer({ results: [], next: null, count: 0 }).itemsField).toBe('results');
  });
});

describe('retry delays', () => {
  const policy = { attempts: 6, baseMs: 250, capMs: 8000 };
  it('waits what Retry-After says (at most a minute), else exponential backoff with full jitter under the cap', () => {
    expect(retryDelay(new TransientAnswer(429, { 'retry-after': '2' }, 'GET /x'), 0, policy)).toBe(2000);
    expect(retryDelay(new TransientAnswer(503, { 'retry-after': '3600' }, 'GET /x'), 0, policy)).toBe(60_000);
    const plain = new TransientAnswer(503, {}, 'GET /x');
    expect(retryDelay(plain, 0, policy, () => 1)).toBe(250);
    expect(retryDelay(plain, 3, policy, () => 1)).toBe(2000);
    expect(retryDelay(plain, 10, policy, () => 1)).toBe(8000);
    expect(retryDelay(plain, 3, policy, () => 0)).toBe(0);
  });
});

describe('comparing two isolation runs', () => {
  const probe = (operation: string, verdict: 'leak' | 'enforced' | 'skipped' | 'error') => ({
    resource: 'calls',
    identity: 'Globex admin',
    operation,
    verdict,
  });
  it('names new leaks, leaks still there and fixed ones; a probe skipped or failed this time is not called fixed', () => {
    const before = [probe('read', 'leak'), probe('update', 'leak'), probe('delete', 'leak'), probe('list', 'leak'), probe('search', 'enforced')];
    const after = [probe('read', 'leak'), probe('update', 'enforced'), probe('delete', 'skipped'), probe('list', 'error'), probe('search', 'leak')];
    const kinds = Object.fromEntries(diffRuns(before, after).map((d) => [d.operation, d.kind]));
    expect(kinds).toEqual({ search: 'new leak', read: 'still leaking', update: 'fixed' });
  });
});
