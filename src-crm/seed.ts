import { randomUUID } from 'node:crypto';
import { pipeline } from 'node:stream/promises';
import { Readable } from 'node:stream';
import { Faker, base, en } from '@faker-js/faker';
import { sql } from 'kysely';
import type pg from 'pg';
import copyStreams from 'pg-copy-streams';
import type { Db } from './db.ts';
import { hashPassword } from './auth.ts';

type Row = Record<string, unknown>;

interface Ctx {
  f: Faker;
  companyId: string;
  slug: string;
  users: string[];
  /** id of an existing row of `table` in this company, or null when there is none */
  pick(table: string): string | null;
  user(): string;
  past(days?: number): string;
}

/** One generator a table, parents before children: realistic rows of one company. */
const GENERATORS: Array<[string, (c: Ctx) => Row]> = [
  ['pipelines', (c) => ({ name: `${c.f.helpers.arrayElement(['Sales', 'Renewals', 'Enterprise', 'Partners'])} pipeline`, is_default: false })],
  [
    'contacts',
    (c) => {
      const first = c.f.person.firstName(),
        last = c.f.person.lastName();
      return {
        owner_id: c.user(),
        first_name: first,
        last_name: last,
        email: c.f.internet.email({ firstName: first, lastName: last }).toLowerCase(),
        phone: c.f.phone.number({ style: 'international' }),
        title: c.f.person.jobTitle(),
        organization: c.f.company.name(),
      };
    },
  ],
  [
    'deals',
    (c) => ({
      owner_id: c.user(),
      pipeline_id: c.pick('pipelines'),
      contact_id: c.pick('contacts'),
      title: `${c.f.company.buzzNoun()} ${c.f.helpers.arrayElement(['renewal', 'expansion', 'pilot', 'licence'])}`,
      value: c.f.number.int({ min: 500, max: 250000 }),
      stage: c.f.helpers.arrayElement(['lead', 'qualified', 'proposal', 'won', 'lost']),
      expected_close: c.f.date.soon({ days: 120 }).toISOString().slice(0, 10),
    }),
  ],
  [
    'activities',
    (c) => ({
      user_id: c.user(),
      deal_id: c.pick('deals'),
      contact_id: c.pick('contacts'),
      type: c.f.helpers.arrayElement(['call', 'meeting', 'task', 'email']),
      subject: c.f.hacker.phrase().slice(0, 120),
      due_at: c.f.date.soon({ days: 30 }).toISOString(),
      completed: c.f.datatype.boolean(),
    }),
  ],
  [
    'twilio_settings',
    (c) => ({
      account_sid: `AC${c.f.string.hexadecimal({ length: 32, prefix: '' }).toLowerCase()}`,
      auth_token_last4: c.f.string.numeric(4),
      default_from: c.f.phone.number({ style: 'international' }),
      webhook_url: `https://${c.slug}.example.com/twilio`,
    }),
  ],
  ['phone_numbers', (c) => ({ user_id: c.user(), number: c.f.phone.number({ style: 'international' }), friendly_name: `${c.f.location.city()} line` })],
  [
    'sms_messages',
    (c) => ({
      user_id: c.user(),
      contact_id: c.pick('contacts'),
      from_number: c.f.phone.number({ style: 'international' }),
      to_number: c.f.phone.number({ style: 'international' }),
      body: c.f.lorem.sentence(),
      direction: c.f.helpers.arrayElement(['inbound', 'outbound']),
      status: c.f.helpers.arrayElement(['delivered', 'sent', 'failed']),
    }),
  ],
  [
    'scheduled_sms',
    (c) => ({
      user_id: c.user(),
      to_number: c.f.phone.number({ style: 'international' }),
      body: c.f.lorem.sentence(),
      send_at: c.f.date.soon({ days: 14 }).toISOString(),
    }),
  ],
  ['sms_templates', (c) => ({ user_id: c.user(), name: `${c.f.word.adjective()} follow-up`, body: c.f.lorem.sentence() })],
  [
    'payment_history',
    (c) => ({
      amount: c.f.number.int({ min: 49, max: 4999 }),
      status: c.f.helpers.arrayElement(['paid', 'paid', 'refunded', 'failed']),
      description: `${c.f.helpers.arrayElement(['Monthly', 'Annual'])} subscription`,
      paid_at: c.past(365),
    }),
  ],
  [
    'calls',
    (c) => ({
      user_id: c.user(),
      contact_id: c.pick('contacts'),
      direction: c.f.helpers.arrayElement(['inbound', 'outbound']),
      from_number: c.f.phone.number({ style: 'international' }),
      to_number: c.f.phone.number({ style: 'international' }),
      duration_seconds: c.f.number.int({ min: 5, max: 3600 }),
      status: c.f.helpers.arrayElement(['completed', 'no-answer', 'busy']),
      recording_url: `https://recordings.example.com/${c.f.string.alphanumeric(16)}.mp3`,
      notes: c.f.lorem.sentence(),
    }),
  ],
  [
    'call_transcripts',
    (c) => ({
      call_id: c.pick('calls'),
      language: 'en',
      text: c.f.lorem.paragraph(),
      confidence: c.f.number.float({ min: 0.6, max: 0.99, fractionDigits: 3 }),
    }),
  ],
  [
    'emails',
    (c) => ({
      owner_id: c.user(),
      contact_id: c.pick('contacts'),
      from_address: `sales@${c.slug}.test`,
      to_address: c.f.internet.email().toLowerCase(),
      subject: c.f.company.catchPhrase(),
      body: c.f.lorem.paragraph(),
      status: c.f.helpers.arrayElement(['sent', 'delivered', 'opened', 'bounced']),
      sent_at: c.past(90),
    }),
  ],
  [
    'email_templates',
    (c) => ({
      owner_id: c.user(),
      name: `${c.f.word.adjective()} introduction`,
      subject: c.f.company.catchPhrase(),
      body: c.f.lorem.paragraph(),
      category: 'sales',
    }),
  ],
  [
    'email_campaigns',
    (c) => ({
      owner_id: c.user(),
      template_id: c.pick('email_templates'),
      name: `${c.f.date.month()} newsletter`,
      status: c.f.helpers.arrayElement(['draft', 'scheduled', 'sent']),
      scheduled_at: c.f.date.soon({ days: 30 }).toISOString(),
    }),
  ],
  ['folders', (c) => ({ owner_id: c.user(), name: c.f.helpers.arrayElement(['Contracts', 'Proposals', 'Invoices', 'Marketing', 'HR']) })],
  [
    'documents',
    (c) => ({
      owner_id: c.user(),
      folder_id: c.pick('folders'),
      title: `${c.f.company.name()} ${c.f.helpers.arrayElement(['MSA', 'NDA', 'SOW', 'proposal'])}`,
      file_name: `${c.f.system.commonFileName('pdf')}`,
      status: c.f.helpers.arrayElement(['draft', 'sent', 'signed']),
      size_bytes: c.f.number.int({ min: 10000, max: 5000000 }),
    }),
  ],
  [
    'document_signatures',
    (c) => ({
      document_id: c.pick('documents'),
      signer_name: c.f.person.fullName(),
      signer_email: c.f.internet.email().toLowerCase(),
      status: c.f.helpers.arrayElement(['pending', 'signed', 'declined']),
      signed_at: c.past(30),
    }),
  ],
  [
    'quotes',
    (c) => ({
      owner_id: c.user(),
      deal_id: c.pick('deals'),
      number: `Q-${c.f.string.numeric(6)}`,
      total: c.f.number.int({ min: 1000, max: 90000 }),
      status: c.f.helpers.arrayElement(['draft', 'sent', 'accepted']),
      valid_until: c.f.date.soon({ days: 60 }).toISOString().slice(0, 10),
    }),
  ],
  [
    'workflows',
    (c) => ({
      owner_id: c.user(),
      name: `${c.f.helpers.arrayElement(['Lead', 'Deal', 'Onboarding', 'Renewal'])} ${c.f.helpers.arrayElement(['follow-up', 'routing', 'reminder'])}`,
      trigger: c.f.helpers.arrayElement(['manual', 'deal.created', 'contact.created']),
      steps: [{ action: 'send_email' }, { action: 'wait', days: 2 }],
      active: true,
    }),
  ],
  [
    'workflow_executions',
    (c) => ({
      workflow_id: c.pick('workflows'),
      status: c.f.helpers.arrayElement(['succeeded', 'failed', 'running']),
      started_at: c.past(30),
      result: { steps: 2 },
    }),
  ],
  [
    'files',
    (c) => ({
      owner_id: c.user(),
      folder_id: c.pick('folders'),
      name: c.f.system.commonFileName(),
      mime_type: c.f.system.mimeType(),
      size_bytes: c.f.number.int({ min: 1000, max: 9000000 }),
      storage_key: `${c.slug}/${c.f.string.alphanumeric(20)}`,
    }),
  ],
  [
    'notifications',
    (c) => ({
      user_id: c.user(),
      title: c.f.helpers.arrayElement(['Deal won', 'New lead assigned', 'Task due', 'Call missed']),
      body: c.f.lorem.sentence(),
      read: c.f.datatype.boolean(),
    }),
  ],
  [
    'user_conversations',
    (c) => ({
      user_id: c.user(),
      contact_id: c.pick('contacts'),
      channel: c.f.helpers.arrayElement(['sms', 'call']),
      last_message_at: c.past(14),
      unread_count: c.f.number.int({ min: 0, max: 5 }),
    }),
  ],
  [
    'bulk_email_campaigns',
    (c) => ({
      owner_id: c.user(),
      name: `${c.f.commerce.productAdjective()} launch`,
      subject: c.f.company.catchPhrase(),
      status: c.f.helpers.arrayElement(['draft', 'sent']),
      recipient_count: c.f.number.int({ min: 50, max: 20000 }),
    }),
  ],
  [
    'bulk_email_analytics',
    (c) => ({
      campaign_id: c.pick('bulk_email_campaigns'),
      sent: 1000,
      delivered: c.f.number.int({ min: 900, max: 1000 }),
      opened: c.f.number.int({ min: 100, max: 600 }),
      clicked: c.f.number.int({ min: 10, max: 100 }),
      bounced: c.f.number.int({ min: 0, max: 50 }),
    }),
  ],
  [
    'performance_alerts',
    (c) => ({
      user_id: c.user(),
      metric: c.f.helpers.arrayElement(['response_time', 'win_rate', 'calls_per_day']),
      threshold: 10,
      current_value: c.f.number.int({ min: 1, max: 20 }),
      status: c.f.helpers.arrayElement(['open', 'acknowledged']),
    }),
  ],
  [
    'inbox',
    (c) => ({
      user_id: c.user(),
      channel: c.f.helpers.arrayElement(['email', 'sms', 'call']),
      subject: c.f.company.catchPhrase(),
      preview: c.f.lorem.sentence(),
      read: c.f.datatype.boolean(),
    }),
  ],
  [
    'audit_logs',
    (c) => ({
      user_id: c.user(),
      action: c.f.helpers.arrayElement(['login', 'export', 'update', 'delete']),
      entity_type: c.f.helpers.arrayElement(['contact', 'deal', 'document']),
      entity_id: randomUUID(),
      ip_address: c.f.internet.ipv4(),
    }),
  ],
  [
    'security_logs',
    (c) => ({
      user_id: c.user(),
      event: c.f.helpers.arrayElement(['login_failed', 'password_changed', 'mfa_enabled']),
      severity: c.f.helpers.arrayElement(['info', 'warning']),
      ip_address: c.f.internet.ipv4(),
    }),
  ],
  [
    'sessions',
    (c) => ({ user_id: c.user(), ip_address: c.f.internet.ipv4(), user_agent: c.f.internet.userAgent(), expires_at: c.f.date.soon({ days: 7 }).toISOString() }),
  ],
];

