import { http } from '../crm/http.ts';
import { AppError } from '../../src-shared/result.ts';
import { CatalogSchema, type Catalog } from '../../src-shared/catalog.ts';
import { ConnectionProfileSchema, describeIssues, type ConnectionProfile, type Identity } from '../../src-shared/profile.ts';
import { describeFailure } from '../crm/crmClient.ts';
import { readApiShape, readOpenapi } from './openapiDiscovery.ts';
import { readDatabase } from './databaseDiscovery.ts';
import { discoverCatalog } from './catalogDiscovery.ts';
import { catalogDrift, keepConfirmed, type DriftItem } from './drift.ts';

export interface DiscoverOptions {
  /** the CRM's base URL, or the full address of its OpenAPI document */
  url: string;
  openapiPath?: string;
  databaseUrl?: string;
  itemsField?: string;
  /** a saved catalog whose confirmed fields are kept */
  saved?: Catalog;
}

export interface Discovery {
  catalog: Catalog;
  tenantsPath: string | null;
  openapiUrl: string;
  usedDatabase: boolean;
}

export async function fetchOpenapi(url: string, openapiPath = '/openapi.json'): Promise<{ doc: unknown; openapiUrl: string }> {
  const openapiUrl = /\.(json|ya?ml)$/.test(new URL(url).pathname) ? url : `${url.replace(/\/$/, '')}${openapiPath}`;
  let res;
  try {
    res = await http().get(openapiUrl, { timeout: 10_000, validateStatus: () => true, responseType: 'text', transformResponse: (x) => x });
  } catch (e) {
    throw describeFailure(e, url);
  }
  if (res.status === 404)
    throw new AppError('no-openapi', `No OpenAPI document at ${openapiUrl} (404). Give the document's address with --url, or set openapiPath.`);
  if (res.status !== 200) throw new AppError('no-openapi', `${openapiUrl} answered ${res.status}, not an OpenAPI document.`);
  let doc: unknown;
  try {
    doc = JSON.parse(String(res.data));
  } catch {
    const html = /^\s*</.test(String(res.data));
    throw new AppError(
      'no-openapi',
      `${openapiUrl} is ${html ? 'an HTML page' : 'not JSON'}: TenantScope reads the JSON form of the OpenAPI document. Give the document's address with --url.`,
    );
  }
  const o = doc as Record<string, unknown> | null;
  if (!o || typeof o !== 'object' || Array.isArray(o) || !('openapi' in o || 'swagger' in o) || typeof o.paths !== 'object' || o.paths === null) {
    throw new AppError(
      'not-a-crm',
      `${openapiUrl} answered JSON that is not an OpenAPI document (no "openapi" version and "paths"). Is this the CRM's API address?`,
    );
  }
  return { doc, openapiUrl };
}

export async function discover(opts: DiscoverOptions): Promise<Discovery> {
  try {
    new URL(opts.url);
  } catch {
    throw new AppError('invalid-input', `"${opts.url}" is not an address (expected http://host:port or the document's https://... URL).`);
  }
  const { doc, openapiUrl } = await fetchOpenapi(opts.url, opts.openapiPath);
  const api = readOpenapi(doc, { itemsField: opts.itemsField });
  const db = opts.databaseUrl ? await readDatabase(opts.databaseUrl) : undefined;
  const { tenantsPath, ...found } = discoverCatalog({ api, db });
  const catalog = opts.saved ? keepConfirmed(found, opts.saved) : found;
  return { catalog: CatalogSchema.parse(catalog), tenantsPath, openapiUrl, usedDatabase: !!db };
}

export function parseCatalog(raw: unknown): Catalog {
  const parsed = CatalogSchema.safeParse(raw);
  if (!parsed.success) {
    const fields = describeIssues(parsed.error.issues);
    throw new AppError(
      'invalid-input',
      `The catalog is invalid: ${Object.entries(fields)
        .slice(0, 5)
        .map(([k, v]) => `${k}: ${v}`)
        .join('; ')}`,
      fields,
    );
  }
  return parsed.data;
}

export async function checkDrift(saved: Catalog, opts: Omit<DiscoverOptions, 'saved'>): Promise<{ drift: DriftItem[]; now: Catalog }> {
  const { catalog } = await discover({ ...opts, saved });
  return { drift: catalogDrift(saved, catalog), now: catalog };
}

