/** What the benchmarks share: their --name N options, and the reference CRM as a child process with the profile to reach it. */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { ConnectionProfileSchema, type ConnectionProfile } from '../src-shared/profile.ts';
import { projectRoot } from '../src-main/core/home.ts';

export const benchArg = (name: string, fallback: number) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
};

export const log = (s: string) => process.stderr.write(`${s}\n`);

export interface BenchCrm {
  url: string;
  databaseUrl: string;
  /** the shipped reference profile pointed at this CRM, as a connection named "bench" */
  profileJson: Record<string, unknown>;
  profile: ConnectionProfile;
  stop(): Promise<void>;
}

/** Starts src-crm on a fresh embedded PostgreSQL in `dataDir` with the given seed and profile options. */
export async function startBenchCrm(dataDir: string, args: string[]): Promise<BenchCrm> {
  const crm = spawn(process.execPath, ['--import', 'tsx', join(projectRoot, 'src-crm', 'main.ts'), ...args, '--fresh', '--data-dir', dataDir], {
    cwd: projectRoot,
    stdio: ['ignore', 'pipe', 'ignore'],
    env: { ...process.env, DATABASE_URL: '' },
  });
  const urls = await new Promise<Record<string, string>>((resolve, reject) => {
    const got: Record<string, string> = {};
    createInterface({ input: crm.stdout! }).on('line', (l) => {
      const [k, v] = l.split(/=(.*)/s);
      if (k && v) got[k] = v;
      if (k === 'PROFILE') resolve(got);
    });
    crm.on('exit', (c) => reject(new Error(`the CRM exited ${c}`)));
  });
  const raw = JSON.parse(readFileSync(join(projectRoot, 'profiles', 'reference-crm.json'), 'utf8')) as Record<string, unknown>;
  const profileJson = { ...raw, embedded: false, demoPassword: undefined, name: 'bench', baseUrl: urls.CRM_URL };
  return {
    url: urls.CRM_URL!,
    databaseUrl: urls.DATABASE_URL!,
    profileJson,
    profile: ConnectionProfileSchema.parse(profileJson),
    stop: () =>
      new Promise<void>((r) => {
        if (crm.exitCode !== null || crm.signalCode !== null) return r();
        crm.once('exit', () => r());
        crm.kill('SIGTERM');
      }),
  };
}
