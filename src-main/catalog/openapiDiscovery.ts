import { AppError } from '../../src-shared/result.ts';
import { pick, type Auth } from '../../src-shared/profile.ts';
import { LIST_FIELDS, type Paging } from '../../src-shared/catalog.ts';

/** What the OpenAPI document says about one collection of records. */
export interface ApiResource {
  /** name from the path, e.g. emails_templates for /api/emails/templates */
  pathName: string;
  collectionPath: string;
  itemPath: string | null;
  /** path parameters of the collection (a nested resource's parent ids) */
  parentParams: string[];
  operations: { list?: string; get?: string; create?: string; update?: string; delete?: string };
  updateMethod: 'PUT' | 'PATCH';
  /** fields of a record as the API returns them */
  fields: Record<string, JsonSchema>;
  /** fields the create body requires, and all it accepts */
  required: string[];
  writable: Record<string, JsonSchema>;
  /** fields the update body accepts (PUT or PATCH on the item path) */
  updatable: Record<string, JsonSchema>;
  /** how its list answers: the field holding the records ('' for a bare array), and the list's query parameters */
  list: { itemsField: string; params: Record<string, JsonSchema>; responseFields: string[]; linkHeader?: boolean } | null;
  tag: string | null;
}

export type JsonSchema = Record<string, unknown>;

/** The document checked to be OpenAPI 3, with its schema helpers ($ref, FastAPI's anyOf-with-null, JSON bodies). */
function openapiTools(doc: unknown) {
  if (!doc || typeof doc !== 'object') throw new AppError('no-openapi', 'The OpenAPI document is not a JSON object.');
  const d = doc as Record<string, unknown>;
  const version = d.openapi ?? d.swagger;
  if (typeof version !== 'string') throw new AppError('no-openapi', 'The document has no "openapi" version field: it is not an OpenAPI document.');
  if (!/^3\./.test(version)) throw new AppError('no-openapi', `OpenAPI ${version} is not supported; TenantScope reads OpenAPI 3.x (FastAPI's).`);
  const paths = d.paths;
  if (!paths || typeof paths !== 'object' || Array.isArray(paths)) throw new AppError('no-openapi', 'The OpenAPI document has no "paths" object.');
  const resolve = (s: unknown, depth = 0): JsonSchema => {
    if (!s || typeof s !== 'object' || depth > 20) return {};
    const ref = (s as { $ref?: unknown }).$ref;
    if (typeof ref === 'string') {
      if (!ref.startsWith('#/'))
        throw new AppError('no-openapi', `The OpenAPI document refers to an external schema (${ref}); only local references are read.`);
      const target = pick(d, ref.slice(2).split('/').map(decodeURIComponent).join('.'));
      if (!target) throw new AppError('no-openapi', `The OpenAPI document refers to ${ref}, which it does not define.`);
      return resolve(target, depth + 1);
    }
    const schema = s as JsonSchema;
    // FastAPI wraps optional fields as anyOf [X, null]
    for (const key of ['anyOf', 'oneOf', 'allOf'] as const) {
      const list = schema[key];
      if (Array.isArray(list)) {
        const merged: JsonSchema = {};
        for (const part of list.map((p) => resolve(p, depth + 1))) {
          if (part.type === 'null') continue;
          Object.assign(merged, part, { properties: { ...(merged.properties as object), ...(part.properties as object) } });
        }
        return { ...schema, ...merged };
      }
    }
    return schema;
  };
  const props = (s: JsonSchema): Record<string, JsonSchema> => {
    const p = resolve(s).properties;
    if (!p || typeof p !== 'object') return {};
    return Object.fromEntries(Object.entries(p as Record<string, unknown>).map(([k, v]) => [k, resolve(v)]));
  };
  const jsonBody = (op: Record<string, unknown> | undefined, where: 'request' | 'response'): JsonSchema | null => {
    if (!op) return null;
    if (where === 'request')
      return ((pick(op, 'requestBody.content') as Record<string, { schema?: unknown }> | undefined)?.['application/json']?.schema as JsonSchema) ?? null;
    const responses = (op.responses ?? {}) as Record<string, unknown>;
    const ok = responses['200'] ?? responses['201'];
    const content = pick(ok, 'content') as Record<string, { schema?: unknown }> | undefined;
    return (content?.['application/json']?.schema as JsonSchema) ?? null;
  };
  return { d, paths: paths as Record<string, unknown>, resolve, props, jsonBody };
}

