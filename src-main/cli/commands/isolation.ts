// tenantscope test: the isolation matrix, with JUnit, SARIF or Markdown for CI
import { writeFileSync } from 'node:fs';
import { Option } from 'commander';
import { toJunit, toMarkdown, toSarif } from '../../../src-shared/reports/isolation.ts';
import { VERDICT_ORDER } from '../../../src-shared/tenancy.ts';
import { call, json, program, run, signInOperator, usingServices } from '../kit.ts';
import { EXIT } from '../output.ts';
import { progressRenderer } from '../progressBars.ts';

program
  .command('test')
  .description(
    'Prove isolation: create canary records as one company, probe them as every other identity (list, search, read, update, delete, create), clean up',
  )
  .option('--connection <name>', 'connection name', 'demo')
  .option('--as <username>', "operator to sign in as, a super admin (default: the connection's first identity)")
  .option('--password-env <VAR>', "read the operator's password from this environment variable")
  .option('--token-env <VAR>', 'sign in with a pasted token from this environment variable instead')
  .option('--only <resources>', 'comma-separated resources (default: every one in the catalog)')
  .option('--read-only', 'create nothing: probe existing records, reads only (for production)', false)
  .option('--concurrency <n>', 'resources probed at once', (v) => Number(v), 4)
  .option('--rate <n>', 'at most N requests a second to the CRM', (v) => Number(v))
  .addOption(new Option('--format <format>', 'report format').choices(['json', 'junit', 'sarif', 'md']).default('md'))
  .option('--out <file>', 'write the report to a file (default: stdout)')
  .action(
    (o: {
      connection: string;
      as?: string;
      passwordEnv?: string;
      only?: string;
      readOnly: boolean;
      concurrency: number;
      rate?: number;
      format: 'json' | 'junit' | 'sarif' | 'md';
      out?: string;
    }) =>
      run(json(), async (out) =>
        usingServices(out, async (services) => {
          await signInOperator(services, o, 'super_admin');
          const bars = progressRenderer(process.stderr, 5000, 'probes');
          const off = services.bus.on('onProgress', (p) => {
            if (p.task.startsWith('isolation:')) bars.update({ ...p, parts: undefined });
          });
          let report;
          try {
            report = await call(services, 'isolation:run', {
              only: o.only
                ?.split(',')
                .map((x) => x.trim())
                .filter(Boolean),
              readOnly: o.readOnly,
              concurrency: o.concurrency,
              ratePerSecond: o.rate,
            });
          } finally {
            off();
            bars.stop();
          }
          const text =
            o.format === 'junit'
              ? toJunit(report)
              : o.format === 'sarif'
                ? toSarif(report)
                : o.format === 'md'
                  ? toMarkdown(report)
                  : JSON.stringify(report, null, 2) + '\n';
          if (o.out) {
            writeFileSync(o.out, text);
            out.info(`Wrote the ${o.format} report to ${o.out}.`);
          }
          const summary = `${report.results.length} probes: ${VERDICT_ORDER.map((v) => `${report.counts[v]} ${v}`).join(', ')}. Cleanup: ${report.cleanup.removed} removed, ${report.cleanup.leftover.length} left.`;
          if (json()) out.result(report, () => summary);
          else if (!o.out) out.text(text);
          out.summary(summary);
          return !report.complete || report.cleanup.leftover.length ? EXIT.failed : report.counts.leak > 0 ? EXIT.problem : EXIT.ok;
        }),
      ),
  );