/** Rows per company in the demo data set. */
const DEMO_COUNTS: Record<string, number> = {
  pipelines: 2,
  contacts: 8,
  deals: 6,
  activities: 8,
  twilio_settings: 1,
  phone_numbers: 2,
  sms_messages: 6,
  scheduled_sms: 3,
  sms_templates: 3,
  payment_history: 4,
  calls: 6,
  call_transcripts: 4,
  emails: 6,
  email_templates: 2,
  email_campaigns: 2,
  folders: 3,
  documents: 4,
  document_signatures: 4,
  quotes: 3,
  workflows: 2,
  workflow_executions: 4,
  files: 5,
  notifications: 6,
  user_conversations: 3,
  bulk_email_campaigns: 2,
  bulk_email_analytics: 2,
  performance_alerts: 2,
  inbox: 5,
  audit_logs: 6,
  security_logs: 4,
  sessions: 3,
};

export const DEMO_COMPANIES = [
  { name: 'Acme Corporation', slug: 'acme' },
  { name: 'Globex Corporation', slug: 'globex' },
  { name: 'Initech', slug: 'initech' },
];
export const DEMO_PASSWORD = 'demo';

function makeCtx(f: Faker, companyId: string, slug: string, users: string[], made: Map<string, string[]>): Ctx {
  return {
    f,
    companyId,
    slug,
    users,
    pick: (table) => {
      const ids = made.get(table);
      return ids && ids.length ? ids[f.number.int({ min: 0, max: ids.length - 1 })]! : null;
    },
    user: () => users[f.number.int({ min: 0, max: users.length - 1 })]!,
    past: (days = 180) => f.date.recent({ days }).toISOString(),
  };
}

