import { Worker } from 'node:worker_threads';
import { resolve } from 'node:path';
import { build } from 'esbuild';
import { beforeAll, describe, expect, it } from 'vitest';
import { threadSumBuffer } from '../../src/inner/threadSum.js';
import { Rng } from '../../src/util/random.js';

/*
 * The sum across the threads of one partial (src/inner/threadSum.ts) on real worker threads: every
 * thread gets the same sums, added in thread order, call after call; a thread that fails releases
 * the others, which throw instead of waiting.
 */

let entry: URL;
beforeAll(async () => {
  // Bundled once: a thread then starts without compiling TypeScript.
  const out = await build({ entryPoints: [resolve(import.meta.dirname, '../helpers/sumThread.ts')], bundle: true, platform: 'node', format: 'esm', write: false, logLevel: 'warning' });
  entry = new URL(`data:text/javascript,${encodeURIComponent(out.outputFiles[0]!.text)}`);
});

type Reply = { sums?: number[][]; failed?: boolean; error?: string; name?: string; after?: number };

function run(buffer: SharedArrayBuffer, participants: number, capacity: number, vectors: number[][][], failing?: { thread: number; before: number }): Promise<Reply[]> {
  return Promise.all(
    vectors.map(
      (mine, index) =>
        new Promise<Reply>((done, reject) => {
          const failBefore = failing?.thread === index ? failing.before : undefined;
          const worker = new Worker(entry, { workerData: { channel: { buffer, participants, index, capacity }, vectors: mine, failBefore } });
          worker.once('message', (reply: Reply) => {
            done(reply);
            void worker.terminate();
          });
          worker.once('error', reject);
        }),
    ),
  );
}

describe('sums across threads', () => {
  it('gives every thread the same sums, added in thread order, for sums of any length up to the capacity', async () => {
    // Prepare: 3 threads, 5 sums each (more than the two banks of slots), lengths 7, 1, 7, 3, 7;
    // values of mixed magnitudes, where the order of additions shows in the last bits
    const rng = new Rng(11);
    const lengths = [7, 1, 7, 3, 7];
    const vectors = [0, 1, 2].map(() => lengths.map((length) => Array.from({ length }, () => rng.normal() * 10 ** Math.floor(rng.next() * 12 - 6))));
    const expected = lengths.map((length, call) => Array.from({ length }, (_, j) => vectors[0]![call]![j]! + vectors[1]![call]![j]! + vectors[2]![call]![j]!));

    // Act
    const replies = await run(threadSumBuffer(3, 7), 3, 7, vectors);

    // Assess: bit for bit (toEqual on the numbers), in every thread
    for (const reply of replies) expect(reply.sums).toEqual(expected);
  });

  it('releases the threads waiting at a sum when a sibling fails: they throw instead of hanging', async () => {
    // Prepare: thread 2 fails before its second sum, while threads 0 and 1 wait there for it
    const vectors = [0, 1, 2].map((t) => [[t], [t + 10], [t + 20]]);

    // Act
    const started = Date.now();
    const replies = await run(threadSumBuffer(3, 1), 3, 1, vectors, { thread: 2, before: 1 });

    // Assess: one sum done, then the error, within the barrier's wake-up interval (1 s) and well
    // before its stall limit
    expect(replies[2]).toEqual({ failed: true });
    for (const reply of replies.slice(0, 2)) expect(reply).toEqual({ error: 'a sibling thread failed during a sum across threads', name: 'ThreadSumError', after: 1 });
    expect(Date.now() - started).toBeLessThan(10_000);
  });

  it('refuses a sum longer than the buffer was made for, naming both lengths', async () => {
    // Act
    const [reply] = await run(threadSumBuffer(1, 2), 1, 2, [[[1, 2, 3]]]);

    // Assess
    expect(reply).toEqual({ error: 'a sum across threads of 3 values, more than the 2 this call allows', name: 'ThreadSumError', after: 0 });
  });
});
