import type { AxiosError, AxiosInstance } from 'axios';
import { http } from './http.ts';
import { AppError } from '../../src-shared/result.ts';
import { pick, type ConnectionProfile } from '../../src-shared/profile.ts';
import type { Role } from '../../src-shared/tenancy.ts';
import type { Tenant } from '../../src-shared/contract.ts';
import type { Resource } from '../../src-shared/catalog.ts';
import { pagesOf } from './paging.ts';
import { signInWith, type SignedIn } from './auth.ts';

export interface WhoAmI {
  id: string;
  email: string;
  name: string;
  role: Role;
  companyId: string | null;
  companyName: string | null;
}

const TLS_CODES = /CERT|SSL|TLS|SELF_SIGNED|UNABLE_TO_(GET|VERIFY)|EPROTO/;
const UNREACHABLE_CODES = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ETIMEDOUT',
  'ECONNRESET',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ECONNABORTED',
  'ERR_SOCKET_CONNECTION_TIMEOUT',
]);

/** The largest answer the console reads: a page larger than this is refused, never half-read. */
export const MAX_ANSWER_BYTES = 64 * 1024 * 1024;

/** Turns a failed request into an error a user can act on. */
export function describeFailure(e: unknown, baseUrl: string): AppError {
  if (e instanceof AppError) return e;
  const err = e as AxiosError & { cause?: { code?: string } };
  const code = err.code ?? err.cause?.code ?? '';
  if (/maxContentLength/.test(err.message ?? '')) {
    const url = err.config?.url
      ? `${err.config.url}${err.config.params ? `?${new URLSearchParams(Object.entries(err.config.params as Record<string, string>).map(([k, v]) => [k, String(v)] as [string, string])).toString()}` : ''}`
      : 'a request';
    return new AppError(
      'bad-response',
      `${url} answered more than ${MAX_ANSWER_BYTES / 1024 / 1024} MiB in one page: nothing of it was stored. Ask for smaller pages (--page-size, or "paging.maxLimit" in the profile).`,
    );
  }
  if (TLS_CODES.test(code) || TLS_CODES.test(err.message ?? '')) {
    return new AppError(
      'tls',
      `The CRM at ${baseUrl} presented a certificate this machine does not trust (${code || err.message}). Check the address (https vs http) or install the CA certificate.`,
    );
  }
  if (UNREACHABLE_CODES.has(code) || !err.response) {
    return new AppError(
      'unreachable',
      `Nothing answers at ${baseUrl} (${code || err.message}). Check the address and that the CRM is running and reachable from this machine.`,
    );
  }
  return new AppError('bad-response', `The CRM answered ${err.response.status} to ${err.config?.url ?? 'a request'}.`);
}

/** Talks to one CRM as its profile describes it; knows no CRM's paths of its own. */
export class CrmClient {
  private readonly http: AxiosInstance;

  constructor(
    readonly profile: ConnectionProfile,
    timeoutMs = 10_000,
  ) {
    this.http = http().create({
      baseURL: profile.baseUrl,
      timeout: timeoutMs,
      validateStatus: () => true,
      maxRedirects: 0,
      maxContentLength: MAX_ANSWER_BYTES,
    });
  }

  /** A password or token goes over TLS, or to this machine: never in clear text across a network. */
  private assertPrivate(): void {
    const u = new URL(this.profile.baseUrl);
    const loopback = /^(localhost|127(\.\d{1,3}){3}|\[::1\])$/i.test(u.hostname);
    if (u.protocol !== 'https:' && !loopback) {
      throw new AppError(
        'tls',
        `The CRM at ${this.profile.baseUrl} is plain http on another machine: the console sends no password or token there in clear text. Use its https:// address.`,
      );
    }
  }

  private authHeaders(token: string): Record<string, string> {
    this.assertPrivate();
    const { name, scheme } = this.profile.header;
    return { [name]: scheme ? `${scheme} ${token}` : token };
  }

  private async request(method: 'GET' | 'POST', url: string, opts: { data?: unknown; token?: string } = {}) {
    try {
      return await this.http.request({ method, url, data: opts.data, headers: opts.token ? this.authHeaders(opts.token) : undefined });
    } catch (e) {
      throw describeFailure(e, this.profile.baseUrl);
    }
  }

  /** The OpenAPI document, or an error saying why there is none. */
  async openapi(): Promise<Record<string, unknown>> {
    const res = await this.request('GET', this.profile.openapiPath);
    if (res.status === 404)
      throw new AppError(
        'no-openapi',
        `The server at ${this.profile.baseUrl} answers, but serves no OpenAPI document at ${this.profile.openapiPath}. Set "openapiPath" in the connection profile.`,
      );
    const doc = res.data as Record<string, unknown> | string;
    if (res.status !== 200 || typeof doc !== 'object' || doc === null || !('openapi' in doc || 'swagger' in doc)) {
      throw new AppError(
        'not-a-crm',
        `The server at ${this.profile.baseUrl} answered ${res.status} with something that is not an OpenAPI document at ${this.profile.openapiPath}. Is this the CRM's API address?`,
      );
    }
    return doc;
  }

  async signIn(username: string, password: string): Promise<SignedIn> {
    this.assertPrivate();
    try {
      return await signInWith(this.http, this.profile.auth, username, password, { baseUrl: this.profile.baseUrl, name: this.profile.name });
    } catch (e) {
      throw describeFailure(e, this.profile.baseUrl);
    }
  }

