// The findings of the source audit: a query not scoped by company, a create without company_id,
// a model without company_id; each with what the code does, the seed's AFTER, and its fix.
import type { CodeHandler } from '../../../src-shared/contract/code.ts';
import type { AuditContext, FindingDraft } from './analyzer.ts';
import { fixCreate, fixModel, fixQuery } from './fix.ts';
import { pathToCompany, type Model } from './models.ts';
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

export function modelFinding(cx: AuditContext, m: Model): FindingDraft {
  const withCompany = [...cx.models.values()].filter((x) => x.columns.has('company_id'));
  const path = pathToCompany(m, cx.models, 3);
  return {
    id: `code:model:${m.module.path}:${m.name}`,
    kind: 'model-without-company',
    severity: cx.severityOf(m.table, 'MEDIUM'),
    file: m.module.path,
    line: m.line,
    handler: null,
    method: null,
    path: null,
    resource: cx.resourceOfTable.get(m.table)?.name ?? m.table,
    operation: null,
    title: `Model ${m.name} (${m.table}) has no company_id`,
    does: `${m.name} reaches a company only through ${path?.map((h) => `${h.column} → ${h.to.table}`).join(', ') ?? 'nothing'}: every query must join to scope it.`,
    after: `Declare company_id like ${withCompany[0]?.name ?? 'the models that have it'} (the seed's "Update all model files with company_id"), after the migration adds the column.`,
    ...fixModel(m, withCompany, cx.fixOpts),
  };
}
