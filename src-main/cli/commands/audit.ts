// tenantscope audit: the tenancy audit from the local cache, as the signed-in (or offline) operator
import { writeFileSync } from 'node:fs';
import { Option } from 'commander';
import { atOrAbove, auditHtml, auditMarkdown, auditSarif } from '../../../src-shared/reports/audit.ts';
import { call, json, openAuditSession, program, run, usingServices } from '../kit.ts';
import { EXIT } from '../output.ts';

program
  .command('audit')
  .description(
    'The tenancy audit, measured from the local cache with no network: models with and without company_id, rows missing it, cross-tenant references, leak evidence',
  )
  .option('--connection <name>', 'connection name', 'demo')
  .option('--as <username>', "audit as (a user who signed in on this machine before; default: the connection's identities, a super admin first)")
  .option('--password-env <VAR>', "read that user's password from this environment variable")
  .option('--offline', 'never ask the CRM: open the session from what this machine kept of the last sign-in', false)
  .addOption(new Option('--format <format>', 'report format').choices(['md', 'html', 'json', 'sarif']).default('md'))
  .addOption(new Option('--fail-on <severity>', 'exit 1 when an open finding is at or above this severity').choices(['high', 'medium', 'low']))
  .option('--out <file>', 'write the report to a file (default: stdout)')
  .option('--accept <findingId>', 'accept a finding (with --reason): it stays listed but no longer fails')
  .option('--reason <text>', 'why the finding is accepted')
  .action(
    (o: {
      connection: string;
      as?: string;
      passwordEnv?: string;
      offline: boolean;
      format: 'md' | 'html' | 'json' | 'sarif';
      failOn?: 'high' | 'medium' | 'low';
      out?: string;
      accept?: string;
      reason?: string;
    }) =>
      run(json(), async (out) =>
        usingServices(out, async (services) => {
          // the same door as the window: a session (who may see which tenants, who may accept), then the contract's calls
          const who = await openAuditSession(services, o);
          out.info(`Auditing as ${who.user} (${who.role.replace('_', ' ')}${who.role === 'super_admin' ? ', every tenant' : ', their own company'}).`);
          if (o.accept) await call(services, 'audit:accept', { id: o.accept, reason: o.reason ?? '' });
          const result = await call(services, 'audit:run', {});
          out.info(`${o.offline ? 'Offline: ' : ''}data as of ${result.asOf ?? 'never (nothing synced yet: run tenantscope sync first)'}.`);
          const text =
            o.format === 'html'
              ? auditHtml(result, o.connection)
              : o.format === 'sarif'
                ? auditSarif(result)
                : o.format === 'json'
                  ? JSON.stringify(result, null, 2) + '\n'
                  : auditMarkdown(result, o.connection);
          if (o.out) {
            writeFileSync(o.out, text);
            out.info(`Wrote the ${o.format} audit to ${o.out}.`);
          }
          const open = result.findings.filter((f) => !f.accepted);
          const summary = `${open.length} open findings: ${result.counts.HIGH} HIGH, ${result.counts.MEDIUM} MEDIUM, ${result.counts.LOW} LOW; models migrated ${result.progress.modelsMigrated}/${result.progress.modelsTotal}; ${result.progress.rowsMissing} rows missing company_id.`;
          if (json()) out.result(result, () => summary);
          else if (!o.out) out.text(text);
          out.summary(summary);
          const failing = o.failOn ? atOrAbove(result.findings, o.failOn.toUpperCase() as 'HIGH' | 'MEDIUM' | 'LOW') : [];
          return failing.length ? EXIT.problem : EXIT.ok;
        }),
      ),
  );
