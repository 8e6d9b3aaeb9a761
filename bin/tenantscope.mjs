#!/usr/bin/env node
// The `tenantscope` command: the CLI built to JavaScript (scripts/build-cli.mjs, rebuilt when a
// source changed), so that it answers at once; from the TypeScript sources through tsx when it
// cannot be built (TENANTSCOPE_FROM_SOURCE=1 asks for that).
import { pathToFileURL } from 'node:url';

let entry = null;
if (!process.env.TENANTSCOPE_FROM_SOURCE) {
  try {
    const { cliEntry } = await import('../scripts/build-cli.mjs');
    entry = await cliEntry();
  } catch (e) {
    if (process.env.TENANTSCOPE_VERBOSE) process.stderr.write(`(the command line could not be built: ${e.message}; running from the sources)\n`);
  }
}
if (entry) await import(pathToFileURL(entry).href);
else {
  const { register } = await import('tsx/esm/api');
  register();
  await import('../src-main/cli/main.ts');
}
