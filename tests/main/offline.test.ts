import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { projectRoot } from '../../src-main/core/home.ts';

function cli(home: string, args: string[]) {
  return new Promise<{ code: number | null; out: string; err: string }>((resolve) => {
    const child = spawn(process.execPath, [join(projectRoot, 'bin', 'tenantscope.mjs'), ...args], {
      env: { ...process.env, TENANTSCOPE_HOME: home, PW: 'demo', PASSPHRASE: 'correct horse battery' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout!.on('data', (d) => (out += d));
    child.stderr!.on('data', (d) => (err += d));
    child.on('exit', (code) => resolve({ code, out, err }));
  });
}
import { startTestCrm } from '../support/crm.ts';
import { referenceProfile, startTestConsole } from '../support/console.ts';

describe('offline: the console on its cache alone', () => {
  it('with the CRM stopped, it opens offline for someone who signed in before, runs the audit and the Data view, and refuses what needs the CRM with the reason', async () => {
    const crm = await startTestCrm({ profile: 'legacy' });
    const ts = await startTestConsole();
    try {
      expect((await ts.call('connections:save', { profile: referenceProfile('ref', crm.url) })).status).toBe(200);
      const online = await ts.call('session:signIn', { connection: 'ref', username: 'super@tenantscope.test', password: 'demo' });
      expect(online.body.value.offline).toBe(false);
      expect((await ts.call('sync:run', { all: true })).body.ok).toBe(true);
      const tenants = (await ts.call('tenants:list', {})).body.value.tenants as { id: string; name: string }[];
      const globex = tenants.find((t) => t.name === 'Globex Corporation')!;
      await ts.call('session:signIn', { connection: 'ref', username: 'admin@acme.test', password: 'demo' });
      await ts.call('session:signOut', {});
      await crm.close();

      // the CRM is gone: signing in says so, opening offline works
      expect((await ts.call('session:signIn', { connection: 'ref', username: 'super@tenantscope.test', password: 'demo' })).body.error.code).toBe(
        'unreachable',
      );
      expect((await ts.call('session:openOffline', { connection: 'ref', username: 'super@tenantscope.test', password: 'wrong' })).body.error.code).toBe(
        'bad-credentials',
      );
      expect((await ts.call('session:openOffline', { connection: 'ref', username: 'nobody-here@x.test', password: 'demo' })).body.error).toMatchObject({
        code: 'bad-credentials',
      });
      const off = await ts.call('session:openOffline', { connection: 'ref', username: 'super@tenantscope.test', password: 'demo' });
      expect(off.body.value).toMatchObject({ offline: true, role: 'super_admin', canSwitchTenant: true });
      expect(off.body.value.dataAsOf).toMatch(/^\d{4}-\d{2}-\d{2}T/);
      const audit = await ts.call('audit:run', {});
      expect(audit.body.ok).toBe(true);
      expect(audit.body.value.progress.modelsMigrated).toBe(11);
      expect((await ts.call('tenants:list', {})).body.value.tenants.map((t: { name: string }) => t.name).sort()).toEqual(tenants.map((t) => t.name).sort());
      const rows = await ts.call('records:query', { tenant: globex.id, resource: 'calls' });
      expect(rows.body.value.total).toBeGreaterThan(0);
      for (const [channel, payload] of [
        ['sync:run', { all: true }],
        ['sync:prove', { tenant: globex.id }],
        ['isolation:run', {}],
        ['migrate:plan', {}],
        ['catalog:check', { connection: 'ref' }],
      ] as const) {
        const r = await ts.call(channel, payload);
        expect(r.body.error.code, channel).toBe('offline');
        expect(r.body.error.message, channel).toMatch(/^Offline \(data as of \d{4}-.*\): .+ Sign in online to do it\.$/);
      }

      // a company admin offline: their own company, as online
      await ts.call('session:signOut', {});
      const admin = await ts.call('session:openOffline', { connection: 'ref', username: 'admin@acme.test', password: 'demo' });
      expect(admin.body.value).toMatchObject({ offline: true, role: 'company_admin', company: { name: 'Acme Corporation' } });
      expect((await ts.call('records:query', { tenant: globex.id, resource: 'calls' })).body.error.code).toBe('forbidden');
      expect((await ts.call('audit:run', { tenant: globex.id })).body.ok).toBe(true); // a company admin's audit is their own partition whatever is asked
      expect((await ts.call('cache:export', { tenant: globex.id, passphrase: 'long enough' })).body.error.code).toBe('forbidden');
    } finally {
      await ts.close();
    }
  }, 120_000);

  it("a tenant's cache travels in one file sealed with a passphrase: support staff open it offline on another console; a wrong passphrase imports nothing", async () => {
    const crm = await startTestCrm({ profile: 'legacy' });
    const a = await startTestConsole();
    const b = await startTestConsole();
    try {
      await a.call('connections:save', { profile: referenceProfile('ref', crm.url) });
      await a.call('session:signIn', { connection: 'ref', username: 'super@tenantscope.test', password: 'demo' });
      expect((await a.call('sync:run', { all: true })).body.ok).toBe(true);
      const tenants = (await a.call('tenants:list', {})).body.value.tenants as { id: string; name: string }[];
      const globex = tenants.find((t) => t.name === 'Globex Corporation')!;
      const globexRows = (await a.call('records:resources', { tenant: globex.id })).body.value.resources as { resource: string; rows: number }[];
      // proven after a sync of every tenant (the proof is kept per tenant): the copy still knows when its data was synced
      expect((await a.call('sync:prove', { tenant: globex.id })).body.ok).toBe(true);
      const exported = await a.call('cache:export', { tenant: globex.id, passphrase: 'correct horse battery' });
      expect(exported.body.value.fileName).toMatch(/^tenantscope-globex-corporation-\d{4}-\d{2}-\d{2}\.tscopy$/);
      const bytes = Buffer.from(exported.body.value.data, 'base64');
      // sealed: no payload, email or URL in clear, and nothing of another tenant inside once opened
      for (const clear of ['admin@globex.test', 'Globex', crm.url, 'payload']) expect(bytes.includes(Buffer.from(clear)), clear).toBe(false);
      expect((await b.call('cache:import', { name: 'globex-copy', data: exported.body.value.data, passphrase: 'wrong' })).body.error.code).toBe(
        'bad-credentials',
      );
      expect((await b.call('connections:list', {})).body.value.connections.map((c: { name: string }) => c.name)).not.toContain('globex-copy');
      expect(
        (await b.call('cache:import', { name: 'junk', data: Buffer.from('not an export at all, really').toString('base64'), passphrase: 'x' })).body.error.code,
      ).toBe('invalid-input');
      const damaged = Buffer.from(bytes);
      damaged[damaged.length - 10] = damaged[damaged.length - 10]! ^ 0xff;
      expect((await b.call('cache:import', { name: 'damaged', data: damaged.toString('base64'), passphrase: 'correct horse battery' })).body.error.code).toBe(
        'bad-credentials',
      );
      await crm.close();

      const imported = await b.call('cache:import', { name: 'globex-copy', data: exported.body.value.data, passphrase: 'correct horse battery' });
      expect(imported.body.error, b.logs.join('\n')).toBeUndefined();
      expect(imported.body.value).toMatchObject({
        connection: 'globex-copy',
        tenant: { name: 'Globex Corporation' },
        exportedBy: 'super@tenantscope.test',
        session: { offline: true, role: 'company_admin' },
      });
      const there = (await b.call('records:resources', {})).body.value;
      expect(there.resources).toEqual(globexRows);
      expect(there.asOf).toBe(imported.body.value.session.dataAsOf);
      expect(there.asOf).toMatch(/^\d{4}-/);
      expect((await b.call('audit:run', {})).body.ok).toBe(true);
      const acme = tenants.find((t) => t.name === 'Acme Corporation')!;
      expect((await b.call('records:query', { tenant: acme.id, resource: 'calls' })).body.error.code).toBe('forbidden');
      expect((await b.call('sync:run', {})).body.error.code).toBe('offline');
      // the same through the CLI, offline on console a's cache: export, import on a fresh machine, audit there
      const file = join(mkdtempSync(join(tmpdir(), 'tenantscope-cli-export-')), 'globex.tscopy');
      const exp = await cli(a.home, [
        '--json',
        'cache',
        'export',
        '--connection',
        'ref',
        '--tenant',
        'Globex Corporation',
        '--as',
        'super@tenantscope.test',
        '--password-env',
        'PW',
        '--passphrase-env',
        'PASSPHRASE',
        '--offline',
        '--out',
        file,
      ]);
      expect(exp.code, exp.err).toBe(0);
      expect(JSON.parse(exp.out)).toMatchObject({ file, rows: globexRows.reduce((n, r) => n + r.rows, 0) });
      const elsewhere = mkdtempSync(join(tmpdir(), 'tenantscope-cli-import-'));
      const imp = await cli(elsewhere, ['--json', 'cache', 'import', file, '--name', 'globex', '--passphrase-env', 'PASSPHRASE']);
      expect(imp.code, imp.err).toBe(0);
      expect(JSON.parse(imp.out).tenant.name).toBe('Globex Corporation');
      const audited = await cli(elsewhere, ['--json', 'audit', '--connection', 'globex', '--offline', '--as', 'support', '--password-env', 'PASSPHRASE']);
      expect(audited.err).toMatch(/Auditing as support \(company admin, their own company\)/);
      expect(JSON.parse(audited.out).progress.modelsTotal).toBe(32);
      const wrong = await cli(mkdtempSync(join(tmpdir(), 'tenantscope-cli-import-')), ['cache', 'import', file, '--name', 'globex', '--passphrase-env', 'PW']);
      expect(wrong.code).toBe(2);
      expect(wrong.err).toMatch(/^error \(bad-credentials\): The passphrase is wrong, or the file is damaged: nothing was imported\./);

      // later, support opens it again offline with the passphrase
      await b.call('session:signOut', {});
      // signing in to the CRM with the copy is not how it opens, and the answer says so
      const online = await b.call('session:signIn', { connection: 'globex-copy', username: 'support', password: 'correct horse battery' });
      expect(online.body.ok).toBe(false);
      expect(online.body.error.message).toMatch(
        /^"globex-copy" is an offline copy of Globex Corporation, exported by super@tenantscope\.test on \d{4}-\d{2}-\d{2}: it opens offline, as "support" with the copy's passphrase \(Open offline\)/,
      );
      expect(
        (await b.call('session:openOffline', { connection: 'globex-copy', username: 'support', password: 'correct horse battery' })).body.value,
      ).toMatchObject({ offline: true, company: { name: 'Globex Corporation' } });
    } finally {
      await a.close();
      await b.close();
    }
  }, 120_000);
});
