import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { AppError } from '../../src-shared/result.ts';
import { ConnectionProfileSchema, describeIssues, type ConnectionProfile } from '../../src-shared/profile.ts';
import type { ConnectionSummary } from '../../src-shared/contract.ts';
import { safetyOf } from '../../src-shared/safety.ts';
import { secretKey, type SecretStore } from '../core/secretStore.ts';
import { projectRoot } from '../core/home.ts';
import { signInPath } from '../crm/auth.ts';

export const DEMO = 'demo';

/** The CRM a connection's secrets and cache are for: origin, sign-in style and address, credential header. */
export function bindingOf(profile: ConnectionProfile): string {
  // the demo CRM runs on a port chosen at each start: it is the same CRM every time
  const origin = profile.embedded ? 'the embedded demo CRM' : new URL(profile.baseUrl).origin;
  return JSON.stringify({ origin, auth: profile.auth.kind, signIn: signInPath(profile.auth), header: profile.header.name.toLowerCase() });
}

/** The origin a binding names, for messages. */
export function originOf(binding: string): string {
  try {
    return (JSON.parse(binding) as { origin: string }).origin;
  } catch {
    return 'another CRM';
  }
}

const UNDO_MS = 10 * 60 * 1000;

/**
 * Whether the console may read an environment variable as a secret source: TENANTSCOPE_* names,
 * and those the operator lists in TENANTSCOPE_ENV_ALLOW (comma-separated; "PREFIX_*" for a
 * prefix) in the console's own environment. A profile, whoever wrote it, cannot make the console
 * read HOME or a CI secret and send it to a CRM.
 */
export function envAllowed(name: string, env: NodeJS.ProcessEnv = process.env): boolean {
  if (/^TENANTSCOPE_[A-Z0-9_]+$/.test(name) && name !== 'TENANTSCOPE_ENV_ALLOW') return true;
  return (env.TENANTSCOPE_ENV_ALLOW ?? '')
    .split(',')
    .map((x) => x.trim())
    .filter(Boolean)
    .some((p) => (p.endsWith('*') ? name.startsWith(p.slice(0, -1)) : name === p));
}

function refuseEnv(name: string, field: string): AppError {
  return new AppError(
    'forbidden',
    `The environment variable ${name} is not one the console reads secrets from: name it TENANTSCOPE_..., or allow it with TENANTSCOPE_ENV_ALLOW=${name} in the console's environment.`,
    { [field]: 'a TENANTSCOPE_* name, or one allowed by TENANTSCOPE_ENV_ALLOW' },
  );
}

interface StoredFile {
  version: 1;
  /** kept as written: an entry that no longer validates is reported, never dropped */
  connections: unknown[];
}

/** Saved CRM connections in `connections.json` (no secrets inside), plus the built-in demo. */
export class ConnectionStore {
  private readonly file: string;
  private readonly undo = new Map<string, { profile: unknown; secrets: Array<[string, string]>; until: number }>();
  private demoBaseUrl: string | null = null;
  private demo?: ConnectionProfile;

  constructor(
    home: string,
    private readonly secrets: SecretStore,
  ) {
    this.file = join(home, 'connections.json');
  }

  /** The demo profile, pointing at the demo CRM once it runs. */
  demoProfile(): ConnectionProfile {
    // the shipped profile (its catalog is large) is read and validated once; only its address changes
    this.demo ??= ConnectionProfileSchema.parse(JSON.parse(readFileSync(join(projectRoot, 'profiles', 'reference-crm.json'), 'utf8')));
    return this.demoBaseUrl ? { ...this.demo, baseUrl: this.demoBaseUrl } : this.demo;
  }

  setDemoUrl(url: string | null): void {
    this.demoBaseUrl = url;
  }

  private read(): StoredFile {
    if (!existsSync(this.file)) return { version: 1, connections: [] };
    const text = readFileSync(this.file, 'utf8');
    try {
      const parsed = JSON.parse(text) as StoredFile;
      if (!parsed || !Array.isArray(parsed.connections)) throw new Error('no "connections" list');
      return parsed;
    } catch (e) {
      // keep the unreadable file for the user, start afresh beside it
      const aside = `${this.file}.unreadable-${Date.now()}`;
      renameSync(this.file, aside);
      throw new AppError('bad-response', `connections.json could not be read (${(e as Error).message}); it was kept as ${aside}`);
    }
  }

