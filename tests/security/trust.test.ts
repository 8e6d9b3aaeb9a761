import { createServer, type Server } from 'node:http';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConnectionProfileSchema } from '../../src-shared/profile.ts';
import { CrmClient } from '../../src-main/crm/crmClient.ts';
import { projectRoot } from '../../src-main/core/home.ts';
import { startTestCrm, type TestCrm } from '../support/crm.ts';
import { referenceProfile, startTestConsole, type TestConsole } from '../support/console.ts';

/**
 * The trust boundary against a hostile window (anyone holding the host's token) and a hostile
 * profile: stored secrets go only to the CRM they were saved for, a cache filled from one CRM is
 * never opened under another, environment variables are read only by declared names.
 */

let crm: TestCrm;
let ts: TestConsole;
/** a CRM of the attacker's: records every request it gets, signs anyone in as a super admin */
let fake: { url: string; seen: Array<{ url: string; body: string }>; server: Server };

beforeAll(async () => {
  crm = await startTestCrm({ profile: 'legacy' });
  ts = await startTestConsole();
  const seen: Array<{ url: string; body: string }> = [];
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      seen.push({ url: req.url!, body: body + (req.headers.authorization ? ` ${req.headers.authorization}` : '') });
      res.setHeader('content-type', 'application/json');
      if (req.url!.startsWith('/api/auth/login')) return void res.end(JSON.stringify({ access_token: 'attacker-token' }));
      if (req.url!.startsWith('/api/auth/me'))
        return void res.end(JSON.stringify({ id: 'evil', email: 'super@tenantscope.test', name: 'Evil', role: 'super_admin', company_id: null }));
      if (req.url!.startsWith('/api/companies')) return void res.end(JSON.stringify({ items: [{ id: 'c1', name: 'Acme Corporation' }] }));
      res.statusCode = 404;
      res.end('{}');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  fake = { url: `http://127.0.0.1:${(server.address() as { port: number }).port}`, seen, server };
}, 120_000);

afterAll(async () => {
  await ts?.close();
  await crm?.close();
  await new Promise((r) => fake?.server.close(r));
});

const cacheRows = async (name: string) => (await ts.services.cache(name)).raw.prepare('SELECT count(*) FROM records').pluck().get() as number;

