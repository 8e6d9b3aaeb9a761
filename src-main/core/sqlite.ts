import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import type BetterSqlite3 from 'better-sqlite3';
import { AppError } from '../../src-shared/result.ts';
import { projectRoot } from './home.ts';

const require = createRequire(import.meta.url);

/**
 * better-sqlite3 is built for Node in node_modules (tests, CLI, HTTP host). Electron has its own
 * ABI, so the desktop app loads a second build from .native/ through the `nativeBinding` option:
 * one install serves `npm test` and `npm start` in either order, nothing is rebuilt back and forth.
 */
export function electronNativeBindingPath(abi: string | number, platform = process.platform, arch = process.arch): string {
  return join(projectRoot, '.native', `electron-${abi}-${platform}-${arch}`, 'better_sqlite3.node');
}

export function openSqlite(file: string, options: BetterSqlite3.Options = {}): BetterSqlite3.Database {
  const Database = require('better-sqlite3') as typeof BetterSqlite3;
  if (process.versions.electron) {
    const binding = electronNativeBindingPath(process.versions.modules);
    if (!existsSync(binding)) {
      throw new AppError('internal', `The SQLite module for Electron is missing at ${binding}: run \`node scripts/electron-native.mjs\` (npm start does it when an Electron binary is present).`);
    }
    return new Database(file, { ...options, nativeBinding: binding });
  }
  return new Database(file, options);
}