export interface ProfileDiscovery {
  profile: ConnectionProfile;
  /** how the sign-in, whoami and paging were read, and what could not be */
  notes: string[];
  /** per resource, what a person must confirm */
  toConfirm: Array<{ resource: string; what: string[] }>;
  usedDatabase: boolean;
}

/**
 * A whole connection profile from a CRM's OpenAPI document (and its database when given): sign-in
 * style, whoami, paging, the companies endpoint if there is one, and the tenancy catalog. A
 * document that does not say who is signed in is refused with what to write by hand.
 */
export async function discoverProfile(opts: {
  name: string;
  url: string;
  databaseUrl?: string;
  databaseUrlEnv?: string;
  identities: Identity[];
}): Promise<ProfileDiscovery> {
  let parsedUrl: URL;
  try {
    parsedUrl = new URL(opts.url);
  } catch {
    throw new AppError('invalid-input', `"${opts.url}" is not an address (expected the CRM's https://... URL or its OpenAPI document's).`);
  }
  const isDocument = /\.(json|ya?ml)$/.test(parsedUrl.pathname);
  const openapiPath = isDocument ? parsedUrl.pathname : '/openapi.json';
  const baseUrl = isDocument ? parsedUrl.origin : opts.url.replace(/\/+$/, '');
  const { doc } = await fetchOpenapi(opts.url);
  const api = readOpenapi(doc);
  const shape = readApiShape(doc, api);
  if (!shape.whoami) {
    throw new AppError(
      'not-a-crm',
      `The OpenAPI document at ${opts.url} has no endpoint that answers the signed-in user (such as /me), so the console cannot tell roles and companies apart. Write the profile's "whoami" by hand (docs/connection-profile.md) and add it with --profile.`,
    );
  }
  const db = opts.databaseUrl ? await readDatabase(opts.databaseUrl) : undefined;
  const { tenantsPath, ...catalog } = discoverCatalog({ api, db });
  const paging = shape.paging ?? { kind: 'offset' as const, limitParam: 'limit', offsetParam: 'skip', itemsField: '', maxLimit: 100 };
  // query parameters every list shares: a search, a company filter, an updated-since filter
  const lists = api.filter((r) => r.list);
  const common = (re: RegExp) => {
    const counts = new Map<string, number>();
    for (const r of lists) for (const k of Object.keys(r.list!.params)) if (re.test(k)) counts.set(k, (counts.get(k) ?? 0) + 1);
    const best = [...counts.entries()].sort((a, b) => b[1] - a[1])[0];
    return best && best[1] >= Math.max(1, lists.length / 2) ? best[0] : undefined;
  };
  const searchParam = common(/^(q|search|query)$/i);
  const tenantParam = common(/^(company|tenant|organization|organisation|org|account)_?id$/i);
  const updatedSince = common(/^(updated_since|updated_after|modified_since|since)$/i);
  const notes = [...shape.notes];
  notes.push(
    tenantsPath
      ? `companies: listed at ${tenantsPath}`
      : 'companies: no companies endpoint; the console learns them from the signed-in identities and what it syncs',
  );
  if (!searchParam) notes.push('search: no search parameter on the lists; search probes are skipped');
  if (!updatedSince) notes.push('sync: no updated-since filter; every sync relists, and proves by a fresh relist');
  const profile = ConnectionProfileSchema.parse({
    version: 1,
    name: opts.name,
    baseUrl,
    auth: shape.auth ?? { kind: 'token' },
    ...(shape.header ? { header: shape.header } : {}),
    whoami: shape.whoami,
    ...(tenantsPath ? { tenants: { listPath: tenantsPath, itemsField: paging.itemsField } } : {}),
    openapiPath,
    paging,
    ...(updatedSince ? { incremental: { updatedSinceParam: updatedSince } } : {}),
    ...(searchParam ? { searchParam } : {}),
    catalog,
    sync: tenantParam ? { tenantParam } : {},
    identities: opts.identities,
    ...(opts.databaseUrlEnv ? { databaseUrlEnv: opts.databaseUrlEnv } : {}),
  });
  const toConfirm = profile.catalog.resources.filter((r) => r.uncertain.length).map((r) => ({ resource: r.name, what: r.uncertain }));
  return { profile, notes, toConfirm, usedDatabase: !!db };
}
