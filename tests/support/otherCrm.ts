import { randomBytes } from 'node:crypto';
import Fastify from 'fastify';
import swagger from '@fastify/swagger';
import pg from 'pg';
import { createTestDatabase } from './crm.ts';
import { ConnectionProfileSchema, type ConnectionProfile } from '../../src-shared/profile.ts';

/** The connection profile a user would write for this CRM: its sign-in, whoami, tenants and paging. */
export function otherCrmProfile(other: { url: string }, catalog: unknown): ConnectionProfile {
  return ConnectionProfileSchema.parse({
    version: 1,
    name: 'other',
    baseUrl: other.url,
    auth: { kind: 'password', loginPath: '/v2/session', usernameField: 'username', passwordField: 'secret', tokenField: 'data.token' },
    header: { name: 'X-Api-Token', scheme: '' },
    whoami: {
      path: '/v2/whoami',
      idField: 'member.id',
      emailField: 'member.login',
      nameField: 'member.login',
      roleField: 'member.kind',
      companyIdField: 'member.org_id',
      companyNameField: 'member.title',
      roles: { super_admin: ['root'], company_admin: ['admin'], user: ['agent'] },
    },
    tenants: { listPath: '/v2/orgs', itemsField: 'results', idField: 'id', nameField: 'title' },
    paging: { kind: 'offset', limitParam: 'limit', offsetParam: 'offset', itemsField: 'results', totalField: 'total', maxLimit: 20 },
    catalog,
  });
}

/**
 * A second CRM, shaped unlike the reference one, for discovery tests: paths under /v2, integer
 * ids, offset pagination ({results, total}), sign-in with {username, secret} answering
 * {data: {token}}, `org_id` for the company, `members` for users, and comments nested under
 * their ticket.
 */
export interface OtherCrm {
  url: string;
  databaseUrl: string;
  pool: pg.Pool;
  close(): Promise<void>;
}

const SCHEMA = `
CREATE TABLE orgs (id serial PRIMARY KEY, title text NOT NULL);
CREATE TABLE members (id serial PRIMARY KEY, org_id integer REFERENCES orgs(id), login text NOT NULL UNIQUE, secret text NOT NULL, kind text NOT NULL DEFAULT 'agent');
CREATE TABLE tickets (id serial PRIMARY KEY, org_id integer NOT NULL REFERENCES orgs(id), reporter_id integer REFERENCES members(id), subject text NOT NULL, state text NOT NULL DEFAULT 'open');
CREATE TABLE ticket_comments (id serial PRIMARY KEY, ticket_id integer NOT NULL REFERENCES tickets(id), body text NOT NULL);
CREATE TABLE notes (id serial PRIMARY KEY, author_id integer REFERENCES members(id), text text NOT NULL, pinned boolean NOT NULL DEFAULT false);
CREATE TABLE kb_articles (id serial PRIMARY KEY, title text NOT NULL, body text NOT NULL DEFAULT '');
INSERT INTO orgs (title) VALUES ('Umbrella'), ('Hooli');
INSERT INTO members (org_id, login, secret, kind) VALUES (1, 'ada', 'pw', 'admin'), (2, 'bob', 'pw', 'admin'), (NULL, 'root', 'pw', 'root');
INSERT INTO tickets (org_id, reporter_id, subject) SELECT 1 + (g % 2), 1 + (g % 2), 'Ticket ' || g FROM generate_series(1, 45) g;
INSERT INTO ticket_comments (ticket_id, body) SELECT 1 + (g % 45), 'Comment ' || g FROM generate_series(1, 30) g;
INSERT INTO notes (author_id, text) VALUES (1, 'ada note'), (2, 'bob note');
INSERT INTO kb_articles (title) VALUES ('How to reset a password');
`;

