import { randomBytes, scrypt as scryptCb, timingSafeEqual } from 'node:crypto';
import { promisify } from 'node:util';
import { SignJWT, jwtVerify, errors } from 'jose';

const scrypt = promisify(scryptCb) as (pw: string, salt: Buffer, len: number, opts: object) => Promise<Buffer>;
const N = 16384,
  R = 8,
  P = 1,
  LEN = 32;

/** scrypt with a per-user salt, stored as `scrypt$N$r$p$salt$hash`. */
export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(16);
  const hash = await scrypt(password, salt, LEN, { N, r: R, p: P });
  return `scrypt$${N}$${R}$${P}$${salt.toString('base64')}$${hash.toString('base64')}`;
}

export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const [kind, n, r, p, salt, hash] = stored.split('$');
  if (kind !== 'scrypt' || !salt || !hash) return false;
  const expected = Buffer.from(hash, 'base64');
  const actual = await scrypt(password, Buffer.from(salt, 'base64'), expected.length, { N: Number(n), r: Number(r), p: Number(p) });
  return timingSafeEqual(actual, expected);
}

export type Role = 'super_admin' | 'company_admin' | 'user';

export interface Caller {
  id: string;
  role: Role;
  companyId: string | null;
}

export class Tokens {
  private readonly key: Uint8Array;

  constructor(
    secret: string,
    readonly ttlSeconds: number,
  ) {
    this.key = new TextEncoder().encode(secret);
  }

  async issue(caller: Caller): Promise<string> {
    return new SignJWT({ company_id: caller.companyId, role: caller.role })
      .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
      .setSubject(caller.id)
      .setIssuedAt()
      .setExpirationTime(Math.floor(Date.now() / 1000) + this.ttlSeconds)
      .sign(this.key);
  }

  /** Returns the caller, or a reason the token is refused. */
  async verify(token: string): Promise<Caller | { refused: string }> {
    try {
      const { payload } = await jwtVerify(token, this.key, { algorithms: ['HS256'] });
      const role = payload.role;
      if (typeof payload.sub !== 'string' || (role !== 'super_admin' && role !== 'company_admin' && role !== 'user')) {
        return { refused: 'Could not validate credentials' };
      }
      const companyId = typeof payload.company_id === 'string' ? payload.company_id : null;
      return { id: payload.sub, role, companyId };
    } catch (e) {
      if (e instanceof errors.JWTExpired) return { refused: 'Token has expired' };
      return { refused: 'Could not validate credentials' };
    }
  }
}
