/**
 * bench/audit: every audit check over a cache of 1,000,000 rows synced from the reference CRM's
 * `--seed scale`, timed; baseline in the same run: a plain scan of the same rows
 * (SELECT count(*), sum(length(payload)) FROM records), the floor for any check that reads them.
 * Then the audit dashboard on that cache in Chromium, through the HTTP host: the time from the
 * audit's data arriving in the window to the first frame painted with it.
 * The same audit and scan again on a copy of that cache encrypted at rest (SQLCipher 4), beside.
 * Targets: all checks within 2 s (the median of three runs) and within 2x the scan (the fastest of
 * three runs of each; the medians and each run are printed too); the dashboard's first paint after
 * its data within 500 ms. Beside them, a floor: the cross-tenant reference check's lookups alone
 * (every reference's target found by its key), against the same scan.
 * Options: --tenants N (50), --rows N (1000000).
 */
import { benchArg, log, startBenchCrm } from './_crm.ts';
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openCache } from '../src-main/cache/cacheDb.ts';
import { EventBus } from '../src-main/core/eventBus.ts';
import { projectRoot } from '../src-main/core/home.ts';
import { CrmClient } from '../src-main/crm/crmClient.ts';
import { ALL } from '../src-shared/partitions.ts';
import { SyncService } from '../src-main/sync/syncService.ts';
import { runAudit } from '../src-main/audit/auditService.ts';
import { launchChromium, startHost } from '../tests/e2e/harness.ts';

const tenantsN = benchArg('tenants', 50);
const rowsN = benchArg('rows', 1_000_000);
const dir = mkdtempSync(join(tmpdir(), 'tenantscope-bench-audit-'));