export async function startOtherCrm(): Promise<OtherCrm> {
  const database = await createTestDatabase();
  const pool = new pg.Pool({ connectionString: database.url, max: 4 });
  await pool.query(SCHEMA);
  const tokens = new Map<string, { id: number; org: number | null; kind: string }>();
  const app = Fastify();
  await app.register(swagger, { openapi: { openapi: '3.0.3', info: { title: 'Other CRM', version: '2' } } });
  const who = (req: { headers: Record<string, unknown> }) => {
    const t = String(req.headers['x-api-token'] ?? '');
    const m = tokens.get(t);
    if (!m) throw Object.assign(new Error('bad token'), { statusCode: 401 });
    return m;
  };
  const int = { type: 'integer' };
  const str = { type: 'string' };
  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());
  app.post(
    '/v2/session',
    { schema: { body: { type: 'object', required: ['username', 'secret'], properties: { username: str, secret: str } } } },
    async (req, reply) => {
      const { username, secret } = req.body as { username: string; secret: string };
      const r = await pool.query('SELECT id, org_id, kind FROM members WHERE login = $1 AND secret = $2', [username, secret]);
      if (!r.rows[0]) return reply.status(401).send({ error: 'nope' });
      const token = randomBytes(16).toString('hex');
      tokens.set(token, { id: r.rows[0].id, org: r.rows[0].org_id, kind: r.rows[0].kind });
      return { data: { token } };
    },
  );
  app.get('/v2/whoami', async (req) => {
    const m = who(req);
    const r = await pool.query('SELECT m.id, m.login, m.kind, m.org_id, o.title FROM members m LEFT JOIN orgs o ON o.id = m.org_id WHERE m.id = $1', [m.id]);
    return { member: r.rows[0] };
  });

  /** a collection with offset paging, scoped to the caller's org where the table has one */
  const collection = (
    path: string,
    table: string,
    item: string,
    fields: Record<string, object>,
    required: string[],
    opts: { parent?: { param: string; column: string }; org?: boolean } = {},
  ) => {
    const props = { id: int, ...fields };
    const itemSchema = { type: 'object', properties: props };
    const params = opts.parent ? { type: 'object', properties: { [opts.parent.param]: int } } : undefined;
    const itemParams = { type: 'object', properties: { ...(opts.parent ? { [opts.parent.param]: int } : {}), [item]: int } };
    const route = path.replace(/\{(\w+)\}/g, ':$1');
    const bodyProps = Object.fromEntries(Object.entries(fields).filter(([k]) => k !== opts.parent?.column && k !== 'org_id'));
    app.get(
      route,
      {
        schema: {
          tags: [table],
          ...(params ? { params } : {}),
          querystring: { type: 'object', properties: { limit: int, offset: int } },
          response: { 200: { type: 'object', properties: { results: { type: 'array', items: itemSchema }, total: int } } },
        },
      },
      async (req) => {
        const m = who(req);
        const q = req.query as { limit?: number; offset?: number };
        const where: string[] = [];
        const args: unknown[] = [];
        if (opts.org && m.kind !== 'root') {
          args.push(m.org);
          where.push(`org_id = $${args.length}`);
        }
        if (opts.parent) {
          args.push((req.params as Record<string, number>)[opts.parent.param]);
          where.push(`${opts.parent.column} = $${args.length}`);
        }
        const w = where.length ? `WHERE ${where.join(' AND ')}` : '';
        const total = (await pool.query(`SELECT count(*)::int AS n FROM ${table} ${w}`, args)).rows[0].n;
        const rows = (await pool.query(`SELECT * FROM ${table} ${w} ORDER BY id LIMIT ${Math.min(q.limit ?? 20, 50)} OFFSET ${q.offset ?? 0}`, args)).rows;
        return { results: rows.map(({ secret: _s, ...r }) => r), total };
      },
    );
    app.post(
      route,
      { schema: { tags: [table], ...(params ? { params } : {}), body: { type: 'object', required, properties: bodyProps }, response: { 201: itemSchema } } },
      async (req, reply) => {
        const m = who(req);
        const body = { ...(req.body as Record<string, unknown>) };
        if (opts.org) body.org_id = m.org;
        if (opts.parent) body[opts.parent.column] = (req.params as Record<string, number>)[opts.parent.param];
        if ('reporter_id' in fields && body.reporter_id === undefined) body.reporter_id = m.id;
        if ('author_id' in fields && body.author_id === undefined) body.author_id = m.id;
        const keys = Object.keys(body);
        const r = await pool.query(
          `INSERT INTO ${table} (${keys.join(', ')}) VALUES (${keys.map((_, i) => `$${i + 1}`).join(', ')}) RETURNING *`,
          keys.map((k) => body[k]),
        );
        return reply.status(201).send(r.rows[0]);
      },
    );
    const byId = `${path}/{${item}}`.replace(/\{(\w+)\}/g, ':$1');
    app.get(byId, { schema: { tags: [table], params: itemParams, response: { 200: itemSchema } } }, async (req, reply) => {
      who(req);
      const r = await pool.query(`SELECT * FROM ${table} WHERE id = $1`, [(req.params as Record<string, number>)[item]]);
      return r.rows[0] ?? (reply as { status(n: number): { send(b: unknown): unknown } }).status(404).send({ error: 'not found' });
    });
    app.patch(byId, { schema: { tags: [table], params: itemParams, body: { type: 'object', properties: bodyProps } } }, async (req) => {
      who(req);
      const body = req.body as Record<string, unknown>;
      const keys = Object.keys(body);
      const r = await pool.query(`UPDATE ${table} SET ${keys.map((k, i) => `${k} = $${i + 2}`).join(', ')} WHERE id = $1 RETURNING *`, [
        (req.params as Record<string, number>)[item],
        ...keys.map((k) => body[k]),
      ]);
      return r.rows[0];
    });
    app.delete(byId, { schema: { tags: [table], params: itemParams } }, async (req, reply) => {
      who(req);
      await pool.query(`DELETE FROM ${table} WHERE id = $1`, [(req.params as Record<string, number>)[item]]);
      return reply.status(204).send();
    });
  };
  app.get(
    '/v2/orgs',
    {
      schema: {
        response: {
          200: { type: 'object', properties: { results: { type: 'array', items: { type: 'object', properties: { id: int, title: str } } }, total: int } },
        },
      },
    },
    async (req) => {
      const m = who(req);
      const rows = (await pool.query(m.kind === 'root' ? 'SELECT * FROM orgs' : 'SELECT * FROM orgs WHERE id = $1', m.kind === 'root' ? [] : [m.org])).rows;
      return { results: rows, total: rows.length };
    },
  );
  app.get(
    '/v2/orgs/:orgId',
    { schema: { params: { type: 'object', properties: { orgId: int } } } },
    async (req) => (await pool.query('SELECT * FROM orgs WHERE id = $1', [(req.params as { orgId: number }).orgId])).rows[0],
  );
  collection('/v2/members', 'members', 'memberId', { org_id: int, login: str, kind: str }, ['login'], { org: true });
  collection('/v2/tickets', 'tickets', 'ticketId', { org_id: int, reporter_id: int, subject: str, state: str }, ['subject'], { org: true });
  collection('/v2/tickets/{ticketId}/comments', 'ticket_comments', 'commentId', { ticket_id: int, body: str }, ['body'], {
    parent: { param: 'ticketId', column: 'ticket_id' },
  });
  collection('/v2/notes', 'notes', 'noteId', { author_id: int, text: str, pinned: { type: 'boolean' } }, ['text']);
  collection('/v2/kb-articles', 'kb_articles', 'articleId', { title: str, body: str }, ['title']);
  const url = await app.listen({ host: '127.0.0.1', port: 0 });
  return {
    url,
    databaseUrl: database.url,
    pool,
    close: async () => {
      await app.close();
      await pool.end();
      await database.drop();
    },
  };
}
