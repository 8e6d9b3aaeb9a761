// tenantscope code audit: the CRM backend's own source, read from a checkout (no CRM needed)
import { writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { Option } from 'commander';
import { codeAtOrAbove, codeMarkdown, codeSarif } from '../../../src-shared/reports/code.ts';
import { call, json, program, run, usingServices } from '../kit.ts';
import { EXIT } from '../output.ts';
import { progressRenderer } from '../progressBars.ts';

const code = program.command('code').description("The CRM backend's source: how every endpoint scopes tenant data, at file:line");

code
  .command('audit')
  .description(
    "Read a checkout of the CRM's backend (Python FastAPI + SQLAlchemy) and report, per handler, whether it scopes its queries by company, by user only, by id only or not at all; findings come with a fix in the seed's AFTER style. Nothing is run and nothing is written into the checkout.",
  )
  .requiredOption('--src <dir>', "the backend's folder (the patch's paths are relative to it)")
  .option('--connection <name>', 'a connection whose catalog names the resources and their priorities (the CRM is not asked)')
  .option(
    '--isolation-run <id>',
    "check each finding against an isolation run of --connection, from its cache (a run id, or 'latest'): confirmed, refuted or not probed",
  )
  .option('--database', "compare the models with the connection's database: company_id a migration added, columns on one side only", false)
  .option(
    '--after-migration',
    'write fixes for after Phase 1: every model has company_id (the model fixes join the patch, queries filter on company_id directly)',
    false,
  )
  .addOption(new Option('--format <format>', 'report format').choices(['md', 'json', 'sarif', 'patch']).default('md'))
  .addOption(new Option('--fail-on <severity>', 'exit 1 when a finding is at or above this severity').choices(['high', 'medium', 'low']))
  .option('--out <file>', 'write the report (or the patch) to a file (default: stdout)')
  .addHelpText(
    'after',
    `
Examples:
  tenantscope code audit --src ~/crm/backend
  tenantscope code audit --src ~/crm/backend --format patch --out phase2.patch && (cd ~/crm/backend && git apply --check ../phase2.patch)
  tenantscope code audit --src ~/crm/backend --connection prod --isolation-run latest   # each finding confirmed or refuted by the runner
  tenantscope code audit --src ./backend --format sarif --out code.sarif --fail-on high   # CI: findings inline on the lines`,
  )
  .action(
    (o: {
      src: string;
      connection?: string;
      isolationRun?: string;
      database: boolean;
      afterMigration: boolean;
      format: 'md' | 'json' | 'sarif' | 'patch';
      failOn?: 'high' | 'medium' | 'low';
      out?: string;
    }) =>
      run(json(), async (out) =>
        usingServices(out, async (services) => {
          const bars = progressRenderer(process.stderr, 2000, 'files');
          const off = services.bus.on('onProgress', (p) => {
            if (p.task === 'code:audit') bars.update(p);
          });
          let result;
          try {
            const isolationRun = o.isolationRun === undefined ? undefined : o.isolationRun === 'latest' ? ('latest' as const) : Number(o.isolationRun);
            result = await call(services, 'code:audit', {
              src: resolve(o.src),
              connection: o.connection,
              afterMigration: o.afterMigration,
              isolationRun,
              database: o.database,
            });
          } finally {
            off();
            bars.stop();
          }
          const text =
            o.format === 'patch'
              ? result.patch
              : o.format === 'sarif'
                ? codeSarif(result)
                : o.format === 'json'
                  ? JSON.stringify(result, null, 2) + '\n'
                  : codeMarkdown(result);
          if (o.out) {
            writeFileSync(o.out, text);
            out.info(`Wrote the ${o.format === 'patch' ? 'patch' : `${o.format} report`} to ${o.out}.`);
          }
          const summary = `${result.files} files, ${result.handlers.length} handlers, ${result.findings.length} findings: ${result.counts.HIGH} HIGH, ${result.counts.MEDIUM} MEDIUM, ${result.counts.LOW} LOW${result.skipped.length ? `; ${result.skipped.length} files not read (see the report)` : ''}; ${result.tookMs} ms.`;
          if (json()) out.result(result, () => summary);
          else if (!o.out) out.text(text);
          out.summary(summary);
          const failing = o.failOn ? codeAtOrAbove(result.findings, o.failOn.toUpperCase() as 'HIGH' | 'MEDIUM' | 'LOW') : [];
          return failing.length ? EXIT.problem : EXIT.ok;
        }),
      ),
  );
