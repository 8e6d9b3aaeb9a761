import { execFileSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CodeAuditResult } from '../../src-shared/contract/code.ts';
import { runCli } from '../support/cli.ts';
import { FIXTURE_DIR, fixtureTruth, startFastapiCrm, type FastapiCrm } from '../support/fastapiCrm.ts';

/**
 * The seed's Phase 2 measured on the FastAPI fixture CRM's own source: every planted leak found
 * at its line and nothing else, every model without company_id listed, and the generated patch
 * proven by the isolation runner: after it, every leaking cell is enforced and no other changes.
 */
describe("the source audit on the FastAPI fixture CRM's own backend", () => {
  const truth = fixtureTruth();
  const identities = [
    ['Acme admin', 'admin@acme.test'],
    ['Globex admin', 'admin@globex.test'],
    ['Globex user', 'user@globex.test'],
    ['No company', 'nobody@fixture.test'],
    ['Super admin', 'super@fixture.test'],
  ];
  let home: string;
  let src: string;
  let crm: FastapiCrm;
  const fingerprint = (dir: string) => execFileSync('find', ['.', '-type', 'f', '-exec', 'md5sum', '{}', ';'], { cwd: dir, encoding: 'utf8' });

  const connect = async (name: string, c: FastapiCrm) => {
    const r = await runCli(
      [
        '--json',
        'connections',
        'add',
        name,
        '--openapi',
        c.url,
        '--db-env',
        'TENANTSCOPE_FX_DB',
        ...identities.flatMap(([label, user]) => ['--identity', `${label}=${user}:TENANTSCOPE_FX_PW`]),
      ],
      { home, env: { TENANTSCOPE_FX_PW: 'demo', TENANTSCOPE_FX_DB: c.databaseUrl } },
    );
    expect(r.code, r.err).toBe(0);
  };
  const matrix = async (name: string) => {
    const r = await runCli(['--json', 'test', '--connection', name], { home, env: { TENANTSCOPE_FX_PW: 'demo' } });
    expect([0, 1], r.err.slice(-2000)).toContain(r.code);
    const report = JSON.parse(r.out) as { complete: boolean; results: Array<{ resource: string; identity: string; operation: string; verdict: string }> };
    expect(report.complete).toBe(true);
    return new Map(report.results.map((x) => [`${x.resource} ${x.operation} ${x.identity}`, x.verdict]));
  };

  beforeAll(async () => {
    home = mkdtempSync(join(tmpdir(), 'tenantscope-code-'));
    src = join(mkdtempSync(join(tmpdir(), 'checkout-')), 'backend');
    cpSync(join(FIXTURE_DIR, 'backend'), src, { recursive: true });
    crm = await startFastapiCrm();
    await connect('fx', crm);
  }, 180_000);
  afterAll(async () => {
    await crm?.close();
    rmSync(home, { recursive: true, force: true });
  });

  it('finds every planted leak at its line and nothing else (recall and precision 100%), lists every model without company_id, and writes nothing into the checkout', async () => {
    const before = fingerprint(src);
    const saved = JSON.parse(readFileSync(join(home, 'connections.json'), 'utf8')) as {
      connections: Array<{ name: string; catalog: { resources: Array<{ name: string; priority: string | null }> } }>;
    };
    const priority = (resource: string) => saved.connections.find((c) => c.name === 'fx')!.catalog.resources.find((x) => x.name === resource)?.priority;
    const r = await runCli(['--json', 'code', 'audit', '--src', src, '--connection', 'fx', '--fail-on', 'high'], { home });
    expect(r.code, r.err.slice(-2000)).toBe(1);
    const result = JSON.parse(r.out) as CodeAuditResult;
    const leaks = result.findings.filter((f) => f.kind === 'id-only-query' || f.kind === 'unscoped-query');
    const found = new Set(leaks.map((f) => `${f.resource} ${f.operation}`));
    const planted = new Set(Object.entries(truth.leaks).flatMap(([resource, ops]) => ops.map((op) => `${resource} ${op}`)));
    expect(
      [...found].filter((x) => !planted.has(x)),
      'reported handlers that scope correctly (precision)',
    ).toEqual([]);
    expect(
      [...planted].filter((x) => !found.has(x)),
      'planted leaks not found (recall)',
    ).toEqual([]);
    // each at the line of the query that leaks, with a fix that applies
    for (const f of leaks) {
      expect(readFileSync(join(src, f.file), 'utf8').split('\n')[f.line - 1], f.title).toMatch(/db\.query\((Call|Email|Document|DocumentSignature)\)/);
      expect(f.diff, f.title).toMatch(/^diff --git a\/app\/api\//);
      expect(f.severity, `${f.resource}: the catalog's priority`).toBe(priority(f.resource!) ?? 'HIGH');
    }
    const models = result.findings.filter((f) => f.kind === 'model-without-company').map((f) => f.resource);
    expect(models.sort()).toEqual([...truth.tables_without_company_id].sort());
    // the handlers the fixture scopes by company are said to be
    expect(result.handlers.filter((h) => h.resource === 'contacts').map((h) => h.scoping)).toEqual(Array(5).fill('by-company'));
    expect(fingerprint(src)).toBe(before);
    // the Markdown report: the seed's "Files to update", most urgent first
    const md = await runCli(['code', 'audit', '--src', src, '--connection', 'fx'], { home });
    expect(md.code).toBe(0);
    expect(md.out).toMatch(/## Phase 2: files to update[\s\S]*\| `app\/api\/calls\.py` \| \d \| \d \| \d \| `get_call`, `update_call`, `delete_call` \|/);
    // and the audit document's Phase 2 is that list, grouped by priority
    const doc = await runCli(['audit', '--connection', 'fx', '--format', 'md'], {
      home,
      env: { TENANTSCOPE_FX_PW: 'demo', TENANTSCOPE_FX_DB: crm.databaseUrl },
    });
    expect(doc.code, doc.err.slice(-2000)).toBe(0);
    expect(doc.out).toMatch(
      /## Phase 2: API Endpoints: Files to Update\n\nFrom the source audit of `[^`]+backend` on .+: 13 findings\.\n\n#### \*\*Priority 1: Critical Endpoints\*\*\n1\. \*\*`app\/api\/documents\.py`\*\*: \d+ HIGH/,
    );
    expect(doc.out).toMatch(/\*\*`app\/api\/calls\.py`\*\*: 3 \w+ \(`get_call`, `update_call`, `delete_call`\)/);
  }, 120_000);

  it('the patch applies, and after it the isolation matrix turns every leaking cell enforced while nothing else changes', async () => {
    const patch = join(src, '..', 'phase2.patch');
    const r = await runCli(['code', 'audit', '--src', src, '--connection', 'fx', '--format', 'patch', '--out', patch], { home });
    expect(r.code, r.err).toBe(0);
    execFileSync('git', ['apply', '--check', patch], { cwd: src });
    execFileSync('git', ['apply', patch], { cwd: src });
    const before = await matrix('fx');
    // static × dynamic: every leak the source audit finds is one the runner saw, and the runner saw none it cannot explain
    const checked = await runCli(['--json', 'code', 'audit', '--src', join(FIXTURE_DIR, 'backend'), '--connection', 'fx', '--isolation-run', 'latest'], {
      home,
    });
    expect(checked.code, checked.err.slice(-2000)).toBe(0);
    const cross = JSON.parse(checked.out) as CodeAuditResult;
    expect(cross.isolation).toMatchObject({ connection: 'fx' });
    const leakFindings = cross.findings.filter((f) => f.kind === 'id-only-query' || f.kind === 'unscoped-query');
    expect(leakFindings.map((f) => `${f.resource} ${f.operation}: ${f.dynamic}`)).toEqual(leakFindings.map((f) => `${f.resource} ${f.operation}: confirmed`));
    expect(cross.findings.filter((f) => f.kind === 'unexplained-leak')).toEqual([]);
    expect(cross.handlers.filter((h) => h.resource === 'contacts').map((h) => h.dynamic)).toEqual(Array(5).fill('enforced'));
    const patched = await startFastapiCrm({}, src);
    try {
      await connect('fixed', patched);
      const after = await matrix('fixed');
      expect([...after.keys()].sort()).toEqual([...before.keys()].sort());
      const leaking = [...before].filter(([, v]) => v === 'leak').map(([k]) => k);
      expect(leaking.length).toBeGreaterThan(0);
      expect(leaking.filter((k) => after.get(k) !== 'enforced').map((k) => `${k}: ${after.get(k)}`)).toEqual([]);
      expect(
        [...before].filter(([k, v]) => v !== 'leak' && after.get(k) !== v).map(([k, v]) => `${k}: ${v} → ${after.get(k)}`),
        'cells the patch should not have changed',
      ).toEqual([]);
    } finally {
      await patched.close();
    }
    // and the audit of the patched source finds no leak left
    const again = await runCli(['--json', 'code', 'audit', '--src', src, '--connection', 'fx'], { home });
    expect((JSON.parse(again.out) as CodeAuditResult).findings.filter((f) => f.kind !== 'model-without-company')).toEqual([]);
  }, 600_000);

  it("with --database, a company_id the migration added is a model to update (with its fix in the patch) and the queries' fixes filter on it; other columns on one side only are said", async () => {
    await crm.pool.query('ALTER TABLE calls ADD COLUMN company_id uuid REFERENCES companies(id)');
    await crm.pool.query('ALTER TABLE emails ADD COLUMN legacy_flag text');
    const r = await runCli(['--json', 'code', 'audit', '--src', join(FIXTURE_DIR, 'backend'), '--connection', 'fx', '--database'], {
      home,
      env: { TENANTSCOPE_FX_DB: crm.databaseUrl },
    });
    expect(r.code, r.err.slice(-2000)).toBe(0);
    const result = JSON.parse(r.out) as CodeAuditResult;
    const db = result.findings.filter((f) => f.kind === 'model-vs-database');
    expect(db.map((f) => [f.file, f.title])).toEqual([
      ['app/models/call.py', 'Model Call does not declare company_id, which calls has in the database'],
      ['app/models/email.py', 'Model Email and the table emails differ'],
    ]);
    expect(db[0]!.diff).toContain('+    company_id = Column(UUID(as_uuid=True), ForeignKey("companies.id"), nullable=True)');
    expect(db[1]).toMatchObject({ severity: 'LOW', does: 'The table has legacy_flag, which the model does not declare.', diff: null });
    // calls: no longer a model without company_id; its reads filter on it directly
    expect(result.findings.filter((f) => f.kind === 'model-without-company').map((f) => f.resource)).not.toContain('calls');
    const read = result.findings.find((f) => f.handler === 'get_call')!;
    expect(read.diff).toContain('+        query = query.filter(Call.company_id == company_id)');
    expect(result.patch).toContain('diff --git a/app/models/call.py b/app/models/call.py');
    expect(result.models.find((m) => m.table === 'calls')).toMatchObject({ hasCompanyId: false, databaseHasCompanyId: true });
    // the patch applies to a copy of the checkout
    const copy = join(mkdtempSync(join(tmpdir(), 'checkout-')), 'backend');
    cpSync(join(FIXTURE_DIR, 'backend'), copy, { recursive: true });
    const file = join(copy, '..', 'all.patch');
    writeFileSync(file, result.patch);
    execFileSync('git', ['apply', '--check', file], { cwd: copy });
  }, 120_000);
});