/** Reads a FastAPI-style OpenAPI 3 document; a malformed or partial one gets an error naming what is missing. */
export function readOpenapi(doc: unknown, opts: { itemsField?: string; exclude?: string[] } = {}): ApiResource[] {
  const { paths, resolve, props, jsonBody } = openapiTools(doc);
  const entries = Object.entries(paths as Record<string, unknown>);
  const byPath = new Map<string, Record<string, Record<string, unknown>>>();
  for (const [path, item] of entries) {
    if (!item || typeof item !== 'object') throw new AppError('no-openapi', `The OpenAPI path "${path}" is not an object.`);
    byPath.set(path, item as Record<string, Record<string, unknown>>);
  }
  const excluded = new Set(opts.exclude ?? []);
  const isParam = (seg: string) => /^\{[^}]+\}$/.test(seg);
  /** FastAPI serves `/things/` beside `/things/{thing_id}`: paths compare without their trailing slash */
  const bare = (p: string) => (p.length > 1 ? p.replace(/\/+$/, '') : p);
  const segsOf = (p: string) => bare(p).split('/').filter(Boolean);
  const { listShape, queryParams, declaresLink } = listTools({ resolve, props, jsonBody }, opts.itemsField);
  const resources: ApiResource[] = [];
  for (const [path, item] of byPath) {
    if (excluded.has(path)) continue;
    const segs = segsOf(path);
    if (!segs.length || isParam(segs[segs.length - 1]!)) continue; // collections end in a static segment
    if (!item.get && !item.post) continue;
    const itemPath =
      [...byPath.keys()].find((p) => p !== path && bare(p).startsWith(`${bare(path)}/`) && segsOf(p).length === segs.length + 1 && isParam(segsOf(p).pop()!)) ??
      null;
    const shape = item.get ? listShape(item.get) : null;
    // without an item path it is a collection only when it lists records (a nested one usually: /parents/{id}/children/);
    // a POST alone (a sign-in, an action) or a GET of one object (/me, /health) is not
    if (!itemPath && !shape) continue;
    const it = itemPath ? byPath.get(itemPath)! : {};
    const parentParams = segs.filter(isParam).map((s) => s.slice(1, -1));
    const fields = {
      ...props(
        (() => {
          const r = jsonBody(item.post, 'request');
          return r ?? {};
        })(),
      ),
      ...(shape ? props(shape.items) : {}),
      ...props(jsonBody(it.get, 'response') ?? {}),
    };
    const create = jsonBody(item.post, 'request');
    const createSchema = create ? resolve(create) : {};
    const update = jsonBody(it.put ?? it.patch, 'request');
    const operations: ApiResource['operations'] = {};
    if (item.get && (shape || itemPath)) operations.list = path;
    if (item.post) operations.create = path;
    if (itemPath && it.get) operations.get = itemPath;
    if (itemPath && (it.put || it.patch)) operations.update = itemPath;
    if (itemPath && it.delete) operations.delete = itemPath;
    const tags = (item.get ?? item.post)?.tags;
    resources.push({
      pathName: '',
      collectionPath: path,
      itemPath,
      parentParams,
      operations,
      updateMethod: it.put ? 'PUT' : 'PATCH',
      fields,
      required: Array.isArray(createSchema.required) ? (createSchema.required as string[]) : [],
      writable: props(createSchema),
      updatable: update ? props(update) : {},
      list: item.get
        ? {
            itemsField: shape?.itemsField ?? opts.itemsField ?? 'items',
            params: queryParams(item.get),
            responseFields: shape?.responseFields ?? [],
            linkHeader: declaresLink(item.get),
          }
        : null,
      tag: Array.isArray(tags) && typeof tags[0] === 'string' ? tags[0] : null,
    });
  }
  if (!resources.length) {
    throw new AppError(
      'no-openapi',
      'The OpenAPI document describes no collections of records (a path like /things or /things/ with GET or POST beside /things/{id}, or a GET that answers a list).',
    );
  }
  nameResources(resources, segsOf, isParam);
  return resources;
}

