import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cacheReader, runCli, tempHome, type CliOptions } from '../support/cli.ts';
import { startTestCrm, type TestCrm } from '../support/crm.ts';
import { referenceProfile } from '../support/console.ts';
import { DEMO_IDENTITIES, leftOnServer } from '../support/isolation.ts';

function homeFor(crm: TestCrm): string {
  const home = tempHome('isocli');
  const identities = DEMO_IDENTITIES.map(([label, username]) => ({ label, username, passwordEnv: 'TENANTSCOPE_REF_PW' }));
  writeFileSync(join(home, 'connections.json'), JSON.stringify({ version: 1, connections: [{ ...referenceProfile('ref', crm.url), identities }] }));
  return home;
}

const cli = (home: string, args: string[], killWhen?: CliOptions['killWhen']) =>
  runCli([...args, '--connection', 'ref'], { home, env: { TENANTSCOPE_REF_PW: 'demo' }, killWhen });

describe('tenantscope test', () => {
  it('exits 1 on a leak and writes JUnit and SARIF a CI can read; exits 0 when every probe is enforced', async () => {
    const legacy = await startTestCrm({ profile: 'legacy' });
    try {
      const home = homeFor(legacy);
      const junit = join(home, 'isolation.xml');
      const r = await cli(home, ['test', '--only', 'calls,contacts', '--format', 'junit', '--out', junit]);
      expect(r.code, r.err).toBe(1);
      const xml = readFileSync(junit, 'utf8');
      expect(xml).toMatch(/<testsuite name="isolation.calls" tests="30" failures="12"/);
      expect(xml).toMatch(/<testsuite name="isolation.contacts" tests="30" failures="0"/);
      expect(xml).toContain('<failure type="leak" message="Globex admin reads Acme admin&apos;s canary by id">GET /api/calls/');
      const sarif = await cli(home, ['test', '--only', 'calls', '--format', 'sarif']);
      const doc = JSON.parse(sarif.out);
      expect(doc.version).toBe('2.1.0');
      expect(doc.runs[0].results.filter((x: { ruleId: string }) => x.ruleId === 'leak')).toHaveLength(12);
      expect(await leftOnServer(legacy)).toBe(0);
    } finally {
      await legacy.close();
    }
    const fixed = await startTestCrm({ profile: 'fixed' });
    try {
      const r = await cli(homeFor(fixed), ['--json', 'test', '--only', 'calls,contacts,sms_messages']);
      expect(r.code, r.err).toBe(0);
      expect(JSON.parse(r.out).counts.leak).toBe(0);
    } finally {
      await fixed.close();
    }
  }, 120_000);

  it('a run killed mid-way leaves canaries in its ledger; the next run deletes them first: none is left on the server', async () => {
    const crm = await startTestCrm({ profile: 'legacy' });
    try {
      const home = homeFor(crm);
      // kill once this run has put canaries on the server and still holds some open: after its
      // first one, a quarter and half of the resources' (state read from its ledger, never a delay)
      const ledger = cacheReader(join(home, 'cache', 'ref.sqlite'));
      let leftBehind = 0;
      let kills = 0;
      try {
        for (const created of [1, 8, 16]) {
          const earlier = ledger.count('SELECT max(run_id) FROM canary_ledger');
          const killed = await cli(home, ['test', '--format', 'json'], () => {
            const run = ledger.count('SELECT max(run_id) FROM canary_ledger');
            return (
              run > earlier &&
              ledger.count('SELECT count(*) FROM canary_ledger WHERE run_id = ? AND record_id IS NOT NULL', run) >= created &&
              ledger.count('SELECT count(*) FROM canary_ledger WHERE run_id = ? AND record_id IS NOT NULL AND removed_at IS NULL', run) > 0
            );
          });
          expect(killed.killed, `run to kill after ${created} canaries ended first: ${killed.err.slice(-500)}`).toBe(true);
          kills++;
          leftBehind = Math.max(leftBehind, await leftOnServer(crm));
        }
      } finally {
        ledger.close();
      }
      expect(kills).toBe(3);
      expect(leftBehind, 'canaries a killed run left behind').toBeGreaterThan(0);
      const next = await cli(home, ['--json', 'test', '--only', 'contacts']);
      expect(next.code, next.err).toBe(0);
      expect(JSON.parse(next.out).cleanup.leftover).toEqual([]);
      expect(JSON.parse(next.out).cleanup.removed).toBeGreaterThan(0);
      expect(await leftOnServer(crm)).toBe(0);
    } finally {
      await crm.close();
    }
  }, 120_000);
});