async function insertRows(db: Db, table: string, rows: Row[]): Promise<void> {
  if (!rows.length) return;
  const keys = [...new Set(rows.flatMap((r) => Object.keys(r)))];
  const values = rows.map(
    (r) =>
      sql`(${sql.join(
        keys.map((k) => {
          const v = r[k];
          return v !== null && typeof v === 'object' ? JSON.stringify(v) : (v ?? null);
        }),
      )})`,
  );
  await sql`INSERT INTO ${sql.table(table)} (${sql.join(keys.map((k) => sql.id(k)))}) VALUES ${sql.join(values)}`.execute(db);
}

export interface SeedSummary {
  created: boolean;
  companies: number;
  users: number;
  rows: Record<string, number>;
}

/** Three companies with admins, users and records of every model; a super admin; a user with no company. Idempotent. */
export async function seedDemo(db: Db): Promise<SeedSummary> {
  const existing = await sql<{ n: number }>`SELECT count(*)::int AS n FROM companies`.execute(db);
  if (existing.rows[0]!.n > 0) return { created: false, companies: existing.rows[0]!.n, users: 0, rows: {} };
  const f = new Faker({ locale: [en, base] });
  f.seed(20251104);
  f.setDefaultRefDate('2025-11-04T09:00:00Z');
  const hash = (pw: string) => hashPassword(pw);
  const rowsMade: Record<string, number> = {};
  let userCount = 0;
  await db.transaction().execute(async (trx) => {
    for (const company of DEMO_COMPANIES) {
      const companyId = randomUUID();
      await insertRows(trx, 'companies', [
        { id: companyId, name: company.name, slug: company.slug, plan: company.slug === 'acme' ? 'enterprise' : 'standard' },
      ]);
      const people = [
        { email: `admin@${company.slug}.test`, role: 'company_admin' },
        { email: `user@${company.slug}.test`, role: 'user' },
        { email: `sales@${company.slug}.test`, role: 'user' },
      ];
      const users: Row[] = [];
      for (const p of people)
        users.push({
          id: randomUUID(),
          company_id: companyId,
          email: p.email,
          role: p.role,
          full_name: f.person.fullName(),
          password_hash: await hash(DEMO_PASSWORD),
        });
      await insertRows(trx, 'users', users);
      userCount += users.length;
      const made = new Map<string, string[]>();
      const ctx = makeCtx(
        f,
        companyId,
        company.slug,
        users.map((u) => String(u.id)),
        made,
      );
      for (const [table, gen] of GENERATORS) {
        const rows: Row[] = [];
        for (let i = 0; i < DEMO_COUNTS[table]!; i++) {
          const row: Row = { id: randomUUID(), ...gen(ctx) };
          if (
            [
              'twilio_settings',
              'phone_numbers',
              'sms_messages',
              'scheduled_sms',
              'sms_templates',
              'payment_history',
              'pipelines',
              'deals',
              'contacts',
              'activities',
            ].includes(table)
          )
            row.company_id = companyId;
          rows.push(row);
        }
        await insertRows(trx, table, rows);
        made.set(
          table,
          rows.map((r) => String(r.id)),
        );
        rowsMade[table] = (rowsMade[table] ?? 0) + rows.length;
      }
    }
    await insertRows(trx, 'users', [
      {
        id: randomUUID(),
        company_id: null,
        email: 'super@tenantscope.test',
        role: 'super_admin',
        full_name: 'Sam Super',
        password_hash: await hash(DEMO_PASSWORD),
      },
      {
        id: randomUUID(),
        company_id: null,
        email: 'nobody@tenantscope.test',
        role: 'user',
        full_name: 'Nora Nobody',
        password_hash: await hash(DEMO_PASSWORD),
      },
    ]);
    userCount += 2;
    // system-wide templates: no owner, shared by every company
    await insertRows(trx, 'email_templates', [
      { id: randomUUID(), owner_id: null, name: 'Welcome (system)', subject: 'Welcome aboard', body: 'Thanks for joining us.', category: 'system' },
      {
        id: randomUUID(),
        owner_id: null,
        name: 'Password reset (system)',
        subject: 'Reset your password',
        body: 'Follow the link to reset your password.',
        category: 'system',
      },
    ]);
    rowsMade.email_templates = (rowsMade.email_templates ?? 0) + 2;
  });
  rowsMade.users = userCount;
  return { created: true, companies: DEMO_COMPANIES.length, users: userCount, rows: rowsMade };
}

