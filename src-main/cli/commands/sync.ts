// tenantscope sync: tenants into the local cache, then the proof against the CRM
import { call, json, program, run, signInOperator, usingServices } from '../kit.ts';
import { EXIT } from '../output.ts';
import { progressRenderer } from '../progressBars.ts';
import { ALL } from '../../../src-shared/partitions.ts';

program
  .command('sync')
  .description('Sync tenants of a CRM into the local cache, then prove the cache against the server')
  .option('--connection <name>', 'connection name', 'demo')
  .option('--as <username>', "sign in as (default: the connection's first identity)")
  .option('--password-env <VAR>', 'read the password from this environment variable')
  .option('--token-env <VAR>', 'sign in with a pasted token from this environment variable instead')
  .option(
    '--tenant <name-or-id>',
    'a tenant to sync (repeatable; default: your own or the selected one)',
    (v: string, prev: string[]) => [...prev, v],
    [] as string[],
  )
  .option('--all', 'every tenant (super admins)', false)
  .option('--page-size <n>', 'records a page', (v) => Number(v))
  .option('--no-prove', 'skip the comparison with the server')
  .action((o: { connection: string; as?: string; passwordEnv?: string; tenant: string[]; all: boolean; pageSize?: number; prove: boolean }) =>
    run(json(), async (out) =>
      usingServices(out, async (services) => {
        const username = await signInOperator(services, o);
        const bars = progressRenderer();
        const offProgress = services.bus.on('onProgress', (p) => {
          if (p.task.startsWith('sync:')) bars.update(p);
        });
        // Ctrl+C stops the sync cleanly: every page written stays, the next sync resumes there
        const cancel = () => void call(services, 'sync:cancel', {});
        process.once('SIGINT', cancel);
        let report;
        try {
          report = await call(services, 'sync:run', { tenants: o.tenant.length ? o.tenant : undefined, all: o.all, pageSize: o.pageSize });
        } finally {
          process.off('SIGINT', cancel);
          offProgress();
          bars.stop();
        }
        const synced = [...new Set(report.outcomes.map((x) => x.tenant))];
        const tenantIds = synced.includes(ALL) ? (await call(services, 'tenants:list', {})).tenants.map((t) => t.id) : synced;
        const proofs = o.prove ? (await Promise.all(tenantIds.map((t) => call(services, 'sync:prove', { tenant: t })))).flatMap((p) => p.proofs) : [];
        const failed = report.outcomes.filter((x) => x.status === 'failed');
        const drifted = proofs.filter((p) => p.status === 'drifted');
        const inSync = proofs.filter((p) => p.status === 'in-sync').length;
        out.result({ ...report, proofs }, () =>
          [
            `Synced ${report.rows} rows in ${report.pages} pages (${report.retries} retries, ${report.deletions} deletions applied).`,
            report.retries ? `Retried: ${retrySummary(report.retried)}.` : '',
            report.load
              ? `A first sync into an empty cache: loaded in bulk, its indexes built once at the end in ${report.load.indexSeconds} s${report.load.duplicates ? ` (${report.load.duplicates} rows listed twice kept once)` : ''}.`
              : '',
            ...failed.map((f) => `FAILED ${f.message}`),
            ...report.outcomes.filter((x) => x.status === 'warning').map((w) => `WARNING ${w.resource}: ${w.message}`),
            report.leaks ? `LEAK: the CRM returned ${report.leaks} rows of other companies to ${username} (see the audit).` : '',
            o.prove
              ? `Proof: ${inSync} in sync, ${drifted.length} drifted, ${proofs.filter((p) => p.status === 'counts-only').length} counts only${proofs.some((p) => p.basis === 'relist') ? ` (${proofs.filter((p) => p.basis === 'relist').length} by a fresh relist: the CRM serves no manifest)` : ''}.`
              : '',
            ...drifted.map((d) => `DRIFTED ${d.tenant} ${d.resource}: cache ${d.local.count} rows, server ${d.server?.count}${d.why ? `. ${d.why}` : ''}`),
          ]
            .filter(Boolean)
            .join('\n'),
        );
        out.summary(
          `Synced ${report.rows} rows in ${report.pages} pages; ${failed.length} failed${report.leaks ? `; LEAK: ${report.leaks} rows of other companies` : ''}${o.prove ? `; proof: ${inSync} in sync, ${drifted.length} drifted` : ''}.`,
        );
        return failed.length || drifted.length ? EXIT.failed : report.leaks ? EXIT.problem : EXIT.ok;
      }),
    ),
  );

/** "12 × 503, 3 × timed out": what the sync retried, by reason. */
function retrySummary(lines: string[]): string {
  const by = new Map<string, number>();
  for (const l of lines) {
    const why = /\((.*)\), try \d+/.exec(l)?.[1] ?? 'other';
    by.set(why, (by.get(why) ?? 0) + 1);
  }
  return [...by]
    .sort((a, b) => b[1] - a[1])
    .map(([why, n]) => `${n} × ${why}`)
    .join(', ');
}
