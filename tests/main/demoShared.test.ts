import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createServices } from '../../src-main/compose/services.ts';
import { runCli, tempHome } from '../support/cli.ts';

/**
 * One demo CRM per data folder, shared by every door: the CLI run beside the console uses the
 * console's demo CRM and leaves it running (it used to stop "the orphan" that held the cluster,
 * killing the window's database).
 */
describe('the demo CRM beside the CLI', () => {
  it("doctor, sync and test from the CLI use the console's running demo CRM and leave it up; the console still signs in and syncs; it stops with the console, and its data survives a restart of both", async () => {
    const home = tempHome('demo-shared');
    const services = createServices({ home, mode: 'browser', log: () => {} });
    let created = '';
    try {
      const started = await services.demo.start();
      expect(started.state, started.message ?? '').toBe('running');
      const record = JSON.parse(readFileSync(join(home, 'demo-crm', 'running.json'), 'utf8'));
      expect(record).toMatchObject({ owner: process.pid, url: started.url });
      const answers = async () =>
        (await fetch(`${started.url}/openapi.json`).then(
          (r) => r.status,
          () => 0,
        )) === 200;

      const doctor = await runCli(['--json', 'doctor'], { home });
      const demoCheck = JSON.parse(doctor.out).checks.find((c: { name: string }) => c.name === 'demo-crm');
      expect(demoCheck.status, doctor.err).toBe('pass');
      expect(await answers()).toBe(true);

      const sync = await runCli(['--json', 'sync', '--connection', 'demo', '--as', 'admin@acme.test', '--no-prove'], { home });
      expect(sync.code, sync.err).toBe(0);
      expect(JSON.parse(sync.out).rows).toBeGreaterThan(0);
      expect(await answers()).toBe(true);
      // the CRM is the same one, at the same address, still recorded as the console's
      expect(JSON.parse(readFileSync(join(home, 'demo-crm', 'running.json'), 'utf8'))).toEqual(record);

      const test = await runCli(['--json', 'test', '--connection', 'demo', '--only', 'calls'], { home });
      expect([0, 1], test.err.slice(-800)).toContain(test.code); // 1: the demo is the seed's before-state, it leaks
      expect(JSON.parse(test.out).cleanup.leftover).toEqual([]);
      expect(await answers()).toBe(true);

      const signedIn = await services.dispatch('session:signIn', { connection: 'demo', username: 'super@tenantscope.test', password: 'demo' });
      expect(signedIn.ok, JSON.stringify(signedIn)).toBe(true);
      const synced = await services.dispatch('sync:run', { all: true });
      expect(synced.ok, JSON.stringify(synced).slice(0, 400)).toBe(true);
      // something only the CRM's database holds, to find again after a restart
      const token = (
        (await (
          await fetch(`${started.url}/api/auth/login`, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify({ email: 'admin@acme.test', password: 'demo' }),
          })
        ).json()) as { access_token: string }
      ).access_token;
      created = (
        (await (
          await fetch(`${started.url}/api/contacts`, {
            method: 'POST',
            headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
            body: JSON.stringify({ first_name: 'Survives', last_name: 'Restart', email: `survives-${Date.now()}@acme.test` }),
          })
        ).json()) as { id: string }
      ).id;
    } finally {
      await services.close();
    }
    // the owner stopped it, and took its record away
    expect(existsSync(join(home, 'demo-crm', 'running.json'))).toBe(false);

    // both started again on the same data folder: the CRM's data and the cache are still there
    const again = createServices({ home, mode: 'browser', log: () => {} });
    try {
      const restarted = await again.demo.start();
      expect(restarted.state, restarted.message ?? '').toBe('running');
      const token = (
        (await (
          await fetch(`${restarted.url}/api/auth/login`, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify({ email: 'admin@acme.test', password: 'demo' }),
          })
        ).json()) as { access_token: string }
      ).access_token;
      expect((await fetch(`${restarted.url}/api/contacts/${created}`, { headers: { authorization: `Bearer ${token}` } })).status).toBe(200);
      expect((await again.cache('demo')).raw.prepare('SELECT count(*) FROM records').pluck().get()).toBeGreaterThan(100);
      expect((await again.dispatch('session:signIn', { connection: 'demo', username: 'super@tenantscope.test', password: 'demo' })).ok).toBe(true);
    } finally {
      await again.close();
    }
  }, 240_000);
});

describe('the CLI while the demo CRM starts', () => {
  it("says what it waits for, and keeps the CRM's own log out of its output unless --verbose", async () => {
    const home = tempHome('demo-quiet');
    const quiet = await runCli(['connections', 'test', 'demo'], { home });
    expect(quiet.code, quiet.err).toBe(0);
    expect(quiet.err).toContain('Starting the demo CRM…');
    expect(quiet.err).not.toMatch(/\[crm\]/);
    expect(quiet.out).toMatch(/Connection works\./);
    const verbose = await runCli(['--verbose', 'connections', 'test', 'demo'], { home });
    expect(verbose.code, verbose.err).toBe(0);
    expect(verbose.err).toMatch(/\[tenantscope\] \[crm\]/);
  }, 240_000);
});
