import { defineConfig } from 'vitest/config';

// PGlite costs ~740 MB and seconds per instance: keep few test files running at once.
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    pool: 'forks',
    maxWorkers: 2,
    // A worker runs its test files one after another in one module cache: importing the gateway's modules
    // anew for every file took about a third of the suite's time. So each file closes what it opens and
    // restores what it changes (fake timers, environment variables).
    isolate: false,
    // Tests that start CLI and gateway processes on a fresh embedded database take 10-30 s
    // on a slow 2-core machine (PGlite alone starts in up to 5 s there): room for twice that.
    testTimeout: 60_000,
    hookTimeout: 120_000,
    globalSetup: ['test/support/global-setup.ts'],
  },
});
