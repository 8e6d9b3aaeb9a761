import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { Session, Tenant } from '../../src-shared/contract.ts';
import { AppError } from '../../src-shared/result.ts';
import { dataAsOf, type OpenCache } from '../cache/cacheDb.ts';
import { deriveKey, SCRYPT_N as N } from '../core/keys.ts';

/**
 * What the console needs to open offline: the operator as the CRM last described them (role,
 * company, the tenants a super admin could see), kept in the connection's cache with a scrypt
 * verifier of their password. The CRM stays the authority: offline, the console only grants what
 * it granted at the last online sign-in.
 */
export async function makeVerifier(password: string): Promise<string> {
  const salt = randomBytes(16);
  return `scrypt$${N}$${salt.toString('base64')}$${(await deriveKey(password, salt)).toString('base64')}`;
}

export async function checkVerifier(verifier: string, password: string): Promise<boolean> {
  const [kind, n, salt, hash] = verifier.split('$');
  if (kind !== 'scrypt' || Number(n) !== N || !salt || !hash) return false;
  const want = Buffer.from(hash, 'base64');
  const got = await deriveKey(password, Buffer.from(salt, 'base64'), want.length);
  return want.length === got.length && timingSafeEqual(want, got);
}

export async function recordOperator(
  raw: OpenCache['raw'],
  username: string,
  session: Session,
  tenants: Tenant[],
  password: string | undefined,
): Promise<void> {
  const verifier = password ? await makeVerifier(password) : null;
  raw
    .prepare(
      `INSERT INTO operators (username, user_json, role, company_json, tenants_json, verifier, signed_in_at) VALUES (?, ?, ?, ?, ?, ?, ?)
      ON CONFLICT (username) DO UPDATE SET user_json = excluded.user_json, role = excluded.role, company_json = excluded.company_json, tenants_json = excluded.tenants_json,
        verifier = coalesce(excluded.verifier, operators.verifier), signed_in_at = excluded.signed_in_at`,
    )
    .run(
      username.toLowerCase(),
      JSON.stringify(session.user),
      session.role,
      session.company ? JSON.stringify(session.company) : null,
      JSON.stringify(tenants),
      verifier,
      session.signedInAt,
    );
}

/** A verifier no password matches, checked for an unknown user so that it costs what a known one does. */
const DECOY = `scrypt$${N}$${randomBytes(16).toString('base64')}$${randomBytes(32).toString('base64')}`;

/** The recorded operator, once the password matches; the data's age from the last sync. */
export async function offlineOperator(
  raw: OpenCache['raw'],
  username: string,
  password: string,
): Promise<{ user: Session['user']; role: Session['role']; company: Tenant | null; tenants: Tenant[]; dataAsOf: string | null }> {
  const row = raw.prepare('SELECT user_json, role, company_json, tenants_json, verifier FROM operators WHERE username = ?').get(username.toLowerCase()) as
    { user_json: string; role: Session['role']; company_json: string | null; tenants_json: string; verifier: string | null } | undefined;
  // one answer, and one scrypt, for an unknown user and a wrong password: the cache does not say
  // who it knows, in words or in time
  const ok = await checkVerifier(row?.verifier ?? DECOY, password);
  if (!row || !row.verifier || !ok) {
    throw new AppError(
      'bad-credentials',
      `The cache of this connection does not open for ${username} with this password. Offline, only someone who signed in here online before (with a password, not a token) can open it.`,
    );
  }
  return {
    user: JSON.parse(row.user_json),
    role: row.role,
    company: row.company_json ? JSON.parse(row.company_json) : null,
    tenants: JSON.parse(row.tenants_json),
    dataAsOf: dataAsOf(raw, null),
  };
}
