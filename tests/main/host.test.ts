import { createServer } from 'node:http';
import { readdirSync, readFileSync, statSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CHANNELS, contract, type Channel } from '../../src-shared/contract.ts';
import { startTestCrm, type TestCrm } from '../support/crm.ts';
import { FIXTURE_DIR } from '../support/fastapiCrm.ts';
import { referenceProfile, startTestConsole, type TestConsole } from '../support/console.ts';

let crm: TestCrm;
let ts: TestConsole;
beforeAll(async () => {
  crm = await startTestCrm({ profile: 'legacy' });
  ts = await startTestConsole();
  // the isolation runner signs in as every identity: their password comes from the environment, as in CI
  process.env.TENANTSCOPE_TS_HOST_TEST_PASSWORD = 'demo';
  const ref = referenceProfile('ref', crm.url);
  const saved = await ts.call('connections:save', {
    profile: {
      ...ref,
      identities: (ref.identities as Array<{ label: string; username: string }>).map((i) => ({ ...i, passwordEnv: 'TENANTSCOPE_TS_HOST_TEST_PASSWORD' })),
    },
  });
  expect(saved.status).toBe(200);
});
afterAll(async () => {
  await ts?.close();
  await crm?.close();
});

const signIn = (username: string) => ts.call('session:signIn', { connection: 'ref', username, password: 'demo' });

