import { referenceLabels } from '../../data/labels.ts';
import { dataAsOf } from '../../cache/cacheDb.ts';
import { deleteView, listViews, queryRecords, recordDetail, saveView } from '../../data/dataService.ts';
import { tenantOverview } from '../../data/overview.ts';
import { resourceCounts } from '../../cache/queries/records.ts';
import { searchIndexStatus } from '../../cache/queries/searchIndex.ts';
import type { HandlersFor, Kernel } from '../kernel.ts';
import { caller, dataTenant, visibleTenants } from '../scope.ts';

type Channels =
  'records:get' | 'records:resources' | 'records:query' | 'records:searchIndex' | 'tenants:overview' | 'views:list' | 'views:save' | 'views:delete';

export function dataHandlers(k: Kernel): HandlersFor<Channels> {
  const raw = async () => (await k.cacheFor(caller(k).s.connection)).raw;
  const catalog = () => k.connections.get(caller(k).s.connection).catalog;
  return {
    'records:get': async ({ resource, id }) => {
      const { scope } = caller(k);
      return recordDetail(await raw(), catalog(), { resource, id, company: scope.own, seenBy: scope.seenBy }) ?? { record: null, refs: [], referencedBy: [] };
    },
    'tenants:overview': async () => {
      const { scope } = caller(k);
      const overview = tenantOverview(await raw(), catalog(), visibleTenants(k), { identity: scope.identity, seenBy: scope.seenBy });
      // the company's audit is not a plain user's to read
      return scope.wholeCompany
        ? overview
        : { ...overview, tenants: overview.tenants.map((t) => ({ ...t, openFindings: null, missingCompanyId: 0 })), findingsHistory: [] };
    },
    'records:resources': async ({ tenant }) => {
      const company = dataTenant(k, tenant);
      const db = await raw();
      return { tenant: company, resources: resourceCounts(db, company, caller(k).scope.seenBy), asOf: dataAsOf(db, company) };
    },
    'records:query': async (input) => {
      const company = dataTenant(k, input.tenant);
      const db = await raw();
      const seenBy = caller(k).scope.seenBy;
      const window = queryRecords(db, { ...input, company, seenBy });
      return { tenant: company, ...window, ...referenceLabels(db, catalog(), { company, resource: input.resource, rows: window.rows, seenBy }) };
    },
    'records:searchIndex': async () => ({ status: searchIndexStatus(await raw()) }),
    'views:list': async () => ({ views: listViews(await raw(), caller(k).s.user.email) }),
    'views:save': async ({ name, resource, tenant, state }) => {
      if (tenant) dataTenant(k, tenant);
      return { view: saveView(await raw(), caller(k).s.user.email, { name, resource, tenant, state }) };
    },
    'views:delete': async ({ id }) => ({ deleted: deleteView(await raw(), caller(k).s.user.email, id) }),
  };
}