describe('a connection pointed at another CRM', () => {
  it('keeps none of its stored secrets or its cache: the profile-rewrite attack gets nothing', async () => {
    const password = 'demo';
    const profile: Record<string, unknown> = { ...referenceProfile('prod', crm.url), identities: [{ label: 'Root', username: 'super@tenantscope.test' }] };
    const saved = await ts.call('connections:save', { profile, databaseUrl: crm.databaseUrl, secrets: { Root: password } });
    expect(saved.body.value.connection).toMatchObject({ secretsHeld: ['Root'], hasDatabaseUrl: true });
    // the operator syncs: the cache now holds every tenant's rows
    expect((await ts.call('session:signIn', { connection: 'prod', username: 'super@tenantscope.test', password })).status).toBe(200);
    expect((await ts.call('sync:run', { all: true })).body.ok).toBe(true);
    const synced = await cacheRows('prod');
    expect(synced).toBeGreaterThan(100);
    await ts.call('session:signOut', {});

    // the attacker (anyone holding the host's token) rewrites the connection's address to their own CRM: refused
    const hostile = { ...profile, baseUrl: fake.url };
    const refused = await ts.call('connections:save', { profile: hostile, replace: true });
    expect(refused.status).toBe(403);
    expect(refused.body.error.message).toMatch(/Connection "prod" has been used: only a super admin signed in to it can change or remove it/);
    expect((await ts.call('connections:remove', { name: 'prod' })).status).toBe(403);
    expect((await ts.call('catalog:save', { connection: 'prod', catalog: profile.catalog })).status).toBe(403);
    // and so is a company admin of that CRM (who could otherwise map their role to super_admin)
    await ts.call('session:signIn', { connection: 'prod', username: 'admin@acme.test', password: 'demo' });
    expect(
      (
        await ts.call('connections:save', {
          profile: { ...profile, whoami: { ...(profile.whoami as object), roles: { super_admin: ['company_admin'], company_admin: [], user: ['user'] } } },
          replace: true,
        })
      ).status,
    ).toBe(403);
    await ts.call('session:signOut', {});
    // a super admin signed in to it may point it elsewhere; the secrets and the cache do not follow
    await ts.call('session:signIn', { connection: 'prod', username: 'super@tenantscope.test', password });
    const rewritten = await ts.call('connections:save', { profile: hostile, replace: true });
    expect(rewritten.status).toBe(200);
    expect(rewritten.body.value.connection).toMatchObject({ secretsHeld: [], hasDatabaseUrl: false });
    expect(rewritten.body.value.notice).toMatch(/stored passwords, tokens and database URL were dropped, and its cache was set aside/);
    // "Test connection" with the stored secrets sends the attacker no password
    const tested = await ts.call('connections:test', { name: 'prod' });
    expect(tested.status).toBe(200);
    expect(tested.body.value.checks.find((c: { name: string }) => c.name === 'sign-in').status).toBe('skipped');
    expect(fake.seen.some((r) => r.body.includes(password))).toBe(false);
    // signing in at the fake CRM as its "super admin" opens an empty cache, and no database URL
    expect((await ts.call('session:signIn', { connection: 'prod', username: 'super@tenantscope.test', password: 'anything' })).status).toBe(200);
    expect(await cacheRows('prod')).toBe(0);
    const audit = await ts.call('migrate:audit', {});
    expect(audit.body.ok).toBe(false);
    expect(audit.body.error.message).toMatch(/database URL/i);
    // the real cache is set aside, whole, not deleted and not opened
    const detached = readdirSync(join(ts.home, 'cache', 'detached')).filter((f) => /^prod\.rebound-\d+\.sqlite$/.test(f));
    expect(detached).toHaveLength(1);
    // the fake CRM's "super admin" points it back at the real CRM: it holds nothing, the cache stays aside
    const back = await ts.call('connections:save', { profile, replace: true });
    expect(back.body.value.connection).toMatchObject({ secretsHeld: [], hasDatabaseUrl: false });
    expect(await cacheRows('prod')).toBe(0);
    expect(readdirSync(join(ts.home, 'cache', 'detached')).filter((f) => /^prod\.rebound-\d+\.sqlite$/.test(f))).toHaveLength(2);
  }, 120_000);

  it('a cache made for one CRM refuses to open under a connection that names another', async () => {
    const { openCache } = await import('../../src-main/cache/cacheDb.ts');
    const { bindCache } = await import('../../src-main/cache/cacheFiles.ts');
    const cache = await openCache(join(ts.home, 'cache', 'bound-test.sqlite'));
    try {
      bindCache(cache.raw, 'x', JSON.stringify({ origin: 'https://crm.example.com', auth: 'password', signIn: '/login', header: 'authorization' }));
      expect(() =>
        bindCache(cache.raw, 'x', JSON.stringify({ origin: 'https://evil.example', auth: 'password', signIn: '/login', header: 'authorization' })),
      ).toThrow(/filled from https:\/\/crm\.example\.com .*\(https:\/\/evil\.example\): it is not opened under another CRM/);
    } finally {
      await cache.close();
    }
  });

  it("a connection added under a removed one's name starts with an empty cache; undo brings the old one back", async () => {
    const profile = { ...referenceProfile('reused', crm.url), identities: [{ label: 'Root', username: 'super@tenantscope.test' }] };
    await ts.call('connections:save', { profile, secrets: { Root: 'demo' } });
    await ts.call('session:signIn', { connection: 'reused', username: 'super@tenantscope.test', password: 'demo' });
    expect((await ts.call('sync:run', { all: true })).body.ok).toBe(true);
    const rows = await cacheRows('reused');
    // removing it is the super admin's (signed in to it); it signs them out
    const { undoToken } = (await ts.call('connections:remove', { name: 'reused' })).body.value;
    expect(existsSync(join(ts.home, 'cache', 'reused.sqlite'))).toBe(false);
    expect((await ts.call('session:current', {})).body.value.session).toBeNull();
    // the undo brings back the connection, its secrets and its cache
    expect((await ts.call('connections:restore', { undoToken })).body.value.connection.secretsHeld).toEqual(['Root']);
    expect(await cacheRows('reused')).toBe(rows);
    // removed again, and a new connection of that name (the same address) sees none of it
    await ts.call('session:signIn', { connection: 'reused', username: 'super@tenantscope.test', password: 'demo' });
    expect((await ts.call('connections:remove', { name: 'reused' })).status).toBe(200);
    await ts.call('connections:save', { profile });
    expect(await cacheRows('reused')).toBe(0);
    const listed = (await ts.call('connections:list', {})).body.value.connections.find((c: { name: string }) => c.name === 'reused');
    expect(listed.secretsHeld).toEqual([]);
  }, 120_000);
});