describe('the HTTP host door', () => {
  it('refuses every request without the cookie this run let in', async () => {
    expect((await ts.call('app:info', {}, { cookie: null })).status).toBe(401);
    expect((await ts.call('app:info', {}, { cookie: 'tenantscope_session=wrong' })).status).toBe(401);
    expect((await fetch(`${ts.host.url}/`)).status).toBe(401);
    expect((await fetch(`${ts.host.url}/api/events`)).status).toBe(401);
  });

  it('round-trips every channel of the contract, answers parsed by its output schema', async () => {
    const undo = await ts.call('connections:save', { profile: referenceProfile('scratch', crm.url) });
    expect(undo.status).toBe(200);
    const removed = (await ts.call('connections:remove', { name: 'scratch' })).body.value;
    await signIn('super@tenantscope.test');
    const tenants = (await ts.call('tenants:list', {})).body.value.tenants;
    const valid: Record<Channel, unknown> = {
      'app:info': {},
      'connections:list': {},
      'connections:get': { name: 'ref' },
      'connections:discover': { name: 'found', url: crm.url },
      'connections:save': { profile: referenceProfile('another', crm.url) },
      'connections:remove': { name: 'another' },
      'connections:restore': { undoToken: removed.undoToken },
      'connections:test': { name: 'ref', username: 'admin@acme.test', password: 'demo' },
      'session:signIn': { connection: 'ref', username: 'super@tenantscope.test', password: 'demo' },
      'session:openOffline': { connection: 'ref', username: 'super@tenantscope.test', password: 'demo' },
      'cache:export': { tenant: tenants[0].id, passphrase: 'long enough' },
      'cache:import': { name: 'imported', data: Buffer.from('not an export').toString('base64'), passphrase: 'x' },
      'session:current': {},
      'session:signOut': {},
      'safety:status': {},
      'safety:unlock': { name: 'ref', minutes: 5 },
      'safety:lock': {},
      'tenants:list': {},
      'tenants:select': { companyId: tenants[1].id },
      'catalog:get': { connection: 'ref' },
      'catalog:discover': { connection: 'ref' },
      'catalog:save': { connection: 'ref', catalog: referenceProfile('x', crm.url).catalog },
      'catalog:check': { connection: 'ref' },
      'sync:run': { tenants: [tenants[0].name], pageSize: 50 },
      'isolation:run': { only: ['contacts', 'calls'] },
      'isolation:runs': {},
      'audit:run': { tenant: tenants[0].id },
      'audit:report': { format: 'md' },
      'records:get': { resource: 'calls', id: '00000000-0000-0000-0000-000000000000' },
      'audit:accept': { id: '0123456789ab', reason: 'checked by hand' },
      'isolation:results': { runId: 1 },
      'sync:cancel': {},
      'sync:status': {},
      'sync:prove': { tenant: tenants[0].id },
      'sync:proofs': { tenant: tenants[0].id },
      'cache:evict': { tenant: tenants[0].id },
      'demo:status': {},
      'demo:start': null,
      'records:resources': { tenant: tenants[0].id },
      'tenants:overview': {},
      'records:query': {
        tenant: tenants[0].id,
        resource: 'calls',
        search: 'x',
        sort: { field: 'notes', dir: 'asc' },
        filters: [{ field: 'status', op: 'eq', value: 'completed' }],
      },
      'records:searchIndex': {},
      'views:list': {},
      'views:save': { name: 'my calls', resource: 'calls', tenant: tenants[0].id, state: { search: 'x' } },
      'views:delete': { id: 1 },
      'migrate:audit': { databaseUrl: crm.databaseUrl },
      'migrate:plan': { tables: ['calls'], databaseUrl: crm.databaseUrl },
      'migrate:run': { tables: ['calls'], databaseUrl: crm.databaseUrl },
      'migrate:control': { pause: true },
      'migrate:status': { databaseUrl: crm.databaseUrl },
      'migrate:verify': { databaseUrl: crm.databaseUrl },
      'migrate:rollback': { confirm: true, databaseUrl: crm.databaseUrl },
      'migrate:backupVerify': { databaseUrl: crm.databaseUrl },
      'migrate:rlsPlan': { databaseUrl: crm.databaseUrl },
      'migrate:rlsApply': { confirm: true, databaseUrl: crm.databaseUrl },
      'migrate:rlsProve': { databaseUrl: crm.databaseUrl },
      'migrate:rlsRollback': { confirm: true, databaseUrl: crm.databaseUrl },
      'code:audit': { src: join(FIXTURE_DIR, 'backend') },
      'code:handlers': {},
    };
    expect(Object.keys(valid).sort()).toEqual([...CHANNELS].sort());
    for (const channel of CHANNELS) {
      // exercised below, end-to-end, and in offline.test.ts (it turns the session offline)
      if (channel === 'session:signOut' || channel === 'demo:start' || channel === 'session:openOffline' || channel === 'cache:import') continue;
      const r = await ts.call(channel, valid[channel]);
      expect(r.status, `${channel}: ${JSON.stringify(r.body)}`).toBe(200);
      expect(r.body.ok).toBe(true);
      expect(contract[channel].output.safeParse(r.body.value).success).toBe(true);
    }
    const out = await ts.call('session:signOut', {});
    expect(out.body).toEqual({ ok: true, value: { signedOut: true } });
  });

  it('answers 1,000 malformed payloads with clear errors: no crash, no 500, no stack trace', async () => {
    let seed = 99;
    const rnd = (n: number) => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed % n;
    };
    const junk: unknown[] = [
      null,
      0,
      -1,
      'x',
      '',
      true,
      [],
      [1, 2],
      { name: 5 },
      { name: 'Bad Name!' },
      { profile: 7 },
      { profile: { version: 2 } },
      { companyId: { $ne: null } },
      { undoToken: 'x'.repeat(300) },
      { connection: 'ref' },
      { connection: 'ref', username: 'a', password: '' },
      { extra: 1 },
      { name: 'ref', password: 1 },
      { __proto__: { admin: true } },
      { name: '../../etc/passwd' },
    ];
    const channels = [...CHANNELS, 'nope', 'connections:drop', '', '%00', '../app:info', 'tenants:list?x=1'];
    const raw = ['{', 'not json', '[[[', '{"a":}', '\u0000', ''];
    for (let i = 0; i < 1000; i++) {
      const channel = channels[rnd(channels.length)]!;
      const r = i % 10 === 0 ? await ts.call(channel, null, { raw: raw[rnd(raw.length)] }) : await ts.call(channel, junk[rnd(junk.length)]);
      expect(r.status, `${channel} ${JSON.stringify(r.body)}`).toBeLessThan(500);
      if (r.body.ok === false) {
        expect(typeof r.body.error.code).toBe('string');
        expect(r.body.error.message.length).toBeGreaterThan(5);
        expect(r.body.error.message).not.toMatch(/\n\s+at |src-main|node_modules/);
      }
    }
    // the host still works
    expect((await ts.call('app:info', {})).body.ok).toBe(true);
  });

  it('pushes status events over server-sent events', async () => {
    const res = await fetch(`${ts.host.url}/api/events?window=test-window-main`, { headers: { cookie: ts.cookie } });
    const reader = res.body!.getReader();
    await signIn('admin@acme.test');
    let text = '';
    const decoder = new TextDecoder();
    while (!text.includes('event: onStatus')) text += decoder.decode((await reader.read()).value);
    await reader.cancel();
    expect(text).toContain('admin@acme.test');
  });
});

