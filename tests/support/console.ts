import { afterAll, beforeAll } from 'vitest';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServices, type Services, type ServicesOptions } from '../../src-main/compose/services.ts';
import { startHttpHost, WINDOW_HEADER, type HttpHost } from '../../src-main/host/httpHost.ts';
import { projectRoot } from '../../src-main/core/home.ts';
import { startTestCrm, type TestCrm } from './crm.ts';

export interface TestConsole {
  home: string;
  services: Services;
  host: HttpHost;
  logs: string[];
  /** the cookie the printed address was traded for (`name=value`), as the browser that opened it holds it */
  cookie: string;
  /**
   * POST a call through the HTTP host as a browser tab (the window `test-window-main` unless given;
   * `cookie: null` sends none); returns the HTTP status and the Result body
   */
  call(channel: string, payload: unknown, opts?: { cookie?: string | null; window?: string | null; raw?: string }): Promise<{ status: number; body: any }>;
  close(): Promise<void>;
}

/** The reference CRM's profile, renamed and pointed at `baseUrl` (a connection the user would add). */
export function referenceProfile(name: string, baseUrl: string): Record<string, unknown> {
  const p = JSON.parse(readFileSync(join(projectRoot, 'profiles', 'reference-crm.json'), 'utf8')) as Record<string, unknown>;
  delete p.embedded;
  delete p.demoPassword;
  return { ...p, name, baseUrl, description: 'test CRM' };
}

export async function startTestConsole(opts: { home?: string; cacheKey?: ServicesOptions['cacheKey'] } = {}): Promise<TestConsole> {
  const home = opts.home ?? mkdtempSync(join(tmpdir(), 'tenantscope-home-'));
  const logs: string[] = [];
  const services = createServices({ home, mode: 'browser', log: (l) => logs.push(l), cacheKey: opts.cacheKey ?? null });
  const host = await startHttpHost(services);
  const cookie = await admit(host);
  return {
    home,
    services,
    host,
    logs,
    cookie,
    call: async (channel, payload, opts = {}) => {
      const sent = opts.cookie === undefined ? cookie : opts.cookie;
      const window = opts.window === undefined ? 'test-window-main' : opts.window;
      const res = await fetch(`${host.url}/api/call/${encodeURIComponent(channel)}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...(sent ? { cookie: sent } : {}), ...(window ? { [WINDOW_HEADER]: window } : {}) },
        body: opts.raw ?? JSON.stringify(payload),
      });
      const text = await res.text();
      let body: unknown = text;
      try {
        body = JSON.parse(text);
      } catch {
        /* keep */
      }
      return { status: res.status, body };
    },
    close: async () => {
      await host.close();
      await services.close();
      // the home it made goes with it; one it was given is the caller's
      if (!opts.home) rmSync(home, { recursive: true, force: true });
    },
  };
}

/**
 * The reference CRM as the seed has it (legacy: its before-state) and a console with it saved as
 * the connection "ref": what most tests of the doors start from.
 */
export async function startReferenceConsole(): Promise<{ crm: TestCrm; ts: TestConsole }> {
  const crm = await startTestCrm({ profile: 'legacy' });
  const ts = await startTestConsole();
  const saved = await ts.call('connections:save', { profile: referenceProfile('ref', crm.url) });
  if (saved.status !== 200) throw new Error(`the reference connection was not saved: ${JSON.stringify(saved.body)}`);
  return { crm, ts };
}

/** Opens the printed address as a browser would, once: the cookie it answers with (`name=value`). */
export async function admit(host: HttpHost): Promise<string> {
  const res = await fetch(host.openUrl, { redirect: 'manual' });
  const set = res.headers.get('set-cookie');
  if (res.status !== 302 || !set) throw new Error(`the host did not let this test in: ${res.status} ${await res.text()}`);
  return set.split(';')[0]!;
}

/**
 * The reference console for a whole describe file: started before its tests, closed after them.
 * Its fields are set once the tests run (read them inside the tests, not at the top).
 */
export function referenceConsoleForSuite(): { crm: TestCrm; ts: TestConsole } {
  const env = {} as { crm: TestCrm; ts: TestConsole };
  beforeAll(async () => {
    Object.assign(env, await startReferenceConsole());
  }, 120_000);
  afterAll(async () => {
    await env.ts?.close();
    await env.crm?.close();
  });
  return env;
}
