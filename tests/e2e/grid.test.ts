import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { startBenchCrm, type BenchCrm } from '../../bench/_crm.ts';
import { callMarker, globexOf, openDataView, writeCachedCalls } from '../../bench/_grid.ts';
import { launchChromium, startHost, type RunningHost } from './harness.ts';

// The Data view on a long list (12,000 cached calls of Globex, 60 windows of rows): however it is
// scrolled, in steps or by jumps, every row shows the call at its position, the windows scrolled
// past are dropped and fetched again when scrolled back to, and a jump reuses the rows' elements
// (no element made or removed: what keeps a frame short at a million rows, bench/grid).

const N = 12_000;
let dir: string;
let crm: BenchCrm;
let host: RunningHost;
let browser: Browser;
let page: Page;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'tenantscope-e2e-grid-'));
  crm = await startBenchCrm(join(dir, 'crm'), ['--seed', 'demo', '--profile', 'legacy']);
  const { globex, users } = await globexOf(crm);
  const home = join(dir, 'home');
  await writeCachedCalls(join(home, 'cache', 'bench.sqlite'), globex, users, N);
  writeFileSync(join(home, 'connections.json'), JSON.stringify({ version: 1, connections: [crm.profileJson] }));
  host = await startHost(home);
  browser = await launchChromium();
  page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  await openDataView(page, host.url, globex);
});
afterAll(async () => {
  await browser?.close();
  await host?.stop();
  await crm?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** the rows drawn: their position in the list and their from_number; `fresh` counts the row elements not marked by `mark` */
const drawn = () =>
  page.evaluate(() => {
    const column = [...document.querySelectorAll('[role="columnheader"]')].findIndex((h) => h.textContent?.startsWith('from_number'));
    const rows = [...document.querySelectorAll<HTMLElement & { marked?: boolean }>('[data-testid="data-scroll"] [role="row"]')];
    return {
      rows: rows.map((r) => ({ index: Number(r.getAttribute('aria-rowindex')) - 2, text: r.children[column]?.textContent ?? '' })),
      fresh: rows.filter((r) => !r.marked).length,
    };
  });
const mark = () =>
  page.evaluate(() =>
    document.querySelectorAll<HTMLElement & { marked?: boolean }>('[data-testid="data-scroll"] [role="row"]').forEach((r) => (r.marked = true)),
  );
/** once every row drawn has arrived: each shows the call at its place (the newest first: position k is call N-1-k) */
async function settledOn(): Promise<{ first: number; last: number; count: number; fresh: number }> {
  let d = await drawn();
  await expect
    .poll(async () => {
      d = await drawn();
      return d.rows.every((r) => r.text !== '…');
    })
    .toBe(true);
  expect(d.rows.filter((r) => r.text !== callMarker(N - 1 - r.index))).toEqual([]);
  const at = d.rows.map((r) => r.index);
  return { first: Math.min(...at), last: Math.max(...at), count: at.length, fresh: d.fresh };
}
/** scrolls the grid: by `step` pixels a frame, `frames` times, or to a fraction of its height at once */
const scroll = (how: { step: number; frames: number } | { to: number }) =>
  page.evaluate(async (h) => {
    const el = document.querySelector('[data-testid="data-scroll"]') as HTMLElement;
    const frame = () => new Promise((r) => requestAnimationFrame(r));
    if ('to' in h) {
      el.scrollTop = (el.scrollHeight - el.clientHeight) * h.to;
      return frame();
    }
    for (let i = 0; i < h.frames; i++) {
      el.scrollTop += h.step;
      await frame();
    }
  }, how);

describe('the Data view on a long list', () => {
  it('shows the right call at every position, scrolled in steps and by jumps, and a jump redraws the same row elements', async () => {
    await page.getByTestId('nav-data').click();
    await expect.poll(() => page.getByTestId('data-count').textContent()).toBe('12,000 rows');
    expect((await settledOn()).first).toBe(0);

    // a fling through the list (75 rows a frame) to its middle, then a jump further on
    await scroll({ step: 2400, frames: 80 });
    const middle = await settledOn();
    expect(middle.first).toBeGreaterThan(5_000);
    await mark();
    await scroll({ to: 0.8 });
    const jumped = await settledOn();
    expect(jumped.first).toBeGreaterThan(9_000);
    // the same elements, given the rows now in view: none made, none removed
    expect(jumped).toMatchObject({ count: middle.count, fresh: 0 });
    await scroll({ step: -640, frames: 10 });
    expect((await settledOn()).fresh).toBe(0);

    // the end, and back to the top: its window was dropped on the way and is fetched again
    await scroll({ to: 1 });
    expect((await settledOn()).last).toBe(N - 1);
    const refetched = page.waitForRequest((r) => decodeURIComponent(r.url()).endsWith('/records:query') && JSON.parse(r.postData() ?? '{}').offset === 0, {
      timeout: 10_000,
    });
    await scroll({ to: 0 });
    await refetched;
    expect((await settledOn()).first).toBe(0);
  });
});
