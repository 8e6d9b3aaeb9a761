import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CHANNELS } from '../../src-shared/contract.ts';
import type { TestCrm } from '../support/crm.ts';
import { startReferenceConsole, type TestConsole } from '../support/console.ts';

/**
 * 1,000 seeded malformed payloads through the HTTP door, as a signed-in super admin over a
 * synced cache: each is refused with a clear error, and the cache is whole and unchanged after.
 */

let crm: TestCrm;
let ts: TestConsole;
beforeAll(async () => {
  ({ crm, ts } = await startReferenceConsole());
  expect((await ts.call('session:signIn', { connection: 'ref', username: 'super@tenantscope.test', password: 'demo' })).status).toBe(200);
  expect((await ts.call('sync:run', { all: true })).body.ok).toBe(true);
}, 120_000);
afterAll(async () => {
  await ts?.close();
  await crm?.close();
});

describe('malformed payloads at the HTTP door', () => {
  it('1,000 of them: no crash, no 500, no stack trace, and the cache passes its integrity check with every row still there', async () => {
    const raw = (await ts.services.cache('ref')).raw;
    const counts = () => raw.prepare('SELECT company_id, resource, count(*) AS n, sum(deleted) AS d FROM records GROUP BY 1, 2 ORDER BY 1, 2').all();
    const before = counts();
    let seed = 1234;
    const rnd = (n: number) => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed % n;
    };
    // payloads no channel's schema takes: wrong types, unknown keys (every input is strict), hostile strings
    const junk: unknown[] = [
      0,
      -1,
      'x',
      true,
      [],
      [1, 2],
      { extra: 1 },
      { tenant: 5 },
      { tenant: { $ne: null } },
      { tenant: 'Acme Corporation', drop: true },
      { name: 'ref', replace: 'yes' },
      { profile: 7 },
      { resource: 'calls', id: 1 },
      { resource: "calls'; DROP TABLE records; --", offset: -1 },
      { resource: 'calls', filters: [{ field: 'x', op: 'sql' }] },
      { resource: 'calls', sort: { field: "x') --", dir: 'sideways' } },
      { runId: 'one' },
      { confirm: 'true' },
      { passphrase: 1 },
      { data: 7 },
      { __proto__: { role: 'super_admin' }, x: 1 },
    ];
    const bodies = ['{', 'not json', '[[[', '{"a":}', '\u0000', '{"tenant":"\u0000"'];
    const channels = [...CHANNELS, 'nope', '%00', '../app:info'];
    for (let i = 0; i < 1000; i++) {
      const channel = channels[rnd(channels.length)]!;
      const r = i % 10 === 0 ? await ts.call(channel, null, { raw: bodies[rnd(bodies.length)] }) : await ts.call(channel, junk[rnd(junk.length)]);
      expect(r.status, `${channel} ${JSON.stringify(r.body)}`).toBeGreaterThanOrEqual(400);
      expect(r.status, `${channel} ${JSON.stringify(r.body)}`).toBeLessThan(500);
      expect(r.body.ok).toBe(false);
      expect(r.body.error.message.length).toBeGreaterThan(5);
      expect(r.body.error.message).not.toMatch(/\n\s+at |src-main|node_modules/);
    }
    expect(raw.prepare('PRAGMA integrity_check').pluck().get()).toBe('ok');
    expect(counts()).toEqual(before);
    // still signed in, still working
    expect((await ts.call('session:current', {})).body.value.session.role).toBe('super_admin');
  }, 120_000);
});
