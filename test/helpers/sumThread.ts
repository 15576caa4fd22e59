import { parentPort, workerData } from 'node:worker_threads';
import { abortThreadSum, threadSummer, type ThreadSumChannel } from '../../src/inner/threadSum.js';

/*
 * A thread for test/inner/threadSum.test.ts: makes `vectors.length` sums across threads of its
 * vectors, in turn, and posts what each sum gave; with `failBefore`, it raises the abort flag
 * instead of its sum of that number (as thread.ts does when a partial throws) and posts 'failed'.
 */
const { channel, vectors, failBefore } = workerData as { channel: ThreadSumChannel; vectors: number[][]; failBefore?: number };
const sum = threadSummer(channel);
const sums: number[][] = [];
try {
  for (let call = 0; call < vectors.length; call++) {
    if (call === failBefore) {
      abortThreadSum(channel.buffer);
      parentPort!.postMessage({ failed: true });
      process.exit(0);
    }
    const values = Float64Array.from(vectors[call]!);
    sum(values);
    sums.push([...values]);
  }
  parentPort!.postMessage({ sums });
} catch (error) {
  parentPort!.postMessage({ error: (error as Error).message, name: (error as Error).name, after: sums.length });
}
