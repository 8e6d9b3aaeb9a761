import { createHash } from 'node:crypto';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import swagger from '@fastify/swagger';
import { sql, type RawBuilder } from 'kysely';
import type { Db } from './db.ts';
import type { RlsMode } from './rlsMode.ts';
import { Catalog, type Column } from './catalog.ts';
import { MODELS, MODEL_BY_NAME, type ModelDef } from './models.ts';
import type { EnforcementProfile, Scope } from './enforcement.ts';
import { hashPassword, verifyPassword, Tokens, type Caller } from './auth.ts';

export interface CrmOptions {
  db: Db;
  profile: EnforcementProfile;
  tokens: Tokens;
  logger?: boolean;
  /**
   * Writes as old code does: only the columns each table had when the server started (an ORM
   * model that knows nothing of a company_id added later). Reads still see every column.
   */
  frozenWrites?: boolean;
  /** row-level security mode: every request's queries in one transaction with its company set (rlsMode.ts) */
  rls?: RlsMode;
}

class HttpError extends Error {
  constructor(
    readonly statusCode: number,
    readonly detail: unknown,
  ) {
    super(typeof detail === 'string' ? detail : 'error');
  }
}

const HIDDEN_COLUMNS = new Set(['password_hash']);
const SERVER_COLUMNS = new Set(['id', 'created_at', 'updated_at', 'deleted_at', 'password_hash']);
const UUID = { type: 'string', format: 'uuid' } as const;
const DEFAULT_LIMIT = 100;
const MAX_LIMIT = 1000;

function jsonType(c: Column): Record<string, unknown> {
  let base: Record<string, unknown>;
  switch (c.dataType) {
    case 'uuid':
      base = { type: 'string', format: 'uuid' };
      break;
    case 'integer':
    case 'bigint':
    case 'smallint':
      base = { type: 'integer' };
      break;
    case 'numeric':
    case 'double precision':
    case 'real':
      base = { type: 'number' };
      break;
    case 'boolean':
      base = { type: 'boolean' };
      break;
    case 'timestamp with time zone':
    case 'timestamp without time zone':
      base = { type: 'string', format: 'date-time' };
      break;
    case 'date':
      base = { type: 'string', format: 'date' };
      break;
    case 'jsonb':
    case 'json':
      return {};
    default:
      base = { type: 'string' };
  }
  if (c.nullable) base.type = [base.type as string, 'null'];
  return base;
}

function bodySchemas(model: ModelDef, columns: Column[]) {
  const properties: Record<string, unknown> = {};
  const required: string[] = [];
  for (const c of columns) {
    if (SERVER_COLUMNS.has(c.name)) continue;
    properties[c.name] = jsonType(c);
    const serverFilled = c.name === 'company_id' || c.name === model.owner;
    if (!c.nullable && !c.hasDefault && !serverFilled) required.push(c.name);
  }
  if (model.name === 'users') {
    properties.password = { type: 'string', minLength: 4, maxLength: 200 };
    required.push('password');
  }
  const create = { type: 'object', properties, required, additionalProperties: false };
  const update = { type: 'object', properties, additionalProperties: false, minProperties: 1 };
  return { create, update };
}

function itemSchema(columns: Column[]) {
  const properties: Record<string, unknown> = {};
  for (const c of columns) if (!HIDDEN_COLUMNS.has(c.name)) properties[c.name] = jsonType({ ...c, nullable: c.nullable });
  return { type: 'object', properties, additionalProperties: true };
}

function encodeCursor(parts: string[]): string {
  return Buffer.from(JSON.stringify(parts)).toString('base64url');
}

function decodeCursor(cursor: string, size: number): string[] {
  try {
    const parts = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as unknown;
    if (Array.isArray(parts) && parts.length === size && parts.every((p) => typeof p === 'string')) return parts as string[];
  } catch {
    /* fall through */
  }
  throw new HttpError(422, [{ loc: ['query', 'cursor'], msg: 'invalid cursor', type: 'value_error' }]);
}

function parseLimit(raw: string | undefined): number {
  if (raw === undefined) return DEFAULT_LIMIT;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1 || n > MAX_LIMIT) {
    throw new HttpError(422, [{ loc: ['query', 'limit'], msg: `limit must be an integer from 1 to ${MAX_LIMIT}`, type: 'value_error' }]);
  }
  return n;
}