describe('environment variables as secret sources', () => {
  it('only TENANTSCOPE_* names (or those the operator allows) are read: a profile naming HOME or a CI secret is refused', async () => {
    const profile = (env: string) => ({
      ...referenceProfile('envy', fake.url),
      identities: [{ label: 'Root', username: 'super@tenantscope.test', passwordEnv: env }],
    });
    process.env.CI_DEPLOY_KEY = 'ci-secret-value-77';
    const before = fake.seen.length;
    for (const name of ['HOME', 'CI_DEPLOY_KEY']) {
      const r = await ts.call('connections:save', { profile: profile(name), replace: true });
      expect(r.status).toBe(403);
      expect(r.body.error.message).toContain(`The environment variable ${name} is not one the console reads secrets from`);
      expect(r.body.error.fields).toHaveProperty(['identities.Root.passwordEnv']);
    }
    const db = await ts.call('connections:save', { profile: { ...referenceProfile('envy', fake.url), databaseUrlEnv: 'DATABASE_URL' }, replace: true });
    expect(db.status).toBe(403);
    // a connections.json written by hand with such a name: nothing is read, nothing is sent
    const { writeFileSync, readFileSync } = await import('node:fs');
    const file = join(ts.home, 'connections.json');
    const stored = JSON.parse(readFileSync(file, 'utf8'));
    stored.connections.push(profile('CI_DEPLOY_KEY'));
    writeFileSync(file, JSON.stringify(stored));
    const tested = await ts.call('connections:test', { name: 'envy' });
    expect(JSON.stringify(tested.body)).toMatch(/CI_DEPLOY_KEY is not one the console reads secrets from/);
    expect(fake.seen.slice(before).some((r) => r.body.includes('ci-secret-value-77'))).toBe(false);
    // a TENANTSCOPE_ name is read, and so is one the operator allows in the console's environment
    const { envAllowed } = await import('../../src-main/connections/connectionStore.ts');
    expect(envAllowed('TENANTSCOPE_PROD_PW', {})).toBe(true);
    expect(envAllowed('ACME_PW', {})).toBe(false);
    expect(envAllowed('ACME_PW', { TENANTSCOPE_ENV_ALLOW: 'GLOBEX_PW, ACME_*' })).toBe(true);
    expect(envAllowed('TENANTSCOPE_ENV_ALLOW', {})).toBe(false);
    delete process.env.CI_DEPLOY_KEY;
  });
});

describe('credentials in clear text', () => {
  it('no password or token is sent over plain http to another machine', async () => {
    const profile = ConnectionProfileSchema.parse({
      version: 1,
      name: 'plain',
      baseUrl: 'http://10.255.255.1:8000',
      auth: { kind: 'password', loginPath: '/login' },
      whoami: { path: '/me' },
    });
    await expect(new CrmClient(profile).signIn('a@b.test', 'pw')).rejects.toMatchObject({
      code: 'tls',
      message: expect.stringMatching(/plain http on another machine: the console sends no password or token there in clear text/),
    });
    await expect(new CrmClient(profile).whoami('token')).rejects.toMatchObject({ code: 'tls' });
    // (a request that had been tried would end 'unreachable': nothing answers at 10.255.255.1)
  });
});

