import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { SafeMode } from '../../src-main/session/safeMode.ts';
import { ConnectionProfileSchema } from '../../src-shared/profile.ts';
import { defaultLevel, safetyOf } from '../../src-shared/safety.ts';
import { referenceProfile, referenceConsoleForSuite } from '../support/console.ts';
import { referenceCli, referenceHome } from '../support/referenceCli.ts';
import { runCli } from '../support/cli.ts';
import { rmSync } from 'node:fs';

/**
 * Safe Mode: a production connection is read-only until the operator types its name, through
 * every door. The reference CRM runs on this machine (staging by default), so the tests save it
 * as production the way an operator would.
 */

const env = referenceConsoleForSuite();

const companyIdOnCalls = async () =>
  Number((await env.crm.pool.query(`SELECT count(*) FROM information_schema.columns WHERE table_name = 'calls' AND column_name = 'company_id'`)).rows[0].count);

describe('Safe Mode', () => {
  it('levels by default: the demo is demo, a CRM on this machine staging, any other production; only the demo is at the demo level', async () => {
    expect(defaultLevel({ embedded: true, baseUrl: 'http://127.0.0.1:1' })).toBe('demo');
    expect(defaultLevel({ embedded: false, baseUrl: 'http://localhost:8000' })).toBe('staging');
    expect(defaultLevel({ embedded: false, baseUrl: 'http://[::1]:8000' })).toBe('staging');
    expect(defaultLevel({ embedded: false, baseUrl: 'https://crm.example.com' })).toBe('production');
    expect(defaultLevel({ embedded: false, baseUrl: 'http://10.0.0.5' })).toBe('production');
    expect(safetyOf({ embedded: false, baseUrl: 'https://crm.example.com', safety: { level: 'staging', color: '#123456' } })).toEqual({
      level: 'staging',
      color: '#123456',
      chosen: true,
    });
    const listed = (await env.ts.call('connections:list', {})).body.value.connections;
    expect(listed.find((c: { name: string }) => c.name === 'demo').safety.level).toBe('demo');
    expect(listed.find((c: { name: string }) => c.name === 'ref').safety).toMatchObject({ level: 'staging', chosen: false });
    const demoLevel = await env.ts.call('connections:save', {
      profile: { ...referenceProfile('sneaky', 'https://crm.example.com'), safety: { level: 'demo' } },
    });
    expect(demoLevel.body.error.code).toBe('invalid-input');
    const badColour = await env.ts.call('connections:save', {
      profile: { ...referenceProfile('sneaky', env.crm.url), safety: { level: 'staging', color: 'red' } },
    });
    expect(badColour.body.error.code).toBe('invalid-input');
  });

  it('an unlock lasts the minutes asked, then writes are locked again', () => {
    let now = Date.parse('2026-12-04T10:00:00Z');
    const modes = new SafeMode(() => now);
    const prod = ConnectionProfileSchema.parse({ ...referenceProfile('prod', 'https://crm.example.com') });
    expect(modes.status('w', prod)).toMatchObject({ level: 'production', writes: false, unlockedUntil: null });
    expect(() => modes.unlock('w', prod, 'Prod')).toThrow(/exactly/);
    expect(modes.unlock('w', prod, 'prod', 10)).toMatchObject({ writes: true, unlockedUntil: '2026-12-04T10:10:00.000Z' });
    // another window (another tab of the HTTP host) is still locked
    expect(modes.status('other', prod).writes).toBe(false);
    now += 9 * 60_000;
    expect(() => modes.require('w', prod, 'a test write')).not.toThrow();
    now += 60_000;
    expect(() => modes.require('w', prod, 'a test write')).toThrow(/read-only in Safe Mode: a test write/);
  });

  it('through the HTTP host: a production connection refuses a migration run, an isolation run with writes and an eviction until unlocked by its name; read-only work goes on', async () => {
    const saved = await env.ts.call('connections:save', {
      profile: { ...referenceProfile('ref', env.crm.url), safety: { level: 'production' } },
      replace: true,
    });
    expect(saved.body.value.connection.safety).toMatchObject({ level: 'production', color: '#c62828', chosen: true });
    expect((await env.ts.call('session:signIn', { connection: 'ref', username: 'super@tenantscope.test', password: 'demo' })).body.ok).toBe(true);
    const tenants = (await env.ts.call('tenants:list', {})).body.value.tenants;
    expect((await env.ts.call('safety:status', {})).body.value).toMatchObject({ connection: 'ref', level: 'production', writes: false });

    const refused = async () => ({
      run: (await env.ts.call('migrate:run', { tables: ['calls'], databaseUrl: env.crm.databaseUrl })).body.error?.code,
      isolation: (await env.ts.call('isolation:run', { only: ['calls'] })).body.error?.code,
      evict: (await env.ts.call('cache:evict', { tenant: tenants[0].id })).body.error?.code,
      rls: (await env.ts.call('migrate:rlsApply', { confirm: true, databaseUrl: env.crm.databaseUrl })).body.error?.code,
    });
    expect(await refused()).toEqual({ run: 'read-only', isolation: 'read-only', evict: 'read-only', rls: 'read-only' });
    expect(await companyIdOnCalls()).toBe(0);
    // what writes nothing is served: a plan, a dry run, a sync (a read-only isolation run: at the CLI below)
    expect((await env.ts.call('migrate:plan', { tables: ['calls'], databaseUrl: env.crm.databaseUrl })).body.ok).toBe(true);
    expect((await env.ts.call('migrate:run', { tables: ['calls'], dryRun: true, databaseUrl: env.crm.databaseUrl })).body.value.status).toBe('dry-run');
    expect((await env.ts.call('sync:run', { tenants: [tenants[0].name] })).body.ok).toBe(true);

    // the name typed wrong unlocks nothing; typed right, this window only, until it is locked again
    expect((await env.ts.call('safety:unlock', { name: 'REF' })).body.error.code).toBe('invalid-input');
    expect((await env.ts.call('safety:unlock', { name: 'ref', minutes: 5 })).body.value).toMatchObject({ writes: true });
    // another tab signed in to the same connection is still locked
    const tab = { window: 'test-window-another-tab' };
    await env.ts.call('session:signIn', { connection: 'ref', username: 'super@tenantscope.test', password: 'demo' }, tab);
    expect((await env.ts.call('cache:evict', { tenant: tenants[0].id }, tab)).body.error?.code).toBe('read-only');
    const evicted = await env.ts.call('cache:evict', { tenant: tenants[0].id });
    expect(evicted.body.ok, JSON.stringify(evicted.body.error)).toBe(true);
    expect((await env.ts.call('safety:lock', {})).body.value.writes).toBe(false);
    expect((await env.ts.call('cache:evict', { tenant: tenants[0].id })).body.error.code).toBe('read-only');
    // signing out locks: the next person starts read-only
    await env.ts.call('safety:unlock', { name: 'ref' });
    await env.ts.call('session:signOut', {});
    await env.ts.call('session:signIn', { connection: 'ref', username: 'super@tenantscope.test', password: 'demo' });
    expect((await env.ts.call('safety:status', {})).body.value.writes).toBe(false);
  }, 120_000);

  it('at the CLI: the level is said first; a production connection refuses writes without --allow-writes and nothing changes', async () => {
    const home = referenceHome(env.crm, 'safemode');
    try {
      const file = join(home, 'connections.json');
      const doc = JSON.parse((await import('node:fs')).readFileSync(file, 'utf8'));
      doc.connections[0].safety = { level: 'production' };
      writeFileSync(file, JSON.stringify(doc));
      const cli = referenceCli(env.crm, home);
      const refused = await cli(['migrate', 'run', '--tables', 'calls', '--yes']);
      expect(refused.code).toBe(2);
      expect(refused.err.split('\n')[0]).toBe('Connection ref: production, read-only (Safe Mode; --allow-writes lets this command write)');
      expect(JSON.parse(refused.out).error.code).toBe('read-only');
      expect(await companyIdOnCalls()).toBe(0);
      const test = (args: string[]) => runCli(['test', ...args, '--connection', 'ref', '--json'], { home, env: { TENANTSCOPE_REF_PW: 'demo' } });
      const isolation = await test(['--only', 'calls']);
      expect(isolation.code).toBe(2);
      expect(JSON.parse(isolation.out).error.code).toBe('read-only');
      // a read-only isolation run is served (exit 1: the legacy CRM leaks)
      const readOnly = await test(['--only', 'calls', '--read-only']);
      expect(readOnly.code, readOnly.err).toBe(1);

      const allowed = await cli(['migrate', 'run', '--tables', 'calls', '--yes', '--allow-writes']);
      expect(allowed.code, allowed.err).toBe(0);
      expect(allowed.err).toContain('Connection ref: production, writes allowed for this command (--allow-writes)');
      expect(await companyIdOnCalls()).toBe(1);
      expect((await cli(['migrate', 'rollback', '--yes', '--allow-writes'])).code).toBe(0);
      expect(await companyIdOnCalls()).toBe(0);

      // the level is changed from the CLI too, and listed
      const plain = (args: string[]) => runCli([...args, '--json'], { home });
      const set = await plain(['connections', 'set', 'ref', '--level', 'staging', '--color', '#0055aa']);
      expect(set.code, set.err).toBe(0);
      const list = JSON.parse((await plain(['connections', 'list'])).out);
      expect(list.connections.find((c: { name: string }) => c.name === 'ref').safety).toEqual({ level: 'staging', color: '#0055aa', chosen: true });
      expect((await plain(['connections', 'set', 'ref', '--level', 'demo'])).code).toBe(2);
    } finally {
      rmSync(home, { recursive: true, force: true });
    }
  }, 300_000);
});
