import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createServices } from '../../src-main/core/services.ts';
import { runCli, tempHome } from '../support/cli.ts';

/**
 * One demo CRM per data folder, shared by every door: the CLI run beside the console uses the
 * console's demo CRM and leaves it running (it used to stop "the orphan" that held the cluster,
 * killing the window's database).
 */
describe('the demo CRM beside the CLI', () => {
  it('doctor and sync from the CLI use the console\'s running demo CRM and leave it up; the console still signs in; it stops with the console', async () => {
    const home = tempHome('demo-shared');
    const services = createServices({ home, mode: 'browser', log: () => {} });
    try {
      const started = await services.demo.start();
      expect(started.state, started.message ?? '').toBe('running');
      const record = JSON.parse(readFileSync(join(home, 'demo-crm', 'running.json'), 'utf8'));
      expect(record).toMatchObject({ owner: process.pid, url: started.url });
      const answers = async () => (await fetch(`${started.url}/openapi.json`).then((r) => r.status, () => 0)) === 200;

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

      const signedIn = await services.dispatch('session:signIn', { connection: 'demo', username: 'super@tenantscope.test', password: 'demo' });
      expect(signedIn.ok, JSON.stringify(signedIn)).toBe(true);
    } finally {
      await services.close();
    }
    // the owner stopped it, and took its record away
    expect(existsSync(join(home, 'demo-crm', 'running.json'))).toBe(false);
  }, 240_000);
});

describe('the CLI while the demo CRM starts', () => {
  it('says what it waits for, and keeps the CRM\'s own log out of its output unless --verbose', async () => {
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
