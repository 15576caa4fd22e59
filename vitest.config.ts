import { availableParallelism } from 'node:os';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // One bundled thread entry for every inner worker the tests start (see the file).
    globalSetup: ['test/setup/thread-bundle.ts'],
    // Two test files at a time even on 2 cores (vitest's default is cores - 1, i.e. one file at a
    // time there): a file waiting on a child process (serverless print, a CLI under signals, npx node@24)
    // or on an emulator leaves a core idle that the other file can use. More cores: vitest's default.
    maxWorkers: Math.max(2, availableParallelism() - 1),
    // Tests start thread pools and in-process emulators: give them room on a 2-core machine.
    testTimeout: 30_000,
    hookTimeout: 30_000,
    // Powertools' Logger and Metrics write through the global console in dev mode (captured by test/helpers/logs.ts).
    env: { AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true', POWERTOOLS_DEV: 'true' },
  },
});
