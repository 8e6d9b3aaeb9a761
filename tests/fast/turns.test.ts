import { describe, expect, it } from 'vitest';
import { inTurns } from '../../src-main/sync/turns.ts';

// A tenant's listings run two at a time (sync/turns.ts): what the sync relies on is that no more
// run at once than asked, that a listing whose rows take their company from another begins only
// once that one has ended, that a failure begins nothing more and stops the ones running, and
// that what waits for what can never stop the turns.

const tick = () => new Promise<void>((r) => setTimeout(r, 1));

/** Items that each take `ms[item]` milliseconds (or fail), logging when each begins and ends. */
function items(ms: Record<string, number | 'fail'>) {
  const log: string[] = [];
  let now = 0;
  let peak = 0;
  const run = async (item: string, halt: AbortSignal) => {
    log.push(`begin ${item}`);
    peak = Math.max(peak, ++now);
    try {
      const t = ms[item]!;
      if (t === 'fail') {
        await tick();
        throw new Error(`${item} failed`);
      }
      for (let i = 0; i < t; i++) {
        if (halt.aborted) return void log.push(`halted ${item}`);
        await tick();
      }
      log.push(`end ${item}`);
    } finally {
      now--;
    }
  };
  return { log, run, peak: () => peak };
}

describe('a tenant’s listings in turns', () => {
  it('runs at most `width` at once, the first ready in the order first', async () => {
    const x = items({ a: 5, b: 1, c: 1, d: 1 });
    const turns = await inTurns(['a', 'b', 'c', 'd'], { width: 2, waitsFor: () => [], run: x.run });
    expect(turns.failure).toBeNull();
    expect(turns.begun).toEqual(['a', 'b', 'c', 'd']);
    expect(x.peak()).toBe(2);
    // b ends while a runs: c takes its place, then d, all before a ends
    expect(x.log.slice(0, 4)).toEqual(['begin a', 'begin b', 'end b', 'begin c']);
    expect(x.log.indexOf('begin d')).toBeLessThan(x.log.indexOf('end a'));
  });

  it('begins an item once the earlier items it waits for have ended, and lets the ones after it go first', async () => {
    const x = items({ users: 4, calls: 1, deals: 1 });
    // calls take their company from users (their owners); deals carry their own
    const turns = await inTurns(['users', 'calls', 'deals'], { width: 2, waitsFor: (i) => (i === 'calls' ? ['users'] : []), run: x.run });
    expect(turns.begun).toEqual(['users', 'calls', 'deals']);
    expect(x.log.indexOf('begin deals')).toBeLessThan(x.log.indexOf('end users'));
    expect(x.log.indexOf('begin calls')).toBeGreaterThan(x.log.indexOf('end users'));
  });

  it('with width 1, runs one after another in the order', async () => {
    const x = items({ a: 2, b: 1, c: 1 });
    await inTurns(['a', 'b', 'c'], { width: 1, waitsFor: () => [], run: x.run });
    expect(x.log).toEqual(['begin a', 'end a', 'begin b', 'end b', 'begin c', 'end c']);
  });

  it('waits only for items before it: items that wait for each other, or for a later one, still run', async () => {
    const x = items({ a: 1, b: 1 });
    const turns = await inTurns(['a', 'b'], { width: 2, waitsFor: (i) => (i === 'a' ? ['b'] : ['a']), run: x.run });
    expect(turns.begun).toEqual(['a', 'b']);
    expect(x.log.indexOf('begin b')).toBeGreaterThan(x.log.indexOf('end a'));
  });

  it('after a failure begins nothing more, stops the ones running, and answers the failure', async () => {
    const x = items({ a: 50, b: 'fail', c: 1 });
    const turns = await inTurns(['a', 'b', 'c'], { width: 2, waitsFor: () => [], run: x.run });
    expect((turns.failure?.error as Error).message).toBe('b failed');
    expect(turns.begun).toEqual(['a', 'b']);
    expect(x.log).toContain('halted a');
    expect(x.log).not.toContain('begin c');
  });

  it('stops between items when `stopped` says so (a cancel), and answers that', async () => {
    const x = items({ a: 1, b: 1, c: 1 });
    const turns = await inTurns(['a', 'b', 'c'], {
      width: 1,
      waitsFor: () => [],
      run: x.run,
      stopped: () => (x.log.includes('end a') ? new Error('cancelled') : null),
    });
    expect((turns.failure?.error as Error).message).toBe('cancelled');
    expect(turns.begun).toEqual(['a']);
  });
});
