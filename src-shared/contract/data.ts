import { z } from 'zod';
import { Empty, type Channels } from './common.ts';

// The Data view: records, resources, the tenants overview, saved views.

/** A grid's sort and filters: the same in a query and in a saved view. */
const SearchIndexStatus = z.union([z.object({ ready: z.literal(true) }), z.object({ ready: z.literal(false), percent: z.number() })]).nullable();
const GridSort = z.object({ field: z.string().max(100), dir: z.enum(['asc', 'desc']) }).strict();
const GridFilters = z
  .array(z.object({ field: z.string().max(100), op: z.enum(['eq', 'contains', 'empty', 'not-empty']), value: z.string().max(200).optional() }).strict())
  .max(20);

export const SavedViewSchema = z.object({
  id: z.number(),
  name: z.string(),
  resource: z.string(),
  tenant: z.string().nullable(),
  createdAt: z.string(),
  state: z
    .object({
      search: z.string().max(200).optional(),
      sort: GridSort.optional(),
      filters: GridFilters.optional(),
      columns: z.array(z.string().max(100)).max(200).optional(),
    })
    .strict(),
});

export const dataChannels = {
  'records:get': {
    access: 'signed-in',
    summary:
      'One cached record with its provenance, what it points at (crossing tenants flagged with the audit finding) and who points at it (a company admin: records of their own partition only)',
    input: z.object({ resource: z.string().min(1).max(100), id: z.string().min(1).max(200) }).strict(),
    output: z.object({
      record: z
        .object({
          companyId: z.string(),
          resource: z.string(),
          id: z.string(),
          updatedAt: z.string().nullable(),
          deleted: z.boolean(),
          payload: z.record(z.string(), z.unknown()),
          fetchedBy: z.string(),
          fetchedFrom: z.string(),
          fetchedAt: z.string(),
        })
        .nullable(),
      refs: z
        .array(
          z.object({
            field: z.string(),
            resource: z.string(),
            id: z.string(),
            /** the record's name, where the caller may read it */
            label: z.string().nullable().default(null),
            companyId: z.string().nullable(),
            crossTenant: z.boolean(),
            finding: z.object({ id: z.string(), title: z.string(), severity: z.string() }).nullable(),
          }),
        )
        .default([]),
      referencedBy: z.array(z.object({ resource: z.string(), id: z.string(), field: z.string(), companyId: z.string(), crossTenant: z.boolean() })).default([]),
    }),
  },
  'tenants:overview': {
    access: 'signed-in',
    summary:
      'Every tenant the operator may see, from the cache: users, rows per priority group, rows missing company_id, open findings, last sync and proof; rows per resource; findings over time; the sync history',
    input: Empty,
    output: z.object({
      tenants: z.array(
        z.object({
          id: z.string(),
          name: z.string(),
          users: z.number(),
          rows: z.number(),
          byPriority: z.object({ company: z.number(), HIGH: z.number(), MEDIUM: z.number(), LOW: z.number() }),
          missingCompanyId: z.number(),
          openFindings: z.number().nullable(),
          findingsOfAll: z.boolean(),
          lastSync: z.string().nullable(),
          proof: z.object({ proven: z.number(), drifted: z.number(), asOf: z.string().nullable() }),
        }),
      ),
      resources: z.array(z.object({ tenant: z.string(), resource: z.string(), rows: z.number(), missing: z.number(), priority: z.string() })),
      findingsHistory: z.array(z.object({ at: z.string(), scope: z.string(), HIGH: z.number(), MEDIUM: z.number(), LOW: z.number() })),
      syncHistory: z.array(
        z.object({ startedAt: z.string(), seconds: z.number().nullable(), identity: z.string(), outcome: z.string(), rows: z.number(), retries: z.number() }),
      ),
    }),
  },
  'records:resources': {
    access: 'signed-in',
    summary: 'The resources the cache holds for a tenant, with row counts (a company admin: their own company)',
    input: z.object({ tenant: z.string().min(1).max(200).optional() }).strict(),
    output: z.object({ tenant: z.string(), resources: z.array(z.object({ resource: z.string(), rows: z.number() })), asOf: z.string().nullable() }),
  },
  'records:query': {
    access: 'signed-in',
    summary: "A window of one tenant's cached rows of one resource: sorted, filtered, searched in the payload, with the count of all that match (no network)",
    input: z
      .object({
        tenant: z.string().min(1).max(200).optional(),
        resource: z.string().min(1).max(100),
        search: z.string().max(200).optional(),
        sort: GridSort.optional(),
        filters: GridFilters.optional(),
        offset: z.number().int().min(0).default(0),
        limit: z.number().int().min(1).max(500).default(100),
        includeDeleted: z.boolean().default(false),
        /** count every matching row too (the grid asks once, with its first window) */
        count: z.boolean().default(true),
      })
      .strict(),
    output: z.object({
      tenant: z.string(),
      total: z.number().nullable(),
      columns: z.array(z.string()),
      rows: z.array(z.object({ id: z.string(), updatedAt: z.string().nullable(), deleted: z.boolean(), fields: z.record(z.string(), z.unknown()) })),
      /** reference field → referenced id → that record's label, from this tenant's rows the caller may read */
      labels: z.record(z.string(), z.record(z.string(), z.string())).default({}),
      /** reference field → the ids in this window it points at that the cache holds only in another company */
      crossing: z.record(z.string(), z.array(z.string())).default({}),
      /** with a search: the trigram index it is answered from, null none (a small cache), or how far its making is */
      searchIndex: SearchIndexStatus.optional(),
    }),
  },
  'records:searchIndex': {
    access: 'signed-in',
    summary: "How far the cache's search index is made (null: there is none, a search reads the rows)",
    input: Empty,
    output: z.object({ status: SearchIndexStatus }),
  },
  'views:list': {
    access: 'signed-in',
    summary: "The operator's saved views of the Data view",
    input: Empty,
    output: z.object({ views: z.array(SavedViewSchema) }),
  },
  'views:save': {
    access: 'signed-in',
    summary: 'Save (or replace, by name) a view of the Data view: resource, tenant, search, sort, filters, columns',
    input: z
      .object({
        name: z.string().min(1).max(80),
        resource: z.string().min(1).max(100),
        tenant: z.string().max(200).nullable(),
        state: SavedViewSchema.shape.state,
      })
      .strict(),
    output: z.object({ view: SavedViewSchema }),
  },
  'views:delete': {
    access: 'signed-in',
    summary: 'Delete a saved view',
    input: z.object({ id: z.number().int().positive() }).strict(),
    output: z.object({ deleted: z.boolean() }),
  },
} as const satisfies Channels;
