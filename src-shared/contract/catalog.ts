import { z } from 'zod';
import { CatalogSchema } from '../catalog.ts';
import { Name, type Channels } from './common.ts';

// The tenancy catalog: read, discover, save, check for drift.

export const DriftItemSchema = z.object({
  resource: z.string(),
  change: z.enum(['added', 'removed', 'changed']),
  field: z.string().nullable(),
  saved: z.unknown(),
  now: z.unknown(),
  message: z.string(),
});

export type DriftItemData = z.infer<typeof DriftItemSchema>;

export const catalogChannels = {
  'catalog:get': {
    access: 'public',
    summary: 'The tenancy catalog saved in a connection profile',
    input: z.object({ connection: Name }).strict(),
    output: z.object({ catalog: CatalogSchema, editable: z.boolean() }),
  },
  'catalog:discover': {
    access: 'public',
    summary:
      "Discover the catalog from a connection's CRM (its OpenAPI document, and its database when the connection has a URL), or from an address not yet saved; nothing is saved",
    input: z
      .object({
        connection: Name.optional(),
        useDatabase: z.boolean().default(true),
        /** an address (the CRM's, or its OpenAPI document's) instead of a saved connection: the CLI's only (a window is refused) */
        url: z.string().min(1).max(2048).optional(),
        /** with url: the CRM's PostgreSQL, read once for tables and foreign keys */
        databaseUrl: z.string().max(2048).optional(),
        /** with url: where list answers keep their records */
        itemsField: z.string().min(1).max(100).optional(),
      })
      .strict()
      .refine((x) => !!x.connection !== !!x.url, { message: 'give a connection or a url, not both', path: ['connection'] }),
    output: z.object({ catalog: CatalogSchema, drift: z.array(DriftItemSchema), tenantsPath: z.string().nullable(), usedDatabase: z.boolean() }),
  },
  'catalog:save': {
    access: 'connection-admin',
    summary: 'Save an edited or discovered catalog into the connection profile',
    input: z.object({ connection: Name, catalog: z.unknown() }).strict(),
    output: z.object({ catalog: CatalogSchema }),
  },
  'catalog:check': {
    access: 'connection-admin',
    summary: 'Compare the saved catalog with what the CRM says now (its database too, when a URL is held or given)',
    input: z
      .object({
        connection: Name,
        databaseUrl: z
          .string()
          .regex(/^postgres(ql)?:\/\//, 'a postgres:// URL')
          .max(2048)
          .optional(),
      })
      .strict(),
    output: z.object({ drift: z.array(DriftItemSchema) }),
  },
} as const satisfies Channels;