/** What a list operation answers and takes: its records (a bare array or one array field), its query parameters, a Link header. */
function listTools({ resolve, props, jsonBody }: Pick<ReturnType<typeof openapiTools>, 'resolve' | 'props' | 'jsonBody'>, itemsField?: string) {
  /** what a list operation answers: a bare array, or an object with the records in one array field */
  const listShape = (op: Record<string, unknown> | undefined): { itemsField: string; items: JsonSchema; responseFields: string[] } | null => {
    const schema = jsonBody(op, 'response');
    if (!schema) return null;
    const r = resolve(schema);
    if (r.type === 'array' && r.items) return { itemsField: '', items: resolve(r.items), responseFields: [] };
    const properties = props(r);
    const names = Object.keys(properties);
    const wanted = [itemsField, ...LIST_FIELDS].filter((x): x is string => !!x);
    const field = wanted.find((n) => properties[n]?.type === 'array') ?? names.find((n) => properties[n]?.type === 'array' && names.length <= 6);
    return field ? { itemsField: field, items: resolve(properties[field]!.items), responseFields: names } : null;
  };
  const queryParams = (op: Record<string, unknown> | undefined): Record<string, JsonSchema> => {
    const out: Record<string, JsonSchema> = {};
    for (const raw of (Array.isArray(op?.parameters) ? op.parameters : []) as unknown[]) {
      const p = resolve(raw);
      if (p.in === 'query' && typeof p.name === 'string') out[p.name] = resolve(p.schema);
    }
    return out;
  };
  /** the list's answer declares a Link header (RFC 8288 paging) */
  const declaresLink = (op: Record<string, unknown>) => {
    const responses = (op.responses ?? {}) as Record<string, unknown>;
    const headers = pick(responses['200'] ?? responses['201'], 'headers');
    return !!headers && typeof headers === 'object' && Object.keys(headers).some((h) => h.toLowerCase() === 'link');
  };
  return { listShape, queryParams, declaresLink };
}

/** Names: the static segments after the prefix all collections share; a nested one keeps its last segment. */
function nameResources(resources: ApiResource[], segsOf: (p: string) => string[], isParam: (seg: string) => boolean): void {
  const statics = resources.map((r) => segsOf(r.collectionPath).filter((s) => !isParam(s)));
  let prefix = 0;
  while (statics.every((s) => s.length > prefix + 1 && s[prefix] === statics[0]![prefix])) prefix++;
  resources.forEach((r, i) => {
    const rest = statics[i]!.slice(prefix);
    const parts = r.parentParams.length ? rest.slice(-1) : rest;
    r.pathName = parts.join('_').replace(/-/g, '_').toLowerCase();
  });
}

/** How a CRM signs in, says who is signed in, and pages its lists, as far as its OpenAPI document tells. */
export interface ApiShape {
  auth: Auth | null;
  /** an API key or bearer scheme in a header other than Authorization */
  header: { name: string; scheme: string } | null;
  whoami: { path: string; idField: string; emailField: string; nameField: string; roleField: string; companyIdField: string; companyNameField: string } | null;
  paging: Paging | null;
  /** what was guessed and how, for a person to confirm */
  notes: string[];
}

const COMPANY_FIELD = /^(company|tenant|organization|organisation|org|account)_?id$/i;

/** A path from a URL the document gives (`tokenUrl` may be absolute, or relative to the server). */
function pathOf(url: string): string {
  try {
    return new URL(url).pathname;
  } catch {
    return url.startsWith('/') ? url : `/${url}`;
  }
}

type Tools = ReturnType<typeof openapiTools>;

