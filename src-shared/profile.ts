import { z } from 'zod';
import { CatalogSchema, IncrementalSchema, PagingSchema } from './catalog.ts';
import { SafetySchema } from './safety.ts';

/**
 * A connection profile tells the console about one CRM: where it is, how to sign in, how to
 * read who is signed in and which companies exist. Nothing about a particular CRM is coded
 * in the console; the reference CRM's profile ships in profiles/ as the default.
 */
const path = z.string().regex(/^\//, 'a path starting with "/"');
const field = z.string().min(1, 'a field name');

export const PasswordAuthSchema = z
  .object({
    kind: z.literal('password'),
    loginPath: path,
    usernameField: field.default('email'),
    passwordField: field.default('password'),
    /** dotted path to the token in the sign-in answer */
    tokenField: field.default('access_token'),
    expiresInField: field.optional(),
  })
  .strict();

/**
 * OAuth2's password flow, as FastAPI's OAuth2PasswordRequestForm takes it: a form-encoded
 * `username` and `password` posted to the `tokenUrl` of the OpenAPI document's security scheme.
 */
export const OAuth2PasswordAuthSchema = z
  .object({
    kind: z.literal('oauth2-password'),
    tokenUrl: path,
    tokenField: field.default('access_token'),
    expiresInField: field.default('expires_in'),
    /** space-separated scopes to ask for, if the CRM wants any */
    scope: z.string().max(500).optional(),
  })
  .strict();

/** Pasted tokens (a bearer token, or an API key in the header the profile names): no sign-in request. */
export const TokenAuthSchema = z.object({ kind: z.literal('token') }).strict();

export const AuthSchema = z.discriminatedUnion('kind', [PasswordAuthSchema, OAuth2PasswordAuthSchema, TokenAuthSchema]);
export type Auth = z.infer<typeof AuthSchema>;
export const AUTH_KINDS = ['password', 'oauth2-password', 'token'] as const;

export const IdentitySchema = z
  .object({
    label: z.string().min(1).max(80),
    /** sign-in name; the password is never stored in the profile */
    username: z.string().min(1).max(320).optional(),
    /** environment variable holding the password (CI) */
    passwordEnv: z
      .string()
      .regex(/^[A-Z_][A-Z0-9_]*$/, 'an environment variable name')
      .optional(),
    /** environment variable holding a pasted token (CI) */
    tokenEnv: z
      .string()
      .regex(/^[A-Z_][A-Z0-9_]*$/, 'an environment variable name')
      .optional(),
  })
  .strict();
export type Identity = z.infer<typeof IdentitySchema>;

export const ConnectionProfileSchema = z
  .object({
    version: z.literal(1),
    name: z.string().regex(/^[a-z0-9][a-z0-9_-]{0,62}$/, 'lower-case letters, digits, "-" or "_"'),
    description: z.string().max(500).optional(),
    baseUrl: z.url({ protocol: /^https?$/, error: 'an http:// or https:// address' }),
    auth: AuthSchema,
    header: z
      .object({ name: field.default('Authorization'), scheme: z.string().default('Bearer') })
      .strict()
      .default({ name: 'Authorization', scheme: 'Bearer' }),
    whoami: z
      .object({
        path,
        idField: field.default('id'),
        emailField: field.default('email'),
        nameField: field.default('full_name'),
        roleField: field.default('role'),
        companyIdField: field.default('company_id'),
        companyNameField: field.default('company_name'),
        /** the CRM's role names for each console role */
        roles: z
          .object({ super_admin: z.array(z.string()).min(1), company_admin: z.array(z.string()).min(1), user: z.array(z.string()).min(1) })
          .strict()
          .default({ super_admin: ['super_admin'], company_admin: ['company_admin'], user: ['user'] }),
      })
      .strict(),
    /** where the companies are listed; a CRM without such an endpoint leaves it out */
    tenants: z
      .object({ listPath: path, itemsField: z.string().default('items'), idField: field.default('id'), nameField: field.default('name') })
      .strict()
      .optional(),
    openapiPath: path.default('/openapi.json'),
    paging: PagingSchema.default({
      kind: 'cursor',
      limitParam: 'limit',
      cursorParam: 'cursor',
      itemsField: 'items',
      nextCursorField: 'next_cursor',
      maxLimit: 100,
    }),
    incremental: IncrementalSchema.optional(),
    /** a list query parameter that searches every field (the isolation runner looks for its canaries' markers) */
    searchParam: z.string().max(100).optional(),
    catalog: CatalogSchema.default({ users: 'users', resources: [] }),
    sync: z
      .object({
        /** query parameter with which a super admin lists one company */
        tenantParam: z.string().optional(),
        /** TenantScope's manifest protocol: GET path?resource=&<tenantParam>= answers {count, latest_updated_at, hash} */
        manifestPath: path.optional(),
        /** a query parameter (set to "true") with which the manifest answers the count alone: cheap totals for the progress bars */
        countOnlyParam: z.string().max(100).optional(),
      })
      .strict()
      .default({}),
    identities: z.array(IdentitySchema).max(50).default([]),
    /** environment variable holding the CRM's database URL (CI; the URL itself is never in a profile) */
    databaseUrlEnv: z
      .string()
      .regex(/^[A-Z_][A-Z0-9_]*$/, 'an environment variable name')
      .optional(),
    /** Safe Mode: demo, staging or production, and a colour (by default from where the CRM is: see safety.ts) */
    safety: SafetySchema.optional(),
    /** true when the console may start this CRM itself (the demo connection) */
    embedded: z.boolean().default(false),
    /** the public password of the embedded demo data set (embedded connections only) */
    demoPassword: z.string().optional(),
  })
  .strict();
export type ConnectionProfile = z.infer<typeof ConnectionProfileSchema>;
export type ConnectionProfileInput = z.input<typeof ConnectionProfileSchema>;

/** Reads a dotted path (`data.token`) out of a JSON answer; the empty path is the answer itself (a bare list). */
export function pick(value: unknown, dotted: string): unknown {
  if (dotted === '') return value;
  let cur: unknown = value;
  for (const part of dotted.split('.')) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<string, unknown>)[part];
  }
  return cur;
}

/** Turns zod issues into `field: message` lines a user can act on. */
export function describeIssues(issues: ReadonlyArray<{ path: PropertyKey[]; message: string }>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const i of issues) out[i.path.map(String).join('.') || '(root)'] = i.message;
  return out;
}
