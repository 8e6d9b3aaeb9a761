import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConnectionProfileSchema } from '../../src-shared/profile.ts';
import { CrmClient } from '../../src-main/crm/crmClient.ts';
import type { TestCrm } from '../support/crm.ts';
import { referenceProfile, startReferenceConsole, type TestConsole } from '../support/console.ts';
import { runCli } from '../support/cli.ts';

/**
 * Nobody sees more through the console than the CRM gives them: a plain user shares their
 * company's partition with the company admin's sync, and reads only the rows their own sync was given.
 */

let crm: TestCrm;
let ts: TestConsole;
beforeAll(async () => {
  ({ crm, ts } = await startReferenceConsole());
}, 120_000);
afterAll(async () => {
  await ts?.close();
  await crm?.close();
});

/** every call id the signed-in operator reads in the Data view, window by window */
async function readCalls(): Promise<{ total: number; ids: string[] }> {
  const ids: string[] = [];
  let total = 0;
  for (let offset = 0; ; offset += 500) {
    const r = (await ts.call('records:query', { resource: 'calls', offset, limit: 500 })).body.value;
    total = r.total ?? total;
    ids.push(...r.rows.map((x: { id: string }) => x.id));
    if (r.rows.length < 500) return { total, ids };
  }
}

const signIn = (username: string) => ts.call('session:signIn', { connection: 'ref', username, password: 'demo' });

describe('a plain user through every door of the data', () => {
  it('reads only the rows the CRM lists to them, though a super admin synced the whole company into the same partition, and cannot export, evict or audit it', async () => {
    // the CRM's own answer: the calls it lists to the Globex user (legacy: calls are listed by user)
    const profile = ConnectionProfileSchema.parse(referenceProfile('ref', crm.url));
    const calls = profile.catalog.resources.find((r) => r.name === 'calls')!;
    const client = new CrmClient(profile);
    const theirs = new Set<string>();
    for await (const page of client.listPages(calls, await crm.login('user@globex.test'))) for (const r of page) theirs.add(String(r.id));

    // a super admin syncs Globex: the whole company's calls land in the partition the user reads from
    await signIn('super@tenantscope.test');
    expect((await ts.call('sync:run', { tenants: ['Globex Corporation'] })).body.ok).toBe(true);
    await ts.call('session:signOut', {});
    await signIn('admin@globex.test');
    const adminView = await readCalls();
    expect(adminView.total).toBeGreaterThan(theirs.size); // the partition holds the whole company's calls
    const notTheirs = adminView.ids.find((id) => !theirs.has(id));
    expect(notTheirs).toBeDefined();
    await ts.call('session:signOut', {});

    await signIn('user@globex.test');
    expect((await ts.call('sync:run', {})).body.ok).toBe(true);
    const userView = await readCalls();
    expect(new Set(userView.ids)).toEqual(theirs);
    expect(userView.total).toBe(theirs.size);
    // not by id either, nor in the counts
    expect((await ts.call('records:get', { resource: 'calls', id: notTheirs })).body.value.record).toBeNull();
    const countsR = await ts.call('records:resources', {});
    expect(countsR.status, JSON.stringify(countsR.body)).toBe(200);
    const counts = countsR.body.value.resources;
    expect(counts.find((r: { resource: string }) => r.resource === 'calls').rows).toBe(theirs.size);
    const overview = (await ts.call('tenants:overview', {})).body.value;
    expect(overview.tenants[0].openFindings).toBeNull();
    // what covers the whole company is refused, saying who can do it
    for (const [channel, input] of [
      ['cache:export', { tenant: 'Globex Corporation', passphrase: 'a long enough passphrase' }],
      ['cache:evict', { tenant: 'Globex Corporation' }],
      ['audit:run', {}],
      ['audit:report', { format: 'md' }],
    ] as const) {
      const r = await ts.call(channel, input);
      expect(r.status, channel).toBe(403);
      expect(r.body.error.message, channel).toMatch(/covers the whole company.*a company admin or a super admin does it/);
    }
    await ts.call('session:signOut', {});

    // the company admin still reads the whole partition
    await signIn('admin@globex.test');
    expect((await ts.call('records:query', { resource: 'calls', offset: 0, limit: 1 })).body.value.total).toBe(adminView.total);
    await ts.call('session:signOut', {});
  }, 120_000);
});

describe('the CLI audit goes through the same door', () => {
  const audit = (args: string[]) =>
    runCli(['--json', 'audit', '--connection', 'ref', '--offline', ...args], { home: ts.home, env: { TENANTSCOPE_SEC_PW: 'demo' } });

  it('opens a session as someone who signed in here before: a company admin audits their company, a user is refused, only a super admin accepts', async () => {
    // each signs in online once (the window), which this machine remembers for offline use
    for (const who of ['super@tenantscope.test', 'admin@globex.test', 'user@globex.test']) {
      expect((await signIn(who)).body.ok, who).toBe(true);
      await ts.call('session:signOut', {});
    }
    const tenants = (await (async () => {
      await signIn('super@tenantscope.test');
      const t = (await ts.call('tenants:list', {})).body.value.tenants;
      await ts.call('session:signOut', {});
      return t;
    })()) as Array<{ id: string; name: string }>;
    const globex = tenants.find((t) => t.name === 'Globex Corporation')!;

    const admin = await audit(['--as', 'admin@globex.test', '--password-env', 'TENANTSCOPE_SEC_PW']);
    expect(admin.code === 0 || admin.code === 1, admin.err).toBe(true);
    expect(admin.err).toMatch(/Auditing as admin@globex\.test \(company admin, their own company\)/);
    expect(JSON.parse(admin.out).scope).toBe(globex.id);

    const user = await audit(['--as', 'user@globex.test', '--password-env', 'TENANTSCOPE_SEC_PW']);
    expect(user.code).toBe(2);
    expect(user.out + user.err).toMatch(/"forbidden"[^]*covers the whole company/);

    const all = JSON.parse((await audit(['--as', 'super@tenantscope.test', '--password-env', 'TENANTSCOPE_SEC_PW'])).out);
    expect(all.scope).toBe('*');
    const finding = all.findings[0].id as string;
    const refused = await audit(['--as', 'admin@globex.test', '--password-env', 'TENANTSCOPE_SEC_PW', '--accept', finding, '--reason', 'not mine to accept']);
    expect(refused.code).toBe(2);
    expect(refused.out + refused.err).toMatch(/"forbidden"[^]*Only a super admin/);
    const after = JSON.parse((await audit(['--as', 'super@tenantscope.test', '--password-env', 'TENANTSCOPE_SEC_PW'])).out);
    expect(after.findings.find((f: { id: string }) => f.id === finding).accepted ?? null).toBeNull();

    // a wrong password, or someone this machine has never seen, opens nothing
    const wrong = await runCli(['audit', '--connection', 'ref', '--offline', '--as', 'super@tenantscope.test', '--password-env', 'TENANTSCOPE_SEC_PW'], {
      home: ts.home,
      env: { TENANTSCOPE_SEC_PW: 'not the password' },
    });
    expect(wrong.code).toBe(2);
    expect(wrong.out).toBe('');
    const stranger = await audit(['--as', 'admin@initech.test', '--password-env', 'TENANTSCOPE_SEC_PW']);
    expect(stranger.code).toBe(2);
  }, 180_000);
});