log(`seeding the reference CRM: ${tenantsN} tenants, ${rowsN} rows…`);
const crm = await startBenchCrm(join(dir, 'crm'), ['--seed', 'scale', '--tenants', String(tenantsN), '--rows', String(rowsN), '--profile', 'fixed']);
try {
  const profile = crm.profile;
  const client = new CrmClient(profile);
  const token = (await client.signIn('super@tenantscope.test', 'demo')).token;
  // the cache lives where the console keeps the connection's cache, so the dashboard can open it
  const home = join(dir, 'home');
  let cache = await openCache(join(home, 'cache', 'bench.sqlite'));
  log('syncing every tenant into the cache…');
  const synced = await new SyncService(cache, profile, new EventBus()).run(
    { email: 'super@tenantscope.test', role: 'super_admin', companyId: null, token: () => token, refresh: async () => token },
    [{ id: ALL, name: 'every tenant' }],
    { pageSize: 1000 },
  );
  await cache.close();

  // the dashboard: sign in through the host, open Audit, read the renderer's two marks
  writeFileSync(join(home, 'connections.json'), JSON.stringify({ version: 1, connections: [crm.profileJson] }));
  // the window the host serves is the built renderer: build it if a source is newer
  spawnSync(process.execPath, [join(projectRoot, 'scripts', 'build-if-stale.mjs')], { cwd: projectRoot, stdio: ['ignore', 'ignore', 'inherit'] });
  const host = await startHost(home);
  const browser = await launchChromium();
  let paintMs = NaN;
  let clickToPaintMs = NaN;
  try {
    const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    await page.goto(host.url);
    await page.locator('[data-app-state="signed-out"], [data-app-state="ready"]').waitFor({ timeout: 60_000 });
    await page.evaluate(async () => {
      const tab = sessionStorage.getItem('tenantscope.window') ?? '';
      await fetch('/api/call/session:signIn', {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-tenantscope-window': tab },
        body: JSON.stringify({ connection: 'bench', username: 'super@tenantscope.test', password: 'demo' }),
      });
    });
    await page.reload();
    await page.locator('[data-app-state="ready"]').waitFor({ timeout: 60_000 });
    const clicked = await page.evaluate(() => performance.now());
    await page.getByTestId('nav-audit').click();
    await page.getByTestId('audit-progress').waitFor({ timeout: 60_000 });
    await page.waitForFunction(() => performance.getEntriesByName('tenantscope:audit-painted').length > 0);
    const marks = await page.evaluate(() => ({
      data: performance.getEntriesByName('tenantscope:audit-data')[0]!.startTime,
      painted: performance.getEntriesByName('tenantscope:audit-painted')[0]!.startTime,
    }));
    paintMs = marks.painted - marks.data;
    clickToPaintMs = marks.painted - clicked;
    log(`dashboard: first paint ${paintMs.toFixed(0)} ms after its data arrived; ${clickToPaintMs.toFixed(0)} ms from the click (the audit itself included)`);
  } finally {
    await browser.close();
    await host.stop();
  }

  await crm.stop(); // the audit needs no network
  cache = await openCache(join(home, 'cache', 'bench.sqlite'));
  const rows = cache.raw.prepare('SELECT count(*) FROM records').pluck().get() as number;
  log(`cache: ${rows} rows (${synced.rows} synced)`);
  // warm the page cache as a user's second audit would be; then time the baseline scan and the audit
  // the scan is timed three times, as the audit is, and its median taken
  cache.raw.prepare('SELECT count(*), sum(length(payload)) FROM records').get();
  let t = 0;
  const scans: number[] = [];
  for (let i = 0; i < 3; i++) {
    t = performance.now();
    cache.raw.prepare('SELECT count(*), sum(length(payload)) FROM records').get();
    scans.push((performance.now() - t) / 1000);
  }
  const scanSeconds = [...scans].sort((a, b) => a - b)[1]!;
  // the ratio compares each at its fastest: this machine's noise only ever adds time, and within one
  // run the same scan took 0.65 and 0.90 s, which moved a median-to-median ratio from 2.6 to 1.9
  const fastestScan = Math.min(...scans);
  // the least the cross-tenant reference check does with this schema: every reference's target
  // found by its key (records_key), no company compared and no row read; the fastest of three
  const lookups: number[] = [];
  let references = 0;
  for (let i = 0; i < 3; i++) {
    t = performance.now();
    references = cache.raw
      .prepare('SELECT count(*) FROM refs f CROSS JOIN records t ON t.resource = f.target_resource AND t.id = f.target_id')
      .pluck()
      .get() as number;
    lookups.push((performance.now() - t) / 1000);
  }
  const fastestLookups = Math.min(...lookups);
  log(
    `the references' lookups alone: ${references} targets found by their key in ${lookups.map((x) => x.toFixed(2)).join(', ')} s; the fastest ${(fastestLookups / fastestScan).toFixed(1)}x the fastest scan`,
  );
  // three runs of the whole audit; the median is reported (the disk cache makes single runs noisy)
  const runs: Array<{ seconds: number; timings: Map<string, number>; audit: ReturnType<typeof runAudit> }> = [];
  for (let i = 0; i < 3; i++) {
    const timings = new Map<string, number>();
    t = performance.now();
    const audit = runAudit(cache.raw, profile.catalog, { timings });
    runs.push({ seconds: (performance.now() - t) / 1000, timings, audit });
  }
  const inOrder = runs.map((r) => +r.seconds.toFixed(2));
  runs.sort((a, b) => a.seconds - b.seconds);
  const { seconds: auditSeconds, timings, audit } = runs[1]!;
  log(`audit runs, in order: ${inOrder.join(', ')} s; plain scans ${scans.map((x) => x.toFixed(2)).join(', ')} s`);
  const marks = [...timings];
  const split = marks
    .slice(1)
    .map(([k, v], i) => `${k} ${((v - marks[i]![1]) / 1000).toFixed(2)} s`)
    .join(', ');
  log(`audit: ${audit.findings.length} findings in ${auditSeconds.toFixed(2)} s (${split}); a plain scan of the rows ${scanSeconds.toFixed(2)} s`);
  t = performance.now();
  const own = runAudit(cache.raw, profile.catalog, {
    company: audit.models.length
      ? (cache.raw
          .prepare("SELECT company_id FROM records WHERE company_id NOT IN ('unassigned') GROUP BY company_id ORDER BY count(*) DESC LIMIT 1")
          .pluck()
          .get() as string)
      : null,
  });
  const ownSeconds = (performance.now() - t) / 1000;
  log(`a company admin's audit of the largest company: ${own.findings.length} findings in ${ownSeconds.toFixed(2)} s`);
  await cache.close();

  // encrypted at rest: a copy of the same cache, encrypted where it is, audited the same way
  const encFile = join(dir, 'encrypted.sqlite');
  copyFileSync(join(home, 'cache', 'bench.sqlite'), encFile);
  const enc = await openCache(encFile, { key: { passphrase: 'bench passphrase, long enough' } });
  enc.raw.prepare('SELECT count(*), sum(length(payload)) FROM records').get();
  t = performance.now();
  enc.raw.prepare('SELECT count(*), sum(length(payload)) FROM records').get();
  const encScanSeconds = (performance.now() - t) / 1000;
  const encRuns: number[] = [];
  for (let i = 0; i < 3; i++) {
    t = performance.now();
    runAudit(enc.raw, profile.catalog, {});
    encRuns.push((performance.now() - t) / 1000);
  }
  encRuns.sort((a, b) => a - b);
  await enc.close();
  log(`encrypted: audit runs ${encRuns.map((r) => r.toFixed(2)).join(', ')} s; a plain scan ${encScanSeconds.toFixed(2)} s`);
  const result = {
    bench: 'audit',
    rows,
    findings: audit.findings.length,
    auditSeconds: +auditSeconds.toFixed(2),
    /** each run, in the order they ran: the first is a single run's figure */
    auditRunsSeconds: inOrder,
    firstAuditVsScan: +(inOrder[0]! / fastestScan).toFixed(1),
    companyAuditSeconds: +ownSeconds.toFixed(2),
    baselineScanSeconds: +scanSeconds.toFixed(2),
    baselineScanRunsSeconds: scans.map((x) => +x.toFixed(2)),
    /** the fastest audit against the fastest scan */
    auditVsScan: +(runs[0]!.seconds / fastestScan).toFixed(1),
    medianAuditVsMedianScan: +(auditSeconds / scanSeconds).toFixed(1),
    /** the references' lookups alone, the fastest of three, against the fastest scan: a floor for auditVsScan with this schema */
    floor: { references, referenceLookupsSeconds: +fastestLookups.toFixed(2), lookupsVsScan: +(fastestLookups / fastestScan).toFixed(1) },
    dashboardPaintAfterDataMs: Math.round(paintMs),
    dashboardClickToPaintMs: Math.round(clickToPaintMs),
    encrypted: { auditSeconds: +encRuns[1]!.toFixed(2), scanSeconds: +encScanSeconds.toFixed(2), auditVsPlain: +(encRuns[1]! / auditSeconds).toFixed(2) },
    targets: { auditSeconds: 2, auditVsScan: 2, dashboardPaintAfterDataMs: 500 },
    met: auditSeconds <= 2 && runs[0]!.seconds / fastestScan <= 2 && paintMs <= 500,
  };
  process.stdout.write(JSON.stringify(result) + '\n');
} finally {
  await crm.stop();
  rmSync(dir, { recursive: true, force: true });
}
