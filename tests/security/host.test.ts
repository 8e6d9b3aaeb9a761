import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WINDOW_HEADER } from '../../src-main/host/httpHost.ts';
import { startTestConsole, type TestConsole } from '../support/console.ts';

/** The HTTP host's door: what it checks before it reads a body. */

let ts: TestConsole;
beforeAll(async () => {
  ts = await startTestConsole();
});
afterAll(async () => {
  await ts?.close();
});

/** A raw request: any Host header, a declared length, and only `send` bytes of the body actually sent. */
function raw(
  path: string,
  opts: { host?: string; cookie?: string | null; length?: number; send?: number; method?: string } = {},
): Promise<{ status: number; body: string }> {
  const url = new URL(ts.host.url);
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: url.hostname,
        port: url.port,
        path,
        method: opts.method ?? 'POST',
        headers: {
          host: opts.host ?? url.host,
          'content-type': 'application/json',
          [WINDOW_HEADER]: 'test-window-main',
          ...(opts.cookie === null ? {} : { cookie: opts.cookie ?? ts.cookie }),
          ...(opts.length !== undefined ? { 'content-length': String(opts.length) } : {}),
        },
      },
      (res) => {
        let body = '';
        res.on('data', (c) => (body += c));
        res.on('end', () => {
          req.destroy(); // the rest of the body is never coming
          resolve({ status: res.statusCode!, body });
        });
      },
    );
    req.on('error', (e) => ((e as NodeJS.ErrnoException).code === 'ECONNRESET' || (e as NodeJS.ErrnoException).code === 'EPIPE' ? undefined : reject(e)));
    if (opts.method === 'GET') return void req.end();
    // start a JSON body and never finish it: the host must answer without waiting for the rest
    req.write('{"x":"' + 'a'.repeat(opts.send ?? 10));
  });
}

describe('the HTTP host checks before it reads', () => {
  it('refuses another Host header (DNS rebinding), even with the token', async () => {
    const r = await raw('/api/call/app:info', { host: 'evil.example:80', length: 12, send: 0 });
    expect(r.status).toBe(421);
    expect(JSON.parse(r.body).error.message).toMatch(/answers only at 127\.0\.0\.1 or localhost/);
    const page = await raw('/', { host: 'rebound.example', method: 'GET' });
    expect(page.status).toBe(421);
    // its own names pass
    const port = new URL(ts.host.url).port;
    expect((await ts.call('app:info', {})).status).toBe(200);
    expect((await raw('/api/call/app:info', { host: `localhost:${port}`, method: 'GET' })).status).toBe(404); // a GET: no such route, but past the Host check
  });

  it('answers a tokenless 400 MiB body at once with 401, without reading it', async () => {
    const r = await raw('/api/call/connections:save', { cookie: null, length: 400 * 1024 * 1024, send: 64 * 1024 });
    expect(r.status).toBe(401);
  });

  it('takes at most 1 MiB in a call, the import alone more', async () => {
    const big = await raw('/api/call/connections:save', { length: 2 * 1024 * 1024, send: 16 });
    expect(big.status).toBe(413);
    const body = JSON.stringify({ name: 'imported', data: 'A'.repeat(2 * 1024 * 1024), passphrase: 'long enough passphrase' });
    const imported = await ts.call('cache:import', null, { raw: body });
    expect(imported.status).not.toBe(413); // read whole, then refused for what it is
    expect(imported.body.ok).toBe(false);
  });

  it('serves no file without the token, whatever the path says', async () => {
    for (const path of ['/api/../index.html', '/api/%2e%2e/index.html', '/index.html', '/assets/../index.html']) {
      const r = await raw(path, { cookie: null, method: 'GET' });
      expect(r.status, path).toBe(401);
    }
    const events = await raw('/api/events', { cookie: null, method: 'GET' });
    expect(events.status).toBe(401);
  });
});
