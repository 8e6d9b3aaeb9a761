import { execFile } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { projectRoot } from '../../src-main/core/home.ts';
import { startTestCrm, type TestCrm } from '../support/crm.ts';

const run = promisify(execFile);
const bin = join(projectRoot, 'bin', 'tenantscope.mjs');

async function cli(home: string, args: string[], env: Record<string, string> = {}) {
  try {
    const r = await run(process.execPath, [bin, ...args], { env: { ...process.env, TENANTSCOPE_HOME: home, ...env }, timeout: 60_000 });
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (e: any) {
    return { code: e.code as number, stdout: e.stdout as string, stderr: e.stderr as string };
  }
}

describe('tenantscope CLI', () => {
  let crm: TestCrm;
  let home: string;
  beforeAll(async () => {
    crm = await startTestCrm();
    home = mkdtempSync(join(tmpdir(), 'tenantscope-cli-'));
  });
  afterAll(() => crm?.close());

  it('adds a connection, lists it as one JSON document on stdout, and tests it (exit 0)', async () => {
    const add = await cli(home, ['connections', 'add', 'acme-crm', '--base-url', crm.url, '--identity', 'Acme admin=admin@acme.test:TENANTSCOPE_ACME_PW']);
    expect(add.code).toBe(0);
    const list = await cli(home, ['--json', 'connections', 'list']);
    expect(list.code).toBe(0);
    const doc = JSON.parse(list.stdout);
    expect(doc.connections.map((c: any) => c.name)).toEqual(['demo', 'acme-crm']);
    const test = await cli(home, ['--json', 'connections', 'test', 'acme-crm'], { TENANTSCOPE_ACME_PW: 'demo' });
    expect(test.code).toBe(0);
    expect(JSON.parse(test.stdout)).toMatchObject({ ok: true, role: 'company_admin' });
  });

  it('exits 1 when the test finds a problem and 2 when it cannot do its work', async () => {
    const wrong = await cli(home, ['--json', 'connections', 'test', 'acme-crm', '--username', 'admin@acme.test', '--password-env', 'PW'], { PW: 'wrong' });
    expect(wrong.code).toBe(1);
    expect(JSON.parse(wrong.stdout).checks.find((c: any) => c.name === 'sign-in').code).toBe('bad-credentials');
    const missing = await cli(home, ['--json', 'connections', 'test', 'no-such']);
    expect(missing.code).toBe(2);
    expect(JSON.parse(missing.stdout).error.code).toBe('not-found');
    const bad = await cli(home, ['connections', 'add', 'x', '--base-url', 'not a url']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/baseUrl: expected/);
  });

  it('doctor reports Node, the native module, Chromium and Electron', async () => {
    const r = await cli(home, ['--json', 'doctor', '--no-demo']);
    const doc = JSON.parse(r.stdout);
    expect(doc.checks.map((c: any) => c.name)).toEqual(['node', 'native-sqlite', 'cache-encryption', 'chromium', 'electron']);
    expect(doc.checks.find((c: any) => c.name === 'native-sqlite').status).toBe('pass');
    expect(r.code).toBe(doc.ok ? 0 : 1);
  });

  it('catalog discover writes the catalog to a file and prints it as one JSON document', async () => {
    const out = join(home, 'catalog.json');
    const r = await cli(home, ['--json', 'catalog', 'discover', '--url', crm.url, '--db-env', 'TENANTSCOPE_TEST_DB', '--out', out], {
      TENANTSCOPE_TEST_DB: crm.databaseUrl,
    });
    expect(r.code).toBe(0);
    const doc = JSON.parse(r.stdout);
    expect(doc.catalog.resources).toHaveLength(32);
    expect(doc.usedDatabase).toBe(true);
    const { readFileSync } = await import('node:fs');
    expect(JSON.parse(readFileSync(out, 'utf8'))).toEqual(doc.catalog);
    // a password on the command line (visible in ps) is refused, with the replacement spelled out
    const withPassword = new URL(crm.databaseUrl);
    withPassword.password ||= 'pw';
    const refused = await cli(home, ['--json', 'catalog', 'discover', '--url', crm.url, '--db', withPassword.toString()]);
    expect(refused.code).toBe(2);
    expect(JSON.parse(refused.stdout).error.message).toMatch(/--db puts the database password on the command line.*--db-env TENANTSCOPE_DB/);
  });

  it('catalog check exits 0 without drift and 1 with drift, and 2 when the CRM cannot be read', async () => {
    await cli(home, ['connections', 'add', 'ref', '--base-url', crm.url]);
    const clean = await cli(home, ['--json', 'catalog', 'check', '--connection', 'ref', '--db-env', 'TENANTSCOPE_TEST_DB'], {
      TENANTSCOPE_TEST_DB: crm.databaseUrl,
    });
    expect(clean.code).toBe(0);
    expect(JSON.parse(clean.stdout).drift).toEqual([]);
    await crm.pool.query('ALTER TABLE emails ADD COLUMN company_id uuid');
    try {
      const drifted = await cli(home, ['--json', 'catalog', 'check', '--connection', 'ref', '--db-env', 'TENANTSCOPE_TEST_DB'], {
        TENANTSCOPE_TEST_DB: crm.databaseUrl,
      });
      expect(drifted.code).toBe(1);
      expect(JSON.parse(drifted.stdout).drift.map((d: any) => d.message)).toContain('emails gained its company_id column');
    } finally {
      await crm.pool.query('ALTER TABLE emails DROP COLUMN company_id');
    }
    const bad = await cli(home, ['--json', 'catalog', 'discover', '--url', 'http://127.0.0.1:1']);
    expect(bad.code).toBe(2);
    expect(JSON.parse(bad.stdout).error.code).toBe('unreachable');
  });
});
