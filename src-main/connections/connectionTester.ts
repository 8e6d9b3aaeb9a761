import { AppError } from '../../src-shared/result.ts';
import type { Check } from '../../src-shared/contract.ts';
import type { ConnectionProfile } from '../../src-shared/profile.ts';
import type { Role } from '../../src-shared/tenancy.ts';
import { CrmClient, describeFailure } from '../crm/crmClient.ts';
import { crmWords, signInPath } from '../crm/auth.ts';
import { pageRequest, readPage, sniffListAnswer } from '../crm/paging.ts';

export interface TestOutcome {
  ok: boolean;
  checks: Check[];
  role: Role | null;
}

/**
 * "Test connection": reachable, OpenAPI document, the CRM the profile describes, sign-in, role.
 * Each failure says what to do about it; checks after a fatal one are skipped, not guessed.
 */
export async function testConnection(profile: ConnectionProfile, credentials: { username?: string; password?: string; token?: string }): Promise<TestOutcome> {
  const client = new CrmClient(profile, 8000);
  const checks: Check[] = [];
  const skipRest = (from: Check['name'][]) => {
    for (const name of from) checks.push({ name, status: 'skipped', code: null, message: 'Skipped: an earlier check failed.' });
  };
  let doc: Record<string, unknown> | null = null;
  try {
    doc = await client.openapi();
    checks.push({ name: 'reachable', status: 'pass', code: null, message: `${profile.baseUrl} answers.` });
    checks.push({ name: 'openapi', status: 'pass', code: null, message: `OpenAPI ${String(doc.openapi ?? doc.swagger)} document at ${profile.openapiPath}.` });
  } catch (e) {
    const err = e as AppError;
    if (err.code === 'unreachable' || err.code === 'tls') {
      checks.push({ name: 'reachable', status: 'fail', code: err.code, message: err.message });
      skipRest(['openapi', 'crm', 'sign-in', 'role', 'lists']);
      return { ok: false, checks, role: null };
    }
    checks.push({ name: 'reachable', status: 'pass', code: null, message: `${profile.baseUrl} answers.` });
    checks.push({ name: 'openapi', status: err.code === 'no-openapi' ? 'warn' : 'fail', code: err.code, message: err.message });
    if (err.code === 'not-a-crm') {
      skipRest(['crm', 'sign-in', 'role', 'lists']);
      return { ok: false, checks, role: null };
    }
  }
  if (doc) {
    const crm = crmCheck(profile, doc);
    checks.push(crm);
    if (crm.status === 'fail') {
      skipRest(['sign-in', 'role', 'lists']);
      return { ok: false, checks, role: null };
    }
  }
  if (!credentials.token && !(credentials.username && credentials.password)) {
    checks.push({ name: 'sign-in', status: 'skipped', code: null, message: 'No credentials given: sign-in not tried.' });
    checks.push({ name: 'role', status: 'skipped', code: null, message: 'Needs a sign-in.' });
    checks.push({ name: 'lists', status: 'skipped', code: null, message: 'Needs a sign-in.' });
    return { ok: checks.every((c) => c.status !== 'fail'), checks, role: null };
  }
  let role: Role | null = null;
  try {
    const token = credentials.token ?? (await client.signIn(credentials.username!, credentials.password!)).token;
    checks.push({
      name: 'sign-in',
      status: 'pass',
      code: null,
      message: credentials.token ? 'The token is accepted.' : `Signed in as ${credentials.username}.`,
    });
    const me = await client.whoami(token);
    role = me.role;
    checks.push({
      name: 'role',
      status: 'pass',
      code: null,
      message: `Role ${me.role}${me.companyName ? ` in ${me.companyName}` : me.companyId ? ` in company ${me.companyId}` : ', no company'}.`,
    });
    checks.push(await confirmLists(client, profile, token));
  } catch (e) {
    const err = e instanceof AppError ? e : new AppError('internal', (e as Error).message);
    const at = checks.some((c) => c.name === 'sign-in') ? 'role' : 'sign-in';
    checks.push({ name: at, status: 'fail', code: err.code, message: err.message });
    skipRest(at === 'sign-in' ? ['role', 'lists'] : ['lists']);
  }
  return { ok: checks.every((c) => c.status !== 'fail'), checks, role };
}

/** Whether the OpenAPI document has the paths the profile names (whoami, companies, sign-in): the CRM this profile describes. */
function crmCheck(profile: ConnectionProfile, doc: Record<string, unknown>): Check {
  const paths = Object.keys((doc.paths as Record<string, unknown>) ?? {});
  const wanted = [profile.whoami.path, profile.tenants?.listPath, signInPath(profile.auth)].filter((p): p is string => !!p);
  const missing = wanted.filter((p) => !paths.includes(p));
  if (missing.length) {
    return {
      name: 'crm',
      status: 'fail',
      code: 'not-a-crm',
      message: `This API has no ${missing.join(', ')}: it is not the CRM this profile describes. Check the address, or adjust the paths in the profile.`,
    };
  }
  const named = [profile.auth.kind === 'token' ? null : 'sign-in', 'whoami', profile.tenants ? 'companies' : null].filter(Boolean).join(', ');
  return { name: 'crm', status: 'pass', code: null, message: `The API has the ${named.replace(/, ([^,]+)$/, ' and $1')} endpoints the profile names.` };
}

/**
 * The list style the profile names, confirmed by one real request: the first page of the first
 * list that needs no parent id. A list answered another way is a failure that says how it looks.
 */
async function confirmLists(client: CrmClient, profile: ConnectionProfile, token: string): Promise<Check> {
  const resource = profile.catalog.resources.find((r) => r.endpoints.list && !/\{/.test(r.endpoints.list));
  if (!resource) return { name: 'lists', status: 'skipped', code: null, message: 'The catalog has no list to read without a parent id.' };
  const paging = profile.paging;
  const size = Math.min(5, paging.maxLimit);
  let res;
  try {
    res = await client.send('GET', resource.endpoints.list!, token, undefined, pageRequest(paging, resource.endpoints.list!, size, null).params);
  } catch (e) {
    const err = describeFailure(e, profile.baseUrl);
    return { name: 'lists', status: 'fail', code: err.code, message: `Reading ${resource.endpoints.list}: ${err.message}` };
  }
  const named = paging.itemsField ? `records at "${paging.itemsField}"` : 'a bare JSON list';
  if (res.status !== 200) {
    return {
      name: 'lists',
      status: res.status === 403 || res.status === 404 ? 'warn' : 'fail',
      code: 'bad-response',
      message: `${res.url} answered ${res.status} (${crmWords(res.data)}) to this identity: the list style (${named}) is not confirmed.`,
    };
  }
  try {
    const { items } = readPage(paging, res, size, null, profile.baseUrl);
    return {
      name: 'lists',
      status: 'pass',
      code: null,
      message: `${res.url} answered ${named} as the profile says (${items.length} on the first page, ${paging.kind} paging).`,
    };
  } catch {
    const seen = sniffListAnswer(res.data, res.headers);
    const fix = seen.itemsField === null ? 'check the list path and "paging" in the profile' : `set "paging.itemsField" to "${seen.itemsField}"`;
    return { name: 'lists', status: 'fail', code: 'bad-response', message: `${res.url} answered ${seen.style}, not ${named} as the profile says: ${fix}.` };
  }
}
