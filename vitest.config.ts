import { availableParallelism } from 'node:os';
import { defineConfig } from 'vitest/config';

/*
 * Test files that change what other files in the same process would see, so each runs in a
 * process of its own (vitest's isolate): they install SDK client mocks (aws-sdk-client-mock patches
 * the client classes for the whole process), set environment variables that modules read once at
 * load (BSPML_KERNELS, BSPML_REQUEST_TIMEOUT_MS, BSPML_BUCKET, BSPML_THREAD_ENTRY) or listen on
 * process events. Every other file shares its worker process with the files before it: the
 * modules they import (the AWS SDK, the stores, the protocol) are loaded once per worker rather
 * than once per file, about 0.5 s of CPU a file on a 2-core machine. A file added here must be one
 * that leaves such state behind; a file that restores what it changes may stay shared.
 */
const OWN_PROCESS = [
  'test/aws/data-sources.test.ts',
  'test/aws/direct-trigger.test.ts',
  'test/aws/doctor.test.ts',
  'test/faults/corrupted-pages.test.ts',
  'test/faults/silent-store.test.ts',
  'test/cli/silent-store.test.ts',
  'test/inner/ThreadPool.test.ts',
  'test/kernels/kernels-simd128.test.ts',
  'test/kernels/kernels.test.ts',
  'test/kernels/threads.test.ts',
  'test/serve/endpoint.test.ts',
  'test/stores/timeouts.test.ts',
];

export default defineConfig({
  test: {
    // One bundled thread entry for every inner worker the tests start, one bundled CLI for the tests that spawn it (see the files).
    globalSetup: ['test/setup/thread-bundle.ts', 'test/setup/cli-bundle.ts'],
    // Two test files at a time even on 2 cores (vitest's default is cores - 1, i.e. one file at a
    // time there): a file waiting on a child process (serverless print, a CLI under signals, npx node@24)
    // or on an emulator leaves a core idle that the other file can use. More cores: vitest's default.
    maxWorkers: Math.max(2, availableParallelism() - 1),
    // Tests start thread pools and in-process emulators: give them room on a 2-core machine.
    testTimeout: 30_000,
    hookTimeout: 30_000,
    // Powertools' Logger and Metrics write through the global console in dev mode (captured by test/helpers/logs.ts).
    env: { AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true', POWERTOOLS_DEV: 'true' },
    projects: [
      { extends: true, test: { name: 'shared', include: ['test/**/*.test.ts'], exclude: OWN_PROCESS, isolate: false } },
      { extends: true, test: { name: 'own-process', include: OWN_PROCESS } },
    ],
  },
});
