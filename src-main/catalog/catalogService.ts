import axios from 'axios';
import { AppError } from '../../src-shared/result.ts';
import { CatalogSchema, type Catalog } from '../../src-shared/catalog.ts';
import { describeIssues } from '../../src-shared/profile.ts';
import { describeFailure } from '../crm/crmClient.ts';
import { readOpenapi } from './openapiDiscovery.ts';
import { readDatabase } from './databaseDiscovery.ts';
import { catalogDrift, discoverCatalog, keepConfirmed, type DriftItem } from './catalogDiscovery.ts';

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
    res = await axios.get(openapiUrl, { timeout: 10_000, validateStatus: () => true, responseType: 'text', transformResponse: (x) => x });
  } catch (e) {
    throw describeFailure(e, url);
  }
  if (res.status === 404) throw new AppError('no-openapi', `No OpenAPI document at ${openapiUrl} (404). Give the document's address with --url, or set openapiPath.`);
  if (res.status !== 200) throw new AppError('no-openapi', `${openapiUrl} answered ${res.status}, not an OpenAPI document.`);
  try {
    return { doc: JSON.parse(String(res.data)), openapiUrl };
  } catch {
    throw new AppError('no-openapi', `${openapiUrl} is not JSON: TenantScope reads the JSON form of the OpenAPI document.`);
  }
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
    throw new AppError('invalid-input', `The catalog is invalid: ${Object.entries(fields).slice(0, 5).map(([k, v]) => `${k}: ${v}`).join('; ')}`, fields);
  }
  return parsed.data;
}

export async function checkDrift(saved: Catalog, opts: Omit<DiscoverOptions, 'saved'>): Promise<{ drift: DriftItem[]; now: Catalog }> {
  const { catalog } = await discover({ ...opts, saved });
  return { drift: catalogDrift(saved, catalog), now: catalog };
}
