import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestCrm } from '../support/crm.ts';
import { startReferenceConsole, type TestConsole } from '../support/console.ts';

/**
 * The HTTP host's browser tabs: the printed address lets one browser in, once, and each tab of it
 * signs in for itself (issue 15, point 6; issue 22, point 6).
 */

let crm: TestCrm;
let ts: TestConsole;
const A = 'window-a-0123456789abcdef';
const B = 'window-b-0123456789abcdef';

beforeAll(async () => {
  ({ crm, ts } = await startReferenceConsole());
});
afterAll(async () => {
  await ts?.close();
  await crm?.close();
});

const as = (window: string) => ({
  call: (channel: string, payload: unknown = {}) => ts.call(channel, payload, { window }),
  signIn: (username: string) => ts.call('session:signIn', { connection: 'ref', username, password: 'demo' }, { window }),
});

/** Reads a tab's event stream until `until` appears in it (or `ms` pass); the text it heard. */
async function listen(window: string, during: () => Promise<unknown>, opts: { until?: string; ms?: number } = {}): Promise<string> {
  const res = await fetch(`${ts.host.url}/api/events?window=${window}`, { headers: { cookie: ts.cookie } });
  expect(res.status).toBe(200);
  const reader = res.body!.getReader();
  const decoder = new TextDecoder();
  let text = '';
  const reading = (async () => {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      text += decoder.decode(value);
    }
  })().catch(() => {});
  await during();
  const deadline = Date.now() + (opts.ms ?? 1500);
  while (Date.now() < deadline && !(opts.until && text.includes(opts.until))) await new Promise((r) => setTimeout(r, 50));
  await reader.cancel();
  await reading;
  return text;
}

describe('the printed address', () => {
  it('lets one browser in, once: after that only its cookie works', async () => {
    // the test console opened it already (startTestConsole): a second browser is refused
    expect(ts.host.admitted).toBe(true);
    const again = await fetch(ts.host.openUrl, { redirect: 'manual' });
    expect(again.status).toBe(401);
    expect(await again.text()).toMatch(/has been used: it lets one browser in, once/);
    expect(again.headers.get('set-cookie')).toBeNull();
    // the browser that was let in opens it again harmlessly: the token just leaves its address bar
    const same = await fetch(ts.host.openUrl, { redirect: 'manual', headers: { cookie: ts.cookie } });
    expect(same.status).toBe(302);
    expect(same.headers.get('location')).toBe('/');
    // the token is not a credential any more, in a header or as the cookie
    const wrong: Array<Record<string, string>> = [{ 'x-tenantscope-token': ts.host.token }, { cookie: `tenantscope_session=${ts.host.token}` }];
    for (const headers of wrong) {
      const r = await fetch(`${ts.host.url}/api/call/app:info`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-tenantscope-window': A, ...headers },
        body: '{}',
      });
      expect(r.status).toBe(401);
    }
    expect((await as(A).call('app:info')).status).toBe(200);
  });

  it('a call names its window; one without is refused before anything runs', async () => {
    const r = await ts.call('session:signIn', { connection: 'ref', username: 'super@tenantscope.test', password: 'demo' }, { window: null });
    expect(r.status).toBe(400);
    expect(r.body.error.message).toMatch(/names the window it comes from/);
    expect((await ts.call('session:current', {}, { window: 'short' })).status).toBe(400);
    expect(ts.services.session.current()).toBeNull(); // nothing signed in anywhere
  });
});

describe('one session a window', () => {
  it('a new window starts signed out, and signing in in one never changes another', async () => {
    expect((await as(A).signIn('super@tenantscope.test')).body.value.role).toBe('super_admin');
    // a fresh tab is not the super admin
    expect((await as(B).call('session:current')).body.value.session).toBeNull();
    const refused = await as(B).call('tenants:list');
    expect(refused.status).toBe(401);
    expect(refused.body.error.code).toBe('unauthenticated');
    // B signs in as a company admin: A is still the super admin, B sees its own company only
    expect((await as(B).signIn('admin@acme.test')).body.value.role).toBe('company_admin');
    expect((await as(A).call('session:current')).body.value.session.user.email).toBe('super@tenantscope.test');
    expect((await as(A).call('tenants:list')).body.value.tenants.length).toBeGreaterThan(1);
    expect((await as(B).call('tenants:list')).body.value.tenants).toHaveLength(1);
    // signing out of B leaves A signed in
    await as(B).call('session:signOut');
    expect((await as(B).call('session:current')).body.value.session).toBeNull();
    expect((await as(A).call('session:current')).body.value.session.role).toBe('super_admin');
    // the desktop's and the CLI's main window is another still
    expect(ts.services.session.current()).toBeNull();
  });

  it("a tab's status event carries its own session, never another tab's", async () => {
    const heard = await listen(B, () => as(A).signIn('super@tenantscope.test'), { until: 'event: onStatus' });
    expect(heard).toContain('event: onStatus');
    expect(heard).not.toContain('super@tenantscope.test');
    expect(heard).toMatch(/"session":null/);
  });

  it('a tab hears the progress of its own sync only, and only its window or a super admin cancels it', async () => {
    await as(A).signIn('super@tenantscope.test');
    await as(B).signIn('admin@acme.test');
    let syncing!: Promise<{ status: number; body: any }>;
    const heardB = await listen(
      B,
      async () => {
        syncing = as(A).call('sync:run', { all: true, pageSize: 1 });
        // wait until A's sync runs, then look at it from B
        await expect.poll(async () => (await as(A).call('sync:status')).body.value.running, { timeout: 20_000 }).not.toBeNull();
        const seen = (await as(B).call('sync:status')).body.value.running;
        expect(seen.label).toBe('a sync started in another window');
        expect(seen.progress).toBeNull();
        const cancel = await as(B).call('sync:cancel');
        expect(cancel.status).toBe(403);
        expect(cancel.body.error.message).toMatch(/started in another window/);
        expect((await as(A).call('sync:cancel')).body.value.cancelled).toBe(true);
        await syncing;
      },
      { ms: 300 },
    );
    expect(heardB).not.toContain('event: onProgress');
    // A's stream hears its own sync
    const heardA = await listen(A, () => as(A).call('sync:run', { tenants: ['Acme Corporation'] }), { until: 'event: onProgress' });
    expect(heardA).toContain('event: onProgress');
  });
});
