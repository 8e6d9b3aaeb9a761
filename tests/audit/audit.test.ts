import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConnectionProfileSchema } from '../../src-shared/profile.ts';
import { openCache } from '../../src-main/cache/cacheDb.ts';
import { EventBus } from '../../src-main/core/eventBus.ts';
import { projectRoot } from '../../src-main/core/home.ts';
import { ALL } from '../../src-shared/partitions.ts';
import { SyncService } from '../../src-main/sync/syncService.ts';
import { runAudit, type AuditResult } from '../../src-main/audit/auditService.ts';
import { atOrAbove, auditMarkdown } from '../../src-shared/reports/audit.ts';
import { startTestCrm } from '../support/crm.ts';
import { referenceProfile } from '../support/console.ts';
import { probeIdentities } from '../support/isolation.ts';

const byId = (a: AuditResult) => new Map(a.findings.map((f) => [f.id, `${f.check} ${f.resource} ${f.count}`]));

describe('the offline audit', () => {
  it("finds exactly the inconsistencies planted through the CRM's API and database, no more and no fewer; a company admin's audit reads their partition only", async () => {
    // calls are listed to anyone: a Globex user's sync is handed Acme's calls
    const crm = await startTestCrm({ profile: { extends: 'legacy', resources: { calls: { list: 'none' } } } });
    try {
      const profile = ConnectionProfileSchema.parse(referenceProfile('ref', crm.url));
      const cache = await openCache(join(mkdtempSync(join(tmpdir(), 'tenantscope-audit-')), 'c.sqlite'));
      const sync = new SyncService(cache, profile, new EventBus());
      const ids = await probeIdentities(profile);
      const superAdmin = ids.find((i) => i.role === 'super_admin')!;
      const globexUser = ids.find((i) => i.label === 'Globex user')!;
      const asSync = (i: typeof superAdmin) => ({ email: i.email, role: i.role, companyId: i.companyId, token: i.token, refresh: i.refresh });
      await sync.run(asSync(superAdmin), [{ id: ALL, name: 'every tenant' }]);
      const baseline = runAudit(cache.raw, profile.catalog);
      // the measured model status is the seed's: 11 models with company_id, 21 without
      expect(baseline.progress).toMatchObject({ modelsMigrated: 11, modelsTotal: 32 });
      expect(
        baseline.models
          .filter((m) => !m.hasCompanyId)
          .map((m) => m.resource)
          .sort(),
      ).toHaveLength(21);

      // plant: an Acme deal pointing at a Globex contact (database), a Globex user's call about an Acme contact (API),
      // an Acme call whose owner is gone (database), a second user with no company (database); then a Globex user's sync
      const q = async (text: string, args: unknown[] = []) => (await crm.pool.query(text, args)).rows;
      const [acme, globex] = [
        (await q("SELECT id FROM companies WHERE slug = 'acme'"))[0].id,
        (await q("SELECT id FROM companies WHERE slug = 'globex'"))[0].id,
      ];
      const acmeContact = (await q('SELECT id FROM contacts WHERE company_id = $1 LIMIT 1', [acme]))[0].id;
      const globexContact = (await q('SELECT id FROM contacts WHERE company_id = $1 LIMIT 1', [globex]))[0].id;
      const deal = (await q('SELECT id FROM deals WHERE company_id = $1 LIMIT 1', [acme]))[0].id;
      await q('UPDATE deals SET contact_id = $1, updated_at = clock_timestamp() WHERE id = $2', [globexContact, deal]);
      const created = await crm.call(await crm.login('user@globex.test'), 'POST', '/api/calls', { from_number: '1', to_number: '2', contact_id: acmeContact });
      expect(created.status).toBe(201);
      const orphan = (
        await q(
          'SELECT c.id FROM calls c JOIN users u ON u.id = c.user_id WHERE u.company_id = $1 AND NOT EXISTS (SELECT 1 FROM call_transcripts t WHERE t.call_id = c.id) LIMIT 1',
          [acme],
        )
      )[0].id;
      await q('UPDATE calls SET user_id = NULL, updated_at = clock_timestamp() WHERE id = $1', [orphan]);
      await q("INSERT INTO users (email, full_name, role, password_hash) VALUES ('drifter@tenantscope.test', 'Drifter', 'user', 'x')");
      await sync.run(asSync(superAdmin), [{ id: ALL, name: 'every tenant' }]);
      const leaks = await sync.run(asSync(globexUser), [{ id: globex, name: 'Globex' }]);
      expect(leaks.leaks).toBeGreaterThan(0);

      const after = runAudit(cache.raw, profile.catalog);
      const before = byId(baseline);
      const changed = [...byId(after)]
        .filter(([id, v]) => before.get(id) !== v)
        .map(([, v]) => v)
        .sort();
      const acmeCallsSeen = Number(
        (await q('SELECT count(*) FROM calls c JOIN users u ON u.id = c.user_id WHERE u.company_id <> $1 AND c.deleted_at IS NULL', [globex]))[0].count,
      );
      const callsNow = Number((await q('SELECT count(*) FROM calls WHERE deleted_at IS NULL'))[0].count);
      expect(changed).toEqual(
        [
          'cross-tenant-reference calls 1', // the Globex user's call about an Acme contact
          'cross-tenant-reference deals 1', // the Acme deal pointing at a Globex contact
          `leak-evidence calls ${acmeCallsSeen}`, // every call of another company the Globex user was handed
          `missing-company-id calls ${callsNow}`, // one more call than before
          'orphans calls 1', // the call whose owner is gone
          'user-without-company users 2', // the drifter joins the seeded user with no company
        ].sort(),
      );
      expect(after.findings.find((f) => f.check === 'cross-tenant-reference' && f.resource === 'deals')!.evidence.ids).toEqual([deal]);
      expect(after.findings.find((f) => f.check === 'orphans' && f.resource === 'calls')!.evidence.ids).toEqual([orphan]);
      expect(after.diff).toMatchObject({ previousRunId: baseline.runId });
      expect(after.diff!.new).toHaveLength(4);

      // the document adds up: models with + without = all; rows missing = the per-model sum
      const md = auditMarkdown(after, 'ref');
      expect(md).toContain('### Models WITH `company_id` (11)');
      expect(md).toContain('### Models MISSING `company_id` (21)');
      expect(md).toMatch(/\*\*Models migrated\*\*: 11\/32 \(34%\)/);
      expect(md).toContain(`**Rows still missing company_id**: ${after.models.reduce((s, m) => s + m.missing, 0)}`);

      // a company admin's audit: their partition, and leak evidence about their own data only
      const initech = (await q("SELECT id FROM companies WHERE slug = 'initech'"))[0].id;
      const own = runAudit(cache.raw, profile.catalog, { company: initech });
      expect(own.findings.some((f) => f.check === 'cross-tenant-reference' || f.check === 'user-without-company' || f.check === 'super-admins')).toBe(false);
      const initechRows = cache.raw.prepare('SELECT count(*) FROM records WHERE company_id = ? AND deleted = 0').pluck().get(initech) as number;
      expect(own.models.reduce((s, m) => s + m.rows, 0)).toBe(initechRows);

      // --fail-on: HIGH findings fail; accepted ones do not
      expect(atOrAbove(after.findings, 'HIGH').length).toBeGreaterThan(0);
      await cache.close();
    } finally {
      await crm.close();
    }
  }, 120_000);

  it('with the CRM stopped, tenantscope audit --offline runs on the cache, says as of when, and --fail-on decides the exit code', async () => {
    const crm = await startTestCrm({ profile: 'legacy' });
    const home = mkdtempSync(join(tmpdir(), 'tenantscope-audit-cli-'));
    writeFileSync(
      join(home, 'connections.json'),
      JSON.stringify({
        version: 1,
        connections: [
          { ...referenceProfile('ref', crm.url), identities: [{ label: 'Super', username: 'super@tenantscope.test', passwordEnv: 'TENANTSCOPE_REF_PW' }] },
        ],
      }),
    );
    const cli = (args: string[]) =>
      new Promise<{ code: number | null; out: string; err: string }>((resolve) => {
        const child = spawn(process.execPath, [join(projectRoot, 'bin', 'tenantscope.mjs'), ...args], {
          env: { ...process.env, TENANTSCOPE_HOME: home, TENANTSCOPE_REF_PW: 'demo' },
          stdio: ['ignore', 'pipe', 'pipe'],
        });
        let out = '';
        let err = '';
        child.stdout!.on('data', (d) => (out += d));
        child.stderr!.on('data', (d) => (err += d));
        child.on('exit', (code) => resolve({ code, out, err }));
      });
    const synced = await cli(['sync', '--connection', 'ref', '--all']);
    expect(synced.code, synced.err).toBe(0);
    // the cache was empty: the first sync says it loaded in bulk and how long its indexes took
    expect(synced.out).toMatch(/A first sync into an empty cache: loaded in bulk, its indexes built once at the end in [\d.]+ s/);
    await crm.close();
    const offline = await cli(['audit', '--connection', 'ref', '--offline', '--format', 'md']);
    expect(offline.code, offline.err).toBe(0);
    expect(offline.err).toMatch(/Offline: data as of \d{4}-\d{2}-\d{2}T/);
    // the report went to a pipe: how it ended is said on stderr
    expect(offline.err).toMatch(/\d+ open findings: \d+ HIGH, \d+ MEDIUM, \d+ LOW/);
    expect(offline.out).toMatch(/^# Multi-Tenancy Audit: ref\n## Date: /);
    const failing = await cli(['--json', 'audit', '--connection', 'ref', '--offline', '--fail-on', 'high']);
    expect(failing.code).toBe(1);
    const doc = JSON.parse(failing.out) as AuditResult;
    // accept every HIGH finding with a reason: it no longer fails
    for (const f of doc.findings.filter((x) => x.severity === 'HIGH'))
      expect((await cli(['audit', '--connection', 'ref', '--offline', '--accept', f.id, '--reason', 'migration scheduled', '--format', 'json'])).code).toBe(0);
    const accepted = await cli(['--json', 'audit', '--connection', 'ref', '--offline', '--fail-on', 'high']);
    expect(accepted.code, accepted.err).toBe(0);
    expect(
      (JSON.parse(accepted.out) as AuditResult).findings.filter((f) => f.severity === 'HIGH').every((f) => f.accepted?.reason === 'migration scheduled'),
    ).toBe(true);
    const medium = await cli(['audit', '--connection', 'ref', '--offline', '--fail-on', 'medium', '--format', 'sarif']);
    expect(medium.code).toBe(1);
    expect(JSON.parse(medium.out).runs[0].results.every((r: { level: string }) => r.level !== 'error')).toBe(true);
  }, 120_000);
});