/** Share of the table rows for the scale seeder (the rest of the 32 models get a trickle). */
const SCALE_WEIGHTS: Record<string, number> = {
  contacts: 14,
  calls: 14,
  emails: 14,
  activities: 10,
  sms_messages: 10,
  notifications: 8,
  audit_logs: 8,
  deals: 5,
  documents: 4,
  files: 4,
  inbox: 4,
  call_transcripts: 2,
  document_signatures: 2,
  quotes: 1,
};

/** Company sizes: the first holds 40%, the rest share 60% with a decaying tail. */
export function companyShares(tenants: number): number[] {
  if (tenants === 1) return [1];
  const tail = Array.from({ length: tenants - 1 }, (_, i) => 1 / (i + 1));
  const sum = tail.reduce((a, b) => a + b, 0);
  return [0.4, ...tail.map((t) => (0.6 * t) / sum)];
}

function copyValue(v: unknown): string {
  if (v === null || v === undefined) return '\\N';
  const s = typeof v === 'object' ? JSON.stringify(v) : String(v);
  return s.replace(/\\/g, '\\\\').replace(/\t/g, '\\t').replace(/\n/g, '\\n').replace(/\r/g, '\\r');
}

async function copyInto(pool: pg.Pool, table: string, keys: string[], rows: Iterable<Row>): Promise<void> {
  const client = await pool.connect();
  try {
    const stream = client.query(copyStreams.from(`COPY ${table} (${keys.map((k) => `"${k}"`).join(', ')}) FROM STDIN`));
    const lines = (function* () {
      let chunk = '';
      for (const r of rows) {
        chunk += keys.map((k) => copyValue(r[k])).join('\t') + '\n';
        if (chunk.length > 1 << 16) {
          yield chunk;
          chunk = '';
        }
      }
      if (chunk) yield chunk;
    })();
    await pipeline(Readable.from(lines), stream);
  } finally {
    client.release();
  }
}

