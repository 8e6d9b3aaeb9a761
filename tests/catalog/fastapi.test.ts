import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConnectionProfileSchema, type ConnectionProfile } from '../../src-shared/profile.ts';
import { CrmClient } from '../../src-main/crm/crmClient.ts';
import { createServices } from '../../src-main/compose/services.ts';
import { runCli } from '../support/cli.ts';
import { startFastapiCrm, type FastapiCrm } from '../support/fastapiCrm.ts';

/**
 * A CRM the console has never seen, in the seed's own stack (FastAPI + SQLAlchemy, FastAPI's
 * defaults): from its URL, database URL and identities alone, with no profile written by hand.
 */
describe('a FastAPI CRM from its URL, database URL and identities alone', () => {
  let crm: FastapiCrm;
  let home: string;
  const env = () => ({ TENANTSCOPE_FX_PW: 'demo', TENANTSCOPE_FX_DB: crm.databaseUrl });
  const identities = [
    ['Acme admin', 'admin@acme.test'],
    ['Globex admin', 'admin@globex.test'],
    ['Globex user', 'user@globex.test'],
    ['Initech admin', 'admin@initech.test'],
    ['No company', 'nobody@fixture.test'],
    ['Super admin', 'super@fixture.test'],
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
    const r = await runCli(
      [
        '--json',
        'connections',
        'add',
        'fx',
        '--openapi',
        crm.url,
        '--db-env',
        'TENANTSCOPE_FX_DB',
        ...identities.flatMap(([label, user]) => ['--identity', `${label}=${user}:TENANTSCOPE_FX_PW`]),
      ],
      { home, env: env() },
    );
    expect(r.code, r.err).toBe(0);
    const doc = JSON.parse(r.out);
    expect(doc.test.ok, JSON.stringify(doc.test.checks)).toBe(true);
    expect(doc.test.role).toBe('company_admin');
    expect(doc.test.checks.find((c: { name: string }) => c.name === 'lists').message).toMatch(
      /answered a bare JSON list as the profile says \(\d+ on the first page, offset paging\)/,
    );
    const p = saved();
    expect(p.auth).toMatchObject({ kind: 'oauth2-password', tokenUrl: '/api/v1/auth/token' });
    expect(p.whoami.path).toBe('/api/v1/auth/me');
    expect(p.paging).toMatchObject({ kind: 'offset', offsetParam: 'skip', limitParam: 'limit', itemsField: '', maxLimit: 500 });
    expect(p.tenants).toBeUndefined(); // no companies endpoint, and none is made up
    expect(p.databaseUrlEnv).toBe('TENANTSCOPE_FX_DB');
    expect(JSON.stringify(p)).not.toContain(crm.databaseUrl); // the URL stays in the environment
    // every collection with a list path, the nested one without an item path included, and each one's company
    const byName = Object.fromEntries(p.catalog.resources.map((x) => [x.name, x]));
    expect(Object.keys(byName).sort()).toEqual(Object.keys(crm.truth.collections).sort());
    for (const [name, path] of Object.entries(crm.truth.collections)) {
      expect(byName[name]!.endpoints.list, name).toBe(path);
      expect(byName[name]!.derivation, name).toEqual(crm.truth.derivation[name]);
    }
    expect(byName.document_signatures!.endpoints).toEqual({
      list: '/api/v1/documents/{document_id}/signatures/',
      create: '/api/v1/documents/{document_id}/signatures/',
    });
    expect(byName.calls!.endpoints.get).toBe('/api/v1/calls/{call_id}');
    expect(byName.calls!.changeField).toBe('notes'); // the update body takes notes only
    expect(
      p.catalog.resources
        .filter((x) => x.derivation.kind !== 'own')
        .map((x) => x.table)
        .sort(),
    ).toEqual(crm.truth.tables_without_company_id);
    // the database URL's variable changes later without touching the rest
    expect((await runCli(['connections', 'set', 'fx', '--no-db-env'], { home })).code).toBe(0);
    expect(saved().databaseUrlEnv).toBeUndefined();
    expect((await runCli(['connections', 'set', 'fx', '--db-env', 'TENANTSCOPE_FX_DB'], { home })).code).toBe(0);
    expect(saved()).toEqual(p);
    expect((await runCli(['connections', 'set', 'fx', '--db-env', 'postgres://x@y/z'], { home })).code).toBe(2);
    // a catalog discovered to a file, confirmed by a person, then attached to the connection
    const file = join(home, 'catalog.json');
    expect((await runCli(['catalog', 'discover', '--url', crm.url, '--db-env', 'TENANTSCOPE_FX_DB', '--out', file], { home, env: env() })).code).toBe(0);
    const edited = JSON.parse(readFileSync(file, 'utf8')) as { resources: Array<{ name: string; priority: string | null; uncertain: string[] }> };
    for (const r of edited.resources) r.uncertain = [];
    edited.resources.find((r) => r.name === 'calls')!.priority = 'HIGH';
    writeFileSync(file, JSON.stringify(edited));
    const attached = await runCli(['--json', 'catalog', 'attach', 'fx', file], { home });
    expect(attached.code, attached.err).toBe(0);
    expect(JSON.parse(attached.out).toConfirm).toEqual([]);
    expect(saved().catalog.resources.find((r) => r.name === 'calls')!.priority).toBe('HIGH');
    writeFileSync(file, '{"resources": [{"name": "x"}]}');
    const refused = await runCli(['catalog', 'attach', 'fx', file], { home });
    expect(refused.code).toBe(2);
    expect(refused.err).toMatch(/The catalog is invalid: resources\.0\./);
    expect(saved().catalog.resources.find((r) => r.name === 'calls')!.priority).toBe('HIGH');
  }, 120_000);

  it('tenantscope test finds exactly the planted leaks (recall and precision 100%) and leaves no canary', async () => {
    const r = await runCli(['--json', 'test', '--connection', 'fx'], { home, env: env() });
    expect(r.code, r.err.slice(-2000)).toBe(1);
    const report = JSON.parse(r.out) as {
      results: Array<{ resource: string; identity: string; operation: string; verdict: string; detail: string }>;
      cleanup: { leftover: unknown[] };
      complete: boolean;
    };
    expect(report.complete).toBe(true);
    const found = new Set(report.results.filter((x) => x.verdict === 'leak').map((x) => `${x.resource} ${x.operation} ${x.identity}`));
    const probers = identities.map(([label]) => label).filter((l) => l !== 'Acme admin' && l !== 'Super admin');
    const expected = new Set(
      Object.entries(crm.truth.leaks).flatMap(([resource, ops]) => ops.flatMap((op) => probers.map((who) => `${resource} ${op} ${who}`))),
    );
    expect(
      [...found].filter((x) => !expected.has(x)),
      'reported leaks that are not planted (precision)',
    ).toEqual([]);
    expect(
      [...expected].filter((x) => !found.has(x)),
      'planted leaks not reported (recall)',
    ).toEqual([]);
    expect(
      report.results.filter((x) => x.verdict === 'error' || x.verdict === 'suspect').map((x) => `${x.resource} ${x.operation} ${x.identity}: ${x.detail}`),
    ).toEqual([]);
    // the nested collection is listed and created into, and says why it is not read by id
    expect(report.results.find((x) => x.resource === 'document_signatures' && x.operation === 'read')).toMatchObject({
      verdict: 'skipped',
      detail: expect.stringMatching(/^no item path/),
    });
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
    expect(lists.find((x) => x.verdict === 'error')!.detail).toMatch(
      /^the list could not be read: GET \/api\/v1\/\w+\/\?\S*: no list at "items" \(check the profile's paging\)/,
    );
  }, 300_000);

  it("sign-in: a JSON body is told apart from wrong credentials, in the CRM's own words", async () => {
    const p = saved();
    const oauth = new CrmClient(p);
    await expect(oauth.signIn('admin@acme.test', 'wrong')).rejects.toMatchObject({
      code: 'bad-credentials',
      message: expect.stringContaining('Incorrect username or password'),
    });
    expect((await oauth.signIn('admin@acme.test', 'demo')).token).toMatch(/^ey/);
    const json = new CrmClient(ConnectionProfileSchema.parse({ ...p, auth: { kind: 'password', loginPath: '/api/v1/auth/token', usernameField: 'email' } }));
    await expect(json.signIn('admin@acme.test', 'demo')).rejects.toMatchObject({
      code: 'bad-response',
      message: expect.stringMatching(/did not take the shape of the sign-in request .*\(422: body\.username: field required; body\.password: field required\)/),
    });
  });

  it('sync --all places every row (owners from the database), lists nested collections through their parents, proves by relisting, and the audit finds exactly the planted faults', async () => {
    const r = await runCli(['--json', 'sync', '--connection', 'fx', '--as', 'super@fixture.test', '--password-env', 'TENANTSCOPE_FX_PW', '--all'], {
      home,
      env: env(),
    });
    expect(r.code, r.err.slice(-1500)).toBe(0);
    const doc = JSON.parse(r.out) as {
      outcomes: Array<{ resource: string; status: string; rows: number; message: string | null }>;
      proofs: Array<{ status: string; basis?: string; resource: string }>;
    };
    expect(doc.outcomes.filter((o) => o.status !== 'synced')).toEqual([]);
    expect(doc.outcomes.find((o) => o.resource === 'document_signatures')!.rows).toBe(
      Number((await crm.pool.query('SELECT count(*) FROM document_signatures')).rows[0].count),
    );
    // three companies, read from the database (the CRM lists none), each resource proven by a fresh relist
    expect(doc.proofs).toHaveLength(3 * 6);
    expect(doc.proofs.filter((x) => x.status !== 'in-sync' || x.basis !== 'relist')).toEqual([]);
    const audit = await runCli(['--json', 'audit', '--connection', 'fx'], { home, env: env() });
    const result = JSON.parse(audit.out) as {
      models: Array<{ resource: string; hasCompanyId: boolean; orphans: number; shared?: number }>;
      findings: Array<{ check: string; resource: string; count: number; title: string }>;
    };
    expect(
      result.models
        .filter((m) => !m.hasCompanyId)
        .map((m) => m.resource)
        .sort(),
    ).toEqual(crm.truth.tables_without_company_id);
    expect(Object.fromEntries(result.models.filter((m) => m.orphans).map((m) => [m.resource, m.orphans]))).toEqual(crm.truth.orphans);
    expect(Object.fromEntries(result.models.filter((m) => m.shared).map((m) => [m.resource, m.shared]))).toEqual(crm.truth.global_rows);
    expect(result.findings.filter((f) => f.check === 'cross-tenant-reference').map((f) => ({ resource: f.resource, count: f.count }))).toEqual(
      crm.truth.cross_tenant_references.map((x) => ({ resource: x.resource, count: x.count })),
    );
    // a pasted token signs the operator in as well as a password does; a bad one is said so
    const login = await fetch(`${crm.url}/api/v1/auth/token`, {
      method: 'POST',
      body: new URLSearchParams({ username: 'super@fixture.test', password: 'demo' }),
    });
    const token = ((await login.json()) as { access_token: string }).access_token;
    const pasted = await runCli(['--json', 'sync', '--connection', 'fx', '--token-env', 'TENANTSCOPE_FX_TOKEN', '--all', '--no-prove'], {
      home,
      env: { ...env(), TENANTSCOPE_FX_TOKEN: token },
    });
    expect(pasted.code, pasted.err.slice(-1500)).toBe(0);
    const refused = await runCli(['sync', '--connection', 'fx', '--token-env', 'TENANTSCOPE_FX_TOKEN', '--all'], {
      home,
      env: { ...env(), TENANTSCOPE_FX_TOKEN: 'not-a-token' },
    });
    expect(refused.code).toBe(2);
    expect(refused.err).toMatch(/did not accept the token/);
    // one tenant asked for, on a CRM with no company filter: one listing of everything, partitioned here (not one a tenant)
    const one = await runCli(
      [
        '--json',
        'sync',
        '--connection',
        'fx',
        '--as',
        'super@fixture.test',
        '--password-env',
        'TENANTSCOPE_FX_PW',
        '--tenant',
        'Globex Corporation',
        '--no-prove',
      ],
      { home, env: env() },
    );
    expect(one.code, one.err.slice(-1500)).toBe(0);
    expect(new Set(JSON.parse(one.out).outcomes.map((o: { tenant: string }) => o.tenant))).toEqual(new Set(['*']));
  }, 300_000);

  it("a company admin's narrower sync deletes none of the rows the super admin synced, and the proof catches a row changed on the server", async () => {
    const r = await runCli(['--json', 'sync', '--connection', 'fx', '--as', 'admin@acme.test', '--password-env', 'TENANTSCOPE_FX_PW', '--no-prove'], {
      home,
      env: env(),
    });
    expect(r.code, r.err.slice(-1500)).toBe(0);
    expect(JSON.parse(r.out).deletions).toBe(0);
    // an email (no updated_at: proven by its whole record) changed behind the console's back
    await crm.pool.query(
      `UPDATE emails SET subject = 'changed on the server' WHERE id = (SELECT e.id FROM emails e JOIN users u ON u.id = e.owner_id WHERE u.email = 'user@globex.test' LIMIT 1)`,
    );
    const again = await runCli(
      ['--json', 'sync', '--connection', 'fx', '--as', 'super@fixture.test', '--password-env', 'TENANTSCOPE_FX_PW', '--all', '--no-prove'],
      { home, env: env() },
    );
    expect(again.code, again.err.slice(-1500)).toBe(0);
    const proofs = await runCli(['--json', 'sync', '--connection', 'fx', '--as', 'super@fixture.test', '--password-env', 'TENANTSCOPE_FX_PW', '--all'], {
      home,
      env: env(),
    });
    expect(JSON.parse(proofs.out).proofs.filter((x: { status: string }) => x.status !== 'in-sync')).toEqual([]);
    await crm.pool.query(
      `UPDATE emails SET subject = 'changed again' WHERE id = (SELECT e.id FROM emails e JOIN users u ON u.id = e.owner_id WHERE u.email = 'user@globex.test' LIMIT 1)`,
    );
    // the console in this process, as a window would use it: the database URL from the variable the profile names
    process.env.TENANTSCOPE_FX_DB = crm.databaseUrl;
    const services = createServices({ home, mode: 'cli', log: () => {} });
    try {
      const signed = await services.dispatch('session:signIn', { connection: 'fx', username: 'super@fixture.test', password: 'demo' });
      expect(signed.ok).toBe(true);
      const tenants = await services.dispatch('tenants:list', {});
      const globex = (tenants as { value: { tenants: Array<{ id: string; name: string }> } }).value.tenants.find((t) => t.name === 'Globex Corporation')!;
      const proved = await services.dispatch('sync:prove', { tenant: globex.id });
      expect(proved.ok).toBe(true);
      const emails = (proved as { value: { proofs: Array<{ resource: string; status: string; basis?: string }> } }).value.proofs.find(
        (x) => x.resource === 'emails',
      );
      expect(emails).toMatchObject({ status: 'drifted', basis: 'relist' });
    } finally {
      await services.close();
      delete process.env.TENANTSCOPE_FX_DB;
    }
  }, 300_000);

  it('migrate run, verify and rollback on the database the connection names by its environment variable', async () => {
    const run = await runCli(['--json', 'migrate', 'run', '--connection', 'fx'], { home, env: env() });
    expect(run.code, run.err.slice(-1500)).toBe(0);
    const doc = JSON.parse(run.out);
    expect(doc.verification.ok).toBe(true);
    const filled = await crm.pool.query(`SELECT count(*) FILTER (WHERE company_id IS NULL)::int AS missing FROM email_templates`);
    expect(filled.rows[0].missing).toBe(crm.truth.global_rows.email_templates); // the shared templates stay NULL
    const back = await runCli(['--json', 'migrate', 'rollback', '--connection', 'fx', '--yes'], { home, env: env() });
    expect(back.code, back.err.slice(-1500)).toBe(0);
    const cols = await crm.pool.query(
      `SELECT table_name FROM information_schema.columns WHERE column_name = 'company_id' AND table_schema = current_schema() ORDER BY 1`,
    );
    expect(cols.rows.map((x) => x.table_name)).toEqual(['contacts', 'users']);
  }, 300_000);
});

