import { mkdirSync } from 'node:fs';
import { homedir, platform } from 'node:os';
import { join, resolve } from 'node:path';

/** Where the console keeps its data: TENANTSCOPE_HOME when set, else the platform's app-data folder. */
export function resolveHome(env: NodeJS.ProcessEnv = process.env): string {
  const dir = env.TENANTSCOPE_HOME
    ? resolve(env.TENANTSCOPE_HOME)
    : platform() === 'win32'
      ? join(env.APPDATA ?? join(homedir(), 'AppData', 'Roaming'), 'TenantScope')
      : platform() === 'darwin'
        ? join(homedir(), 'Library', 'Application Support', 'TenantScope')
        : join(env.XDG_CONFIG_HOME ?? join(homedir(), '.config'), 'TenantScope');
  mkdirSync(dir, { recursive: true, mode: 0o700 }); // connections, caches and secrets: this user's only
  return dir;
}

/** The project root (profiles/, migrations/, src-crm/ live there). */
export const projectRoot = resolve(import.meta.dirname, '..', '..');
