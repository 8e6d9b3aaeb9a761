// The findings of the source audit: a query not scoped by company, a create without company_id,
// a model without company_id; each with what the code does, the seed's AFTER, and its fix.
import type { CodeHandler } from '../../../src-shared/contract/code.ts';
import type { AuditContext, FindingDraft } from './analyzer.ts';
import { fixCreate, fixModel, fixQuery } from './fix.ts';
import { declaresCompany, pathToCompany, type Model } from './models.ts';
import type { Route } from './routes.ts';
import type { CreateUse, QueryUse } from './scoping.ts';

export function queryFinding(cx: AuditContext, route: Route, handler: CodeHandler, u: QueryUse): FindingDraft {
  const line = u.q.root.startPosition.row + 1;
  const fixOpts = cx.fixOpts;

  const op = handler.operation;
  const what =
    u.q.rank === 0
      ? `${u.q.model.name} is queried with no filter on its company or user: every company's rows are reached.`
      : `${u.q.model.name} is looked up by an id the caller gives, with nothing tying it to the caller's company: another company's ${u.q.model.table} are reached by id.`;
  const fix = fixQuery(u, fixOpts);
  return {
    id: `code:query:${u.q.module.path}:${line}:${route.handler}`,
    kind: u.q.rank === 0 ? 'unscoped-query' : 'id-only-query',
    severity: cx.severityOf(u.q.model.table, 'HIGH'),
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

export function createFinding(cx: AuditContext, route: Route, handler: CodeHandler, c: CreateUse): FindingDraft {
  const line = c.node.startPosition.row + 1;
  return {
    id: `code:create:${c.module.path}:${line}`,
    kind: 'create-without-company',
    severity: cx.severityOf(c.model.table, 'MEDIUM'),
    file: c.module.path,
    line,
    handler: route.handler,
    method: route.method,
    path: route.path,
    resource: handler.resource,
    operation: handler.operation,
    title: `${route.handler} creates ${c.model.name} without company_id`,
    does: `${c.model.name}(…) is made without company_id: the row belongs to no company until the migration's trigger or a backfill places it.`,
    after: `Set company_id from the current user's company (the seed's POST pattern).`,
    ...fixCreate(c, cx.fixOpts),
  };
}

/** Where a finding about a model is: its class, no handler. */
const modelPlace = (cx: AuditContext, m: Model) => ({
  file: m.module.path,
  line: m.line,
  handler: null,
  method: null,
  path: null,
  resource: cx.resourceOfTable.get(m.table)?.name ?? m.table,
  operation: null,
});

export function modelFinding(cx: AuditContext, m: Model): FindingDraft {
  const withCompany = [...cx.models.values()].filter(declaresCompany);
  const path = pathToCompany(m, cx.models, 3);
  return {
    ...modelPlace(cx, m),
    id: `code:model:${m.module.path}:${m.name}`,
    kind: 'model-without-company',
    severity: cx.severityOf(m.table, 'MEDIUM'),
    title: `Model ${m.name} (${m.table}) has no company_id`,
    does: `${m.name} reaches a company only through ${path?.map((h) => `${h.column} → ${h.to.table}`).join(', ') ?? 'nothing'}: every query must join to scope it.`,
    after: `Declare company_id like ${withCompany[0]?.name ?? 'the models that have it'} (the seed's "Update all model files with company_id"), after the migration adds the column.`,
    ...fixModel(m, withCompany, cx.fixOpts),
  };
}

/** A model and its table in the database differ: company_id the migration added (with the fix), or other columns (said). */
export function databaseFinding(cx: AuditContext, m: Model): FindingDraft {
  const base = modelPlace(cx, m);

  const cols = m.dbColumns;
  if (m.columns.get('company_id')?.undeclared) {
    const withCompany = [...cx.models.values()].filter(declaresCompany);
    return {
      ...base,
      id: `code:database:${m.module.path}:${m.name}:company_id`,
      kind: 'model-vs-database',
      severity: cx.severityOf(m.table, 'HIGH'),
      title: `Model ${m.name} does not declare company_id, which ${m.table} has in the database`,
      does: `The migration added ${m.table}.company_id; the model does not declare it, so no query can filter on it yet.`,
      after: `Declare it as ${withCompany[0]?.name ?? 'the models that have it'} does (the seed's "Update all model files with company_id"); the queries' fixes filter on it.`,
      ...fixModel(m, withCompany, cx.fixOpts),
    };
  }
  const extra = cols ? [...m.columns.keys()].filter((c) => !cols.includes(c)) : [];
  const missing = cols ? cols.filter((c) => !m.columns.has(c)) : [];
  return {
    ...base,
    id: `code:database:${m.module.path}:${m.name}`,
    kind: 'model-vs-database',
    severity: !cols || extra.length ? 'MEDIUM' : 'LOW',
    title: !cols ? `Model ${m.name}: the table ${m.table} is not in the database` : `Model ${m.name} and the table ${m.table} differ`,
    does: !cols
      ? `No table ${m.table} in the database: every query on ${m.name} fails.`
      : [
          extra.length ? `The model declares ${extra.join(', ')}, which the table lacks (every query on it fails).` : '',
          missing.length ? `The table has ${missing.join(', ')}, which the model does not declare.` : '',
        ]
          .filter(Boolean)
          .join(' '),
    after: 'Bring the model and the table together (a migration, or the model file).',
    edits: [],
    noFix: 'which side is right is for a person to say',
  };
}
