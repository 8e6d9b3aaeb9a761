import { defineConfig } from 'vitest/config';

/** End-to-end: the built renderer in Debian's Chromium against the HTTP host (see tests/e2e). */
export default defineConfig({
  test: {
    include: ['tests/e2e/**/*.test.ts'],
    testTimeout: 120_000,
    hookTimeout: 180_000,
    setupFiles: ['tests/support/scratch.ts'],
    pool: 'forks',
    maxWorkers: 1,
    fileParallelism: false,
  },
});
