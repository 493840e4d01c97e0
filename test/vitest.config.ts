import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    // One server and one mock for the whole run (see support/global-setup.ts).
    globalSetup: ['./support/global-setup.ts'],
    include: ['**/*.test.ts'],
    exclude: ['node_modules/**'],
    // Starting processes, PGlite and Prism takes seconds on a loaded 2-core machine.
    testTimeout: 60_000,
    // describe.concurrent suites (spec builds, lint runs, server starts) are CPU-bound: the
    // default of 5 at once overran their timeouts on a loaded 2-core machine.
    maxConcurrency: 2,
    hookTimeout: 120_000,
    // The JUnit report is written on every run, not only under CI: .ci/run counts passed,
    // failed and skipped tests from it, and a run that leaves none is a failure.
    reporters: ['default', 'junit'],
    outputFile: { junit: './.reports/junit.xml' },
  },
});
