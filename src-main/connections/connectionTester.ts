import { AppError } from '../../src-shared/result.ts';
import type { Check } from '../../src-shared/contract.ts';
import type { ConnectionProfile } from '../../src-shared/profile.ts';
import type { Role } from '../../src-shared/tenancy.ts';
import { CrmClient } from '../crm/crmClient.ts';
import { signInPath } from '../crm/auth.ts';

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
      skipRest(['openapi', 'crm', 'sign-in', 'role']);
      return { ok: false, checks, role: null };
    }
    checks.push({ name: 'reachable', status: 'pass', code: null, message: `${profile.baseUrl} answers.` });
    checks.push({ name: 'openapi', status: err.code === 'no-openapi' ? 'warn' : 'fail', code: err.code, message: err.message });
    if (err.code === 'not-a-crm') {
      skipRest(['crm', 'sign-in', 'role']);
      return { ok: false, checks, role: null };
    }
  }
  if (doc) {
    const paths = Object.keys((doc.paths as Record<string, unknown>) ?? {});
    const wanted = [profile.whoami.path, profile.tenants?.listPath, signInPath(profile.auth)].filter((p): p is string => !!p);
    const missing = wanted.filter((p) => !paths.includes(p));
    if (missing.length) {
      checks.push({ name: 'crm', status: 'fail', code: 'not-a-crm', message: `This API has no ${missing.join(', ')}: it is not the CRM this profile describes. Check the address, or adjust the paths in the profile.` });
      skipRest(['sign-in', 'role']);
      return { ok: false, checks, role: null };
    }
    checks.push({ name: 'crm', status: 'pass', code: null, message: `The API has the ${[profile.auth.kind === 'token' ? null : 'sign-in', 'whoami', profile.tenants ? 'companies' : null].filter(Boolean).join(', ').replace(/, ([^,]+)$/, ' and $1')} endpoints the profile names.` });
  }
  if (!credentials.token && !(credentials.username && credentials.password)) {
    checks.push({ name: 'sign-in', status: 'skipped', code: null, message: 'No credentials given: sign-in not tried.' });
    checks.push({ name: 'role', status: 'skipped', code: null, message: 'Needs a sign-in.' });
    return { ok: checks.every((c) => c.status !== 'fail'), checks, role: null };
  }
  let role: Role | null = null;
  try {
    const token = credentials.token ?? (await client.signIn(credentials.username!, credentials.password!)).token;
    checks.push({ name: 'sign-in', status: 'pass', code: null, message: credentials.token ? 'The token is accepted.' : `Signed in as ${credentials.username}.` });
    const me = await client.whoami(token);
    role = me.role;
    checks.push({ name: 'role', status: 'pass', code: null, message: `Role ${me.role}${me.companyName ? ` in ${me.companyName}` : me.companyId ? ` in company ${me.companyId}` : ', no company'}.` });
  } catch (e) {
    const err = e instanceof AppError ? e : new AppError('internal', (e as Error).message);
    const at = checks.some((c) => c.name === 'sign-in') ? 'role' : 'sign-in';
    checks.push({ name: at, status: 'fail', code: err.code, message: err.message });
    if (at === 'sign-in') skipRest(['role']);
  }
  return { ok: checks.every((c) => c.status !== 'fail'), checks, role };
}
