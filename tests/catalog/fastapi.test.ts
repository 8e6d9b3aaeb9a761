import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConnectionProfileSchema, type ConnectionProfile } from '../../src-shared/profile.ts';
import { CrmClient } from '../../src-main/crm/crmClient.ts';
import { runCli } from '../support/cli.ts';
import { startFastapiCrm, type FastapiCrm } from '../support/fastapiCrm.ts';

/**
 * A CRM the console has never seen, in the seed's own stack (FastAPI + SQLAlchemy, FastAPI's
 * defaults): from its URL, database URL and identities alone, with no profile written by hand.
 */
describe('a FastAPI CRM from its URL, database URL and identities alone', () => {
  let crm: FastapiCrm;
  let home: string;
  const env = () => ({ FX_PW: 'demo', FX_DB: crm.databaseUrl });
  const identities = [
    ['Acme admin', 'admin@acme.test'], ['Globex admin', 'admin@globex.test'], ['Globex user', 'user@globex.test'],
    ['Initech admin', 'admin@initech.test'], ['No company', 'nobody@fixture.test'], ['Super admin', 'super@fixture.test'],
  ];
  const saved = (): ConnectionProfile => {
    const file = JSON.parse(readFileSync(join(home, 'connections.json'), 'utf8')) as { connections: unknown[] };
    return ConnectionProfileSchema.parse(file.connections.find((c) => (c as { name: string }).name === 'fx'));
  };

  beforeAll(async () => {
    home = mkdtempSync(join(tmpdir(), 'tenantscope-fastapi-'));
    crm = await startFastapiCrm();
  }, 120_000);
  afterAll(async () => {
    rmSync(home, { recursive: true, force: true });
    await crm?.close();
  });

  it('connections add --openapi discovers sign-in, whoami, paging and every collection with its company, and the sign-in works', async () => {
    const r = await runCli(['--json', 'connections', 'add', 'fx', '--openapi', crm.url, '--db-env', 'FX_DB', ...identities.flatMap(([label, user]) => ['--identity', `${label}=${user}:FX_PW`])], { home, env: env() });
    expect(r.code, r.err).toBe(0);
    const doc = JSON.parse(r.out);
    expect(doc.test.ok, JSON.stringify(doc.test.checks)).toBe(true);
    expect(doc.test.role).toBe('company_admin');
    const p = saved();
    expect(p.auth).toMatchObject({ kind: 'oauth2-password', tokenUrl: '/api/v1/auth/token' });
    expect(p.whoami.path).toBe('/api/v1/auth/me');
    expect(p.paging).toMatchObject({ kind: 'offset', offsetParam: 'skip', limitParam: 'limit', itemsField: '', maxLimit: 500 });
    expect(p.tenants).toBeUndefined(); // no companies endpoint, and none is made up
    expect(p.databaseUrlEnv).toBe('FX_DB');
    expect(JSON.stringify(p)).not.toContain(crm.databaseUrl); // the URL stays in the environment
    // every collection with a list path, the nested one without an item path included, and each one's company
    const byName = Object.fromEntries(p.catalog.resources.map((x) => [x.name, x]));
    expect(Object.keys(byName).sort()).toEqual(Object.keys(crm.truth.collections).sort());
    for (const [name, path] of Object.entries(crm.truth.collections)) {
      expect(byName[name]!.endpoints.list, name).toBe(path);
      expect(byName[name]!.derivation, name).toEqual(crm.truth.derivation[name]);
    }
    expect(byName.document_signatures!.endpoints).toEqual({ list: '/api/v1/documents/{document_id}/signatures/', create: '/api/v1/documents/{document_id}/signatures/' });
    expect(byName.calls!.endpoints.get).toBe('/api/v1/calls/{call_id}');
    expect(byName.calls!.changeField).toBe('notes'); // the update body takes notes only
    expect(p.catalog.resources.filter((x) => x.derivation.kind !== 'own').map((x) => x.table).sort()).toEqual(crm.truth.tables_without_company_id);
  }, 120_000);

  it('tenantscope test finds exactly the planted leaks (recall and precision 100%) and leaves no canary', async () => {
    const r = await runCli(['--json', 'test', '--connection', 'fx'], { home, env: env() });
    expect(r.code, r.err.slice(-2000)).toBe(1);
    const report = JSON.parse(r.out) as { results: Array<{ resource: string; identity: string; operation: string; verdict: string; detail: string }>; cleanup: { leftover: unknown[] }; complete: boolean };
    expect(report.complete).toBe(true);
    const found = new Set(report.results.filter((x) => x.verdict === 'leak').map((x) => `${x.resource} ${x.operation} ${x.identity}`));
    const probers = identities.map(([label]) => label).filter((l) => l !== 'Acme admin' && l !== 'Super admin');
    const expected = new Set(Object.entries(crm.truth.leaks).flatMap(([resource, ops]) => ops.flatMap((op) => probers.map((who) => `${resource} ${op} ${who}`))));
    expect([...found].filter((x) => !expected.has(x)), 'reported leaks that are not planted (precision)').toEqual([]);
    expect([...expected].filter((x) => !found.has(x)), 'planted leaks not reported (recall)').toEqual([]);
    expect(report.results.filter((x) => x.verdict === 'error' || x.verdict === 'suspect').map((x) => `${x.resource} ${x.operation} ${x.identity}: ${x.detail}`)).toEqual([]);
    // the nested collection is listed and created into, and says why it is not read by id
    expect(report.results.find((x) => x.resource === 'document_signatures' && x.operation === 'read')).toMatchObject({ verdict: 'skipped', detail: expect.stringMatching(/^no item path/) });
    expect(report.cleanup.leftover).toEqual([]);
    const left = await crm.pool.query(`
      SELECT (SELECT count(*) FROM calls WHERE from_number LIKE '%TenantScope%' OR notes LIKE '%TenantScope%')
           + (SELECT count(*) FROM contacts WHERE first_name LIKE '%TenantScope%')
           + (SELECT count(*) FROM emails WHERE subject LIKE '%TenantScope%')
           + (SELECT count(*) FROM email_templates WHERE name LIKE '%TenantScope%')
           + (SELECT count(*) FROM documents WHERE title LIKE '%TenantScope%')
           + (SELECT count(*) FROM document_signatures WHERE signer_name LIKE '%TenantScope%') AS n`);
    expect(Number(left.rows[0].n), 'canaries left on the server').toBe(0);
  }, 300_000);

  it('a list the console cannot read is an error, never "enforced"', async () => {
    // the same CRM with a profile that expects {items: [...]}: every list answer is unreadable to it
    const wrong = { ...saved(), name: 'fxwrong', paging: { ...saved().paging, itemsField: 'items' } };
    const file = JSON.parse(readFileSync(join(home, 'connections.json'), 'utf8'));
    writeFileSync(join(home, 'connections.json'), JSON.stringify({ ...file, connections: [...file.connections, wrong] }));
    const r = await runCli(['--json', 'test', '--connection', 'fxwrong', '--only', 'contacts,calls'], { home, env: env() });
    const report = JSON.parse(r.out) as { results: Array<{ operation: string; verdict: string; detail: string }> };
    const lists = report.results.filter((x) => x.operation === 'list');
    expect(lists.length).toBeGreaterThan(0);
    // a 403 (the user with no company) is a refusal; every list that answered 200 could not be read
    expect(lists.filter((x) => x.verdict === 'enforced').every((x) => /not among/.test(x.detail))).toBe(true);
    expect(lists.filter((x) => x.verdict === 'error').length).toBeGreaterThanOrEqual(lists.length - 1);
    expect(lists.find((x) => x.verdict === 'error')!.detail).toMatch(/^the list could not be read: GET \/api\/v1\/\w+\/\?.* answered 200 without a list at "items"/);
  }, 300_000);

  it('sign-in: a JSON body is told apart from wrong credentials, in the CRM\'s own words', async () => {
    const p = saved();
    const oauth = new CrmClient(p);
    await expect(oauth.signIn('admin@acme.test', 'wrong')).rejects.toMatchObject({ code: 'bad-credentials', message: expect.stringContaining('Incorrect username or password') });
    expect((await oauth.signIn('admin@acme.test', 'demo')).token).toMatch(/^ey/);
    const json = new CrmClient(ConnectionProfileSchema.parse({ ...p, auth: { kind: 'password', loginPath: '/api/v1/auth/token', usernameField: 'email' } }));
    await expect(json.signIn('admin@acme.test', 'demo')).rejects.toMatchObject({ code: 'bad-response', message: expect.stringMatching(/did not take the shape of the sign-in request .*\(422: body\.username: field required; body\.password: field required\)/) });
  });
});
