// The Python analyzer: FastAPI routes, SQLAlchemy models, and how each handler scopes its
// queries; findings (with the seed's AFTER pattern as a fix) for what is not scoped by company.
import type { Catalog } from '../../../src-shared/catalog.ts';
import type { CodeFinding, CodeHandler, CodeModel, Operation } from '../../../src-shared/contract/code.ts';
import { firstError, pythonParser } from '../parser.ts';
import type { Skipped, SourceFile } from '../source.ts';
import { fixCreate, fixModel, fixQuery, type Edit, type FixOptions } from './fix.ts';
import { findModels, type Model } from './models.ts';
import { makeModule, Project } from './project.ts';
import { findRoutes, type Route } from './routes.ts';
import { RANK_NAMES, ScopeAnalyzer, type QueryUse } from './scoping.ts';

/** A finding with its fix as edits (made into diffs by the caller, which has every file's text). */
export type FindingDraft = Omit<CodeFinding, 'diff'> & { edits: Edit[] };

export interface PythonAudit {
  models: CodeModel[];
  handlers: CodeHandler[];
  findings: FindingDraft[];
  parsed: number;
  lines: number;
  unparsable: Skipped[];
}

const operationOf = (method: string, path: string): Operation => {
  const item = /\{[^}]+\}\/?$/.test(path);
  if (method === 'POST') return 'create';
  if (method === 'GET') return item ? 'read' : 'list';
  if (method === 'DELETE') return 'delete';
  return 'update';
};

const normalize = (path: string) => path.replace(/\{[^}]+\}/g, '{}').replace(/\/+$/, '') || '/';

