import { z } from 'zod';
import { PrioritySchema, TenancyClassSchema } from './tenancy.ts';

/**
 * The tenancy catalog: for every resource of a CRM, where it is served, where it is stored, and
 * how it belongs to a company. Discovered from the CRM's OpenAPI document and its database, then
 * confirmed by a person; sync, audit, isolation and migration all read it.
 */
const template = z.string().regex(/^\//, 'a path template starting with "/", e.g. /api/calls/{id}');
const ident = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'a field or table name');

export const DerivationSchema = z.discriminatedUnion('kind', [
  /** the row carries its company itself */
  z.object({ kind: z.literal('own'), field: ident }).strict(),
  /** the row's owner user carries the company */
  z.object({ kind: z.literal('owner'), field: ident }).strict(),
  /** the parent row (another resource) carries the company, directly or in turn */
  z.object({ kind: z.literal('parent'), field: ident, resource: ident }).strict(),
  /** no company (global shared data, system tables) */
  z.object({ kind: z.literal('none') }).strict(),
]);
export type Derivation = z.infer<typeof DerivationSchema>;

export const ResourceSchema = z
  .object({
    name: ident,
    endpoints: z
      .object({ list: template.optional(), get: template.optional(), create: template.optional(), update: template.optional(), delete: template.optional() })
      .strict(),
    /** the update verb the CRM takes */
    updateMethod: z.enum(['PUT', 'PATCH']).default('PUT'),
    table: ident.nullable(),
    idField: ident.default('id'),
    /** the company field as the API returns it, if the resource has one */
    companyField: ident.nullable(),
    class: TenancyClassSchema,
    derivation: DerivationSchema,
    /** the seed's priority for resources still missing company_id; null when it already has it */
    priority: PrioritySchema.nullable(),
    references: z.array(z.object({ field: ident, resource: ident }).strict()).default([]),
    /** the field that names one of its records where another points at it (a name, email, subject or title); guessed when left out */
    labelField: ident.optional(),
    /**
     * what a row with no owner (or parent) is: an orphan to place (the default), or a row every
     * company shares (a system template): reported as shared data, left NULL by the migration
     */
    ownerless: z.enum(['orphans', 'shared']).optional(),
    /** the text field an update probe changes (one the update body accepts); without it, the first marked field of the body template */
    changeField: ident.optional(),
    /** a body that creates one; "{{ref:<resource>}}" stands for the id of a row of that resource */
    bodyTemplate: z.record(z.string(), z.unknown()).default({}),
    /** what discovery could not decide, for a person to confirm; empty once confirmed */
    uncertain: z.array(z.string()).default([]),
  })
  .strict();
export type Resource = z.infer<typeof ResourceSchema>;

export const CatalogSchema = z
  .object({
    /** the resource holding users: an owner field points at it, and its company field gives the owner's company */
    users: ident.default('users'),
    resources: z.array(ResourceSchema),
  })
  .strict()
  .superRefine((cat, ctx) => {
    const names = new Set<string>();
    cat.resources.forEach((r, i) => {
      if (names.has(r.name)) ctx.addIssue({ code: 'custom', path: ['resources', i, 'name'], message: `"${r.name}" appears twice` });
      names.add(r.name);
    });
    cat.resources.forEach((r, i) => {
      const targets = [...r.references.map((x) => x.resource), ...(r.derivation.kind === 'parent' ? [r.derivation.resource] : [])];
      for (const t of targets) {
        if (!names.has(t) && t !== cat.users)
          ctx.addIssue({ code: 'custom', path: ['resources', i], message: `refers to "${t}", which is not in the catalog` });
      }
    });
  });
export type Catalog = z.infer<typeof CatalogSchema>;

export const PagingSchema = z.discriminatedUnion('kind', [
  z
    .object({
      kind: z.literal('cursor'),
      limitParam: z.string().default('limit'),
      cursorParam: z.string().default('cursor'),
      itemsField: z.string().default('items'),
      nextCursorField: z.string().default('next_cursor'),
      maxLimit: z.number().int().positive().default(100),
    })
    .strict(),
  z
    .object({
      kind: z.literal('offset'),
      limitParam: z.string().default('limit'),
      offsetParam: z.string().default('offset'),
      itemsField: z.string().default('items'),
      totalField: z.string().optional(),
      maxLimit: z.number().int().positive().default(100),
    })
    .strict(),
  z
    .object({
      kind: z.literal('page'),
      pageParam: z.string().default('page'),
      sizeParam: z.string().default('page_size'),
      firstPage: z.number().int().min(0).default(1),
      itemsField: z.string().default('items'),
      totalField: z.string().optional(),
      maxLimit: z.number().int().positive().default(100),
    })
    .strict(),
  /** RFC 8288 Link headers: the next page is the rel="next" link of the last answer (on the connection's own origin only) */
  z
    .object({
      kind: z.literal('link'),
      limitParam: z.string().default('limit'),
      itemsField: z.string().default('items'),
      maxLimit: z.number().int().positive().default(100),
    })
    .strict(),
]);
export type Paging = z.infer<typeof PagingSchema>;

/** Where list answers usually keep their records, most likely first (discovery reads the schema, the tester the answer). */
export const LIST_FIELDS = ['items', 'data', 'results', 'records', 'rows', 'entries'] as const;

export const IncrementalSchema = z
  .object({
    /** query parameter that limits a list to rows updated since an instant */
    updatedSinceParam: z.string().optional(),
    /** the field holding a row's last update */
    updatedAtField: z.string().default('updated_at'),
    deletions: z
      .object({
        path: template,
        sinceParam: z.string().default('since'),
        itemsField: z.string().default('items'),
        resourceField: z.string().default('resource'),
        idField: z.string().default('id'),
        atField: z.string().default('deleted_at'),
        nextCursorField: z.string().optional(),
      })
      .strict()
      .optional(),
  })
  .strict();
export type Incremental = z.infer<typeof IncrementalSchema>;
