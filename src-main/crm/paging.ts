import { LIST_FIELDS, type Paging } from '../../src-shared/catalog.ts';
import { pick } from '../../src-shared/profile.ts';
import { AppError } from '../../src-shared/result.ts';

/**
 * Where a listing stands, as one string the sync state can keep: the CRM's cursor, (offset and
 * page paging) how many records were read so far, or (Link paging) the next page's address.
 * null is the first page.
 */
export type PagePosition = string | null;

/** Query parameters for the page at `pos`, as the profile's paging names them. */
export function pageParams(paging: Paging, size: number, pos: PagePosition): Record<string, string | number> {
  if (paging.kind === 'link') return pos ? {} : { [paging.limitParam]: size };
  if (paging.kind === 'cursor') return { [paging.limitParam]: size, ...(pos ? { [paging.cursorParam]: pos } : {}) };
  const offset = Number(pos ?? 0);
  if (paging.kind === 'offset') return { [paging.limitParam]: size, [paging.offsetParam]: offset };
  return { [paging.sizeParam]: size, [paging.pageParam]: paging.firstPage + Math.floor(offset / size) };
}

/** The position after a page of `count` records, or null when that page was the last. */
export function nextPagePosition(paging: Paging, data: unknown, count: number, size: number, pos: PagePosition): PagePosition {
  if (paging.kind === 'link') return null; // the next page is in a header: readPage
  if (paging.kind === 'cursor') {
    const next = pick(data, paging.nextCursorField);
    return typeof next === 'string' && next ? next : null;
  }
  const offset = Number(pos ?? 0) + count;
  const total = paging.totalField ? Number(pick(data, paging.totalField)) : NaN;
  if (count === 0 || count < size || (!Number.isNaN(total) && offset >= total)) return null;
  return String(offset);
}

/** The request for the page at `pos`: the list's address with its query and paging parameters, or (Link paging) the address the last answer named. */
export function pageRequest(
  paging: Paging,
  listUrl: string,
  size: number,
  pos: PagePosition,
  query: Record<string, string | number> = {},
): { url: string; params: Record<string, string | number> } {
  if (paging.kind === 'link' && pos) return { url: pos, params: {} };
  return { url: listUrl, params: { ...query, ...pageParams(paging, size, pos) } };
}

/** The rel="next" target of an RFC 8288 Link header, if any. */
export function nextLink(header: unknown): string | null {
  const text = Array.isArray(header) ? header.join(', ') : typeof header === 'string' ? header : '';
  for (const part of text.split(/,(?=\s*<)/)) {
    const m = /^\s*<([^>]*)>\s*;(.*)$/.exec(part);
    if (m && /(^|;)\s*rel\s*=\s*"?([^";]*\s)?next(\s[^";]*)?"?\s*(;|$)/i.test(m[2]!)) return m[1]!;
  }
  return null;
}

/**
 * One answer of a listing read as the profile says: its records, and the position of the next
 * page (null after the last). Records not where the profile says are an error, never an empty
 * page; a Link to another origin than the connection's is refused, never followed.
 */
export function readPage(
  paging: Paging,
  answer: { data: unknown; headers?: Record<string, unknown>; url: string },
  size: number,
  pos: PagePosition,
  baseUrl: string,
): { items: unknown[]; next: PagePosition } {
  const items = pick(answer.data, paging.itemsField);
  if (!Array.isArray(items)) {
    const what = typeof answer.data === 'string' ? `text (${JSON.stringify(answer.data.slice(0, 60))})` : 'no list';
    throw new AppError(
      'bad-response',
      `${answer.url}: ${what}${paging.itemsField ? ` at "${paging.itemsField}"` : ' where a JSON list was expected'} (check the profile's paging).`,
    );
  }
  if (paging.kind !== 'link') return { items, next: nextPagePosition(paging, answer.data, items.length, size, pos) };
  const link = nextLink(answer.headers?.link ?? answer.headers?.Link);
  if (!link || !items.length) return { items, next: null };
  const origin = new URL(baseUrl).origin;
  let target: URL;
  try {
    target = new URL(link, new URL(answer.url, baseUrl));
  } catch {
    throw new AppError('bad-response', `${answer.url}: its Link header names "${link.slice(0, 200)}", which is not an address.`);
  }
  if (target.origin !== origin) {
    throw new AppError(
      'bad-response',
      `${answer.url}: its Link header points at ${target.origin}, another host than the CRM's (${origin}); the console follows links on the connection's own origin only, and stopped there.`,
    );
  }
  return { items, next: target.toString() };
}

/** One page of a listing: its records, the request that brought it, and where the next one starts (null: this was the last). */
export interface Page {
  items: unknown[];
  url: string;
  next: PagePosition;
}

/**
 * Every page of one list, in order: the one page iterator of the console (sync, proof, isolation
 * probes, cleanup). `fetch` sends the request (through the adapter's transport, as an identity);
 * the next page is asked for only when the caller takes it. A CRM whose paging does not advance
 * (the same cursor twice) is an error, never an endless loop.
 */
export async function* pagesOf(
  paging: Paging,
  baseUrl: string,
  listUrl: string,
  fetch: (url: string, params: Record<string, string | number>) => Promise<{ data: unknown; headers?: Record<string, unknown>; url: string }>,
  opts: { size: number; from?: PagePosition; query?: Record<string, string | number>; maxPages?: number },
): AsyncGenerator<Page> {
  let pos: PagePosition = opts.from ?? null;
  const max = opts.maxPages ?? 1_000_000;
  for (let n = 0; ; n++) {
    if (n >= max) throw new AppError('bad-response', `${listUrl}: more than ${max.toLocaleString('en')} pages; stopping.`);
    const req = pageRequest(paging, listUrl, opts.size, pos, opts.query ?? {});
    const res = await fetch(req.url, req.params);
    const { items, next } = readPage(paging, res, opts.size, pos, baseUrl);
    if (next !== null && next === pos) throw new AppError('bad-response', `${res.url}: the next page is the one just read; the CRM's paging does not advance.`);
    yield { items, url: res.url, next };
    if (!next) return;
    pos = next;
  }
}

/**
 * What a list answer looks like, in the profile's terms: where its records are and how it names
 * the next page. Used to confirm (or correct, in words) the paging that discovery read from the
 * OpenAPI document, after one real request.
 */
export function sniffListAnswer(data: unknown, headers: Record<string, unknown> = {}): { itemsField: string | null; style: string } {
  const link = nextLink(headers.link ?? headers.Link);
  if (Array.isArray(data)) return { itemsField: '', style: link ? 'a bare JSON list, next page in a Link header' : 'a bare JSON list' };
  if (!data || typeof data !== 'object')
    return { itemsField: null, style: typeof data === 'string' ? `text, not JSON (${JSON.stringify(data.slice(0, 60))})` : 'no list' };
  const o = data as Record<string, unknown>;
  const field = LIST_FIELDS.find((k) => Array.isArray(o[k])) ?? Object.keys(o).find((k) => Array.isArray(o[k]));
  if (field === undefined) return { itemsField: null, style: `an object with no list in it (${Object.keys(o).slice(0, 6).join(', ') || 'empty'})` };
  const next = ['next_cursor', 'nextCursor', 'cursor', 'next'].find((k) => k in o);
  const total = ['total', 'count', 'total_count', 'totalCount'].find((k) => k in o);
  return {
    itemsField: field,
    style: `records at "${field}"${next ? `, next page at "${next}"` : ''}${total ? `, total at "${total}"` : ''}${link ? ', next page in a Link header' : ''}`,
  };
}
