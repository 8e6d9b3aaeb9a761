import { AppError } from '../../../src-shared/result.ts';
import { listRuns, runResults } from '../../cache/queries/isolationRuns.ts';
import { phase2Of, savePhase2 } from '../../cache/queries/meta.ts';
import { caller } from '../scope.ts';
import { filesToUpdate } from '../../../src-shared/reports/code.ts';
import type { CodeAuditResult } from '../../../src-shared/contract/code.ts';
import { auditSource } from '../../codeaudit/codeAudit.ts';
import { crossCheck } from '../../codeaudit/crossCheck.ts';
import { readSchemaSnapshot } from '../../pgdb/snapshot.ts';
import { onTarget } from '../../pgdb/target.ts';
import type { HandlersFor, Kernel } from '../kernel.ts';

type Channels = 'code:audit' | 'code:handlers';

/** The columns of every table of the connection's database, read once in a read-only transaction. */
async function tablesOf(k: Kernel, connection: string): Promise<Map<string, string[]>> {
  await k.ensureCrm(connection);
  const url = k.connections.databaseUrl(connection);
  if (!url)
    throw new AppError(
      'invalid-input',
      `Connection "${connection}" has no database URL: add the CRM's PostgreSQL to it (Connections), or leave out --database.`,
    );
  return onTarget(
    url,
    async (t) => {
      const snap = await t.reading('tenantscope code audit', readSchemaSnapshot);
      return new Map([...snap.tables].map(([name, table]) => [name, table.columns.map((c) => c.name)]));
    },
    'to compare the models with',
  );
}

export function codeHandlers(k: Kernel): HandlersFor<Channels> {
  return {
    'code:handlers': async () => phase2Of((await k.cacheFor(caller(k).s.connection)).raw),
    'code:audit': async ({ src, connection, afterMigration, isolationRun, database }) => {
      const catalog = connection ? k.connections.get(connection).catalog : undefined;
      if (database && !connection) throw new AppError('invalid-input', "The database is a connection's: name it (--connection) with --database.");
      const tables = database && connection ? await tablesOf(k, connection) : undefined;
      if (isolationRun !== undefined && !connection)
        throw new AppError('invalid-input', 'An isolation run belongs to a connection: name it (--connection) with --isolation-run.');
      const started = performance.now();
      const result = await auditSource(src, {
        catalog,
        afterMigration,
        tables,
        onProgress: (done, total) => {
          const secs = Math.max((performance.now() - started) / 1000, 0.001);
          k.bus.emit('onProgress', {
            task: 'code:audit',
            label: `Reading ${src}`,
            done,
            total,
            message: `${done} of ${total} files`,
            rate: Math.round(done / secs),
            etaSeconds: Math.ceil((total - done) / Math.max(done / secs, 0.001)),
          });
        },
      });
      if (!connection) return result;
      const { raw } = await k.cacheFor(connection);
      // the audit document's Phase 2 ("Files to update") is the last source audit run with the connection
      const remember = (r: CodeAuditResult) => {
        savePhase2(raw, {
          generatedAt: r.generatedAt,
          root: r.root,
          findings: r.findings.length,
          isolationRunId: r.isolation?.runId ?? null,
          files: filesToUpdate(r),
          handlers: r.handlers.flatMap((h) =>
            h.resource ? [{ resource: h.resource, operation: h.operation, handler: h.handler, file: h.file, line: h.line, scoping: h.scoping }] : [],
          ),
        });
        return r;
      };
      if (isolationRun === undefined) return remember(result);
      // the runner's verdicts on the same cells, from the connection's cache (no CRM is asked)
      const id = isolationRun === 'latest' ? listRuns(raw).find((r) => r.finishedAt)?.id : isolationRun;
      const run = id === undefined ? null : runResults(raw, id);
      if (!run)
        throw new AppError(
          'not-found',
          isolationRun === 'latest'
            ? `Connection "${connection}" has no finished isolation run: run tenantscope test first.`
            : `Connection "${connection}" has no isolation run ${isolationRun}.`,
        );
      return remember(crossCheck(result, run.results, { runId: run.run.id, startedAt: run.run.startedAt, connection }));
    },
  };
}
