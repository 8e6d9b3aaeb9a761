import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { startEmbeddedPostgres, type EmbeddedServer } from '../../src-crm/db.ts';

/** One PostgreSQL server for the whole run (TEST_DATABASE_URL or an embedded one); each test file makes its own database. */
let server: EmbeddedServer | undefined;
let dir: string | undefined;

export async function setup(project: TestProject) {
  let adminUrl = process.env.TEST_DATABASE_URL;
  if (!adminUrl) {
    dir = mkdtempSync(join(tmpdir(), 'tenantscope-test-pg-'));
    server = await startEmbeddedPostgres(dir, { fresh: true });
    adminUrl = server.url.replace(/\/crm$/, '/postgres');
  }
  project.provide('pgAdminUrl', adminUrl);
}

export async function teardown() {
  await server?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
  // as root the cluster lives beside it, under the OS temp folder
  if (server) rmSync(server.clusterDir, { recursive: true, force: true });
}

declare module 'vitest' {
  export interface ProvidedContext {
    pgAdminUrl: string;
  }
}