export interface ScaleOptions {
  tenants: number;
  rows: number;
  onProgress?: (done: number, total: number) => void;
}

/**
 * `tenants` companies of skewed sizes and exactly `rows` rows across the 32 model tables (a super admin, super@tenantscope.test, among them),
 * written with COPY. Users: one admin and two users a company (counted in `rows`).
 */
export async function seedScale(db: Db, pool: pg.Pool, opts: ScaleOptions): Promise<SeedSummary> {
  const f = new Faker({ locale: [en, base] });
  f.seed(4242);
  const shares = companyShares(opts.tenants);
  const userRows = opts.tenants * 3 + 1; // and one super admin
  if (opts.rows < userRows + 1) throw new Error(`--rows must be more than ${userRows} (three users a company and a super admin)`);
  const passwordHash = await hashPassword(DEMO_PASSWORD);
  const epoch = Date.parse('2025-01-01T00:00:00Z');
  const stamp = (i: number) => new Date(epoch + i * 1000).toISOString();
  const totalWeight = Object.values(SCALE_WEIGHTS).reduce((a, b) => a + b, 0);
  const budget = opts.rows - userRows;
  const perTable: Record<string, number> = {};
  let assigned = 0;
  for (const [t, w] of Object.entries(SCALE_WEIGHTS)) {
    perTable[t] = Math.floor((budget * w) / totalWeight);
    assigned += perTable[t]!;
  }
  perTable.contacts! += budget - assigned;
  const suffix = randomUUID().slice(0, 8);
  const companies = shares.map((_, i) => ({ id: randomUUID(), name: `${f.company.name()} ${i + 1}`, slug: `scale-${suffix}-${i + 1}` }));
  await insertRows(db, 'companies', companies);
  const companyUsers = companies.map((c) =>
    [randomUUID(), randomUUID(), randomUUID()].map((id, k) => ({
      id,
      company_id: c.id,
      email: `${k === 0 ? 'admin' : `user${k}`}@${c.slug}.test`,
      role: k === 0 ? 'company_admin' : 'user',
      full_name: f.person.fullName(),
      password_hash: passwordHash,
    })),
  );
  await insertRows(db, 'users', companyUsers.flat());
  const superExists = (await sql<{ n: number }>`SELECT count(*)::int AS n FROM users WHERE email = 'super@tenantscope.test'`.execute(db)).rows[0]!.n > 0;
  await insertRows(db, 'users', [
    {
      id: randomUUID(),
      company_id: null,
      role: 'super_admin',
      full_name: 'Sam Super',
      password_hash: passwordHash,
      email: superExists ? `super+${suffix}@tenantscope.test` : 'super@tenantscope.test',
    },
  ]);
  let done = userRows,
    seq = 0;
  const counts: Record<string, number> = { users: userRows };
  // a small pool of pre-made values keeps generation cheap at a million rows
  const words = Array.from({ length: 200 }, () => f.lorem.sentence());
  const names = Array.from({ length: 200 }, () => [f.person.firstName(), f.person.lastName()] as const);
  const phones = Array.from({ length: 200 }, () => f.phone.number({ style: 'international' }));
  const made = new Map<string, string[][]>(); // table -> per company ids
  const order = GENERATORS.map(([t]) => t).filter((t) => perTable[t]);
  for (const table of order) {
    const total = perTable[table]!;
    const perCompany = shares.map((s) => Math.floor(total * s));
    perCompany[0]! += total - perCompany.reduce((a, b) => a + b, 0);
    const ids: string[][] = companies.map(() => []);
    const hasCompany = ['contacts', 'deals', 'activities', 'sms_messages'].includes(table);
    const keep = ['contacts', 'calls', 'documents', 'deals'].includes(table);
    const rows = function* (): Generator<Row> {
      for (let ci = 0; ci < companies.length; ci++) {
        const users = companyUsers[ci]!.map((u) => u.id);
        const parents = (t: string) => made.get(t)?.[ci] ?? [];
        for (let i = 0; i < perCompany[ci]!; i++) {
          const id = randomUUID();
          const n = seq++;
          const at = stamp(n);
          const r = (k: number) => (n * 7919 + k) % 200;
          const user = users[n % users.length]!;
          const pickFrom = (t: string) => {
            const p = parents(t);
            return p.length ? p[n % p.length]! : null;
          };
          const [first, last] = names[r(1)]!;
          let row: Row;
          switch (table) {
            case 'contacts':
              row = { owner_id: user, first_name: first, last_name: last, email: `${first}.${last}.${n}@example.com`.toLowerCase(), phone: phones[r(2)] };
              break;
            case 'calls':
              row = {
                user_id: user,
                contact_id: pickFrom('contacts'),
                from_number: phones[r(2)],
                to_number: phones[r(3)],
                duration_seconds: n % 3600,
                notes: words[r(4)],
              };
              break;
            case 'emails':
              row = {
                owner_id: user,
                contact_id: pickFrom('contacts'),
                from_address: `sales@${companies[ci]!.slug}.test`,
                to_address: `${first}.${last}@example.com`.toLowerCase(),
                subject: words[r(5)],
                body: words[r(6)],
              };
              break;
            case 'activities':
              row = { user_id: user, contact_id: pickFrom('contacts'), deal_id: pickFrom('deals'), subject: words[r(7)], type: 'task' };
              break;
            case 'sms_messages':
              row = { user_id: user, contact_id: pickFrom('contacts'), from_number: phones[r(2)], to_number: phones[r(3)], body: words[r(8)] };
              break;
            case 'notifications':
              row = { user_id: user, title: 'Task due', body: words[r(9)] };
              break;
            case 'audit_logs':
              row = { user_id: user, action: 'update', entity_type: 'contact', ip_address: `10.0.${n % 256}.${(n >> 8) % 256}` };
              break;
            case 'deals':
              row = { owner_id: user, contact_id: pickFrom('contacts'), title: words[r(10)]!.slice(0, 60), value: n % 100000 };
              break;
            case 'documents':
              row = { owner_id: user, title: words[r(11)]!.slice(0, 60), file_name: `doc-${n}.pdf` };
              break;
            case 'files':
              row = { owner_id: user, name: `file-${n}.bin`, storage_key: `${companies[ci]!.slug}/${id}` };
              break;
            case 'inbox':
              row = { user_id: user, subject: words[r(12)]!.slice(0, 60), preview: words[r(13)] };
              break;
            case 'call_transcripts':
              row = { call_id: pickFrom('calls'), text: words[r(14)] };
              break;
            case 'document_signatures':
              row = { document_id: pickFrom('documents'), signer_name: `${first} ${last}`, signer_email: `${first}@example.com`.toLowerCase() };
              break;
            case 'quotes':
              row = { owner_id: user, deal_id: pickFrom('deals'), number: `Q-${n}`, total: n % 50000 };
              break;
            default:
              throw new Error(`no scale generator for ${table}`);
          }
          if (hasCompany) row.company_id = companies[ci]!.id;
          row.id = id;
          row.created_at = at;
          row.updated_at = at;
          if (keep) ids[ci]!.push(id);
          if ((++done & 0xffff) === 0) opts.onProgress?.(done, opts.rows);
          yield row;
        }
      }
    };
    const iterator = rows();
    const first = iterator.next();
    if (first.done) continue;
    const keys = Object.keys(first.value);
    await copyInto(
      pool,
      table,
      keys,
      (function* () {
        yield first.value;
        yield* iterator;
      })(),
    );
    if (keep)
      made.set(
        table,
        ids.map((list) => list.slice(0, 5000)),
      );
    counts[table] = total;
  }
  // fresh statistics, or the planner picks sequential scans over the keyset indexes
  await sql`ANALYZE`.execute(db);
  opts.onProgress?.(opts.rows, opts.rows);
  return { created: true, companies: companies.length, users: userRows, rows: counts };
}
