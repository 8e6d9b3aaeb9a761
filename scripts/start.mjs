// `npm start`: build if needed, launch the desktop app, or fall back to the HTTP host with a URL to open.
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { buildIfStale } from './build-if-stale.mjs';
import { buildElectronNative } from './electron-native.mjs';

const root = resolve(import.meta.dirname, '..');

function electronBinary() {
  const dir = join(root, 'node_modules', 'electron');
  const pathFile = join(dir, 'path.txt');
  if (!existsSync(pathFile)) return null;
  const bin = join(dir, 'dist', readFileSync(pathFile, 'utf8').trim());
  return existsSync(bin) ? bin : null;
}

let starting = false;
function startHost(reason) {
  if (starting) return;
  starting = true;
  process.stderr.write(`${reason}; serving the console over HTTP instead.\n`);
  const child = spawn(process.execPath, [join(root, 'bin', 'tenantscope.mjs'), 'host', ...process.argv.slice(2)], { cwd: root, stdio: 'inherit' });
  const forward = (sig) => () => child.kill(sig);
  process.on('SIGINT', forward('SIGINT'));
  process.on('SIGTERM', forward('SIGTERM'));
  child.on('exit', (code) => process.exit(code ?? 0));
}

try {
  buildIfStale();
} catch (e) {
  process.stderr.write(`error: ${e.message}\n`);
  process.exit(2);
}

const electron = process.env.TENANTSCOPE_NO_ELECTRON ? null : electronBinary();
if (!electron) {
  startHost('Electron cannot start here (no Electron binary is installed)');
} else {
  try {
    buildElectronNative();
  } catch (e) {
    startHost(`The SQLite module could not be built for Electron (${e.message})`);
  }
}
if (electron && !starting) {
  const started = Date.now();
  const child = spawn(electron, [root], { cwd: root, stdio: 'inherit' });
  child.on('error', (e) => startHost(`Electron cannot start here (${e.message})`));
  child.on('exit', (code, signal) => {
    // a crash in the first seconds means this machine cannot run Electron (no display, missing libraries)
    if (code !== 0 && Date.now() - started < 5000) startHost(`Electron exited at once (${signal ?? `code ${code}`})`);
    else process.exit(code ?? 0);
  });
}
