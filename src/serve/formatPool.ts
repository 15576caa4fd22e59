import { Worker } from 'node:worker_threads';

/*
 * Writing predictions as CSV text is mostly turning float64 into their shortest decimal (String(v)),
 * which costs several times what parsing a float32 feature does: for 10 classes a part's text took
 * longer than loading its rows. Training parses CSV in a pool of threads; batch predictions format
 * their parts in one too, a shard's rows split into one slice per thread, the slices joined in order.
 *
 * The threads run `formatRows` from its source text (a worker evaluated from a string), so the pool
 * needs no file of its own beside a bundle; formatRows is therefore self-contained: no imports, no
 * helpers, nothing from its closure.
 */

/** What to write for rows [from, to): `names` are the classes as CSV fields (k-means: none). */
export interface FormatSlice {
  kmeans: boolean;
  names: string[];
  index: Int32Array;
  scores: Float64Array;
  width: number;
  from: number;
  to: number;
}

/** Rows [from, to) as `bspml predict` writes them, each line ended by a newline. Self-contained (see above). */
export function formatRows(slice: FormatSlice): string {
  const { kmeans, names, index, scores, width, from, to } = slice;
  let body = '';
  if (kmeans) {
    for (let i = from; i < to; i++) body += index[i] + ',' + scores[i] + '\n';
    return body;
  }
  for (let i = from; i < to; i++) {
    let line = names[index[i]!]!;
    const start = i * width;
    for (let c = 0; c < width; c++) line += ',' + scores[start + c];
    body += line + '\n';
  }
  return body;
}

/** Below this many numbers a slice is formatted here: a thread's round trip would cost more. */
const MIN_PARALLEL_VALUES = 20_000;

export class FormatPool {
  private readonly threads: Worker[];
  private next = 0;
  private readonly waiting = new Map<number, { resolve: (body: string) => void; reject: (error: Error) => void }>();

  constructor(readonly size: number) {
    const source = `const { parentPort } = require('node:worker_threads');
const formatRows = ${formatRows.toString()};
parentPort.on('message', ({ id, slice }) => {
  try { parentPort.postMessage({ id, body: formatRows(slice) }); } catch (error) { parentPort.postMessage({ id, error: String(error && error.message || error) }); }
});`;
    this.threads = Array.from({ length: size }, () => {
      const worker = new Worker(source, { eval: true });
      worker.on('message', (message: { id: number; body?: string; error?: string }) => {
        const waiter = this.waiting.get(message.id);
        this.waiting.delete(message.id);
        if (message.error !== undefined) waiter?.reject(new Error(`formatting predictions failed: ${message.error}`));
        else waiter?.resolve(message.body!);
      });
      worker.on('error', (error) => {
        for (const waiter of this.waiting.values()) waiter.reject(error);
        this.waiting.clear();
      });
      return worker;
    });
  }

  /** The rows' text, in order: slices over the threads, or here when the shard is small. */
  async format(slice: FormatSlice): Promise<string> {
    const rows = slice.to - slice.from;
    const values = rows * Math.max(1, slice.width);
    if (this.size < 2 || values < MIN_PARALLEL_VALUES) return formatRows(slice);
    const per = Math.ceil(rows / this.size);
    const parts: Promise<string>[] = [];
    for (let t = 0; t < this.size; t++) {
      const from = slice.from + t * per;
      const to = Math.min(slice.to, from + per);
      if (from >= to) break;
      const id = this.next++;
      parts.push(new Promise<string>((resolve, reject) => this.waiting.set(id, { resolve, reject })));
      // Only this slice's numbers travel (structured clone copies typed arrays).
      const sub: FormatSlice = {
        ...slice,
        index: slice.index.slice(from, to),
        scores: slice.scores.slice(from * slice.width, to * slice.width),
        from: 0,
        to: to - from,
      };
      this.threads[t]!.postMessage({ id, slice: sub });
    }
    return (await Promise.all(parts)).join('');
  }

  async close(): Promise<void> {
    await Promise.all(this.threads.map((thread) => thread.terminate()));
  }
}