function parseSince(raw: string | undefined, name: string): string | undefined {
  if (raw === undefined) return undefined;
  if (Number.isNaN(Date.parse(raw))) throw new HttpError(422, [{ loc: ['query', name], msg: 'expected an ISO 8601 timestamp', type: 'value_error' }]);
  return raw;
}

function clean(row: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(row)) if (!HIDDEN_COLUMNS.has(k) && !k.startsWith('__')) out[k] = v;
  return out;
}

const listQuery = {
  type: 'object',
  properties: {
    limit: { type: 'string', pattern: '^[0-9]+$', description: `page size, 1..${MAX_LIMIT} (default ${DEFAULT_LIMIT})` },
    cursor: { type: 'string', description: 'next_cursor of the previous page' },
    updated_since: { type: 'string', format: 'date-time', description: 'only rows updated at or after this instant' },
    q: { type: 'string', maxLength: 200, description: 'text search over every field' },
    company_id: { ...UUID, description: 'super admin only: one company' },
  },
  additionalProperties: false,
};

export async function buildCrmServer(opts: CrmOptions): Promise<FastifyInstance> {
  const { profile, tokens } = opts;
  const db = opts.rls?.db ?? opts.db;
  const catalog = new Catalog(db);
  await catalog.refresh();
  const startColumns = new Map(MODELS.map((m) => [m.name, new Set(catalog.columnsOf(m.name).map((c) => c.name))]));
  const writable = (table: string, column: string) => catalog.hasColumn(table, column) && (!opts.frozenWrites || startColumns.get(table)!.has(column));

  const app = Fastify({
    logger: opts.logger ?? false,
    bodyLimit: 1024 * 1024,
    ajv: { customOptions: { coerceTypes: false, removeAdditional: false, allErrors: true } },
  });
  opts.rls?.install(app);
  // response schemas document the API; rows are sent as they are (a migrated table gains columns)
  app.setSerializerCompiler(() => (data) => JSON.stringify(data));

  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: { title: 'Reference CRM', version: '1.0.0', description: 'The multi-tenant CRM of the TenantScope seed audit, in its before-state.' },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' } } },
    },
  });

  app.setErrorHandler(
    (
      error: Error & {
        statusCode?: number;
        code?: string;
        validation?: Array<{ instancePath: string; message?: string; keyword: string; params: Record<string, unknown> }>;
        validationContext?: string;
      },
      request,
      reply,
    ) => {
      if (error instanceof HttpError) return reply.status(error.statusCode).send({ detail: error.detail });
      if (error.validation) {
        const detail = error.validation.map((v) => {
          const loc = [error.validationContext ?? 'body', ...v.instancePath.split('/').filter(Boolean)];
          if (v.keyword === 'required') loc.push(String(v.params.missingProperty));
          if (v.keyword === 'additionalProperties') loc.push(String(v.params.additionalProperty));
          const msg = v.keyword === 'additionalProperties' ? 'unknown field' : v.keyword === 'required' ? 'field required' : (v.message ?? 'invalid');
          return { loc, msg, type: v.keyword };
        });
        return reply.status(422).send({ detail });
      }
      if (error.code?.startsWith('FST_ERR_CTP_') && error.statusCode === 400) {
        return reply.status(422).send({ detail: [{ loc: ['body'], msg: error.message, type: 'json_invalid' }] });
      }
      const pgCode = (error as { code?: string }).code;
      if (pgCode === '23503') return reply.status(422).send({ detail: [{ loc: ['body'], msg: 'a referenced row does not exist', type: 'foreign_key' }] });
      if (pgCode === '23505') return reply.status(409).send({ detail: 'a row with these values already exists' });
      if (pgCode === '22P02' || pgCode === '22007' || pgCode === '22008' || pgCode === '22003') {
        return reply.status(422).send({ detail: [{ loc: ['body'], msg: 'invalid value', type: 'value_error' }] });
      }
      if (error.statusCode && error.statusCode < 500) return reply.status(error.statusCode).send({ detail: error.message });
      request.log.error(error);
      return reply.status(500).send({ detail: 'Internal Server Error' });
    },
  );
  app.setNotFoundHandler((_req, reply) => reply.status(404).send({ detail: 'Not Found' }));

  // ---- authentication ------------------------------------------------------------------------
  async function authenticate(request: FastifyRequest): Promise<Caller> {
    const header = request.headers.authorization;
    const match = header?.match(/^Bearer\s+(.+)$/i);
    if (!match) throw new HttpError(401, 'Not authenticated');
    const result = await tokens.verify(match[1]!.trim());
    if ('refused' in result) throw new HttpError(401, result.refused);
    return result;
  }
  const secured = { security: [{ bearer: [] }] };

  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());
  app.get('/api/health', { schema: { tags: ['system'], summary: 'Liveness', operationId: 'health' } }, async () => ({ status: 'ok', profile: profile.name }));

  app.post(
    '/api/auth/login',
    {
      schema: {
        tags: ['auth'],
        summary: 'Sign in',
        operationId: 'login',
        body: {
          type: 'object',
          required: ['email', 'password'],
          properties: { email: { type: 'string', minLength: 1, maxLength: 320 }, password: { type: 'string', minLength: 1, maxLength: 200 } },
          additionalProperties: false,
        },
        response: {
          200: { type: 'object', properties: { access_token: { type: 'string' }, token_type: { type: 'string' }, expires_in: { type: 'integer' } } },
        },
      },
    },
    async (request) => {
      const { email, password } = request.body as { email: string; password: string };
      const { rows } = await sql<{ id: string; role: Caller['role']; company_id: string | null; password_hash: string; is_active: boolean }>`
      SELECT id, role, company_id, password_hash, is_active FROM users WHERE lower(email) = lower(${email}) AND deleted_at IS NULL`.execute(db);
      const user = rows[0];
      if (!user || !(await verifyPassword(password, user.password_hash))) throw new HttpError(401, 'Incorrect email or password');
      if (!user.is_active) throw new HttpError(403, 'Inactive user');
      const access_token = await tokens.issue({ id: user.id, role: user.role, companyId: user.company_id });
      return { access_token, token_type: 'bearer', expires_in: tokens.ttlSeconds };
    },
  );

  app.get('/api/auth/me', { schema: { tags: ['auth'], summary: 'The signed-in user', operationId: 'me', ...secured } }, async (request) => {
    const caller = await authenticate(request);
    const { rows } = await sql<Record<string, unknown>>`
      SELECT u.id, u.email, u.full_name, u.role, u.company_id, c.name AS company_name
      FROM users u LEFT JOIN companies c ON c.id = u.company_id WHERE u.id = ${caller.id} AND u.deleted_at IS NULL`.execute(db);
    if (!rows[0]) throw new HttpError(401, 'Could not validate credentials');
    return rows[0];
  });

  // ---- companies -----------------------------------------------------------------------------
  app.get(
    '/api/companies',
    { schema: { tags: ['companies'], summary: 'Companies visible to the caller', operationId: 'list_companies', ...secured } },
    async (request) => {
      const caller = await authenticate(request);
      if (caller.role === 'super_admin') {
        const { rows } = await sql`SELECT * FROM companies WHERE deleted_at IS NULL ORDER BY name`.execute(db);
        return { items: rows, next_cursor: null };
      }
      if (!caller.companyId) throw new HttpError(403, 'No company associated');
      const { rows } = await sql`SELECT * FROM companies WHERE id = ${caller.companyId} AND deleted_at IS NULL`.execute(db);
      return { items: rows, next_cursor: null };
    },
  );
  app.get(
    '/api/companies/:id',
    {
      schema: {
        tags: ['companies'],
        summary: 'One company',
        operationId: 'get_company',
        params: { type: 'object', properties: { id: UUID }, required: ['id'] },
        ...secured,
      },
    },
    async (request) => {
      const caller = await authenticate(request);
      const { id } = request.params as { id: string };
      if (caller.role !== 'super_admin') {
        if (!caller.companyId) throw new HttpError(403, 'No company associated');
        if (caller.companyId !== id) throw new HttpError(404, 'Not found');
      }
      const { rows } = await sql`SELECT * FROM companies WHERE id = ${id} AND deleted_at IS NULL`.execute(db);
      if (!rows[0]) throw new HttpError(404, 'Not found');
      return rows[0];
    },
  );
  app.post(
    '/api/companies',
    {
      schema: {
        tags: ['companies'],
        summary: 'Create a company (super admin)',
        operationId: 'create_company',
        ...secured,
        body: {
          type: 'object',
          required: ['name', 'slug'],
          properties: { name: { type: 'string', minLength: 1 }, slug: { type: 'string', pattern: '^[a-z0-9-]+$' }, plan: { type: 'string' } },
          additionalProperties: false,
        },
      },
    },
    async (request, reply) => {
      const caller = await authenticate(request);
      if (caller.role !== 'super_admin') throw new HttpError(403, 'Not enough permissions');
      const b = request.body as { name: string; slug: string; plan?: string };
      const { rows } = await sql`INSERT INTO companies (name, slug, plan) VALUES (${b.name}, ${b.slug}, ${b.plan ?? 'standard'}) RETURNING *`.execute(db);
      return reply.status(201).send(rows[0]);
    },
  );

  // ---- scoping -------------------------------------------------------------------------------
  /** SQL condition that is true for rows of `model` the caller may touch under `scope`. */
  function scopeCondition(model: ModelDef, scope: Scope, caller: Caller, forReading: boolean): RawBuilder<unknown> {
    if (caller.role === 'super_admin' || scope === 'none') return sql`TRUE`;
    let cond: RawBuilder<unknown>;
    if (scope === 'user') {
      cond = sql`${sql.raw(catalog.ownerExpr(model, 't'))} = ${caller.id}`;
    } else {
      if (!caller.companyId) throw new HttpError(403, 'No company associated');
      cond = sql.raw(catalog.companyMatch(model, 't', caller.companyId));
    }
    if (forReading && model.sharedWhenOwnerNull) cond = sql`(${cond} OR t.${sql.raw(model.owner!)} IS NULL)`;
    return cond;
  }

  function rule(model: ModelDef) {
    return profile.rules[model.name]!;
  }

  async function fetchScoped(model: ModelDef, id: string, scope: Scope, caller: Caller, forReading: boolean) {
    await catalog.fresh();
    const cond = scopeCondition(model, scope, caller, forReading);
    const { rows } = await sql<Record<string, unknown>>`
      SELECT t.*, (${cond}) AS __in_scope FROM ${sql.table(model.name)} t WHERE t.id = ${id} AND t.deleted_at IS NULL`.execute(db);
    const row = rows[0];
    if (!row) throw new HttpError(404, 'Not found');
    if (!row.__in_scope) {
      if (rule(model).foreign === 403) throw new HttpError(403, 'Not enough permissions');
      throw new HttpError(404, 'Not found');
    }
    return row;
  }

  /** A referenced row must belong to the caller's company when create takes the company from the token. */
  async function assertSameCompany(model: ModelDef, column: string, id: unknown, companyId: string) {
    if (id === null || id === undefined) return;
    const { rows } = await sql<{ c: string | null }>`
      SELECT ${sql.raw(catalog.companyExpr(model, 't'))} AS c FROM ${sql.table(model.name)} t WHERE t.id = ${String(id)} AND t.deleted_at IS NULL`.execute(db);
    if (!rows[0] || rows[0].c !== companyId) {
      throw new HttpError(422, [{ loc: ['body', column], msg: 'not found in your company', type: 'value_error' }]);
    }
  }

  // ---- generic CRUD for the 32 models --------------------------------------------------------
  for (const model of MODELS) {
    const columns = catalog.columnsOf(model.name);
    const schemas = bodySchemas(model, columns);
    const item = itemSchema(columns);
    const tags = [model.tag];
    const idParams = { type: 'object', properties: { id: UUID }, required: ['id'] };
    const error = { type: 'object', properties: { detail: {} } };

    app.get(
      model.path,
      {
        schema: {
          tags,
          summary: `List ${model.name}`,
          operationId: `list_${model.name}`,
          ...secured,
          querystring: listQuery,
          response: { 200: { type: 'object', properties: { items: { type: 'array', items: item }, next_cursor: { type: ['string', 'null'] } } } },
        },
      },
      async (request) => {
        const caller = await authenticate(request);
        await catalog.fresh();
        const q = request.query as { limit?: string; cursor?: string; updated_since?: string; q?: string; company_id?: string };
        const limit = parseLimit(q.limit);
        const since = parseSince(q.updated_since, 'updated_since');
        const where: RawBuilder<unknown>[] = [sql`t.deleted_at IS NULL`, scopeCondition(model, rule(model).list, caller, true)];
        if (q.company_id) {
          if (caller.role !== 'super_admin') {
            if (caller.companyId !== q.company_id) throw new HttpError(403, 'Not enough permissions');
          } else {
            where.push(sql.raw(catalog.companyMatch(model, 't', q.company_id)));
          }
        }
        if (since) where.push(sql`t.updated_at >= ${since}::timestamptz`);
        if (q.q) where.push(sql`row_to_json(t)::text ILIKE ${'%' + q.q.replace(/[\\%_]/g, (m) => '\\' + m) + '%'}`);
        if (q.cursor) {
          const [at, id] = decodeCursor(q.cursor, 2);
          where.push(sql`(t.updated_at, t.id) > (${at}::timestamptz, ${id}::uuid)`);
        }
        const { rows } = await sql<Record<string, unknown>>`
        SELECT t.* FROM ${sql.table(model.name)} t WHERE ${sql.join(where, sql` AND `)}
        ORDER BY t.updated_at, t.id LIMIT ${limit + 1}`.execute(db);
        const more = rows.length > limit;
        const page = more ? rows.slice(0, limit) : rows;
        const last = page[page.length - 1];
        return { items: page.map(clean), next_cursor: more && last ? encodeCursor([String(last.updated_at), String(last.id)]) : null };
      },
    );

    app.get(
      `${model.path}/:id`,
      {
        schema: {
          tags,
          summary: `Read one of ${model.name}`,
          operationId: `get_${model.name}`,
          ...secured,
          params: idParams,
          response: { 200: item, 404: error },
        },
      },
      async (request) => {
        const caller = await authenticate(request);
        const { id } = request.params as { id: string };
        return clean(await fetchScoped(model, id, rule(model).read, caller, true));
      },
    );

    app.post(
      model.path,
      {
        schema: {
          tags,
          summary: `Create one of ${model.name}`,
          operationId: `create_${model.name}`,
          ...secured,
          body: schemas.create,
          response: { 201: item, 422: error },
        },
      },
      async (request, reply) => {
        const caller = await authenticate(request);
        await catalog.fresh();
        const body = { ...(request.body as Record<string, unknown>) };
        const r = rule(model);
        const hasCompany = writable(model.name, 'company_id');
        const trusted = caller.role === 'super_admin' || r.create === 'body';
        if (!trusted) {
          if (!caller.companyId) throw new HttpError(403, 'No company associated');
          if (hasCompany) body.company_id = caller.companyId;
          if (model.owner && model.owner !== 'id') {
            if (body[model.owner] === undefined) body[model.owner] = caller.id;
            else await assertSameCompany(MODEL_BY_NAME.get('users')!, model.owner, body[model.owner], caller.companyId);
          }
          if (model.parent) await assertSameCompany(MODEL_BY_NAME.get(model.parent.model)!, model.parent.column, body[model.parent.column], caller.companyId);
        } else {
          if (hasCompany && body.company_id === undefined && model.name !== 'users') {
            if (!caller.companyId) throw new HttpError(422, [{ loc: ['body', 'company_id'], msg: 'field required', type: 'missing' }]);
            body.company_id = caller.companyId;
          }
          if (model.owner && model.owner !== 'id' && body[model.owner] === undefined) body[model.owner] = caller.id;
        }
        if (model.name === 'users') {
          if (caller.role === 'user') throw new HttpError(403, 'Not enough permissions');
          if (body.role === 'super_admin' && caller.role !== 'super_admin') throw new HttpError(403, 'Not enough permissions');
          body.password_hash = await hashPassword(String(body.password));
          delete body.password;
        }
        const keys = Object.keys(body).filter((k) => writable(model.name, k));
        const values = keys.map((k) => (isJsonColumn(catalog, model.name, k) ? JSON.stringify(body[k]) : body[k]));
        const { rows } = await sql<Record<string, unknown>>`
        INSERT INTO ${sql.table(model.name)} (${sql.join(keys.map((k) => sql.id(k)))})
        VALUES (${sql.join(values)}) RETURNING *`.execute(db);
        return reply.status(201).send(clean(rows[0]!));
      },
    );

    const update = async (request: FastifyRequest, _reply: FastifyReply) => {
      const caller = await authenticate(request);
      const { id } = request.params as { id: string };
      const r = rule(model);
      await fetchScoped(model, id, r.update, caller, false);
      const body = { ...(request.body as Record<string, unknown>) };
      const trusted = caller.role === 'super_admin' || r.create === 'body';
      if (!trusted) {
        delete body.company_id;
        if (model.owner && model.owner !== 'id') delete body[model.owner];
        if (model.name === 'users') delete body.role;
      }
      if (model.name === 'users' && body.password !== undefined) {
        body.password_hash = await hashPassword(String(body.password));
        delete body.password;
      }
      const keys = Object.keys(body).filter((k) => writable(model.name, k));
      const sets = keys.map((k) => sql`${sql.id(k)} = ${isJsonColumn(catalog, model.name, k) ? JSON.stringify(body[k]) : body[k]}`);
      sets.push(sql`updated_at = clock_timestamp()`);
      const { rows } = await sql<Record<string, unknown>>`
        UPDATE ${sql.table(model.name)} SET ${sql.join(sets)} WHERE id = ${id} AND deleted_at IS NULL RETURNING *`.execute(db);
      if (!rows[0]) throw new HttpError(404, 'Not found');
      return clean(rows[0]);
    };
    const updateSchema = {
      tags,
      summary: `Update one of ${model.name}`,
      ...secured,
      params: idParams,
      body: schemas.update,
      response: { 200: item, 404: error, 422: error },
    };
    app.put(`${model.path}/:id`, { schema: { ...updateSchema, operationId: `update_${model.name}` } }, update);
    app.patch(`${model.path}/:id`, { schema: { ...updateSchema, operationId: `patch_${model.name}` } }, update);

    app.delete(
      `${model.path}/:id`,
      {
        schema: {
          tags,
          summary: `Delete one of ${model.name} (a tombstone is kept)`,
          operationId: `delete_${model.name}`,
          ...secured,
          params: idParams,
          response: { 204: { type: 'null' }, 404: error },
        },
      },
      async (request, reply) => {
        const caller = await authenticate(request);
        const { id } = request.params as { id: string };
        await fetchScoped(model, id, rule(model).delete, caller, false);
        await db.transaction().execute(async (trx) => {
          const { rows } = await sql<{ c: string | null; o: string | null }>`
          UPDATE ${sql.table(model.name)} t SET deleted_at = clock_timestamp(), updated_at = clock_timestamp()
          WHERE t.id = ${id} AND t.deleted_at IS NULL
          RETURNING ${sql.raw(catalog.companyExpr(model, 't'))} AS c, ${sql.raw(catalog.ownerExpr(model, 't'))} AS o`.execute(trx);
          if (!rows[0]) throw new HttpError(404, 'Not found');
          await sql`INSERT INTO tombstones (resource, id, company_id, owner_id) VALUES (${model.name}, ${id}, ${rows[0].c}, ${rows[0].o})
          ON CONFLICT (resource, id) DO UPDATE SET deleted_at = clock_timestamp()`.execute(trx);
        });
        return reply.status(204).send();
      },
    );
  }

  // ---- deletions feed ------------------------------------------------------------------------
  app.get(
    '/api/sync/deletions',
    {
      schema: {
        tags: ['sync'],
        summary: 'Tombstones of deleted rows, oldest first',
        operationId: 'list_deletions',
        ...secured,
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            since: { type: 'string', format: 'date-time' },
            limit: listQuery.properties.limit,
            cursor: listQuery.properties.cursor,
            resource: { type: 'string' },
            company_id: UUID,
          },
        },
      },
    },
    async (request) => {
      const caller = await authenticate(request);
      const q = request.query as { since?: string; limit?: string; cursor?: string; resource?: string; company_id?: string };
      const limit = parseLimit(q.limit);
      const since = parseSince(q.since, 'since');
      const where: RawBuilder<unknown>[] = [sql`TRUE`];
      if (caller.role !== 'super_admin') {
        if (!caller.companyId) throw new HttpError(403, 'No company associated');
        where.push(sql`company_id = ${caller.companyId}`);
      } else if (q.company_id) where.push(sql`company_id = ${q.company_id}`);
      if (q.resource) where.push(sql`resource = ${q.resource}`);
      if (since) where.push(sql`deleted_at >= ${since}::timestamptz`);
      if (q.cursor) {
        const [at, resource, id] = decodeCursor(q.cursor, 3);
        where.push(sql`(deleted_at, resource, id) > (${at}::timestamptz, ${resource}, ${id}::uuid)`);
      }
      const { rows } = await sql<{ resource: string; id: string; company_id: string | null; deleted_at: string }>`
      SELECT resource, id, company_id, deleted_at FROM tombstones WHERE ${sql.join(where, sql` AND `)}
      ORDER BY deleted_at, resource, id LIMIT ${limit + 1}`.execute(db);
      const more = rows.length > limit;
      const page = more ? rows.slice(0, limit) : rows;
      const last = page[page.length - 1];
      return { items: page, next_cursor: more && last ? encodeCursor([last.deleted_at, last.resource, last.id]) : null };
    },
  );

  // ---- manifest: what a list would return, summarised, so a client can prove its copy ---------
  app.get(
    '/api/sync/manifest',
    {
      schema: {
        tags: ['sync'],
        summary: 'Count, latest updated_at and a hash over sorted (id, updated_at) of what the list endpoint returns the caller',
        operationId: 'sync_manifest',
        ...secured,
        querystring: {
          type: 'object',
          required: ['resource'],
          additionalProperties: false,
          properties: {
            resource: { type: 'string' },
            company_id: UUID,
            count_only: { type: 'string', enum: ['true', 'false'], description: 'answer {resource, count} alone (cheap: for progress totals)' },
          },
        },
      },
    },
    async (request) => {
      const caller = await authenticate(request);
      await catalog.fresh();
      const q = request.query as { resource: string; company_id?: string; count_only?: string };
      const model = MODEL_BY_NAME.get(q.resource);
      if (!model) throw new HttpError(422, [{ loc: ['query', 'resource'], msg: `unknown resource "${q.resource}"`, type: 'value_error' }]);
      const where: RawBuilder<unknown>[] = [sql`t.deleted_at IS NULL`, scopeCondition(model, rule(model).list, caller, true)];
      if (q.company_id) {
        if (caller.role !== 'super_admin' && caller.companyId !== q.company_id) throw new HttpError(403, 'Not enough permissions');
        if (caller.role === 'super_admin') where.push(sql.raw(catalog.companyMatch(model, 't', q.company_id)));
      }
      if (q.count_only === 'true') {
        const {
          rows: [counted],
        } = await sql<{ count: string }>`SELECT count(*) AS count FROM ${sql.table(model.name)} t WHERE ${sql.join(where, sql` AND `)}`.execute(db);
        return { resource: model.name, count: Number(counted?.count ?? 0) };
      }
      const { rows } = await sql<{ id: string; updated_at: string }>`
      SELECT t.id, t.updated_at FROM ${sql.table(model.name)} t WHERE ${sql.join(where, sql` AND `)}`.execute(db);
      const lines = rows.map((r) => `${r.id}|${r.updated_at}`).sort();
      const hash = createHash('sha256');
      for (const l of lines) hash.update(l + '\n');
      const latest = rows.reduce<string | null>((m, r) => (m === null || r.updated_at > m ? r.updated_at : m), null);
      return { resource: model.name, count: rows.length, latest_updated_at: latest, hash: hash.digest('hex') };
    },
  );

  // ---- analytics (analytics.py) ---------------------------------------------------------------
  app.get(
    '/api/analytics/summary',
    {
      schema: {
        tags: ['analytics'],
        summary: 'Record counts for the dashboard',
        operationId: 'analytics_summary',
        ...secured,
        querystring: { type: 'object', properties: { company_id: UUID }, additionalProperties: false },
      },
    },
    async (request) => {
      const caller = await authenticate(request);
      await catalog.fresh();
      const q = request.query as { company_id?: string };
      const scope = profile.rules.analytics!.list;
      const counts: Record<string, number> = {};
      for (const name of ['calls', 'emails', 'contacts', 'deals', 'documents', 'quotes']) {
        const model = MODEL_BY_NAME.get(name)!;
        const where: RawBuilder<unknown>[] = [sql`t.deleted_at IS NULL`, scopeCondition(model, scope, caller, true)];
        if (q.company_id && caller.role === 'super_admin') where.push(sql.raw(catalog.companyMatch(model, 't', q.company_id)));
        const { rows } = await sql<{ n: number }>`SELECT count(*)::int AS n FROM ${sql.table(name)} t WHERE ${sql.join(where, sql` AND `)}`.execute(db);
        counts[name] = rows[0]!.n;
      }
      return { counts };
    },
  );

  return app;
}

function isJsonColumn(catalog: Catalog, table: string, column: string): boolean {
  const c = catalog.columnsOf(table).find((x) => x.name === column);
  return c?.dataType === 'jsonb' || c?.dataType === 'json';
}
