/**
 * bench/audit: every audit check over a cache of 1,000,000 rows synced from the reference CRM's
 * `--seed scale`, timed; baseline in the same run: one plain scan of the same rows
 * (SELECT count(*), sum(length(payload)) FROM records), the floor for any check that reads them.
 * Target: all checks within 2 s.  Options: --tenants N (50), --rows N (1000000).
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { ConnectionProfileSchema } from '../src-shared/profile.ts';
import { openCache } from '../src-main/cache/cacheDb.ts';
import { EventBus } from '../src-main/core/eventBus.ts';
import { projectRoot } from '../src-main/core/home.ts';
import { CrmClient } from '../src-main/crm/crmClient.ts';
import { ALL, SyncService } from '../src-main/sync/syncService.ts';
import { runAudit } from '../src-main/audit/auditService.ts';

const arg = (name: string, fallback: number) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
};
const tenantsN = arg('tenants', 50);
const rowsN = arg('rows', 1_000_000);
const log = (s: string) => process.stderr.write(`${s}\n`);
const dir = mkdtempSync(join(tmpdir(), 'tenantscope-bench-audit-'));

log(`seeding the reference CRM: ${tenantsN} tenants, ${rowsN} rows…`);
const crm = spawn(process.execPath, ['--import', 'tsx', join(projectRoot, 'src-crm', 'main.ts'), '--seed', 'scale', '--tenants', String(tenantsN), '--rows', String(rowsN), '--fresh', '--data-dir', join(dir, 'crm'), '--profile', 'fixed'], { cwd: projectRoot, stdio: ['ignore', 'pipe', 'ignore'], env: { ...process.env, DATABASE_URL: '' } });
const urls = await new Promise<Record<string, string>>((resolve, reject) => {
  const got: Record<string, string> = {};
  createInterface({ input: crm.stdout! }).on('line', (l) => {
    const [k, v] = l.split(/=(.*)/s);
    if (k && v) got[k] = v;
    if (k === 'PROFILE') resolve(got);
  });
  crm.on('exit', (c) => reject(new Error(`the CRM exited ${c}`)));
});
try {
  const raw = JSON.parse(readFileSync(join(projectRoot, 'profiles', 'reference-crm.json'), 'utf8'));
  const profile = ConnectionProfileSchema.parse({ ...raw, embedded: false, demoPassword: undefined, name: 'bench', baseUrl: urls.CRM_URL });
  const client = new CrmClient(profile);
  const token = (await client.signIn('super@tenantscope.test', 'demo')).token;
  const cache = await openCache(join(dir, 'cache.sqlite'));
  log('syncing every tenant into the cache…');
  const synced = await new SyncService(cache, profile, new EventBus()).run({ email: 'super@tenantscope.test', role: 'super_admin', companyId: null, token: () => token, refresh: async () => token }, [{ id: ALL, name: 'every tenant' }], { pageSize: 1000 });
  crm.kill('SIGTERM'); // the audit needs no network
  const rows = cache.raw.prepare('SELECT count(*) FROM records').pluck().get() as number;
  log(`cache: ${rows} rows (${synced.rows} synced)`);
  // warm the page cache as a user's second audit would be; then time the baseline scan and the audit
  cache.raw.prepare('SELECT count(*), sum(length(payload)) FROM records').get();
  let t = performance.now();
  cache.raw.prepare('SELECT count(*), sum(length(payload)) FROM records').get();
  const scanSeconds = (performance.now() - t) / 1000;
  t = performance.now();
  const timings = new Map<string, number>();
  const audit = runAudit(cache.raw, profile.catalog, { timings });
  const auditSeconds = (performance.now() - t) / 1000;
  const marks = [...timings];
  const split = marks.slice(1).map(([k, v], i) => `${k} ${((v - marks[i]![1]) / 1000).toFixed(2)} s`).join(', ');
  log(`audit: ${audit.findings.length} findings in ${auditSeconds.toFixed(2)} s (${split}); a plain scan of the rows ${scanSeconds.toFixed(2)} s`);
  t = performance.now();
  const own = runAudit(cache.raw, profile.catalog, { company: audit.models.length ? (cache.raw.prepare("SELECT company_id FROM records WHERE company_id NOT IN ('unassigned') GROUP BY company_id ORDER BY count(*) DESC LIMIT 1").pluck().get() as string) : null });
  const ownSeconds = (performance.now() - t) / 1000;
  log(`a company admin's audit of the largest company: ${own.findings.length} findings in ${ownSeconds.toFixed(2)} s`);
  await cache.close();
  const result = {
    bench: 'audit', rows, findings: audit.findings.length,
    auditSeconds: +auditSeconds.toFixed(2), companyAuditSeconds: +ownSeconds.toFixed(2),
    baselineScanSeconds: +scanSeconds.toFixed(2), auditVsScan: +(auditSeconds / scanSeconds).toFixed(1),
    targets: { auditSeconds: 2 },
    met: auditSeconds <= 2,
  };
  process.stdout.write(JSON.stringify(result) + '\n');
} finally {
  crm.kill('SIGTERM');
  await new Promise((r) => (crm.exitCode !== null ? r(null) : crm.once('exit', r)));
  rmSync(dir, { recursive: true, force: true });
}
