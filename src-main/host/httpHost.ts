import { randomBytes, timingSafeEqual } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import fastifyStatic from '@fastify/static';
import { events, type EventName } from '../../src-shared/contract.ts';
import type { ErrorCode } from '../../src-shared/result.ts';
import type { Services } from '../compose/services.ts';
import { projectRoot } from '../core/home.ts';

/** each browser tab names itself (a random id kept in its sessionStorage): its own sign-in */
export const WINDOW_HEADER = 'x-tenantscope-window';
export const WINDOW_ID = /^[A-Za-z0-9_-]{16,64}$/;
/** the largest body of a call; an import has its own (a sealed tenant file, base64) */
export const CALL_BODY_LIMIT = 1024 * 1024;
export const IMPORT_BODY_LIMIT = 512 * 1024 * 1024;
export const COOKIE = 'tenantscope_session';

const STATUS: Partial<Record<ErrorCode, number>> = {
  'invalid-input': 400,
  'unknown-channel': 404,
  unauthenticated: 401,
  forbidden: 403,
  'not-found': 404,
  conflict: 409,
  internal: 500,
};

export interface HttpHost {
  url: string;
  /** the address to open in a browser: its token lets one browser in, once, and a cookie does after */
  openUrl: string;
  token: string;
  /** whether a browser has traded the token for its cookie (the address then no longer works) */
  readonly admitted: boolean;
  app: FastifyInstance;
  close(): Promise<void>;
}

const NOT_ADMITTED =
  'This browser has not been let in: open the address `tenantscope host` (or `npm start`) printed. It works once, in one browser; start the host again for a new one.';

const sameSecret = (given: unknown, secret: string) => {
  if (typeof given !== 'string') return false;
  const a = Buffer.from(given);
  const b = Buffer.from(secret);
  return a.length === b.length && timingSafeEqual(a, b);
};

/** a call is answered in the contract's shape; a page a person opened, in words */
const refuse = (req: FastifyRequest, reply: FastifyReply, message = NOT_ADMITTED) =>
  req.url.startsWith('/api/')
    ? reply.status(401).send({ ok: false, error: { code: 'unauthenticated', message } })
    : reply.status(401).type('text/plain; charset=utf-8').send(`TenantScope: ${message}\n`);

/**
 * Who may come in: the Host header first (a page on another site that rebinds its name to
 * 127.0.0.1 is not this host), then the printed token, good once, traded for a cookie of another
 * random value; every call then names its window. Checked before a body is read.
 */
class Gate {
  /** the cookie's value: not the token, so that the printed address is worth nothing once used */
  private readonly admission = randomBytes(32).toString('base64url');
  admitted = false;
  hosts = new Set<string>();

  constructor(readonly token: string) {}

  private cookieToken(req: FastifyRequest): string | undefined {
    const raw = req.headers.cookie ?? '';
    const m = raw.split(/;\s*/).find((c) => c.startsWith(`${COOKIE}=`));
    return m ? decodeURIComponent(m.slice(COOKIE.length + 1)) : undefined;
  }

  /** the onRequest hook: a reply when the request goes no further, nothing when it may */
  async check(req: FastifyRequest, reply: FastifyReply): Promise<unknown> {
    if (!this.hosts.has(String(req.headers.host ?? '').toLowerCase())) {
      return reply.status(421).send({ ok: false, error: { code: 'forbidden', message: 'This host answers only at 127.0.0.1 or localhost, on its own port.' } });
    }
    const url = new URL(req.url, 'http://host');
    const hasCookie = sameSecret(this.cookieToken(req), this.admission);
    const given = url.searchParams.get('token');
    if (given !== null && !url.pathname.startsWith('/api/')) return this.admit(req, reply, given, hasCookie);
    if (!hasCookie) return refuse(req, reply);
    // a custom header: a page of another origin cannot send it without a preflight this host never answers
    if (url.pathname.startsWith('/api/call/') && !WINDOW_ID.test(String(req.headers[WINDOW_HEADER] ?? ''))) {
      return reply.status(400).send({ ok: false, error: { code: 'invalid-input', message: `A call names the window it comes from (${WINDOW_HEADER}).` } });
    }
    if (url.pathname === '/api/events' && !WINDOW_ID.test(url.searchParams.get('window') ?? '')) {
      return reply.status(400).send({ ok: false, error: { code: 'invalid-input', message: 'The event stream names the window it is for (?window=).' } });
    }
    return undefined;
  }

  /** The printed address: a browser already let in just loses the token from its address bar; the first other one is let in, once. */
  private admit(req: FastifyRequest, reply: FastifyReply, given: string, hasCookie: boolean): unknown {
    if (hasCookie) return reply.redirect('/', 302);
    if (this.admitted || !sameSecret(given, this.token)) {
      return refuse(
        req,
        reply,
        this.admitted ? 'This address has been used: it lets one browser in, once. Use that browser, or start the host again for a new address.' : NOT_ADMITTED,
      );
    }
    this.admitted = true;
    reply.header('set-cookie', `${COOKIE}=${this.admission}; HttpOnly; SameSite=Strict; Path=/`);
    return reply.redirect('/', 302);
  }
}

