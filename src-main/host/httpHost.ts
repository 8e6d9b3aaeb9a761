import { randomBytes, timingSafeEqual } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import fastifyStatic from '@fastify/static';
import { events, type EventName } from '../../src-shared/contract.ts';
import type { ErrorCode } from '../../src-shared/result.ts';
import type { Services } from '../core/services.ts';
import { projectRoot } from '../core/home.ts';

export const TOKEN_HEADER = 'x-tenantscope-token';
/** the largest body of a call; an import has its own (a sealed tenant file, base64) */
export const CALL_BODY_LIMIT = 1024 * 1024;
export const IMPORT_BODY_LIMIT = 512 * 1024 * 1024;
const COOKIE = 'tenantscope_token';

const STATUS: Partial<Record<ErrorCode, number>> = {
  'invalid-input': 400, 'unknown-channel': 404, unauthenticated: 401, forbidden: 403, 'not-found': 404, conflict: 409, internal: 500,
};

export interface HttpHost {
  url: string;
  /** the address to open in a browser: it carries the token once, then a cookie does */
  openUrl: string;
  token: string;
  app: FastifyInstance;
  close(): Promise<void>;
}

/**
 * The contract over HTTP on 127.0.0.1: `POST /api/call/<domain:verb>` with the token in the
 * `x-tenantscope-token` header, server-sent events at `/api/events`, and the built renderer.
 * Every request needs the random token of this run.
 */
export async function startHttpHost(services: Services, opts: { port?: number; rendererDir?: string; token?: string } = {}): Promise<HttpHost> {
  const token = opts.token ?? randomBytes(24).toString('base64url');
  const expected = Buffer.from(token);
  const matches = (given: unknown) => {
    if (typeof given !== 'string') return false;
    const b = Buffer.from(given);
    return b.length === expected.length && timingSafeEqual(b, expected);
  };
  const cookieToken = (req: FastifyRequest) => {
    const raw = req.headers.cookie ?? '';
    const m = raw.split(/;\s*/).find((c) => c.startsWith(`${COOKIE}=`));
    return m ? decodeURIComponent(m.slice(COOKIE.length + 1)) : undefined;
  };
  const rendererDir = opts.rendererDir ?? join(projectRoot, 'out', 'renderer');

  // every call fits in 1 MiB but an import: a tenant export travels through cache:import as base64
  const app = Fastify({
    logger: false,
    bodyLimit: CALL_BODY_LIMIT,
    // a channel's colon arrives encoded (%3A) from encodeURIComponent: one spelling for the router
    rewriteUrl: (req) => (req.url ?? '/').replace(/^(\/api\/call\/[a-z]+)%3a/i, '$1:'),
  });
  app.setErrorHandler((error: Error & { statusCode?: number }, _req, reply) => {
    const status = error.statusCode && error.statusCode < 500 ? error.statusCode : 500;
    const code: ErrorCode = status === 500 ? 'internal' : 'invalid-input';
    const message = status === 500 ? 'The host failed to handle the request.' : `The request could not be read: ${error.message}`;
    void reply.status(status).send({ ok: false, error: { code, message } });
  });
  app.setNotFoundHandler((_req, reply) => reply.status(404).send({ ok: false, error: { code: 'not-found', message: 'No such page.' } }));

  const refuse = (reply: FastifyReply) => reply.status(401).send({ ok: false, error: { code: 'unauthenticated', message: 'This host needs the token printed when it started.' } });

  // CSP for the renderer: no remote code, no inline script
  app.addHook('onSend', async (_req, reply, payload) => {
    if (String(reply.getHeader('content-type') ?? '').startsWith('text/html')) {
      reply.header('content-security-policy', "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'");
      reply.header('x-content-type-options', 'nosniff');
      reply.header('referrer-policy', 'no-referrer');
    }
    return payload;
  });

  // every request is checked before its body is read: the Host header (a page on another site that
  // rebinds its name to 127.0.0.1 is not this host), then the token
  let hosts: Set<string> = new Set();
  app.addHook('onRequest', async (req, reply) => {
    if (!hosts.has(String(req.headers.host ?? '').toLowerCase())) {
      return reply.status(421).send({ ok: false, error: { code: 'forbidden', message: 'This host answers only at 127.0.0.1 or localhost, on its own port.' } });
    }
    const path = req.url.split('?')[0]!;
    if (path.startsWith('/api/')) {
      // the calls take the token in a header; the event stream (EventSource sends no headers) in its address or the cookie
      const events = path === '/api/events' && (matches(new URL(req.url, 'http://host').searchParams.get('token')) || matches(cookieToken(req)));
      if (!matches(req.headers[TOKEN_HEADER]) && !events) return refuse(reply);
      return;
    }
    const url = new URL(req.url, 'http://host');
    const given = url.searchParams.get('token');
    if (given !== null) {
      if (!matches(given)) return refuse(reply);
      // trade the token in the address for a cookie, then drop it from the address bar
      reply.header('set-cookie', `${COOKIE}=${encodeURIComponent(token)}; HttpOnly; SameSite=Strict; Path=/`);
      return reply.redirect(`/#token=${encodeURIComponent(token)}`, 302);
    }
    if (!matches(cookieToken(req))) return refuse(reply);
  });
  const call = async (channel: string, body: unknown, reply: FastifyReply) => {
    const result = await services.dispatch(channel, body);
    const status = result.ok ? 200 : (STATUS[result.error.code] ?? 422);
    return reply.status(status).send(result);
  };
  // an import (a sealed tenant file as base64) is the one large body
  app.post('/api/call/cache::import', { bodyLimit: IMPORT_BODY_LIMIT }, (req, reply) => call('cache:import', req.body, reply));
  app.post<{ Params: { channel: string } }>('/api/call/:channel', (req, reply) => call(req.params.channel, req.body, reply));

  app.get('/api/events', (req, reply) => {
    reply.raw.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive' });
    reply.raw.write(': connected\n\n');
    const send = (name: EventName) => (payload: unknown) => reply.raw.write(`event: ${name}\ndata: ${JSON.stringify(payload)}\n\n`);
    const offs = (Object.keys(events) as EventName[]).map((name) => services.bus.on(name, send(name)));
    const keepAlive = setInterval(() => reply.raw.write(': ping\n\n'), 15_000);
    req.raw.on('close', () => {
      clearInterval(keepAlive);
      offs.forEach((off) => off());
    });
  });

  app.get('/', (_req, reply) => {
    if (!existsSync(join(rendererDir, 'index.html'))) {
      return reply.status(503).type('text/plain').send('The renderer is not built: run `npm run build` (npm start does it for you).');
    }
    return reply.type('text/html').sendFile('index.html');
  });

  if (existsSync(join(rendererDir, 'index.html'))) {
    await app.register(fastifyStatic, { root: rendererDir, index: false, wildcard: true, serve: true });
  }

  const address = await app.listen({ host: '127.0.0.1', port: opts.port ?? 0 });
  const port = new URL(address).port;
  hosts = new Set([`127.0.0.1:${port}`, `localhost:${port}`]);
  return {
    url: address,
    openUrl: `${address}/?token=${encodeURIComponent(token)}`,
    token,
    app,
    close: () => app.close(),
  };
}