describe('bad answers from a CRM are clear errors', () => {
  it("a sign-in that answers an HTML page, a 422 without FastAPI's words, and a token URL that is not there", async () => {
    const { createServer } = await import('node:http');
    const server = createServer((req, res) => {
      if (req.url === '/html-login') {
        res.writeHead(200, { 'content-type': 'text/html' });
        res.end('<!doctype html><html><body>Sign in</body></html>');
        return;
      }
      if (req.url === '/strict-login') {
        res.writeHead(422, { 'content-type': 'application/json' });
        res.end('{"error":"grant_type must be password"}');
        return;
      }
      res.writeHead(404);
      res.end();
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
    const profile = (auth: unknown) => ConnectionProfileSchema.parse({ version: 1, name: 'bad', baseUrl: url, auth, whoami: { path: '/me' } });
    try {
      await expect(new CrmClient(profile({ kind: 'oauth2-password', tokenUrl: '/html-login' })).signIn('a', 'b')).rejects.toMatchObject({
        code: 'bad-response',
        message: 'The sign-in answer from /html-login (200) has an HTML page.',
      });
      await expect(new CrmClient(profile({ kind: 'password', loginPath: '/strict-login' })).signIn('a', 'b')).rejects.toMatchObject({
        code: 'bad-response',
        message: expect.stringContaining('(422: grant_type must be password)'),
      });
      await expect(new CrmClient(profile({ kind: 'oauth2-password', tokenUrl: '/token' })).signIn('a', 'b')).rejects.toMatchObject({
        code: 'not-a-crm',
        message: expect.stringMatching(/has no sign-in at \/token \(it answered 404\)\. Check "auth\.tokenUrl"/),
      });
    } finally {
      await new Promise((r) => server.close(r));
    }
  });
});

describe("an address that is not a CRM's API, and a list that answers a string", () => {
  it('connections add --openapi refuses JSON that is not an OpenAPI document and an HTML page, saving nothing; a list answering a string fails its sync, storing nothing', async () => {
    const { createServer } = await import('node:http');
    const { openCache } = await import('../../src-main/cache/cacheDb.ts');
    const { EventBus } = await import('../../src-main/core/eventBus.ts');
    const { SyncService } = await import('../../src-main/sync/syncService.ts');
    const server = createServer((req, res) => {
      if (req.url === '/status/openapi.json') {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end('{"status":"ok","version":"2.1"}');
        return;
      }
      if (req.url === '/site/openapi.json') {
        res.writeHead(200, { 'content-type': 'text/html' });
        res.end('<!doctype html><html><body>Welcome</body></html>');
        return;
      }
      if (req.url!.startsWith('/api/things/')) {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end('"down for maintenance"');
        return;
      }
      res.writeHead(404);
      res.end();
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
    const dir = mkdtempSync(join(tmpdir(), 'tenantscope-notcrm-'));
    const cache = await openCache(join(dir, 'c.sqlite'));
    try {
      const notOpenapi = await runCli(['--json', 'connections', 'add', 'x', '--openapi', `${url}/status`, '--identity', 'A=a@x.test:PW'], { home: dir });
      expect(notOpenapi.code).toBe(2);
      expect(JSON.parse(notOpenapi.out).error).toMatchObject({
        code: 'not-a-crm',
        message: expect.stringMatching(/\/status\/openapi\.json answered JSON that is not an OpenAPI document/),
      });
      const html = await runCli(['--json', 'connections', 'add', 'x', '--openapi', `${url}/site`, '--identity', 'A=a@x.test:PW'], { home: dir });
      expect(html.code).toBe(2);
      expect(JSON.parse(html.out).error.message).toMatch(/\/site\/openapi\.json is an HTML page/);
      const listed = await runCli(['--json', 'connections', 'list'], { home: dir });
      expect(JSON.parse(listed.out).connections.map((c: { name: string }) => c.name)).toEqual(['demo']); // nothing saved

      const profile = ConnectionProfileSchema.parse({
        version: 1,
        name: 'str',
        baseUrl: url,
        auth: { kind: 'token' },
        whoami: { path: '/me' },
        paging: { kind: 'offset', limitParam: 'limit', offsetParam: 'skip', itemsField: '', maxLimit: 100 },
        catalog: {
          users: 'users',
          resources: [
            {
              name: 'things',
              endpoints: { list: '/api/things/' },
              table: 'things',
              companyField: 'company_id',
              class: 'tenant',
              derivation: { kind: 'own', field: 'company_id' },
              priority: null,
            },
          ],
        },
      });
      const report = await new SyncService(cache, profile, new EventBus()).run(
        { email: 'root', role: 'super_admin', companyId: null, token: () => 't', refresh: async () => 't' },
        [{ id: '*', name: 'every tenant' }],
      );
      expect(report.outcomes.find((o) => o.resource === 'things')).toMatchObject({
        status: 'failed',
        message: expect.stringMatching(/\/api\/things\/\?limit=100&skip=0 answered text \("down for maintenance"\), not a JSON object or list/),
      });
      expect(cache.raw.prepare('SELECT count(*) FROM records').pluck().get()).toBe(0);
    } finally {
      await cache.close();
      rmSync(dir, { recursive: true, force: true });
      await new Promise((r) => server.close(r));
    }
  }, 60_000);
});

describe('a page too large to read', () => {
  it('is refused whole with the request named and the fix, and nothing of it is stored', async () => {
    const { createServer } = await import('node:http');
    const { openCache } = await import('../../src-main/cache/cacheDb.ts');
    const { EventBus } = await import('../../src-main/core/eventBus.ts');
    const { SyncService } = await import('../../src-main/sync/syncService.ts');
    const row = JSON.stringify({ id: 'x', company_id: 'c1', note: 'y'.repeat(1000) });
    const server = createServer((req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      if (!req.url!.startsWith('/api/things/')) {
        res.end('{}');
        return;
      }
      // 65 MiB of records, written as a stream
      res.write('[');
      let n = 0;
      const chunk = Array.from({ length: 1000 }, (_, i) => row.replace('"x"', `"r${i}"`)).join(',');
      const more = () => {
        while (n < 70) {
          const ok = res.write((n ? ',' : '') + chunk.replace(/"r(\d+)"/g, (_m, i) => `"r${n}-${i}"`));
          n++;
          if (!ok) return void res.once('drain', more);
        }
        res.end(']');
      };
      more();
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
    const dir = mkdtempSync(join(tmpdir(), 'tenantscope-big-'));
    const cache = await openCache(join(dir, 'c.sqlite'));
    try {
      const profile = ConnectionProfileSchema.parse({
        version: 1,
        name: 'big',
        baseUrl: url,
        auth: { kind: 'token' },
        whoami: { path: '/me' },
        paging: { kind: 'offset', limitParam: 'limit', offsetParam: 'skip', itemsField: '', maxLimit: 100000 },
        catalog: {
          users: 'users',
          resources: [
            {
              name: 'things',
              endpoints: { list: '/api/things/' },
              table: 'things',
              companyField: 'company_id',
              class: 'tenant',
              derivation: { kind: 'own', field: 'company_id' },
              priority: null,
            },
          ],
        },
      });
      const sync = new SyncService(cache, profile, new EventBus());
      const report = await sync.run({ email: 'root', role: 'super_admin', companyId: null, token: () => 't', refresh: async () => 't' }, [
        { id: '*', name: 'every tenant' },
      ]);
      const outcome = report.outcomes.find((o) => o.resource === 'things')!;
      expect(outcome.status).toBe('failed');
      expect(outcome.message).toMatch(
        /\/api\/things\/\?limit=100000&skip=0 answered more than 64 MiB in one page: nothing of it was stored\. Ask for smaller pages/,
      );
      expect(report.retries).toBe(0);
      expect(cache.raw.prepare('SELECT count(*) FROM records').pluck().get()).toBe(0);
    } finally {
      await cache.close();
      rmSync(dir, { recursive: true, force: true });
      await new Promise((r) => server.close(r));
    }
  }, 120_000);
});

describe('Link-header paging', () => {
  it('follows rel="next" on the CRM\'s own origin to the last page, and refuses a link to another host', async () => {
    const { createServer } = await import('node:http');
    const { openCache } = await import('../../src-main/cache/cacheDb.ts');
    const { EventBus } = await import('../../src-main/core/eventBus.ts');
    const { SyncService } = await import('../../src-main/sync/syncService.ts');
    const seen: string[] = [];
    const server = createServer((req, res) => {
      seen.push(req.url!);
      const u = new URL(req.url!, 'http://x');
      const page = Number(u.searchParams.get('page') ?? 1);
      const rows = (name: string) => [1, 2].map((i) => ({ id: `${name}-${page}-${i}`, company_id: 'c1' }));
      res.setHeader('content-type', 'application/json');
      if (u.pathname === '/api/things/') {
        if (page < 3) res.setHeader('link', `</api/things/?page=${page + 1}>; rel="next", </api/things/?page=3>; rel="last"`);
        res.end(JSON.stringify(rows('t')));
      } else if (u.pathname === '/api/evil/') {
        res.setHeader('link', '<http://evil.example/api/evil/?page=2>; rel="next"');
        res.end(JSON.stringify(rows('e')));
      } else res.end('{}');
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
    const dir = mkdtempSync(join(tmpdir(), 'tenantscope-link-'));
    const cache = await openCache(join(dir, 'c.sqlite'));
    try {
      const resource = (name: string) => ({
        name,
        endpoints: { list: `/api/${name}/` },
        table: name,
        companyField: 'company_id',
        class: 'tenant',
        derivation: { kind: 'own', field: 'company_id' },
        priority: null,
      });
      const profile = ConnectionProfileSchema.parse({
        version: 1,
        name: 'linked',
        baseUrl: url,
        auth: { kind: 'token' },
        whoami: { path: '/me' },
        paging: { kind: 'link', limitParam: 'per_page', itemsField: '', maxLimit: 2 },
        catalog: { users: 'users', resources: [resource('things'), resource('evil')] },
      });
      // discovery reads Link paging from a list answer that declares the header
      const { readApiShape, readOpenapi } = await import('../../src-main/catalog/openapiDiscovery.ts');
      const doc = {
        openapi: '3.1.0',
        paths: {
          '/api/things/': {
            get: {
              parameters: [{ in: 'query', name: 'per_page', schema: { type: 'integer', maximum: 50 } }],
              responses: {
                200: {
                  headers: { Link: { schema: { type: 'string' } } },
                  content: { 'application/json': { schema: { type: 'array', items: { type: 'object', properties: { id: { type: 'string' } } } } } },
                },
              },
            },
          },
          '/api/things/{thing_id}': { get: { responses: { 200: {} } } },
          '/me': {
            get: {
              responses: {
                200: {
                  content: {
                    'application/json': {
                      schema: { type: 'object', properties: { id: { type: 'string' }, role: { type: 'string' }, company_id: { type: 'string' } } },
                    },
                  },
                },
              },
            },
          },
        },
      };
      expect(readApiShape(doc, readOpenapi(doc)).paging).toEqual({ kind: 'link', limitParam: 'per_page', itemsField: '', maxLimit: 50 });
      const report = await new SyncService(cache, profile, new EventBus()).run(
        { email: 'root', role: 'super_admin', companyId: null, token: () => 't', refresh: async () => 't' },
        [{ id: '*', name: 'every tenant' }],
      );
      expect(report.outcomes.find((o) => o.resource === 'things')).toMatchObject({ status: 'synced', rows: 6, pages: 3 });
      expect(seen.filter((s) => s.startsWith('/api/things/'))).toEqual(['/api/things/?per_page=2', '/api/things/?page=2', '/api/things/?page=3']);
      const evil = report.outcomes.find((o) => o.resource === 'evil')!;
      expect(evil.status).toBe('failed');
      expect(evil.message).toMatch(
        /its Link header points at http:\/\/evil\.example, another host than the CRM's \(http:\/\/127\.0\.0\.1:\d+\); the console follows links on the connection's own origin only/,
      );
      expect(cache.raw.prepare(`SELECT count(*) FROM records WHERE resource = 'evil'`).pluck().get()).toBe(0);
    } finally {
      await cache.close();
      rmSync(dir, { recursive: true, force: true });
      await new Promise((r) => server.close(r));
    }
  });
});