export async function auditPython(
  files: SourceFile[],
  opts: { catalog?: Catalog; afterMigration?: boolean; onFile?: (done: number) => void },
): Promise<PythonAudit> {
  const parser = await pythonParser();
  const project = new Project();
  const unparsable: Skipped[] = [];
  let lines = 0;
  let done = 0;
  for (const f of files) {
    const tree = parser.parse(f.text);
    done++;
    if (done % 50 === 0) opts.onFile?.(done);
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
  opts.onFile?.(done);
  const catalog = opts.catalog;
  const models = findModels(project);
  const usersTable = catalog?.users ?? 'users';
  const scope = new ScopeAnalyzer(project, models, usersTable);
  const resourceOfTable = new Map((catalog?.resources ?? []).filter((r) => r.table).map((r) => [r.table!, r]));
  const resourceOfPath = new Map<string, string>();
  for (const r of catalog?.resources ?? []) for (const p of Object.values(r.endpoints)) if (p) resourceOfPath.set(normalize(p), r.name);

  const withCompany = [...models.values()].filter((m) => m.columns.has('company_id'));
  const tenantModel = (m: Model) => m.columns.has('company_id') || pathToCompany(m, models, 3) !== null;
  const fixOpts: FixOptions = { project, models, usersTable, afterMigration: !!opts.afterMigration };

  const codeModels: CodeModel[] = [...models.values()].map((m) => ({
    name: m.name,
    table: m.table,
    file: m.module.path,
    line: m.line,
    hasCompanyId: m.columns.has('company_id') || (opts.afterMigration ?? false),
    columns: [...m.columns.keys()],
  }));
  const findings: FindingDraft[] = [];
  const handlers: CodeHandler[] = [];

  const severityOf = (table: string | null, fallback: 'HIGH' | 'MEDIUM' | 'LOW'): 'HIGH' | 'MEDIUM' | 'LOW' => {
    const p = table ? resourceOfTable.get(table)?.priority : null;
    return p ?? fallback;
  };

  for (const route of findRoutes(project)) {
    const s = scope.analyze(route.node, route.module);
    const operation = operationOf(route.method, route.path);
    const tenantUses = s.uses.filter((u) => tenantModel(u.q.model));
    const mainModel = operation === 'create' ? (s.creates[0]?.model ?? tenantUses[0]?.q.model) : (tenantUses[0]?.q.model ?? s.creates[0]?.model);
    const resource = resourceOfPath.get(normalize(route.path)) ?? (mainModel ? (resourceOfTable.get(mainModel.table)?.name ?? mainModel.table) : null);
    const weakest = tenantUses.length ? tenantUses.map((u) => u.q.rank).reduce((a, b) => (a < b ? a : b)) : null;
    const handler: CodeHandler = {
      file: route.module.path,
      line: route.line,
      handler: route.handler,
      method: route.method,
      path: route.path,
      resource,
      operation,
      authenticated: s.authenticated,
      scoping: !s.authenticated ? 'public' : weakest === null ? (s.creates.length ? 'creates-only' : 'no-queries') : RANK_NAMES[weakest],
      guard: tenantUses.some((u) => u.q.rank === 3) ? !tenantUses.some((u) => u.q.rank === 3 && u.q.unguarded) : null,
      queries: s.uses.map((u) => ({
        file: u.q.module.path,
        line: u.q.root.startPosition.row + 1,
        model: u.q.model.name,
        table: u.q.model.table,
        scoping: RANK_NAMES[u.q.rank],
        via: u.via,
      })),
    };
    handlers.push(handler);
    if (!s.authenticated) continue;
    for (const u of tenantUses.filter((x) => x.q.rank <= 1)) findings.push(queryFinding(route, handler, u, severityOf(u.q.model.table, 'HIGH'), fixOpts));
    for (const c of s.creates) {
      const hasCompany = c.model.columns.has('company_id') || opts.afterMigration;
      if (!hasCompany || c.setsCompany) continue;
      const line = c.node.startPosition.row + 1;
      const fix = fixCreate(c, fixOpts);
      findings.push({
        id: `code:create:${c.module.path}:${line}`,
        kind: 'create-without-company',
        severity: severityOf(c.model.table, 'MEDIUM'),
        file: c.module.path,
        line,
        handler: route.handler,
        method: route.method,
        path: route.path,
        resource,
        operation,
        title: `${route.handler} creates ${c.model.name} without company_id`,
        does: `${c.model.name}(…) is made without company_id: the row belongs to no company until the migration's trigger or a backfill places it.`,
        after: `Set company_id from the current user's company (the seed's POST pattern).`,
        ...fix,
      });
    }
  }
  for (const m of models.values()) {
    if (m.columns.has('company_id') || opts.afterMigration || m.table === usersTable) continue;
    const companiesTable = models.get([...models.values()].find((x) => x.table === usersTable)?.name ?? '')?.columns.get('company_id')?.references;
    if (m.table === companiesTable || !tenantModel(m)) continue;
    const fix = fixModel(m, withCompany, fixOpts);
    const path = pathToCompany(m, models, 3);
    findings.push({
      id: `code:model:${m.module.path}:${m.name}`,
      kind: 'model-without-company',
      severity: severityOf(m.table, 'MEDIUM'),
      file: m.module.path,
      line: m.line,
      handler: null,
      method: null,
      path: null,
      resource: resourceOfTable.get(m.table)?.name ?? m.table,
      operation: null,
      title: `Model ${m.name} (${m.table}) has no company_id`,
      does: `${m.name} reaches a company only through ${path?.map((h) => `${h.column} → ${h.to.table}`).join(', ') ?? 'nothing'}: every query must join to scope it.`,
      after: `Declare company_id like ${withCompany[0]?.name ?? 'the models that have it'} (the seed's "Update all model files with company_id"), after the migration adds the column.`,
      ...fix,
    });
  }
  findings.sort((a, b) => a.file.localeCompare(b.file) || a.line - b.line);
  return { models: codeModels, handlers, findings, parsed: project.modules.length, lines, unparsable };
}

function queryFinding(route: Route, handler: CodeHandler, u: QueryUse, severity: 'HIGH' | 'MEDIUM' | 'LOW', fixOpts: FixOptions): FindingDraft {
  const line = u.q.root.startPosition.row + 1;
  const op = handler.operation;
  const what =
    u.q.rank === 0
      ? `${u.q.model.name} is queried with no filter on its company or user: every company's rows are reached.`
      : `${u.q.model.name} is looked up by an id the caller gives, with nothing tying it to the caller's company: another company's ${u.q.model.table} are reached by id.`;
  const fix = fixQuery(u, fixOpts);
  return {
    id: `code:query:${u.q.module.path}:${line}:${route.handler}`,
    kind: u.q.rank === 0 ? 'unscoped-query' : 'id-only-query',
    severity,
    file: u.q.module.path,
    line,
    handler: route.handler,
    method: route.method,
    path: route.path,
    resource: handler.resource,
    operation: op,
    title: `${route.method} ${route.path} (${route.handler}) ${u.q.rank === 0 ? 'reads' : 'finds'} ${u.q.model.table} ${u.q.rank === 0 ? 'unscoped' : 'by id only'}${u.via.length > 1 ? ` in ${u.via.slice(1).join(' → ')}` : ''}`,
    does: what,
    after:
      fixOpts.afterMigration || u.q.model.columns.has('company_id')
        ? `Filter by ${u.q.model.name}.company_id == the user's company (the seed's AFTER pattern).`
        : `Join to the company through ${
            pathToCompany(u.q.model, fixOpts.models, 3)
              ?.map((h) => h.column)
              .join(' → ') ?? '?'
          } and filter by the user's company.`,
    ...fix,
  };
}

export interface Hop {
  from: Model;
  column: string;
  to: Model;
}

/** The foreign keys from a model to the nearest model with company_id (owner, parent, grand-parent), or null. */
export function pathToCompany(m: Model, models: Map<string, Model>, maxHops: number): Hop[] | null {
  const byTable = new Map([...models.values()].map((x) => [x.table, x]));
  const queue: Array<{ at: Model; path: Hop[] }> = [{ at: m, path: [] }];
  const seen = new Set([m.table]);
  while (queue.length) {
    const { at, path } = queue.shift()!;
    if (path.length && at.columns.has('company_id')) return path;
    if (path.length >= maxHops) continue;
    for (const c of at.columns.values()) {
      const to = c.references ? byTable.get(c.references) : undefined;
      if (!to || seen.has(to.table)) continue;
      seen.add(to.table);
      queue.push({ at: to, path: [...path, { from: at, column: c.name, to }] });
    }
  }
  return null;
}
