import { AppError } from '../../src-shared/result.ts';
import type { Role } from '../../src-shared/tenancy.ts';
import type { ConnectionProfile } from '../../src-shared/profile.ts';
import { CrmClient, describeFailure, type WhoAmI } from './crmClient.ts';
import { DEFAULT_RETRY, isTransient, TransientAnswer, transientReason, withRetry, type RetryPolicy } from './retry.ts';

/**
 * The CRM adapter's one way to send a request as someone: the sync engine, the isolation runner
 * and the session all go through `exchange`, and all sign identities in with `signInIdentity`.
 */

/** Someone signed in to the CRM: who the CRM says they are, a current token, and a way to renew it. */
export interface CrmIdentity {
  label: string;
  email: string;
  role: Role;
  companyId: string | null;
  userId: string;
  /** the CRM's whole answer about them at sign-in (name, company name) */
  me: WhoAmI;
  token(): string;
  /** signs in again after a 401; the new token (a pasted token cannot be renewed: an error says so) */
  refresh(): Promise<string>;
}

/** One answer as it came, with the request that brought it (method, path and query) for evidence and messages. */
export interface Answer {
  status: number;
  data: unknown;
  headers: Record<string, unknown>;
  request: string;
  url: string;
}

export type Method = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

export interface ExchangeOptions {
  body?: unknown;
  params?: Record<string, string | number>;
  signal?: AbortSignal;
  policy?: RetryPolicy;
  /** a try that failed and is tried again, in words ("GET /x (503), try 2 in 180 ms") */
  onRetry?: (line: string) => void;
}

/**
 * One request as `who`, with the one retry policy: dropped connections, timeouts, bodies cut short,
 * 429 (Retry-After honoured) and 5xx are tried again with backoff and jitter; a 401 signs in once
 * more. Any other status comes back as the answer. When the tries are used up on a 401, 429 or
 * 5xx, that last answer comes back with `exhausted` set (it is evidence, for the isolation runner;
 * the sync turns it into an error). A request that never got an answer is an error naming it.
 */
export async function exchange(
  client: CrmClient,
  who: Pick<CrmIdentity, 'token' | 'refresh'>,
  method: Method,
  url: string,
  opts: ExchangeOptions = {},
): Promise<Answer & { exhausted?: string }> {
  const policy = opts.policy ?? DEFAULT_RETRY;
  let refreshed = false;
  let last: Answer | null = null;
  let request = `${method} ${url}`;
  try {
    return await withRetry(
      async () => {
        let res;
        try {
          res = await client.send(method, url, who.token(), opts.body, opts.params, opts.signal);
        } catch (e) {
          if (opts.signal?.aborted) throw e;
          const described = describeFailure(e, client.profile.baseUrl);
          if (described.code !== 'tls' && isTransient(e)) throw e; // tried again; a certificate does not heal by asking again
          throw described;
        }
        const answer: Answer = { status: res.status, data: res.data, headers: res.headers, request: `${method} ${res.url}`, url: res.url };
        request = answer.request;
        if (res.status === 401 && !refreshed) {
          refreshed = true;
          last = answer;
          await who.refresh();
          throw new TransientAnswer(401, {}, answer.request);
        }
        if (res.status === 429 || res.status >= 500) {
          last = answer;
          throw new TransientAnswer(res.status, res.headers, answer.request);
        }
        // a JSON body cut short arrives as text that starts like JSON: worth another try, like a dropped connection
        if (res.status === 200 && typeof res.data === 'string' && /^\s*[[{]/.test(res.data) && /json/i.test(String(res.headers['content-type'] ?? 'json'))) {
          last = answer;
          throw new TransientAnswer(res.status, res.headers, answer.request, 'truncated body');
        }
        return answer;
      },
      {
        policy,
        signal: opts.signal,
        onRetry: (e, attempt, delay) =>
          opts.onRetry?.(`${e instanceof TransientAnswer ? e.request : request} (${transientReason(e)}), try ${attempt + 1} in ${delay} ms`),
      },
    );
  } catch (e) {
    if (e instanceof AppError || opts.signal?.aborted) throw e;
    const why = transientReason(e);
    if (e instanceof TransientAnswer && last) return { ...(last as Answer), exhausted: `${request} still failed after ${policy.attempts} tries (${why}).` };
    if (isTransient(e)) {
      const described = describeFailure(e, client.profile.baseUrl);
      throw new AppError(described.code, `${request} still failed after ${policy.attempts} tries (${why}). ${described.message}`);
    }
    throw describeFailure(e, client.profile.baseUrl);
  }
}

/** How an identity proves who it is: a user name and password (signed in as the profile says), or a pasted token. */
export type Credentials = { username: string; password: string } | { token: string };

/**
 * Signs one identity in and asks the CRM who it is. The credentials stay in this closure only, in
 * memory, to sign in again when the CRM's token expires; a pasted token cannot be renewed.
 */
export async function signInIdentity(client: CrmClient, label: string, credentials: Credentials): Promise<CrmIdentity> {
  let token = 'token' in credentials ? credentials.token : (await client.signIn(credentials.username, credentials.password)).token;
  const me = await client.whoami(token);
  return {
    label,
    email: me.email,
    role: me.role,
    companyId: me.companyId,
    userId: me.id,
    me,
    token: () => token,
    refresh: async () => {
      if ('token' in credentials) throw new AppError('unauthenticated', `The pasted token of "${label}" expired or was revoked: paste a new one.`);
      return (token = (await client.signIn(credentials.username, credentials.password)).token);
    },
  };
}

/** Every identity a connection names, signed in: the isolation runner's probers, the CLI's operator. */
export async function signInIdentities(
  profile: ConnectionProfile,
  secretFor: (label: string) => string | undefined,
  client = new CrmClient(profile),
): Promise<CrmIdentity[]> {
  if (!profile.identities.length)
    throw new AppError(
      'invalid-input',
      `Connection "${profile.name}" names no identities to probe with: add a super admin, a company admin and a user in two companies, and a user with no company.`,
    );
  return Promise.all(
    profile.identities.map((identity) => {
      const secret = secretFor(identity.label);
      if (!secret)
        throw new AppError(
          'invalid-input',
          `No password or token for "${identity.label}"${identity.passwordEnv ? `: set ${identity.passwordEnv}` : identity.tokenEnv ? `: set ${identity.tokenEnv}` : ''}.`,
        );
      const pasted = !identity.username || (identity.tokenEnv && !identity.passwordEnv);
      return signInIdentity(client, identity.label, pasted ? { token: secret } : { username: identity.username!, password: secret });
    }),
  );
}
