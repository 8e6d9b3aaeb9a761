import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { DemoStatus } from '../../src-shared/contract.ts';
import { projectRoot } from '../core/home.ts';
import { processAlive } from '../core/process.ts';
import type { Logger } from '../core/log.ts';

const require = createRequire(import.meta.url);

/** What the process that started the demo CRM records in the data folder, for every other door to find it. */
interface RunningRecord {
  /** the CRM's process, and the console process that started it (its owner, the only one that stops it) */
  pid: number;
  owner: number;
  url: string;
  databaseUrl: string | null;
  startedAt: string;
}

/** The CRM answers (its OpenAPI document) within a second: the status shown is measured, not remembered. */
async function healthy(url: string): Promise<boolean> {
  try {
    const res = await fetch(`${url}/openapi.json`, { signal: AbortSignal.timeout(1500) });
    await res.body?.cancel();
    return res.ok;
  } catch {
    return false;
  }
}

/**
 * The embedded reference CRM (`src-crm/main.ts --seed demo`), one per data folder, shared by every
 * door: the first process that needs it starts it and records it in `running.json`; every other
 * process (the CLI beside the window, a second host) finds the running one there and uses it, and
 * never stops what it did not start. Starting is serialised by a lock file, so two doors never
 * start two CRMs on one database. The owner stops it when it quits.
 */
export class DemoCrm {
  private child: ChildProcess | null = null;
  /** a CRM another process started and this one uses (never stopped from here) */
  private adopted = false;
  /** when the adopted CRM last answered (checked again at most every 2 s: every call that needs the CRM asks) */
  private checkedAt = 0;
  private status: DemoStatus = { state: 'stopped', url: null, message: null };
  private starting: Promise<DemoStatus> | null = null;
  private dbUrl: string | null = null;
  private pendingUrl: string | null = null;
  private readonly listeners = new Set<(s: DemoStatus) => void>();

  constructor(
    private readonly dataDir: string,
    private readonly log: Logger,
    private readonly startTimeoutMs = 120_000,
  ) {}

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

  /** Starts the demo CRM once (or finds the one another door runs); later calls wait for the same start. */
  start(): Promise<DemoStatus> {
    if (this.starting) return this.starting;
    if (this.status.state === 'running' && (!this.adopted || Date.now() - this.checkedAt < 2000)) return Promise.resolve(this.current());
    this.starting = this.ensure().finally(() => {
      this.starting = null;
    });
    return this.starting;
  }

  private get recordFile() {
    return join(this.dataDir, 'running.json');
  }

  private readRecord(): RunningRecord | null {
    try {
      const r = JSON.parse(readFileSync(this.recordFile, 'utf8')) as RunningRecord;
      return typeof r.url === 'string' && Number.isInteger(r.pid) && Number.isInteger(r.owner) ? r : null;
    } catch {
      return null;
    }
  }

  /** The CRM another door runs, if its process lives and it answers. */
  private async running(): Promise<RunningRecord | null> {
    const r = this.readRecord();
    return r && processAlive(r.pid) && (await healthy(r.url)) ? r : null;
  }

  private adopt(r: RunningRecord): DemoStatus {
    this.adopted = true;
    this.checkedAt = Date.now();
    this.dbUrl = r.databaseUrl;
    this.set({ state: 'running', url: r.url, message: null });
    return this.current();
  }

  private async ensure(): Promise<DemoStatus> {
    // one in use already: still there?
    if (this.adopted && this.status.state === 'running') {
      const r = await this.running();
      if (r && r.url === this.status.url) {
        this.checkedAt = Date.now();
        return this.current();
      }
      this.adopted = false;
      this.set({ state: 'stopped', url: null, message: 'The demo CRM that another window or command started has stopped.' });
    }
    mkdirSync(this.dataDir, { recursive: true, mode: 0o700 });
    const lock = join(this.dataDir, 'starting.lock');
    const deadline = Date.now() + this.startTimeoutMs;
    for (;;) {
      const r = await this.running();
      if (r) return this.adopt(r);
      try {
        closeSync(openSync(lock, 'wx', 0o600));
        writeFileSync(lock, String(process.pid));
        break; // this process starts it
      } catch {
        // another door is starting it: wait for its record (or take over a lock its dead owner left)
        const holder = Number(readFileSync(lock, 'utf8') || 0);
        if (holder && !processAlive(holder)) rmSync(lock, { force: true });
        else if (Date.now() > deadline) {
          this.set({
            state: 'failed',
            url: null,
            message: `Another process (pid ${holder}) has been starting the demo CRM for ${this.startTimeoutMs / 1000} s.`,
          });
          return this.current();
        } else await new Promise((res) => setTimeout(res, 250));
      }
    }
    try {
      this.set({ state: 'starting', url: null, message: 'Starting the demo CRM (first start initialises PostgreSQL and seeds the demo data)' });
      const s = await this.spawnCrm();
      if (s.state === 'running' && this.child?.pid) {
        const record: RunningRecord = { pid: this.child.pid, owner: process.pid, url: s.url!, databaseUrl: this.dbUrl, startedAt: new Date().toISOString() };
        const tmp = `${this.recordFile}.${process.pid}.tmp`;
        writeFileSync(tmp, JSON.stringify(record), { mode: 0o600 });
        renameSync(tmp, this.recordFile);
      }
      return s;
    } finally {
      rmSync(lock, { force: true });
    }
  }

  private spawnCrm(): Promise<DemoStatus> {
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
          const why =
            tail
              .filter((l) => /(^|\] )error:|^\w*Error:/i.test(l))
              .slice(-1)
              .join(' ') || `exit ${code ?? signal}`;
          this.set({ state: 'failed', url: null, message: `The demo CRM stopped: ${why}` });
        }
        resolve(this.current());
      });
    });
  }

  /** Stops the demo CRM if this process started it; one another door started is left running. */
  async stop(): Promise<void> {
    if (this.adopted) {
      this.adopted = false;
      this.set({ state: 'stopped', url: null, message: null });
      return;
    }
    const child = this.child;
    if (!child) return;
    const record = this.readRecord();
    if (record?.pid === child.pid && existsSync(this.recordFile)) rmSync(this.recordFile, { force: true });
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
