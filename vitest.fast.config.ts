import { defineConfig } from 'vitest/config';

/**
 * The pure tier (`npm run test:fast`): no PostgreSQL, no network, no browser; SQLite in temp
 * folders at most. Paging, retry delays, verdicts, report formats, diffs, the audit's numbers.
 * `npm test` runs it first.
 */
export default defineConfig({
  test: {
    include: ['tests/fast/**/*.test.ts'],
    setupFiles: ['tests/support/scratch.ts'],
    testTimeout: 10_000,
    pool: 'forks',
    maxWorkers: 2,
  },
});
