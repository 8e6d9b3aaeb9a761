// The Python analyzer: FastAPI routes, SQLAlchemy models, and how each handler scopes its
// queries; findings (with the seed's AFTER pattern as a fix) for what is not scoped by company.
import type { Catalog, Resource } from '../../../src-shared/catalog.ts';
import type { CodeFinding, CodeHandler, CodeModel, Operation } from '../../../src-shared/contract/code.ts';
import type { Priority as Severity } from '../../../src-shared/tenancy.ts';
import { firstError, pythonParser } from '../parser.ts';
import type { Skipped, SourceFile } from '../source.ts';
import type { Edit, FixOptions } from './fix.ts';
import { createFinding, databaseFinding, modelFinding, queryFinding } from './findings.ts';
import { alignWithDatabase, declaresCompany, findModels, pathToCompany, type Model } from './models.ts';
import { makeModule, Project } from './project.ts';
import { findRoutes, type Route } from './routes.ts';
import { RANK_NAMES, ScopeAnalyzer, type Scoping } from './scoping.ts';

/** A finding with its fix as edits (made into diffs by the caller, which has every file's text). */
export type FindingDraft = Omit<CodeFinding, 'diff' | 'dynamic' | 'dynamicDetail'> & { edits: Edit[] };

export interface PythonAudit {
  models: CodeModel[];
  handlers: CodeHandler[];
  findings: FindingDraft[];
  parsed: number;
  lines: number;
  unparsable: Skipped[];
  /** seconds spent parsing and analysing */
  timings: { parse: number; analyze: number };
}

const operationOf = (method: string, path: string): Operation => {
  const item = /\{[^}]+\}\/?$/.test(path);
  if (method === 'POST') return 'create';
  if (method === 'GET') return item ? 'read' : 'list';
  if (method === 'DELETE') return 'delete';
  return 'update';
};

const normalize = (path: string) => path.replace(/\{[^}]+\}/g, '{}').replace(/\/+$/, '') || '/';

/** What the findings of one checkout share: its models, the catalog's words, the fix options. */
export interface AuditContext {
  models: Map<string, Model>;
  usersTable: string;
  resourceOfTable: Map<string, Resource>;
  resourceOfPath: Map<string, string>;
  fixOpts: FixOptions;
  afterMigration: boolean;
  tenantModel(m: Model): boolean;
  severityOf(table: string | null, fallback: Severity): Severity;
}

/** Every file parsed into a project; a file that is not Python is listed and left out. */
async function parseProject(files: SourceFile[], onFile?: (done: number) => void): Promise<{ project: Project; unparsable: Skipped[]; lines: number }> {
  const parser = await pythonParser();
  const project = new Project();
  const unparsable: Skipped[] = [];
  let lines = 0;
  let done = 0;
  for (const f of files) {
    const tree = parser.parse(f.text);
    done++;
    if (done % 50 === 0) onFile?.(done);
    if (!tree) {
      unparsable.push({ path: f.path, reason: 'the parser gave up' });
      continue;
    }
    const err = firstError(tree);
    if (err) {
      unparsable.push({ path: f.path, reason: `not Python at line ${err.line}, column ${err.column} (skipped)` });
      tree.delete();
      continue;
    }
    lines += f.text.split('\n').length;
    project.add(makeModule(f.path, f.text, tree));
  }
  onFile?.(done);
  return { project, unparsable, lines };
}

function contextOf(project: Project, models: Map<string, Model>, catalog: Catalog | undefined, afterMigration: boolean): AuditContext {
  const usersTable = catalog?.users ?? 'users';
  const resourceOfTable = new Map((catalog?.resources ?? []).filter((r) => r.table).map((r) => [r.table!, r]));
  const resourceOfPath = new Map<string, string>();
  for (const r of catalog?.resources ?? []) for (const p of Object.values(r.endpoints)) if (p) resourceOfPath.set(normalize(p), r.name);
  return {
    models,
    usersTable,
    resourceOfTable,
    resourceOfPath,
    afterMigration,
    fixOpts: { project, models, usersTable, afterMigration },
    tenantModel: (m) => m.columns.has('company_id') || pathToCompany(m, models, 3) !== null,
    severityOf: (table, fallback) => (table ? resourceOfTable.get(table)?.priority : null) ?? fallback,
  };
}

