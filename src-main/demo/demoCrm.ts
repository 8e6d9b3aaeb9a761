import { spawn, type ChildProcess } from 'node:child_process';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { DemoStatus } from '../../src-shared/contract.ts';
import { projectRoot } from '../core/home.ts';
import type { Logger } from '../core/log.ts';

const require = createRequire(import.meta.url);

/**
 * Runs the embedded reference CRM as a child process (`src-crm/main.ts --seed demo`) with its
 * data in the console's data folder, and stops it when the console quits.
 */
export class DemoCrm {
  private child: ChildProcess | null = null;
  private status: DemoStatus = { state: 'stopped', url: null, message: null };
  private starting: Promise<DemoStatus> | null = null;
  private dbUrl: string | null = null;
  private pendingUrl: string | null = null;
  private readonly listeners = new Set<(s: DemoStatus) => void>();

  constructor(private readonly dataDir: string, private readonly log: Logger, private readonly startTimeoutMs = 120_000) {}

  /** the demo CRM's PostgreSQL (a secret: never sent to the renderer) */
  databaseUrl(): string | null {
    return this.status.state === 'running' ? this.dbUrl : null;
  }

  current(): DemoStatus {
    return { ...this.status };
  }

  onChange(listener: (s: DemoStatus) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private set(next: DemoStatus) {
    this.status = next;
    for (const l of this.listeners) l(this.current());
  }

  /** Starts the demo CRM once; later calls wait for the same start. */
  start(): Promise<DemoStatus> {
    if (this.status.state === 'running') return Promise.resolve(this.current());
    if (this.starting) return this.starting;
    this.starting = this.spawnCrm().finally(() => {
      this.starting = null;
    });
    return this.starting;
  }

  private spawnCrm(): Promise<DemoStatus> {
    this.set({ state: 'starting', url: null, message: 'Starting the demo CRM (first start initialises PostgreSQL and seeds the demo data)' });
    const tsx = require.resolve('tsx');
    const args = ['--import', tsx, join(projectRoot, 'src-crm', 'main.ts'), '--seed', 'demo', '--data-dir', this.dataDir];
    const env: NodeJS.ProcessEnv = { ...process.env, ELECTRON_RUN_AS_NODE: '1' };
    delete env.DATABASE_URL; // the demo always runs on its own embedded PostgreSQL
    const child = spawn(process.execPath, args, { cwd: projectRoot, env, stdio: ['ignore', 'pipe', 'pipe'] });
    this.child = child;
    const tail: string[] = [];
    createInterface({ input: child.stderr! }).on('line', (line) => {
      tail.push(line);
      if (tail.length > 20) tail.shift();
      this.log(line);
    });
    return new Promise<DemoStatus>((resolve) => {
      const timer = setTimeout(() => {
        this.set({ state: 'failed', url: null, message: `The demo CRM did not start within ${this.startTimeoutMs / 1000} s.` });
        child.kill('SIGTERM');
        resolve(this.current());
      }, this.startTimeoutMs);
      createInterface({ input: child.stdout! }).on('line', (line) => {
        // the CRM prints CRM_URL, DATABASE_URL, then PROFILE: running once all three are in
        const crm = line.match(/^CRM_URL=(\S+)/);
        if (crm) this.pendingUrl = crm[1]!;
        const db = line.match(/^DATABASE_URL=(\S+)/);
        if (db) this.dbUrl = db[1]!;
        if (line.startsWith('PROFILE=') && this.pendingUrl) {
          clearTimeout(timer);
          this.set({ state: 'running', url: this.pendingUrl, message: null });
          resolve(this.current());
        }
      });
      child.on('exit', (code, signal) => {
        clearTimeout(timer);
        this.child = null;
        if (this.status.state !== 'stopped') {
          const why = tail.filter((l) => /(^|\] )error:|^\w*Error:/i.test(l)).slice(-1).join(' ') || `exit ${code ?? signal}`;
          this.set({ state: 'failed', url: null, message: `The demo CRM stopped: ${why}` });
        }
        resolve(this.current());
      });
    });
  }

  async stop(): Promise<void> {
    const child = this.child;
    if (!child) return;
    this.set({ state: 'stopped', url: null, message: null });
    await new Promise<void>((resolve) => {
      const force = setTimeout(() => child.kill('SIGKILL'), 10_000);
      child.once('exit', () => {
        clearTimeout(force);
        resolve();
      });
      child.kill('SIGTERM');
    });
  }
}
