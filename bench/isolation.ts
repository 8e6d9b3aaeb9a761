/**
 * bench/isolation: the full isolation matrix on the demo CRM (legacy enforcement): every resource,
 * six identities (the canaries' owner and five probers), every operation.
 *  - wall time and probes/s
 *  - the runner's own overhead: the share of the wall time with no request in flight
 *  - baseline, in the same run: as many plain GETs of one record, at the same concurrency (the
 *    HTTP floor for that many requests)
 * Targets: the full matrix within 20 s, overhead at most 10%.
 */
import { log, startBenchCrm } from './_crm.ts';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openCache } from '../src-main/cache/cacheDb.ts';
import { EventBus } from '../src-main/core/eventBus.ts';
import { CrmClient } from '../src-main/crm/crmClient.ts';
import { signInIdentities } from '../src-main/crm/transport.ts';
import { IsolationRunner } from '../src-main/isolation/isolationRunner.ts';

const dir = mkdtempSync(join(tmpdir(), 'tenantscope-bench-iso-'));
const CONCURRENCY = 4;

log('starting the demo CRM (legacy enforcement)…');
const crm = await startBenchCrm(join(dir, 'crm'), ['--seed', 'demo', '--profile', 'legacy']);
try {
  const profile = crm.profile;
  const identities = (await signInIdentities(profile, () => 'demo')).filter((i) => i.label !== 'Acme user');
  const cache = await openCache(join(dir, 'cache.sqlite'));
  const runner = new IsolationRunner(cache, profile, new EventBus(), { concurrency: CONCURRENCY });
  // one warm-up resource, so that both measurements run on a warm server
  await runner.run(identities, { only: ['contacts'] });
  const report = await runner.run(identities);
  const probes = report.results.length;
  log(
    `matrix: ${probes} probes (${report.resources.length} resources × ${report.identities.length} probing identities × 6 operations), ${report.requests} requests in ${report.seconds.toFixed(2)} s; overhead ${(report.overhead * 100).toFixed(1)}%; ${report.counts.leak} leaks; cleanup ${report.cleanup.removed} removed, ${report.cleanup.leftover.length} left`,
  );

  // baseline: as many plain GETs as the matrix made, same concurrency
  const client = new CrmClient(profile, 15_000);
  const who = identities.find((i) => i.role === 'super_admin')!;
  const one = await client.send('GET', '/api/contacts', who.token(), undefined, { limit: 1 });
  const id = String((one.data as { items: Array<{ id: string }> }).items[0]!.id);
  let left = report.requests;
  const t = performance.now();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (left-- > 0) await client.send('GET', `/api/contacts/${id}`, who.token());
    }),
  );
  const baselineSeconds = (performance.now() - t) / 1000;
  log(`baseline: ${report.requests} plain GETs in ${baselineSeconds.toFixed(2)} s`);
  await cache.close();
  const result = {
    bench: 'isolation',
    resources: report.resources.length,
    identities: report.identities.length + 1,
    probes,
    requests: report.requests,
    wallSeconds: +report.seconds.toFixed(2),
    probesPerSecond: Math.round(probes / report.seconds),
    overheadShare: +report.overhead.toFixed(3),
    baselinePlainGetSeconds: +baselineSeconds.toFixed(2),
    wallVsBaseline: +(report.seconds / baselineSeconds).toFixed(2),
    leaks: report.counts.leak,
    leftover: report.cleanup.leftover.length,
    targets: { wallSeconds: 20, overheadShare: 0.1 },
    met: report.seconds <= 20 && report.overhead <= 0.1 && report.complete,
  };
  process.stdout.write(JSON.stringify(result) + '\n');
} finally {
  await crm.stop();
  rmSync(dir, { recursive: true, force: true });
}
