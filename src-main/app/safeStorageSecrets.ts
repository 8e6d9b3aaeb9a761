import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { safeStorage } from 'electron';
import type { SecretStore } from '../core/secretStore.ts';

/** Secrets sealed with the OS keychain through Electron's safeStorage, in secrets.bin beside connections.json. */
export class SafeStorageSecretStore implements SecretStore {
  readonly kind = 'safeStorage' as const;
  private readonly file: string;
  private values: Record<string, string>;

  constructor(home: string) {
    this.file = join(home, 'secrets.bin');
    this.values = {};
    if (existsSync(this.file)) {
      try {
        this.values = JSON.parse(safeStorage.decryptString(readFileSync(this.file))) as Record<string, string>;
      } catch {
        renameSync(this.file, `${this.file}.unreadable-${Date.now()}`);
      }
    }
  }

  private flush() {
    const tmp = `${this.file}.tmp`;
    writeFileSync(tmp, safeStorage.encryptString(JSON.stringify(this.values)), { mode: 0o600 });
    renameSync(tmp, this.file);
  }
  get(key: string) {
    return this.values[key];
  }
  set(key: string, value: string) {
    this.values[key] = value;
    this.flush();
  }
  delete(key: string) {
    delete this.values[key];
    this.flush();
  }
  keys(prefix: string) {
    return Object.keys(this.values).filter((k) => k.startsWith(prefix));
  }
}

/**
 * The desktop's key for its caches: 32 random bytes, sealed by the OS keyring in cache-key.bin.
 * Made on first use. A sealed key the keyring no longer opens is an error, never a new key: the
 * caches it encrypted would be lost.
 */
export function keyringCacheKey(home: string): Buffer {
  const file = join(home, 'cache-key.bin');
  if (existsSync(file)) {
    const hex = safeStorage.decryptString(readFileSync(file));
    if (!/^[0-9a-f]{64}$/.test(hex)) throw new Error(`${file} does not hold a cache key`);
    return Buffer.from(hex, 'hex');
  }
  const key = randomBytes(32);
  const tmp = `${file}.tmp`;
  writeFileSync(tmp, safeStorage.encryptString(key.toString('hex')), { mode: 0o600 });
  renameSync(tmp, file);
  return key;
}
