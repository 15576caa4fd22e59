import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // One bundled thread entry for every inner worker the tests start (see the file).
    globalSetup: ['test/setup/thread-bundle.ts'],
    // Tests start thread pools and in-process emulators: give them room on a 2-core machine.
    testTimeout: 30_000,
    hookTimeout: 30_000,
    // Powertools' Logger and Metrics write through the global console in dev mode (captured by test/helpers/logs.ts).
    env: { AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true', POWERTOOLS_DEV: 'true' },
  },
});
