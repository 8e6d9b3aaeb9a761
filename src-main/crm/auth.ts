import type { AxiosInstance } from 'axios';
import { AppError } from '../../src-shared/result.ts';
import { pick, type Auth } from '../../src-shared/profile.ts';

/**
 * The ways a CRM signs a user in, one function each: what request to send and how to read the
 * answer. The profile names the style; discovery fills it in from the OpenAPI document.
 */
export interface SignedIn {
  token: string;
  expiresIn: number | null;
}

type Post = (http: AxiosInstance, username: string, password: string) => Promise<{ status: number; data: unknown; url: string }>;

/** The path a style signs in at, or null for pasted tokens. */
export function signInPath(auth: Auth): string | null {
  return auth.kind === 'password' ? auth.loginPath : auth.kind === 'oauth2-password' ? auth.tokenUrl : null;
}

const styles: Record<Exclude<Auth['kind'], 'token'>, (auth: never) => Post> = {
  /** a JSON body with the profile's field names */
  password: (auth: Extract<Auth, { kind: 'password' }>) => async (http, username, password) => {
    const res = await http.post(auth.loginPath, { [auth.usernameField]: username, [auth.passwordField]: password });
    return { status: res.status, data: res.data, url: auth.loginPath };
  },
  /** OAuth2 password flow: form-encoded grant_type, username, password (and scope) */
  'oauth2-password': (auth: Extract<Auth, { kind: 'oauth2-password' }>) => async (http, username, password) => {
    const form = new URLSearchParams({ grant_type: 'password', username, password });
    if (auth.scope) form.set('scope', auth.scope);
    const res = await http.post(auth.tokenUrl, form.toString(), { headers: { 'content-type': 'application/x-www-form-urlencoded' } });
    return { status: res.status, data: res.data, url: auth.tokenUrl };
  },
};

/** The CRM's own words about a refused request: FastAPI's `detail` (a string or validation errors), or the body. */
export function crmWords(data: unknown): string {
  const detail = pick(data, 'detail') ?? pick(data, 'message') ?? pick(data, 'error');
  if (typeof detail === 'string') return detail.slice(0, 300);
  if (Array.isArray(detail)) {
    return detail
      .slice(0, 5)
      .map((d) => {
        const loc = pick(d, 'loc');
        const msg = pick(d, 'msg');
        return `${Array.isArray(loc) ? loc.join('.') : ''}: ${typeof msg === 'string' ? msg : JSON.stringify(d)}`;
      })
      .join('; ')
      .slice(0, 300);
  }
  if (typeof data === 'string') return data.replace(/\s+/g, ' ').slice(0, 200);
  return JSON.stringify(data ?? null).slice(0, 200);
}

const CREDENTIALS_WORDS = /(incorrect|invalid|wrong|bad|unknown).*(password|credential|user|login|email)|(password|credential).*(incorrect|invalid|wrong)/i;

export async function signInWith(
  http: AxiosInstance,
  auth: Auth,
  username: string,
  password: string,
  where: { baseUrl: string; name: string },
): Promise<SignedIn> {
  if (auth.kind === 'token')
    throw new AppError('invalid-input', `Connection "${where.name}" signs in with pasted tokens, not a password: give a token (--token-env VAR in the CLI).`);
  const post = (styles[auth.kind] as (a: typeof auth) => Post)(auth);
  const res = await post(http, username, password);
  const words = crmWords(res.data);
  const field = auth.kind === 'password' ? 'auth.loginPath' : 'auth.tokenUrl';
  if (res.status === 401 || res.status === 403 || (res.status === 400 && CREDENTIALS_WORDS.test(words))) {
    throw new AppError('bad-credentials', `The CRM refused the sign-in for ${username} (${res.status}: ${words}): check the user name and password.`);
  }
  if (res.status === 400 || res.status === 422 || res.status === 415) {
    throw new AppError(
      'bad-response',
      `The CRM did not take the shape of the sign-in request to ${res.url} (${res.status}: ${words}). It may sign in another way: check "auth" in the profile (${auth.kind === 'password' ? 'a JSON body; "oauth2-password" posts a form' : 'a form-encoded OAuth2 password grant; "password" posts JSON'}).`,
    );
  }
  if (res.status === 404 || res.status === 405) {
    throw new AppError(
      'not-a-crm',
      `The server at ${where.baseUrl} has no sign-in at ${res.url} (it answered ${res.status}). Check "${field}" in the profile.`,
    );
  }
  const token = pick(res.data, auth.tokenField);
  if (res.status !== 200 || typeof token !== 'string' || !token) {
    const what = typeof res.data === 'string' && /^\s*</.test(res.data) ? 'an HTML page' : `no token at "${auth.tokenField}"`;
    throw new AppError('bad-response', `The sign-in answer from ${res.url} (${res.status}) has ${what}.`);
  }
  const expires = auth.expiresInField ? pick(res.data, auth.expiresInField) : null;
  return { token, expiresIn: typeof expires === 'number' ? expires : null };
}