describe('roles decide what the main process allows, whatever the caller asks', () => {
  it('a company admin sees their company only and is refused another tenant through the host', async () => {
    const s = await signIn('admin@acme.test');
    expect(s.body.value).toMatchObject({ role: 'company_admin', canSwitchTenant: false });
    const { tenants } = (await ts.call('tenants:list', {})).body.value;
    expect(tenants.map((t: any) => t.name)).toEqual(['Acme Corporation']);
    const globex = (await crm.pool.query(`SELECT id FROM companies WHERE slug = 'globex'`)).rows[0].id;
    const refused = await ts.call('tenants:select', { companyId: globex });
    expect(refused.status).toBe(403);
    expect(refused.body.error).toMatchObject({ code: 'forbidden', message: 'Company admins see their own company only.' });
  });

  it("a cached record opens for a super admin; a company admin cannot open another company's, nor audit another tenant", async () => {
    await signIn('super@tenantscope.test');
    expect((await ts.call('sync:run', { tenants: ['Globex Corporation'] })).status).toBe(200);
    const globexCall = (
      await crm.pool.query(
        `SELECT c.id FROM calls c JOIN users u ON u.id = c.user_id JOIN companies co ON co.id = u.company_id WHERE co.slug = 'globex' AND c.deleted_at IS NULL LIMIT 1`,
      )
    ).rows[0].id;
    const seen = (await ts.call('records:get', { resource: 'calls', id: globexCall })).body.value.record;
    expect(seen).toMatchObject({ resource: 'calls', id: globexCall, fetchedBy: 'super@tenantscope.test' });
    await signIn('admin@acme.test');
    expect((await ts.call('records:get', { resource: 'calls', id: globexCall })).body.value.record).toBeNull();
    const globex = (await crm.pool.query(`SELECT id FROM companies WHERE slug = 'globex'`)).rows[0].id;
    // the tenant is ignored for a company admin: their own partition, always
    const own = (await ts.call('audit:run', { tenant: globex })).body.value;
    expect(own.scope).not.toBe(globex);
  });

  it('a super admin sees every tenant and may switch', async () => {
    await signIn('super@tenantscope.test');
    const { tenants } = (await ts.call('tenants:list', {})).body.value;
    expect(tenants.map((t: any) => t.name).sort()).toEqual(['Acme Corporation', 'Globex Corporation', 'Initech']);
    const r = await ts.call('tenants:select', { companyId: tenants[2].id });
    expect(r.body.value.selected).toBe(tenants[2].id);
  });

  it("a user with no company is refused with the seed's message", async () => {
    await ts.call('session:signOut', {});
    const r = await signIn('nobody@tenantscope.test');
    expect(r.status).toBe(403);
    expect(r.body.error.message).toMatch(/^No company associated/);
    expect((await ts.call('tenants:list', {})).body.error.code).toBe('unauthenticated');
  });

  it('wrong credentials are told apart from everything else', async () => {
    const r = await ts.call('session:signIn', { connection: 'ref', username: 'admin@acme.test', password: 'wrong' });
    expect(r.body.error.code).toBe('bad-credentials');
  });
});

