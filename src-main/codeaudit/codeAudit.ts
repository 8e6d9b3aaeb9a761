// The source audit: reads a checkout of the CRM's backend (nothing is run, nothing is written)
// and says, per handler, how it scopes tenant data, with a fix for what is not scoped by company.
import type { Catalog } from '../../src-shared/catalog.ts';
import type { CodeAuditResult } from '../../src-shared/contract/code.ts';
import { diffOf } from './patch.ts';
import { auditPython } from './python/analyzer.ts';
import { readSource } from './source.ts';

export interface CodeAuditOptions {
  catalog?: Catalog;
  afterMigration?: boolean;
  /** the database's tables and their columns, to compare the models with */
  tables?: Map<string, string[]>;
  /** files read so far, of how many */
  onProgress?: (done: number, total: number) => void;
}

export async function auditSource(root: string, opts: CodeAuditOptions = {}): Promise<CodeAuditResult> {
  const started = Date.now();
  const { files, skipped } = readSource(root, ['.py']);
  const read = (Date.now() - started) / 1000;
  const textOf = new Map(files.map((f) => [f.path, f.text]));
  const py = await auditPython(files, {
    catalog: opts.catalog,
    afterMigration: opts.afterMigration,
    tables: opts.tables,
    onFile: (d) => opts.onProgress?.(d, files.length),
  });
  const text = (p: string) => textOf.get(p) ?? '';
  const fixesStarted = Date.now();
  const findings = py.findings.map(({ edits, ...f }) => ({ ...f, diff: edits.length ? diffOf(edits, text) : null, dynamic: null, dynamicDetail: null }));
  const counts = { HIGH: 0, MEDIUM: 0, LOW: 0 };
  for (const f of findings) counts[f.severity]++;
  return {
    root,
    analyzer: 'python: FastAPI routes, SQLAlchemy models and queries',
    generatedAt: new Date().toISOString(),
    files: py.parsed,
    lines: py.lines,
    skipped: [...skipped, ...py.unparsable],
    models: py.models,
    handlers: py.handlers,
    findings,
    counts,
    // a model declaring company_id before the column exists breaks every query on it: model fixes join the patch after the migration
    patch: diffOf(
      py.findings.filter((f) => f.kind !== 'model-without-company' || opts.afterMigration).flatMap((f) => f.edits),
      text,
    ),
    afterMigration: !!opts.afterMigration,
    isolation: null,
    tookMs: Date.now() - started,
    timings: { read, ...py.timings, fixes: (Date.now() - fixesStarted) / 1000 },
  };
}
