import { z } from 'zod';
import { SAFETY_LEVELS } from '../safety.ts';
import { AUTH_KINDS, ConnectionProfileSchema, IdentitySchema } from '../profile.ts';
import { RoleSchema } from '../tenancy.ts';
import { Empty, Name, Secret, type Channels } from './common.ts';

// CRM connections: list, read, discover, save, remove, restore, test.

export const ConnectionSummarySchema = z.object({
  name: z.string(),
  description: z.string().nullable(),
  baseUrl: z.string(),
  embedded: z.boolean(),
  authKind: z.enum(AUTH_KINDS),
  identities: z.array(IdentitySchema),
  hasDatabaseUrl: z.boolean(),
  /** identities whose secret is held right now (in memory, the OS keyring or safeStorage) */
  secretsHeld: z.array(z.string()),
  /** Safe Mode: the level and colour, and whether someone chose them (else they follow from the address) */
  safety: z.object({ level: z.enum(SAFETY_LEVELS), color: z.string(), chosen: z.boolean() }),
});

export type ConnectionSummary = z.infer<typeof ConnectionSummarySchema>;

export const CheckSchema = z.object({
  name: z.enum(['reachable', 'openapi', 'crm', 'sign-in', 'role', 'lists']),
  status: z.enum(['pass', 'fail', 'warn', 'skipped']),
  code: z.string().nullable(),
  message: z.string(),
});

export type Check = z.infer<typeof CheckSchema>;

export const connectionsChannels = {
  'connections:list': {
    access: 'public',
    summary: 'Every saved connection, the demo first',
    input: Empty,
    output: z.object({ connections: z.array(ConnectionSummarySchema) }),
  },
  'connections:get': {
    access: 'public',
    summary: 'One connection profile',
    input: z.object({ name: Name }).strict(),
    output: z.object({ profile: ConnectionProfileSchema, hasDatabaseUrl: z.boolean() }),
  },
  'connections:discover': {
    access: 'public',
    summary:
      "A whole connection profile from a CRM's address (its OpenAPI document) and, when given, its database: sign-in, whoami, paging, the catalog; nothing is saved",
    input: z
      .object({
        name: Name,
        url: z.string().min(1).max(2048),
        /** read once for tables and foreign keys; saved only if the connection is saved with it */
        databaseUrl: z.string().max(2048).optional(),
        /** the environment variable that will hold the database URL (CI); saved in the profile, never the URL */
        databaseUrlEnv: z
          .string()
          .regex(/^[A-Z_][A-Z0-9_]*$/, 'an environment variable name')
          .optional(),
        identities: z.array(IdentitySchema).max(50).default([]),
      })
      .strict(),
    output: z.object({
      profile: ConnectionProfileSchema,
      notes: z.array(z.string()),
      toConfirm: z.array(z.object({ resource: z.string(), what: z.array(z.string()) })),
      usedDatabase: z.boolean(),
    }),
  },
  'connections:save': {
    access: 'connection-admin',
    summary: 'Add a connection, or replace one with `replace: true`',
    input: z
      .object({
        profile: z.unknown(),
        replace: z.boolean().default(false),
        /** PostgreSQL URL for super-admin work; kept with the secrets, never in the profile file */
        databaseUrl: z.string().max(2048).nullable().optional(),
        /** passwords or tokens by identity label; kept in memory, the OS keyring or safeStorage */
        secrets: z.record(z.string(), Secret).optional(),
      })
      .strict(),
    output: z.object({ connection: ConnectionSummarySchema, notice: z.string().optional() }),
  },
  'connections:remove': {
    access: 'connection-admin',
    summary: 'Remove a connection; answers an undo token valid for ten minutes',
    input: z.object({ name: Name }).strict(),
    output: z.object({ removed: z.string(), undoToken: z.string() }),
  },
  'connections:restore': {
    access: 'public',
    summary: 'Undo a removal',
    input: z.object({ undoToken: z.string().min(1).max(200) }).strict(),
    output: z.object({ connection: ConnectionSummarySchema }),
  },
  'connections:test': {
    access: 'public',
    summary: 'Reach the CRM, find its OpenAPI document, sign in and read the role',
    input: z.object({ name: Name, username: z.string().min(1).max(320).optional(), password: Secret.optional(), token: Secret.optional() }).strict(),
    output: z.object({ ok: z.boolean(), checks: z.array(CheckSchema), role: RoleSchema.nullable() }),
  },
} as const satisfies Channels;
