import { scrypt } from 'node:crypto';

/** scrypt's cost: about 0.1 s and 32 MiB a derivation, off the main thread (libuv's pool). */
const N = 1 << 15;

/** A key from a password or passphrase (the offline verifier, the sealed tenant exports). */
export function deriveKey(secret: string, salt: Buffer, length = 32): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    scrypt(secret, salt, length, { N, r: 8, p: 1, maxmem: 64 * 1024 * 1024 }, (e, key) => (e ? reject(e) : resolve(key)));
  });
}

export const SCRYPT_N = N;
