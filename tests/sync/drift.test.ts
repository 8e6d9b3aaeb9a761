import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestCrm, type TestCrm } from '../support/crm.ts';
import { referenceProfile, startTestConsole, type TestConsole } from '../support/console.ts';

/**
 * A drift explained (issue 22, point 5): a proof by relisting names the rows that differ and
 * says why, and a narrower identity's proof is told apart from a deletion.
 */

let crm: TestCrm;
let ts: TestConsole;
let globex: string;
beforeAll(async () => {
  crm = await startTestCrm({ profile: 'legacy' });
  ts = await startTestConsole();
  // a CRM with no manifest endpoint: the proof lists the resource afresh, so it knows the ids
  const profile = referenceProfile('ref', crm.url) as { sync: Record<string, unknown> };
  const { manifestPath: _none, ...sync } = profile.sync;
  expect((await ts.call('connections:save', { profile: { ...profile, sync } })).status).toBe(200);
  await ts.call('session:signIn', { connection: 'ref', username: 'super@tenantscope.test', password: 'demo' });
  globex = ((await ts.call('tenants:list', {})).body.value.tenants as Array<{ id: string; name: string }>).find((t) => t.name === 'Globex Corporation')!.id;
  expect((await ts.call('sync:run', { tenants: [globex] })).body.ok).toBe(true);
}, 120_000);
afterAll(async () => {
  await ts?.close();
  await crm?.close();
});

const proofOf = (proofs: Array<{ resource: string }>, resource: string) => proofs.find((p) => p.resource === resource) as any;

describe('a drifted proof says what differs and why', () => {
  it('names the rows added, deleted and changed on the server since the sync, and keeps that in the cache', async () => {
    const token = await crm.login('admin@globex.test');
    const contact = async (first: string) =>
      (await crm.call(token, 'POST', '/api/contacts', { first_name: first, last_name: 'Person', email: `${first.toLowerCase()}-${Date.now()}@globex.test` }))
        .body.id as string;
    const deleted = await contact('Doomed'); // nothing refers to it: it can go on the server
    expect((await ts.call('sync:run', { tenants: [globex] })).body.ok).toBe(true);
    const first = (await ts.call('sync:prove', { tenant: globex })).body.value.proofs;
    expect(proofOf(first, 'contacts')).toMatchObject({
      status: 'in-sync',
      basis: 'relist',
      by: 'super@tenantscope.test',
      cachedBy: ['super@tenantscope.test'],
    });
    // behind the console's back: one contact changed, one deleted, one added
    const changed = (await crm.pool.query(`SELECT id FROM contacts WHERE company_id = $1 AND id <> $2 ORDER BY id LIMIT 1`, [globex, deleted])).rows[0]
      .id as string;
    await crm.pool.query(`UPDATE contacts SET first_name = 'Changed', updated_at = now() + interval '1 minute' WHERE id = $1`, [changed]);
    await crm.pool.query(`DELETE FROM contacts WHERE id = $1`, [deleted]);
    const added = await contact('New');

    const second = (await ts.call('sync:prove', { tenant: globex })).body.value.proofs;
    const contacts = proofOf(second, 'contacts');
    expect(contacts.status).toBe('drifted');
    expect(contacts.diff).toEqual({ missing: [added], extra: [deleted], changed: [changed], counts: { missing: 1, extra: 1, changed: 1 } });
    expect(contacts.why).toBe(
      'Rows by id: 1 on the server that the cache lacks (new since the last sync); 1 in the cache that the server did not list to super@tenantscope.test; 1 changed on the server since they were cached. They were deleted on the server, or are no longer listed to anyone: a sync by updated_since does not see a deletion unless the CRM has a deletions feed; evict the partition and sync it again to list it afresh.',
    );
    // the window opens it later from the cache, as it was
    const kept = proofOf((await ts.call('sync:proofs', { tenant: globex })).body.value.proofs, 'contacts');
    expect(kept).toEqual(contacts);
    // a sync by updated_since brings the new and the changed rows, not the deletion: the drift narrows to it, and says so
    expect((await ts.call('sync:run', { tenants: [globex] })).body.ok).toBe(true);
    const third = proofOf((await ts.call('sync:prove', { tenant: globex })).body.value.proofs, 'contacts');
    expect(third.diff).toEqual({ missing: [], extra: [deleted], changed: [], counts: { missing: 0, extra: 1, changed: 0 } });
    // listed afresh, the partition is in sync again
    expect((await ts.call('cache:evict', { tenant: globex })).body.ok).toBe(true);
    expect((await ts.call('sync:run', { tenants: [globex] })).body.ok).toBe(true);
    expect(proofOf((await ts.call('sync:prove', { tenant: globex })).body.value.proofs, 'contacts').status).toBe('in-sync');
  });

  it("a plain user proves what their own sync was given, apart from the company's proof", async () => {
    const before = (await ts.call('sync:proofs', { tenant: globex })).body.value.proofs;
    await ts.call('session:signOut', {});
    await ts.call('session:signIn', { connection: 'ref', username: 'user@globex.test', password: 'demo' });
    expect((await ts.call('sync:run', {})).body.ok).toBe(true);
    const mine = (await ts.call('sync:prove', { tenant: globex })).body.value.proofs;
    const calls = proofOf(mine, 'calls');
    // their own listing against the rows it gave them: in sync, though the partition holds the whole company's calls
    expect(calls).toMatchObject({ status: 'in-sync', by: 'user@globex.test', cachedBy: ['user@globex.test'] });
    expect(proofOf((await ts.call('sync:proofs', { tenant: globex })).body.value.proofs, 'calls').by).toBe('user@globex.test');
    await ts.call('session:signOut', {});
    // the company's proofs are as the super admin left them
    await ts.call('session:signIn', { connection: 'ref', username: 'super@tenantscope.test', password: 'demo' });
    expect((await ts.call('sync:proofs', { tenant: globex })).body.value.proofs).toEqual(before);
  });

  it('a narrower listing is told apart from a deletion: the rows it lacks were fetched by a wider identity', async () => {
    // the super admin synced Globex; its company admin proves it with their own listing
    await ts.call('session:signOut', {});
    await ts.call('session:signIn', { connection: 'ref', username: 'admin@globex.test', password: 'demo' });
    const proofs = (await ts.call('sync:prove', { tenant: globex })).body.value.proofs as Array<{
      resource: string;
      status: string;
      diff?: { counts: { extra: number } };
      why?: string;
    }>;
    const narrower = proofs.filter((p) => p.status === 'drifted' && p.diff && p.diff.counts.extra > 0);
    expect(narrower.length, JSON.stringify(proofs.map((p) => [p.resource, p.status]))).toBeGreaterThan(0);
    for (const p of narrower)
      expect(p.why).toMatch(
        /The extra rows were fetched by (super@tenantscope\.test|user@globex\.test)(, user@globex\.test)?: admin@globex\.test's listing is narrower, which is not a deletion on the server/,
      );
    // the super admin's rows among them: their sync listed what this one does not
    expect(narrower.some((p) => p.why!.includes('fetched by super@tenantscope.test'))).toBe(true);
    await ts.call('session:signOut', {});
    await ts.call('session:signIn', { connection: 'ref', username: 'super@tenantscope.test', password: 'demo' });
  });
});
