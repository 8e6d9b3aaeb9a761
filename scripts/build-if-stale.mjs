// Builds out/ with electron-vite when a source it depends on is newer than the last build.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';

const root = resolve(import.meta.dirname, '..');
const stamp = join(root, 'out', 'renderer', 'index.html');

function newest(path) {
  const s = statSync(path);
  if (!s.isDirectory()) return s.mtimeMs;
  let max = s.mtimeMs;
  for (const entry of readdirSync(path)) max = Math.max(max, newest(join(path, entry)));
  return max;
}

export function buildIfStale({ quiet = false } = {}) {
  const sources = ['src-renderer', 'src-shared', 'src-main', 'electron.vite.config.ts', 'package.json'].map((p) => join(root, p));
  const built = existsSync(stamp) ? statSync(stamp).mtimeMs : 0;
  if (built && Math.max(...sources.map(newest)) <= built) return false;
  if (!quiet) process.stderr.write('Building the console (electron-vite)…\n');
  const r = spawnSync(process.execPath, [join(root, 'node_modules', 'electron-vite', 'bin', 'electron-vite.js'), 'build'], {
    cwd: root,
    stdio: quiet ? 'ignore' : ['ignore', 'ignore', 'inherit'],
  });
  if (r.status !== 0) throw new Error('electron-vite build failed');
  return true;
}

if (import.meta.url === `file://${process.argv[1]}`) buildIfStale();