export function readApiShape(doc: unknown, resources: ApiResource[]): ApiShape {
  const tools = openapiTools(doc);
  const notes: string[] = [];
  const ops = tools.paths as Record<string, Record<string, Record<string, unknown>>>;
  const { auth, header } = readAuth(tools, ops, notes);
  const whoami = readWhoami(tools, ops, notes);
  const paging = readPaging(resources, notes);
  return { auth, header, whoami, paging, notes };
}

/** Sign-in: the security scheme first (FastAPI's OAuth2PasswordBearer declares its tokenUrl), then a login path. */
function readAuth(
  { d, resolve, props, jsonBody }: Tools,
  ops: Record<string, Record<string, Record<string, unknown>>>,
  notes: string[],
): { auth: Auth | null; header: ApiShape['header'] } {
  let auth: Auth | null = null;
  let header: ApiShape['header'] = null;
  const schemes = (pick(d, 'components.securitySchemes') ?? {}) as Record<string, Record<string, unknown>>;
  for (const [name, raw] of Object.entries(schemes)) {
    const scheme = resolve(raw);
    const tokenUrl = pick(scheme, 'flows.password.tokenUrl');
    if (scheme.type === 'oauth2' && typeof tokenUrl === 'string') {
      auth = { kind: 'oauth2-password', tokenUrl: pathOf(tokenUrl), tokenField: 'access_token', expiresInField: 'expires_in' };
      notes.push(`auth: OAuth2 password flow at ${pathOf(tokenUrl)} (security scheme "${name}")`);
      break;
    }
    if (scheme.type === 'apiKey' && scheme.in === 'header' && typeof scheme.name === 'string') {
      auth = { kind: 'token' };
      header = { name: scheme.name, scheme: '' };
      notes.push(`auth: an API key in the ${scheme.name} header (security scheme "${name}"): paste it as a token`);
    }
  }
  if (!auth) {
    for (const [path, item] of Object.entries(ops)) {
      if (!item?.post || !/(^|\/)(login|signin|sign-in|sign_in|session|sessions|token|auth)\/?$/i.test(path)) continue;
      const body = jsonBody(item.post, 'request');
      const fields = body ? Object.keys(props(body)) : [];
      const user = fields.find((f) => /^(email|username|user|login)$/i.test(f));
      const pass = fields.find((f) => /^(password|secret|pass)$/i.test(f));
      if (user && pass) {
        const answer = Object.keys(props(jsonBody(item.post, 'response') ?? {}));
        const tokenField = answer.find((f) => /^(access_token|token|jwt|id_token)$/i.test(f)) ?? 'access_token';
        auth = { kind: 'password', loginPath: path, usernameField: user, passwordField: pass, tokenField };
        notes.push(`auth: a JSON sign-in at ${path} with ${user} and ${pass}`);
        break;
      }
    }
  }
  if (!auth) notes.push('auth: no sign-in found in the document; paste a token, or set "auth" in the profile');

  return { auth, header };
}

