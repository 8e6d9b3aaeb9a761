import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServices, type Services } from '../../src-main/core/services.ts';
import { startHttpHost, TOKEN_HEADER, type HttpHost } from '../../src-main/host/httpHost.ts';
import { projectRoot } from '../../src-main/core/home.ts';

export interface TestConsole {
  home: string;
  services: Services;
  host: HttpHost;
  logs: string[];
  /** POST a call through the HTTP host; returns the HTTP status and the Result body */
  call(channel: string, payload: unknown, opts?: { token?: string | null; raw?: string }): Promise<{ status: number; body: any }>;
  close(): Promise<void>;
}

/** The reference CRM's profile, renamed and pointed at `baseUrl` (a connection the user would add). */
export function referenceProfile(name: string, baseUrl: string): Record<string, unknown> {
  const p = JSON.parse(readFileSync(join(projectRoot, 'profiles', 'reference-crm.json'), 'utf8')) as Record<string, unknown>;
  delete p.embedded;
  delete p.demoPassword;
  return { ...p, name, baseUrl, description: 'test CRM' };
}

export async function startTestConsole(): Promise<TestConsole> {
  const home = mkdtempSync(join(tmpdir(), 'tenantscope-home-'));
  const logs: string[] = [];
  const services = createServices({ home, mode: 'browser', log: (l) => logs.push(l) });
  const host = await startHttpHost(services);
  return {
    home, services, host, logs,
    call: async (channel, payload, opts = {}) => {
      const token = opts.token === undefined ? host.token : opts.token;
      const res = await fetch(`${host.url}/api/call/${encodeURIComponent(channel)}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...(token ? { [TOKEN_HEADER]: token } : {}) },
        body: opts.raw ?? JSON.stringify(payload),
      });
      const text = await res.text();
      let body: unknown = text;
      try { body = JSON.parse(text); } catch { /* keep */ }
      return { status: res.status, body };
    },
    close: async () => {
      await host.close();
      await services.close();
    },
  };
}