function handlerOf(cx: AuditContext, route: Route, s: Scoping): CodeHandler {
  const operation = operationOf(route.method, route.path);
  const tenantUses = s.uses.filter((u) => cx.tenantModel(u.q.model));
  const mainModel = operation === 'create' ? (s.creates[0]?.model ?? tenantUses[0]?.q.model) : (tenantUses[0]?.q.model ?? s.creates[0]?.model);
  const resource = cx.resourceOfPath.get(normalize(route.path)) ?? (mainModel ? (cx.resourceOfTable.get(mainModel.table)?.name ?? mainModel.table) : null);
  const weakest = tenantUses.length ? tenantUses.map((u) => u.q.rank).reduce((a, b) => (a < b ? a : b)) : null;
  return {
    file: route.module.path,
    line: route.line,
    handler: route.handler,
    method: route.method,
    path: route.path,
    resource,
    operation,
    authenticated: s.authenticated,
    scoping: !s.authenticated
      ? 'public'
      : weakest !== null
        ? RANK_NAMES[weakest]
        : s.creates.length && s.creates.every((c) => c.setsCompany)
          ? 'by-company'
          : s.creates.length
            ? 'creates-only'
            : 'no-queries',
    guard: tenantUses.some((u) => u.q.rank === 3) ? !tenantUses.some((u) => u.q.rank === 3 && u.q.unguarded) : null,
    dynamic: null,
    queries: s.uses.map((u) => ({
      file: u.q.module.path,
      line: u.q.root.startPosition.row + 1,
      model: u.q.model.name,
      table: u.q.model.table,
      scoping: RANK_NAMES[u.q.rank],
      via: u.via,
    })),
  };
}

export async function auditPython(
  files: SourceFile[],
  opts: { catalog?: Catalog; afterMigration?: boolean; onFile?: (done: number) => void; tables?: Map<string, string[]> },
): Promise<PythonAudit> {
  const started = performance.now();
  const { project, unparsable, lines } = await parseProject(files, opts.onFile);
  const parsed = performance.now();
  const models = findModels(project);
  // the catalog's word on how a table reaches its company (owner or parent) leads the joins a fix writes
  for (const r of opts.catalog?.resources ?? []) {
    const m = [...models.values()].find((x) => x.table === r.table);
    if (m && (r.derivation.kind === 'owner' || r.derivation.kind === 'parent')) m.derivedBy = r.derivation.field;
  }
  const cx = contextOf(project, models, opts.catalog, !!opts.afterMigration);
  // with the database read: models against their tables (company_id the migration added becomes usable)
  const differ = opts.tables ? alignWithDatabase(models, opts.tables, cx.usersTable) : [];
  const scope = new ScopeAnalyzer(project, models, cx.usersTable);
  const findings: FindingDraft[] = [];
  const handlers: CodeHandler[] = [];
  for (const route of findRoutes(project)) {
    const s = scope.analyze(route.node, route.module);
    const handler = handlerOf(cx, route, s);
    handlers.push(handler);
    if (!s.authenticated) continue;
    for (const u of s.uses) if (u.q.rank <= 1 && cx.tenantModel(u.q.model)) findings.push(queryFinding(cx, route, handler, u));
    for (const c of s.creates)
      if ((c.model.columns.has('company_id') || cx.afterMigration) && !c.setsCompany) findings.push(createFinding(cx, route, handler, c));
  }
  const companiesTable = [...models.values()].find((x) => x.table === cx.usersTable)?.columns.get('company_id')?.references;
  for (const m of models.values()) {
    if (m.columns.has('company_id') || m.table === cx.usersTable || m.table === companiesTable || !cx.tenantModel(m)) continue;
    findings.push(modelFinding(cx, m));
  }
  for (const m of differ) findings.push(databaseFinding(cx, m));
  findings.sort((a, b) => a.file.localeCompare(b.file) || a.line - b.line);
  const codeModels: CodeModel[] = [...models.values()].map((m) => ({
    name: m.name,
    table: m.table,
    file: m.module.path,
    line: m.line,
    hasCompanyId: declaresCompany(m),
    databaseHasCompanyId: m.dbColumns === undefined ? null : !!m.dbColumns?.includes('company_id'),
    columns: [...m.columns.keys()],
  }));
  // the trees live in the parser's WebAssembly memory: given back once read (findings keep offsets, not nodes)
  for (const m of project.modules) m.tree.delete();
  const timings = { parse: (parsed - started) / 1000, analyze: (performance.now() - parsed) / 1000 };
  return { models: codeModels, handlers, findings, parsed: project.modules.length, lines, unparsable, timings };
}
