import { AppError } from '../../src-shared/result.ts';
import { pick } from '../../src-shared/profile.ts';

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
  tag: string | null;
}

export type JsonSchema = Record<string, unknown>;


/** Reads a FastAPI-style OpenAPI 3 document; a malformed or partial one gets an error naming what is missing. */
export function readOpenapi(doc: unknown, opts: { itemsField?: string; exclude?: string[] } = {}): ApiResource[] {
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
      if (!ref.startsWith('#/')) throw new AppError('no-openapi', `The OpenAPI document refers to an external schema (${ref}); only local references are read.`);
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
    if (where === 'request') return (pick(op, 'requestBody.content') as Record<string, { schema?: unknown }> | undefined)?.['application/json']?.schema as JsonSchema ?? null;
    const responses = (op.responses ?? {}) as Record<string, unknown>;
    const ok = responses['200'] ?? responses['201'];
    const content = pick(ok, 'content') as Record<string, { schema?: unknown }> | undefined;
    return (content?.['application/json']?.schema as JsonSchema) ?? null;
  };

  const entries = Object.entries(paths as Record<string, unknown>);
  const byPath = new Map<string, Record<string, Record<string, unknown>>>();
  for (const [path, item] of entries) {
    if (!item || typeof item !== 'object') throw new AppError('no-openapi', `The OpenAPI path "${path}" is not an object.`);
    byPath.set(path, item as Record<string, Record<string, unknown>>);
  }
  const excluded = new Set(opts.exclude ?? []);
  const isParam = (seg: string) => /^\{[^}]+\}$/.test(seg);
  const resources: ApiResource[] = [];
  for (const [path, item] of byPath) {
    if (excluded.has(path)) continue;
    const segs = path.split('/').filter(Boolean);
    if (!segs.length || isParam(segs[segs.length - 1]!)) continue; // collections end in a static segment
    if (!item.get && !item.post) continue;
    const itemPath = [...byPath.keys()].find((p) => p.startsWith(`${path}/`) && p.split('/').filter(Boolean).length === segs.length + 1 && isParam(p.split('/').pop()!)) ?? null;
    if (!itemPath) continue; // an action or a report, not a collection of records
    const it = byPath.get(itemPath)!;
    const parentParams = segs.filter(isParam).map((s) => s.slice(1, -1));
    const fields = {
      ...props((() => { const r = jsonBody(item.post, 'request'); return r ?? {}; })()),
      ...(() => {
        const list = jsonBody(item.get, 'response');
        const items = list ? resolve(pick(resolve(list), `properties.${opts.itemsField ?? 'items'}`) as JsonSchema).items : undefined;
        return items ? props(items as JsonSchema) : {};
      })(),
      ...props(jsonBody(it.get, 'response') ?? {}),
    };
    const create = jsonBody(item.post, 'request');
    const createSchema = create ? resolve(create) : {};
    const operations: ApiResource['operations'] = {};
    if (item.get) operations.list = path;
    if (item.post) operations.create = path;
    if (it.get) operations.get = itemPath;
    if (it.put || it.patch) operations.update = itemPath;
    if (it.delete) operations.delete = itemPath;
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
      tag: Array.isArray(tags) && typeof tags[0] === 'string' ? tags[0] : null,
    });
  }
  if (!resources.length) {
    throw new AppError('no-openapi', 'The OpenAPI document describes no collections of records (a path like /things with GET or POST beside /things/{id}).');
  }
  // names: the static segments after the prefix all collections share; a nested one keeps its last segment
  const statics = resources.map((r) => r.collectionPath.split('/').filter((s) => s && !isParam(s)));
  let prefix = 0;
  while (statics.every((s) => s.length > prefix + 1 && s[prefix] === statics[0]![prefix])) prefix++;
  resources.forEach((r, i) => {
    const rest = statics[i]!.slice(prefix);
    const parts = r.parentParams.length ? rest.slice(-1) : rest;
    r.pathName = parts.join('_').replace(/-/g, '_').toLowerCase();
  });
  return resources;
}
