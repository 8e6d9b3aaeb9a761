/**
 * A trivial HTTP server for bench/sync, in its own process so that its memory and CPU are not the
 * console's. It first records: every request is passed to the CRM at --target and its answer kept
 * in memory, by method and URL. Then:
 *  - POST /__replay/bare asks the CRM again for every GET it recorded, one after another, reading and
 *    parsing each answer and keeping nothing: the CRM's bare serve rate;
 *  - POST /__replay/replay makes it answer every recorded request from memory, at once: a sync
 *    against it costs the CRM nothing, what is left is the console;
 *  - POST /__replay/order answers every recorded GET (its URL and authorization), in order, for a
 *    client that asks for them again (bench/_floor.ts).
 * Prints REPLAY_URL=... when it listens.
 */
import { createServer, request as httpRequest, type IncomingMessage } from 'node:http';

const target = new URL(process.argv[process.argv.indexOf('--target') + 1]!);
type Answer = { status: number; type: string; body: Buffer };
const answers = new Map<string, Answer>();
const order: Array<{ url: string; auth: string | undefined }> = [];
let replaying = false;

const read = (req: IncomingMessage) =>
  new Promise<Buffer>((resolve, reject) => {
    const parts: Buffer[] = [];
    req.on('data', (c: Buffer) => parts.push(c));
    req.on('end', () => resolve(Buffer.concat(parts)));
    req.on('error', reject);
  });

function forward(method: string, url: string, headers: Record<string, string | undefined>, body: Buffer): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const clean = Object.fromEntries(Object.entries(headers).filter(([, v]) => v !== undefined)) as Record<string, string>;
    const req = httpRequest({ host: target.hostname, port: target.port, method, path: url, headers: clean }, (res) => {
      read(res).then((b) => resolve({ status: res.statusCode ?? 502, type: String(res.headers['content-type'] ?? 'application/json'), body: b }), reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** Every recorded GET asked of the CRM again, in order, each answer read and parsed: seconds, requests, bytes. */
async function bare(): Promise<{ seconds: number; requests: number; bytes: number }> {
  let bytes = 0;
  const started = performance.now();
  for (const { url, auth } of order) {
    const a = await forward('GET', url, { authorization: auth, accept: 'application/json' }, Buffer.alloc(0));
    bytes += a.body.length;
    JSON.parse(a.body.toString('utf8'));
  }
  return { seconds: (performance.now() - started) / 1000, requests: order.length, bytes };
}

const server = createServer((req, res) => {
  void (async () => {
    const key = `${req.method} ${req.url}`;
    const body = await read(req);
    if (req.url === '/__replay/bare') return res.end(JSON.stringify(await bare()));
    if (req.url === '/__replay/order') return res.end(JSON.stringify(order));
    if (req.url === '/__replay/replay') {
      replaying = true;
      return res.end(JSON.stringify({ answers: answers.size }));
    }
    let a = replaying ? answers.get(key) : undefined;
    if (!a && replaying) {
      res.writeHead(404, { 'content-type': 'application/json' });
      return res.end(JSON.stringify({ detail: `not recorded: ${key}` }));
    }
    if (!a) {
      a = await forward(
        req.method!,
        req.url!,
        { authorization: req.headers.authorization, 'content-type': req.headers['content-type'], accept: 'application/json' },
        body,
      );
      if (!answers.has(key) && req.method === 'GET') order.push({ url: req.url!, auth: req.headers.authorization });
      answers.set(key, a);
    }
    res.writeHead(a.status, { 'content-type': a.type, 'content-length': a.body.length });
    res.end(a.body);
  })().catch((e: Error) => {
    res.writeHead(502);
    res.end(e.message);
  });
});
server.keepAliveTimeout = 60_000;
server.listen(0, '127.0.0.1', () => {
  const addr = server.address() as { port: number };
  process.stdout.write(`REPLAY_URL=http://127.0.0.1:${addr.port}\n`);
});