  async whoami(token: string): Promise<WhoAmI> {
    const w = this.profile.whoami;
    const res = await this.request('GET', w.path, { token });
    if (res.status === 401 || res.status === 403)
      throw new AppError('bad-credentials', 'The CRM did not accept the token: it may have expired or been revoked. Sign in again.');
    if (res.status !== 200 || typeof res.data !== 'object' || res.data === null) {
      throw new AppError('bad-response', `The CRM answered ${res.status} at ${w.path} instead of the signed-in user.`);
    }
    const rawRole = String(pick(res.data, w.roleField) ?? '');
    const role = (Object.keys(w.roles) as Role[]).find((r) => w.roles[r].includes(rawRole));
    if (!role)
      throw new AppError('bad-response', `The CRM reported the role "${rawRole}", which the profile does not map to super_admin, company_admin or user.`);
    const id = pick(res.data, w.idField);
    if (typeof id !== 'string' && typeof id !== 'number') throw new AppError('bad-response', `The signed-in user at ${w.path} has no "${w.idField}".`);
    const companyId = pick(res.data, w.companyIdField);
    const companyName = pick(res.data, w.companyNameField);
    return {
      id: String(id),
      email: String(pick(res.data, w.emailField) ?? ''),
      name: String(pick(res.data, w.nameField) ?? pick(res.data, w.emailField) ?? ''),
      role,
      companyId: companyId === null || companyId === undefined ? null : String(companyId),
      companyName: typeof companyName === 'string' ? companyName : null,
    };
  }

  /** Any request as it is, with a JSON body: network failures throw (axios), any HTTP status comes back. */
  async send(
    method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE',
    url: string,
    token: string,
    data?: unknown,
    params?: Record<string, string | number>,
    signal?: AbortSignal,
  ): Promise<{ status: number; data: unknown; headers: Record<string, unknown>; url: string }> {
    const res = await this.http.request({ method, url, data, params, signal, headers: this.authHeaders(token) });
    const qs = params ? new URLSearchParams(Object.entries(params).map(([k, v]) => [k, String(v)] as [string, string])).toString() : '';
    return { status: res.status, data: res.data, headers: res.headers as Record<string, unknown>, url: `${url}${qs ? `?${qs}` : ''}` };
  }

  /** Fills a path template: `{id}`-style parameters from `values`, matched loosely (ticketId = ticket_id). */
  static fillPath(template: string, values: Record<string, string>): string {
    const norm = (x: string) => x.replace(/_/g, '').toLowerCase();
    return template.replace(/\{([^}]+)\}/g, (_m, name: string) => {
      const key = Object.keys(values).find((k) => norm(k) === norm(name));
      if (key === undefined) throw new AppError('invalid-input', `No value for {${name}} in ${template}.`);
      return encodeURIComponent(values[key]!);
    });
  }

  /** Every page of a resource's list, as the profile's paging says; one array of records a page. */
  async *listPages(
    resource: Resource,
    token: string,
    opts: { pathParams?: Record<string, string>; query?: Record<string, string>; pageSize?: number } = {},
  ): AsyncGenerator<Record<string, unknown>[]> {
    const path = resource.endpoints.list;
    if (!path) throw new AppError('invalid-input', `${resource.name} has no list endpoint in the catalog.`);
    const paging = this.profile.paging;
    const fetch = async (url: string, params: Record<string, string | number>) => {
      let res;
      try {
        res = await this.send('GET', url, token, undefined, params);
      } catch (e) {
        throw describeFailure(e, this.profile.baseUrl);
      }
      if (res.status === 401) throw new AppError('unauthenticated', 'The CRM no longer accepts the token: sign in again.');
      if (res.status !== 200) throw new AppError('bad-response', `${res.url} answered ${res.status}.`);
      return res;
    };
    const size = Math.min(opts.pageSize ?? paging.maxLimit, paging.maxLimit);
    for await (const page of pagesOf(paging, this.profile.baseUrl, CrmClient.fillPath(path, opts.pathParams ?? {}), fetch, { size, query: opts.query })) {
      yield page.items as Record<string, unknown>[];
    }
  }

  /** Creates one record; `pathParams` fill a nested collection's parent ids. */
  async create(
    resource: Resource,
    token: string,
    body: Record<string, unknown>,
    pathParams: Record<string, string> = {},
  ): Promise<{ status: number; data: unknown }> {
    const path = resource.endpoints.create;
    if (!path) throw new AppError('invalid-input', `${resource.name} has no create endpoint in the catalog.`);
    try {
      const res = await this.http.post(CrmClient.fillPath(path, pathParams), body, { headers: this.authHeaders(token) });
      return { status: res.status, data: res.data };
    } catch (e) {
      throw describeFailure(e, this.profile.baseUrl);
    }
  }

  /** The companies the CRM lists, or null when the profile names no companies endpoint. */
  async tenants(token: string): Promise<Tenant[] | null> {
    const t = this.profile.tenants;
    if (!t) return null;
    const res = await this.request('GET', t.listPath, { token });
    if (res.status === 401) throw new AppError('unauthenticated', 'The CRM no longer accepts the session: sign in again.');
    if (res.status === 403) return [];
    const items = t.itemsField ? pick(res.data, t.itemsField) : res.data;
    if (res.status !== 200 || !Array.isArray(items))
      throw new AppError('bad-response', `The CRM answered ${res.status} at ${t.listPath} without a list of companies.`);
    return items.map((item) => ({ id: String(pick(item, t.idField)), name: String(pick(item, t.nameField) ?? pick(item, t.idField)) }));
  }
}