/** Errors in the contract's shape, and the renderer's pages with a CSP: no remote code, no inline script. */
function shapeReplies(app: FastifyInstance): void {
  app.setErrorHandler((error: Error & { statusCode?: number }, _req, reply) => {
    const status = error.statusCode && error.statusCode < 500 ? error.statusCode : 500;
    const code: ErrorCode = status === 500 ? 'internal' : 'invalid-input';
    const message = status === 500 ? 'The host failed to handle the request.' : `The request could not be read: ${error.message}`;
    void reply.status(status).send({ ok: false, error: { code, message } });
  });
  app.setNotFoundHandler((_req, reply) => reply.status(404).send({ ok: false, error: { code: 'not-found', message: 'No such page.' } }));
  app.addHook('onSend', async (_req, reply, payload) => {
    if (String(reply.getHeader('content-type') ?? '').startsWith('text/html')) {
      reply.header(
        'content-security-policy',
        "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
      );
      reply.header('x-content-type-options', 'nosniff');
      reply.header('referrer-policy', 'no-referrer');
    }
    return payload;
  });
}

/** The calls, through dispatch as the tab's window; the event stream, a tab hearing what its own calls started. */
function apiRoutes(app: FastifyInstance, services: Services): void {
  const call = async (channel: string, req: FastifyRequest, reply: FastifyReply) => {
    const result = await services.dispatch(channel, req.body, { window: String(req.headers[WINDOW_HEADER]) });
    const status = result.ok ? 200 : (STATUS[result.error.code] ?? 422);
    return reply.status(status).send(result);
  };
  // an import (a sealed tenant file as base64) is the one large body
  app.post('/api/call/cache::import', { bodyLimit: IMPORT_BODY_LIMIT }, (req, reply) => call('cache:import', req, reply));
  app.post<{ Params: { channel: string } }>('/api/call/:channel', (req, reply) => call(req.params.channel, req, reply));

  app.get('/api/events', (req, reply) => {
    reply.raw.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive' });
    reply.raw.write(': connected\n\n');
    const window = new URL(req.url, 'http://host').searchParams.get('window')!;
    // a tab hears what its own calls started and what no call did (the demo CRM's state); its status carries its own session
    const send = (name: EventName) => (payload: unknown, origin: string | undefined) => {
      if (origin !== undefined && origin !== window && name !== 'onStatus') return;
      const shown = name === 'onStatus' ? { ...(payload as object), session: services.sessionOf(window) } : payload;
      reply.raw.write(`event: ${name}\ndata: ${JSON.stringify(shown)}\n\n`);
    };
    const offs = (Object.keys(events) as EventName[]).map((name) => services.bus.on(name, send(name)));
    const keepAlive = setInterval(() => reply.raw.write(': ping\n\n'), 15_000);
    req.raw.on('close', () => {
      clearInterval(keepAlive);
      offs.forEach((off) => off());
    });
  });
}

/** The built renderer, or a page saying how to build it. */
async function rendererRoutes(app: FastifyInstance, rendererDir: string): Promise<void> {
  app.get('/', (_req, reply) => {
    if (!existsSync(join(rendererDir, 'index.html'))) {
      return reply.status(503).type('text/plain').send('The renderer is not built: run `npm run build` (npm start does it for you).');
    }
    return reply.type('text/html').sendFile('index.html');
  });
  if (existsSync(join(rendererDir, 'index.html'))) {
    await app.register(fastifyStatic, { root: rendererDir, index: false, wildcard: true, serve: true });
  }
}

/**
 * The contract over HTTP on 127.0.0.1: `POST /api/call/<domain:verb>`, server-sent events at
 * `/api/events`, and the built renderer. The printed address carries a random token that is good
 * once: the first browser to open it gets an HttpOnly, SameSite=Strict cookie (another random
 * value) and the token stops working. Every request then needs that cookie, and every call the
 * window id of its tab (`x-tenantscope-window`), whose session it runs in.
 */
export async function startHttpHost(services: Services, opts: { port?: number; rendererDir?: string; token?: string } = {}): Promise<HttpHost> {
  const gate = new Gate(opts.token ?? randomBytes(24).toString('base64url'));
  // every call fits in 1 MiB but an import: a tenant export travels through cache:import as base64
  const app = Fastify({
    logger: false,
    bodyLimit: CALL_BODY_LIMIT,
    // a channel's colon arrives encoded (%3A) from encodeURIComponent: one spelling for the router
    rewriteUrl: (req) => (req.url ?? '/').replace(/^(\/api\/call\/[a-z]+)%3a/i, '$1:'),
  });
  shapeReplies(app);
  app.addHook('onRequest', (req, reply) => gate.check(req, reply));
  apiRoutes(app, services);
  await rendererRoutes(app, opts.rendererDir ?? join(projectRoot, 'out', 'renderer'));
  const address = await app.listen({ host: '127.0.0.1', port: opts.port ?? 0 });
  const port = new URL(address).port;
  gate.hosts = new Set([`127.0.0.1:${port}`, `localhost:${port}`]);
  return {
    url: address,
    openUrl: `${address}/?token=${encodeURIComponent(gate.token)}`,
    token: gate.token,
    get admitted() {
      return gate.admitted;
    },
    app,
    close: () => app.close(),
  };
}
