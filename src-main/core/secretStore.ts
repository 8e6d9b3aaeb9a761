/**
 * Secrets (passwords, tokens, database URLs) never go to a file in plain text. On the desktop
 * they are sealed with Electron's safeStorage (src-main/app); elsewhere they live in memory for
 * the life of the process, and CI passes them through environment variables named in the profile.
 */
export interface SecretStore {
  readonly kind: 'memory' | 'safeStorage';
  get(key: string): string | undefined;
  set(key: string, value: string): void;
  delete(key: string): void;
  keys(prefix: string): string[];
}

export class MemorySecretStore implements SecretStore {
  readonly kind = 'memory' as const;
  private readonly values = new Map<string, string>();

  get(key: string) {
    return this.values.get(key);
  }
  set(key: string, value: string) {
    this.values.set(key, value);
  }
  delete(key: string) {
    this.values.delete(key);
  }
  keys(prefix: string) {
    return [...this.values.keys()].filter((k) => k.startsWith(prefix));
  }
}

export const secretKey = (connection: string, item: string) => `${connection}/${item}`;