describe('connections', () => {
  async function test(
    name: string,
    baseUrl: string,
    extra: Record<string, unknown> = {},
    creds: Record<string, string> = { username: 'admin@acme.test', password: 'demo' },
  ) {
    await ts.call('connections:save', { profile: { ...referenceProfile(name, baseUrl), ...extra }, replace: true });
    return (await ts.call('connections:test', { name, ...creds })).body.value;
  }
  const failed = (r: any) => r.checks.find((c: any) => c.status === 'fail' || c.status === 'warn');

  it('"Test connection" tells apart unreachable, TLS failure, wrong credentials, no OpenAPI document and not-a-CRM', async () => {
    const closed = await new Promise<number>((resolve) => {
      const s = createServer();
      s.listen(0, '127.0.0.1', () => {
        const p = (s.address() as any).port;
        s.close(() => resolve(p));
      });
    });
    const unreachable = await test('t-unreachable', `http://127.0.0.1:${closed}`);
    expect(failed(unreachable)).toMatchObject({ name: 'reachable', code: 'unreachable' });
    expect(failed(unreachable).message).toMatch(/Check the address/);

    const tls = await test('t-tls', crm.url.replace('http://', 'https://'));
    expect(failed(tls)).toMatchObject({ name: 'reachable', code: 'tls' });

    const creds = await test('t-creds', crm.url, {}, { username: 'admin@acme.test', password: 'wrong' });
    expect(failed(creds)).toMatchObject({ name: 'sign-in', code: 'bad-credentials' });

    const noDoc = await test('t-nodoc', crm.url, { openapiPath: '/no-such-openapi.json' });
    expect(failed(noDoc)).toMatchObject({ name: 'openapi', code: 'no-openapi', status: 'warn' });
    expect(noDoc.checks.find((c: any) => c.name === 'sign-in').status).toBe('pass');

    const html = createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/html' });
      res.end('<h1>Welcome to nginx</h1>');
    });
    await new Promise<void>((r) => html.listen(0, '127.0.0.1', () => r()));
    try {
      const notCrm = await test('t-notcrm', `http://127.0.0.1:${(html.address() as any).port}`);
      expect(failed(notCrm)).toMatchObject({ name: 'openapi', code: 'not-a-crm' });
      expect(notCrm.ok).toBe(false);
    } finally {
      html.close();
    }

    const ok = await test('t-ok', crm.url);
    expect(ok.ok).toBe(true);
    expect(ok.role).toBe('company_admin');
    // the list style is confirmed by one real request
    expect(ok.checks.find((c: any) => c.name === 'lists')).toMatchObject({
      status: 'pass',
      message: expect.stringMatching(/records at "items" as the profile says/),
    });
    const reference = referenceProfile('x', crm.url);
    const wrongList = await test('t-list', crm.url, { paging: { ...(reference.paging as object), itemsField: 'results' } });
    expect(failed(wrongList)).toMatchObject({
      name: 'lists',
      code: 'bad-response',
      message: expect.stringMatching(/answered records at "items".*not records at "results" as the profile says: set "paging.itemsField" to "items"/),
    });
    expect(wrongList.ok).toBe(false);
  });

  it('rejects a bad profile naming the field and what was expected', async () => {
    const r = await ts.call('connections:save', { profile: { ...referenceProfile('bad', 'ftp://x'), auth: { kind: 'password' } } });
    expect(r.status).toBe(400);
    expect(Object.keys(r.body.error.fields)).toEqual(expect.arrayContaining(['baseUrl', 'auth.loginPath']));
    expect(r.body.error.message).toMatch(/baseUrl: expected/);
  });

  it('keeps secrets out of every file the console writes and out of its log', async () => {
    const password = 'S3cret-pw-7f3a9';
    const dbPassword = 'db-pw-91c2e';
    const profile = { ...referenceProfile('secretive', crm.url), identities: [{ label: 'Acme admin', username: 'admin@acme.test' }] };
    const r = await ts.call('connections:save', { profile, databaseUrl: `postgres://app:${dbPassword}@127.0.0.1/crm`, secrets: { 'Acme admin': password } });
    expect(r.body.value.connection).toMatchObject({ hasDatabaseUrl: true, secretsHeld: ['Acme admin'] });
    await ts.call('connections:test', { name: 'secretive', username: 'admin@acme.test', password });
    const files: string[] = [];
    const walk = (d: string) => {
      for (const f of readdirSync(d)) {
        const p = join(d, f);
        if (statSync(p).isDirectory()) walk(p);
        else files.push(p);
      }
    };
    walk(ts.home);
    expect(files.length).toBeGreaterThan(0);
    for (const f of files) {
      if (statSync(f).size > 5_000_000) continue;
      const text = readFileSync(f, 'latin1');
      expect(text.includes(password), f).toBe(false);
      expect(text.includes(dbPassword), f).toBe(false);
    }
    expect(ts.logs.join('\n')).not.toContain(password);
    expect(ts.logs.join('\n')).not.toContain(dbPassword);
  });

  it('removal can be undone, and the built-in demo cannot be removed', async () => {
    await ts.call('connections:save', { profile: referenceProfile('undoable', crm.url) });
    const removed = (await ts.call('connections:remove', { name: 'undoable' })).body.value;
    const names = async () => (await ts.call('connections:list', {})).body.value.connections.map((c: any) => c.name);
    expect(await names()).not.toContain('undoable');
    await ts.call('connections:restore', { undoToken: removed.undoToken });
    expect(await names()).toContain('undoable');
    expect((await ts.call('connections:restore', { undoToken: removed.undoToken })).body.error.code).toBe('not-found');
    expect((await ts.call('connections:remove', { name: 'demo' })).body.error.code).toBe('conflict');
  });

  it('a corrupt connections.json is kept aside with a clear error, and nothing else is lost', async () => {
    const file = join(ts.home, 'connections.json');
    const before = readFileSync(file, 'utf8');
    writeFileSync(file, '{ "version": 1, "connections": [ oops');
    const r = await ts.call('connections:list', {});
    expect(r.body.error.message).toMatch(/connections\.json could not be read.*kept as/);
    const aside = readdirSync(ts.home).find((f) => f.startsWith('connections.json.unreadable-'));
    expect(aside && existsSync(join(ts.home, aside))).toBeTruthy();
    writeFileSync(file, before);
    expect((await ts.call('connections:list', {})).body.ok).toBe(true);
  });
});
