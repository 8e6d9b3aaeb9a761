import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { describe, expect, it } from 'vitest';
import { createTestDatabase } from '../support/crm.ts';

const root = join(import.meta.dirname, '..', '..');

/** Starts `npm run crm`'s program and waits for its CRM_URL line. */
function startCrmProcess(args: string[], env: Record<string, string | undefined>) {
  const child = spawn(process.execPath, ['--import', 'tsx', join(root, 'src-crm', 'main.ts'), ...args], {
    cwd: root,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: string[] = [];
  const ready = new Promise<Record<string, string>>((resolve, reject) => {
    createInterface({ input: child.stdout! }).on('line', (l) => {
      lines.push(l);
      if (l.startsWith('PROFILE=')) resolve(Object.fromEntries(lines.map((x) => x.split(/=(.*)/s).slice(0, 2) as [string, string])));
    });
    child.on('exit', (code) => reject(new Error(`crm exited ${code}`)));
  });
  const stopped = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, ready, stopped };
}

async function getAcmeCall(url: string, email: string) {
  const login = await (
    await fetch(`${url}/api/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email, password: 'demo' }) })
  ).json();
  const headers = { authorization: `Bearer ${login.access_token}` };
  const superLogin = await (
    await fetch(`${url}/api/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email: 'super@tenantscope.test', password: 'demo' }),
    })
  ).json();
  const companies = await (await fetch(`${url}/api/companies`, { headers: { authorization: `Bearer ${superLogin.access_token}` } })).json();
  const acme = companies.items.find((c: any) => c.slug === 'acme').id;
  const calls = await (await fetch(`${url}/api/calls?company_id=${acme}`, { headers: { authorization: `Bearer ${superLogin.access_token}` } })).json();
  return (await fetch(`${url}/api/calls/${calls.items[0].id}`, { headers })).status;
}

describe('the CRM program', () => {
  it('prints CRM_URL and DATABASE_URL, and a Globex user reads an Acme call under legacy (200) but not under fixed (404)', async () => {
    const db = await createTestDatabase();
    try {
      for (const [profile, expected] of [
        ['legacy', 200],
        ['fixed', 404],
      ] as const) {
        const p = startCrmProcess(['--seed', 'demo', '--profile', profile], { DATABASE_URL: db.url });
        const out = await p.ready;
        expect(out.CRM_URL).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
        expect(out.DATABASE_URL).toBe(db.url);
        expect(await getAcmeCall(out.CRM_URL!, 'user@globex.test')).toBe(expected);
        p.child.kill('SIGTERM');
        expect(await p.stopped).toBe(0);
      }
    } finally {
      await db.drop();
    }
  });

  it('starts its own embedded PostgreSQL without DATABASE_URL, keeps the data between runs, and starts again after being killed', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tenantscope-crm-'));
    try {
      const first = startCrmProcess(['--seed', 'demo', '--data-dir', dir], { DATABASE_URL: undefined });
      const a = await first.ready;
      expect(a.DATABASE_URL).toMatch(/^postgres:\/\/.*\/crm$/);
      first.child.kill('SIGKILL'); // leaves its PostgreSQL behind, holding the data folder
      await first.stopped;
      const second = startCrmProcess(['--seed', 'demo', '--data-dir', dir], { DATABASE_URL: undefined });
      const b = await second.ready;
      expect(await getAcmeCall(b.CRM_URL!, 'user@globex.test')).toBe(200);
      second.child.kill('SIGTERM');
      expect(await second.stopped).toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses a bad enforcement profile with exit 2 and the field at fault', async () => {
    const p = startCrmProcess(['--profile', '/no/such/profile.json'], { DATABASE_URL: 'postgres://127.0.0.1:1/x' });
    let err = '';
    p.child.stderr!.on('data', (d) => (err += d));
    p.ready.catch(() => {});
    expect(await p.stopped).toBe(2);
    expect(err).toMatch(/cannot read enforcement profile/);
  });
});