  private write(data: StoredFile): void {
    const tmp = `${this.file}.${process.pid}.tmp`;
    writeFileSync(tmp, JSON.stringify(data, null, 2) + '\n', { mode: 0o600 });
    renameSync(tmp, this.file); // atomic: a crash leaves the old file or the new one
  }

  /** Valid profiles, and a line for each saved entry that no longer validates. */
  list(): { profiles: ConnectionProfile[]; problems: string[] } {
    const profiles = [this.demoProfile()];
    const problems: string[] = [];
    for (const [i, raw] of this.read().connections.entries()) {
      const parsed = ConnectionProfileSchema.safeParse(raw);
      if (parsed.success) profiles.push(parsed.data);
      else {
        const name = (raw as { name?: unknown })?.name;
        const fields = Object.entries(describeIssues(parsed.error.issues))
          .map(([k, v]) => `${k}: ${v}`)
          .join('; ');
        problems.push(`connection ${typeof name === 'string' ? `"${name}"` : `#${i + 1}`} in connections.json is invalid (${fields})`);
      }
    }
    return { profiles, problems };
  }

  get(name: string): ConnectionProfile {
    const found = this.list().profiles.find((p) => p.name === name);
    if (!found) throw new AppError('not-found', `There is no connection named "${name}". Add it under Connections or with \`tenantscope connections add\`.`);
    return found;
  }

  summary(profile: ConnectionProfile): ConnectionSummary {
    const held = profile.identities.filter((i) => this.secrets.get(secretKey(profile.name, i.label)) !== undefined).map((i) => i.label);
    if (profile.embedded) held.push(...profile.identities.map((i) => i.label).filter((l) => !held.includes(l)));
    return {
      name: profile.name,
      description: profile.description ?? null,
      baseUrl: profile.baseUrl,
      embedded: profile.embedded,
      authKind: profile.auth.kind,
      identities: profile.identities,
      hasDatabaseUrl: this.databaseUrl(profile.name) !== undefined,
      secretsHeld: held,
      safety: safetyOf(profile),
    };
  }

  /** The CRM's database URL: held secret, or the environment variable the profile names. */
  databaseUrl(name: string, env: NodeJS.ProcessEnv = process.env): string | undefined {
    const held = this.secrets.get(secretKey(name, 'databaseUrl'));
    if (held) return held;
    let variable: string | undefined;
    try {
      variable = this.get(name).databaseUrlEnv;
    } catch {
      return undefined;
    }
    if (!variable) return undefined;
    if (!envAllowed(variable, env)) throw refuseEnv(variable, 'databaseUrlEnv');
    return env[variable] || undefined;
  }

  /**
   * Adds or replaces a connection. `rebound`: a replaced connection now points at another CRM (origin,
   * sign-in style or address, credential header): its stored passwords, tokens and database URL
   * were dropped (only those given with this save are kept), and its cache must be set aside.
   * `created`: there was no connection of that name (whatever cache a removed one left is not its own).
   */
  save(
    rawProfile: unknown,
    opts: { replace: boolean; databaseUrl?: string | null; secrets?: Record<string, string> },
  ): { profile: ConnectionProfile; rebound: boolean; created: boolean } {
    const parsed = ConnectionProfileSchema.safeParse(rawProfile);
    if (!parsed.success) {
      const fields = describeIssues(parsed.error.issues);
      throw new AppError(
        'invalid-input',
        `The connection profile is invalid: ${Object.entries(fields)
          .map(([k, v]) => `${k}: expected ${v}`)
          .join('; ')}`,
        fields,
      );
    }
    const profile = parsed.data;
    if (profile.name === DEMO) throw new AppError('conflict', 'The "demo" connection is built in and cannot be replaced; save yours under another name.');
    if (profile.embedded) throw new AppError('invalid-input', 'Only the built-in demo connection can be embedded.', { embedded: 'must be false' });
    if (profile.safety?.level === 'demo')
      throw new AppError('invalid-input', 'Only the built-in demo connection is at the demo level: say staging or production.', {
        'safety.level': 'staging or production',
      });
    if (opts.databaseUrl && !/^postgres(ql)?:\/\//.test(opts.databaseUrl)) {
      throw new AppError('invalid-input', 'The database URL must start with postgres:// or postgresql://', { databaseUrl: 'a postgres:// URL' });
    }
    const variables = [
      ...profile.identities.flatMap(
        (i) =>
          [
            ['passwordEnv', i.passwordEnv, i.label],
            ['tokenEnv', i.tokenEnv, i.label],
          ] as const,
      ),
      ['databaseUrlEnv', profile.databaseUrlEnv, null] as const,
    ];
    for (const [field, variable, label] of variables) {
      if (variable && !envAllowed(variable)) throw refuseEnv(variable, label === null ? field : `identities.${label}.${field}`);
    }
    for (const label of Object.keys(opts.secrets ?? {})) {
      if (!profile.identities.some((i) => i.label === label)) {
        throw new AppError('invalid-input', `A secret was given for "${label}", which is not one of this connection's identities.`, {
          [`secrets.${label}`]: 'an identity label',
        });
      }
    }
    const data = this.read();
    const at = data.connections.findIndex((c) => (c as { name?: unknown })?.name === profile.name);
    if (at >= 0 && !opts.replace) throw new AppError('conflict', `A connection named "${profile.name}" already exists; edit it or choose another name.`);
    const before = at >= 0 ? ConnectionProfileSchema.safeParse(data.connections[at]) : null;
    // secrets are bound to the CRM they were saved for: pointed elsewhere, the connection keeps none
    const rebound = !!before && (!before.success || bindingOf(before.data) !== bindingOf(profile));
    if (at >= 0) data.connections[at] = profile;
    else data.connections.push(profile);
    this.write(data);
    if (rebound || at < 0) for (const k of this.secrets.keys(`${profile.name}/`)) this.secrets.delete(k);
    if (opts.databaseUrl !== undefined) {
      if (opts.databaseUrl === null) this.secrets.delete(secretKey(profile.name, 'databaseUrl'));
      else this.secrets.set(secretKey(profile.name, 'databaseUrl'), opts.databaseUrl);
    }
    for (const [label, value] of Object.entries(opts.secrets ?? {})) this.secrets.set(secretKey(profile.name, label), value);
    return { profile, rebound, created: at < 0 };
  }

  remove(name: string): string {
    if (name === DEMO) throw new AppError('conflict', 'The "demo" connection is built in and cannot be removed.');
    const data = this.read();
    const at = data.connections.findIndex((c) => (c as { name?: unknown })?.name === name);
    if (at < 0) throw new AppError('not-found', `There is no connection named "${name}".`);
    const [profile] = data.connections.splice(at, 1);
    const keys = this.secrets.keys(`${name}/`);
    const secrets = keys.map((k) => [k, this.secrets.get(k)!] as [string, string]);
    this.write(data);
    for (const k of keys) this.secrets.delete(k);
    const token = randomBytes(12).toString('hex');
    this.undo.set(token, { profile, secrets, until: Date.now() + UNDO_MS });
    return token;
  }

  restore(token: string): ConnectionProfile {
    const entry = this.undo.get(token);
    if (!entry || entry.until < Date.now()) throw new AppError('not-found', 'Nothing to undo: the removal is older than ten minutes or was already undone.');
    const data = this.read();
    const name = (entry.profile as { name: string }).name;
    if (data.connections.some((c) => (c as { name?: unknown })?.name === name)) {
      throw new AppError('conflict', `A connection named "${name}" was added since; rename it before undoing.`);
    }
    data.connections.push(entry.profile);
    this.write(data);
    for (const [k, v] of entry.secrets) this.secrets.set(k, v);
    this.undo.delete(token);
    return ConnectionProfileSchema.parse(entry.profile);
  }

  /** The password or token for an identity: held secret, or the environment variable the profile names. */
  secretFor(profile: ConnectionProfile, label: string, env: NodeJS.ProcessEnv = process.env): string | undefined {
    const identity = profile.identities.find((i) => i.label === label);
    if (profile.embedded && profile.demoPassword) return profile.demoPassword;
    const held = this.secrets.get(secretKey(profile.name, label));
    if (held) return held;
    for (const [field, variable] of [
      ['passwordEnv', identity?.passwordEnv],
      ['tokenEnv', identity?.tokenEnv],
    ] as const) {
      if (!variable) continue;
      if (!envAllowed(variable, env)) throw refuseEnv(variable, `identities.${label}.${field}`);
      if (env[variable]) return env[variable];
    }
    return undefined;
  }
}
