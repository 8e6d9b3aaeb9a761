import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { chromium, type Browser, type Page } from 'playwright-core';

export const root = resolve(import.meta.dirname, '..', '..');
export const shotsDir = join(root, 'test-results', 'screens');

export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--disable-quic',
];

export function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium', args: CHROMIUM_ARGS });
}

export interface RunningHost {
  url: string;
  home: string;
  child: ChildProcess;
  stop(): Promise<void>;
}

/** `tenantscope host` as a real process on a fresh TENANTSCOPE_HOME (it starts the demo CRM). */
export async function startHost(home = mkdtempSync(join(tmpdir(), 'tenantscope-e2e-'))): Promise<RunningHost> {
  const child = spawn(process.execPath, [join(root, 'bin', 'tenantscope.mjs'), 'host'], {
    cwd: root,
    env: { ...process.env, TENANTSCOPE_HOME: home },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const err: string[] = [];
  createInterface({ input: child.stderr! }).on('line', (l) => err.push(l));
  const url = await new Promise<string>((resolveUrl, reject) => {
    createInterface({ input: child.stdout! }).on('line', (l) => {
      const m = l.match(/^TENANTSCOPE_URL=(\S+)/);
      if (m) resolveUrl(m[1]!);
    });
    child.on('exit', (code) => reject(new Error(`host exited ${code}: ${err.join('\n')}`)));
  });
  return {
    url,
    home,
    child,
    stop: () =>
      new Promise<void>((r) => {
        if (child.exitCode !== null) return r();
        child.once('exit', () => r());
        child.kill('SIGTERM');
      }),
  };
}

export async function screenshot(page: Page, name: string) {
  mkdirSync(shotsDir, { recursive: true });
  await page.screenshot({ path: join(shotsDir, `${name}.png`) });
}