describe('probes of other hosts', () => {
  it("catalog check against a database address of the caller's choosing needs a super admin of the connection", async () => {
    await ts.call('connections:save', { profile: referenceProfile('probe', crm.url) });
    await ts.call('session:signOut', {});
    const asked = await ts.call('catalog:check', { connection: 'probe', databaseUrl: 'postgres://postgres:guess@10.255.255.1:5432/x' });
    expect(asked.status).toBe(403);
    expect(asked.body.error.message).toMatch(/another database than the connection's own needs a super admin signed in to "probe"/);
    await ts.call('session:signIn', { connection: 'probe', username: 'admin@acme.test', password: 'demo' });
    expect((await ts.call('catalog:check', { connection: 'probe', databaseUrl: 'postgres://postgres:guess@10.255.255.1:5432/x' })).status).toBe(403);
    await ts.call('session:signOut', {});
  });

  it("catalog discovery from an address no connection holds is the CLI's, not a window's", async () => {
    const asked = await ts.call('catalog:discover', { url: crm.url, databaseUrl: 'postgres://postgres:guess@10.255.255.1:5432/x' });
    expect(asked.status).toBe(403);
    expect(asked.body.error.message).toMatch(/tenantscope catalog discover/);
  });
});

describe('folders of this machine', () => {
  it('a backend checkout is read for a super admin in a window (or the operator at the CLI), never for anyone else', async () => {
    const src = join(projectRoot, 'tests', 'fixtures', 'fastapi-crm', 'backend');
    await ts.call('connections:save', { profile: referenceProfile('folders', crm.url) });
    await ts.call('session:signOut', {});
    expect((await ts.call('code:audit', { src })).status).toBe(401);
    await ts.call('session:signIn', { connection: 'folders', username: 'admin@acme.test', password: 'demo' });
    const asked = await ts.call('code:audit', { src });
    expect(asked.status).toBe(403);
    expect(asked.body.error.message).toBe('Only a super admin can do this.');
    await ts.call('session:signOut', {});
    await ts.call('session:signIn', { connection: 'folders', username: 'super@tenantscope.test', password: 'demo' });
    const read = await ts.call('code:audit', { src });
    expect(read.status).toBe(200);
    expect(read.body.value.findings.length).toBeGreaterThan(0);
    await ts.call('session:signOut', {});
  });
});

describe('files at rest', () => {
  it("the home, the caches and connections.json are this user's only", async () => {
    if (process.platform === 'win32') return;
    const mode = (p: string) => statSync(p).mode & 0o777;
    expect(mode(join(ts.home, 'cache'))).toBe(0o700);
    for (const f of readdirSync(join(ts.home, 'cache')).filter((x) => x.endsWith('.sqlite'))) expect(mode(join(ts.home, 'cache', f)), f).toBe(0o600);
    expect(mode(join(ts.home, 'connections.json'))).toBe(0o600);
  });
});

describe('offline sign-in', () => {
  it('an unknown user costs a scrypt too: the time does not tell who the cache knows', async () => {
    const { openCache } = await import('../../src-main/cache/cacheDb.ts');
    const { recordOperator, offlineOperator } = await import('../../src-main/session/offline.ts');
    const cache = await openCache(join(ts.home, 'cache', 'offline-timing.sqlite'));
    try {
      const session = {
        connection: 'x',
        user: { id: 'u1', email: 'known@acme.test', name: 'Known' },
        role: 'company_admin' as const,
        company: { id: 'c1', name: 'Acme' },
        canSwitchTenant: false,
        selectedTenant: 'c1',
        signedInAt: new Date().toISOString(),
        offline: false,
        dataAsOf: null,
      };
      await recordOperator(cache.raw, 'known@acme.test', session, [{ id: 'c1', name: 'Acme' }], 'right password');
      const median = async (username: string) => {
        const times: number[] = [];
        for (let i = 0; i < 3; i++) {
          const t = performance.now();
          await expect(offlineOperator(cache.raw, username, 'wrong password')).rejects.toMatchObject({ code: 'bad-credentials' });
          times.push(performance.now() - t);
        }
        return times.sort((a, b) => a - b)[1]!;
      };
      const known = await median('known@acme.test');
      const unknown = await median('nobody@acme.test');
      // the same work either way (a scrypt); before, an unknown user answered about 100 times sooner
      expect(unknown / known).toBeGreaterThan(0.3);
      expect((await offlineOperator(cache.raw, 'known@acme.test', 'right password')).role).toBe('company_admin');
    } finally {
      await cache.close();
    }
  });
});