/** Who is signed in: a GET without parameters that answers one user, named so. */
function readWhoami({ props, jsonBody }: Tools, ops: Record<string, Record<string, Record<string, unknown>>>, notes: string[]): ApiShape['whoami'] {
  let whoami: ApiShape['whoami'] = null;
  const candidates = Object.entries(ops)
    .filter(([path, item]) => item?.get && !/\{/.test(path) && /(^|\/)(me|whoami|current[-_]?user|users\/me|profile|session)\/?$/i.test(path))
    .sort(([a], [b]) => a.length - b.length);
  for (const [path, item] of candidates) {
    const fields = Object.keys(props(jsonBody(item.get, 'response') ?? {}));
    const find = (re: RegExp) => fields.find((f) => re.test(f));
    const role = find(/^(role|roles|kind|user_type|type)$/i);
    if (!fields.length) {
      // no answer schema: the usual names, which the connection test confirms by signing in
      whoami = {
        path,
        idField: 'id',
        emailField: 'email',
        nameField: 'full_name',
        roleField: 'role',
        companyIdField: 'company_id',
        companyNameField: 'company_name',
      };
      notes.push(`whoami: ${path} (its answer has no schema: id, email, role and company_id assumed; the connection test confirms them)`);
      break;
    }
    if (!find(/^id$/i)) continue;
    whoami = {
      path,
      idField: find(/^id$/i)!,
      emailField: find(/^(email|username|login)$/i) ?? 'email',
      nameField: find(/^(full_name|name|display_name|username)$/i) ?? 'full_name',
      roleField: role ?? 'role',
      companyIdField: find(COMPANY_FIELD) ?? 'company_id',
      companyNameField: find(/^(company|tenant|organization|organisation|org|account)_?name$/i) ?? 'company_name',
    };
    notes.push(
      `whoami: ${path}${role ? '' : ' (no role field found: set whoami.roleField)'}${find(COMPANY_FIELD) ? '' : ' (no company field found: set whoami.companyIdField)'}`,
    );
    break;
  }
  if (!whoami) notes.push('whoami: no endpoint answering the signed-in user was found (/me); set "whoami" in the profile');

  return whoami;
}

/** Paging: the style most list operations share, from their query parameters and answers. */
function readPaging(resources: ApiResource[], notes: string[]): Paging | null {
  const votes = new Map<string, { paging: Paging; n: number }>();
  for (const r of resources) {
    if (!r.list) continue;
    const q = r.list.params;
    const has = (re: RegExp) => Object.keys(q).find((k) => re.test(k));
    const limit = has(/^(limit|size|page_size|per_page|pagesize|count)$/i);
    const max = limit ? Number(q[limit]!.maximum ?? q[limit]!.exclusiveMaximum ?? NaN) : NaN;
    const maxLimit = Number.isFinite(max) && max > 0 ? Math.min(Math.floor(max), 1000) : 100;
    const total = r.list.responseFields.find((f) => /^(total|count|total_count)$/i.test(f));
    const nextCursor = r.list.responseFields.find((f) => /^(next_cursor|next|cursor|next_page_token)$/i.test(f));
    const cursor = has(/^(cursor|after|page_token|starting_after)$/i);
    const offset = has(/^(skip|offset|start)$/i);
    const page = has(/^(page|page_number)$/i);
    let paging: Paging | null = null;
    if (r.list.linkHeader) paging = { kind: 'link', limitParam: limit ?? 'limit', itemsField: r.list.itemsField, maxLimit };
    else if (cursor && nextCursor)
      paging = { kind: 'cursor', limitParam: limit ?? 'limit', cursorParam: cursor, itemsField: r.list.itemsField, nextCursorField: nextCursor, maxLimit };
    else if (offset && limit)
      paging = { kind: 'offset', limitParam: limit, offsetParam: offset, itemsField: r.list.itemsField, ...(total ? { totalField: total } : {}), maxLimit };
    else if (page && limit)
      paging = {
        kind: 'page',
        pageParam: page,
        sizeParam: limit,
        firstPage: Number(q[page]!.minimum ?? q[page]!.default ?? 1) === 0 ? 0 : 1,
        itemsField: r.list.itemsField,
        ...(total ? { totalField: total } : {}),
        maxLimit,
      };
    if (!paging) continue;
    const key = JSON.stringify({ ...paging, maxLimit: 0 });
    const v = votes.get(key);
    if (v) {
      v.n++;
      v.paging.maxLimit = Math.min(v.paging.maxLimit, paging.maxLimit);
    } else votes.set(key, { paging, n: 1 });
  }
  const best = [...votes.values()].sort((a, b) => b.n - a.n)[0];
  const lists = resources.filter((r) => r.list).length;
  if (best) {
    const p = best.paging;
    notes.push(
      `paging: ${p.kind === 'offset' ? `${p.offsetParam}/${p.limitParam}` : p.kind === 'page' ? `${p.pageParam}/${p.sizeParam}` : p.kind === 'cursor' ? `${p.cursorParam} cursor` : 'Link headers'}, ${p.itemsField ? `records in "${p.itemsField}"` : 'bare JSON arrays'}, at most ${p.maxLimit} a page (${best.n} of ${lists} lists)`,
    );
  } else if (lists) notes.push('paging: the lists take no paging parameters the console knows; set "paging" in the profile');
  return best?.paging ?? null;
}
