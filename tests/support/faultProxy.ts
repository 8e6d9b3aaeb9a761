import { createServer, request as httpRequest, type IncomingMessage, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';

/** What the proxy can do to a request instead of passing it through untouched. */
export type Fault = '503' | '429' | 'truncated' | 'dropped' | 'slow' | 'hang' | 'reset';

export interface FaultProxy {
  url: string;
  /** how many times each fault was injected */
  injected: Record<Fault, number>;
  /** requests passed through untouched */
  passed: number;
  close(): Promise<void>;
}

/**
 * An HTTP proxy in front of a real server that, for a seeded random share of GET requests, answers
 * 503 or 429 (Retry-After: 0), cuts the body short (cleanly ended, or with the connection dropped),
 * answers slowly, never answers, or resets the connection.
 */
export async function startFaultProxy(target: string, opts: { rate: number; faults: Fault[]; seed?: number; slowMs?: number }): Promise<FaultProxy> {
  let seed = opts.seed ?? 7;
  const rnd = () => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    return seed / 2 ** 31;
  };
  const injected = Object.fromEntries(['503', '429', 'truncated', 'dropped', 'slow', 'hang', 'reset'].map((f) => [f, 0])) as Record<Fault, number>;
  const sockets = new Set<Socket>();
  const proxy: FaultProxy = { url: '', injected, passed: 0, close: async () => {} };

  const forward = (req: IncomingMessage, res: ServerResponse, fault: Fault | null) => {
    const upstream = httpRequest(new URL(req.url!, target), { method: req.method, headers: req.headers }, (answer) => {
      if (fault !== 'truncated' && fault !== 'dropped') {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
        return;
      }
      const chunks: Buffer[] = [];
      answer.on('data', (c: Buffer) => chunks.push(c));
      answer.on('end', () => {
        const body = Buffer.concat(chunks);
        const half = body.subarray(0, Math.max(1, Math.floor(body.length / 2)));
        if (fault === 'truncated') {
          // a well-formed HTTP answer whose JSON stops halfway
          const headers = { ...answer.headers };
          delete headers['content-length'];
          res.writeHead(answer.statusCode ?? 200, headers);
          res.end(half);
        } else {
          // the connection goes away mid-body: fewer bytes than Content-Length promised
          res.writeHead(answer.statusCode ?? 200, answer.headers);
          res.write(half, () => res.socket?.destroy());
        }
      });
    });
    upstream.on('error', () => res.destroy());
    req.pipe(upstream);
  };

  const server = createServer((req, res) => {
    const fault = req.method === 'GET' && rnd() < opts.rate ? opts.faults[Math.floor(rnd() * opts.faults.length)]! : null;
    if (!fault) {
      proxy.passed++;
      return forward(req, res, null);
    }
    injected[fault]++;
    switch (fault) {
      case '503':
        res.writeHead(503, { 'content-type': 'application/json' });
        return res.end('{"detail":"injected 503"}');
      case '429':
        res.writeHead(429, { 'content-type': 'application/json', 'retry-after': '0' });
        return res.end('{"detail":"injected 429"}');
      case 'hang':
        return; // never answers; the socket is closed with the proxy
      case 'reset':
        return req.socket.destroy();
      case 'slow':
        return void setTimeout(() => forward(req, res, null), opts.slowMs ?? 150);
      default:
        return forward(req, res, fault);
    }
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  proxy.url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  proxy.close = async () => {
    for (const s of sockets) s.destroy();
    await new Promise<void>((r) => server.close(() => r()));
  };
  return proxy;
}
