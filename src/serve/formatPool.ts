import { Worker } from 'node:worker_threads';
import { createNumberText } from '../data/formats/numberText.js';
import { formatRows, rowsText, type FormatSlice } from '../algorithms/predictionText.js';

export { formatRows, rowsText, type FormatSlice };

/*
 * Writing predictions as CSV text is mostly turning float64 into their shortest decimal (String(v)'s
 * text), which costs more than parsing a float32 feature does: for 10 classes a part's text took
 * longer than loading its rows. Training parses CSV in a pool of threads; batch predictions format
 * their parts in one too, a shard's rows split into one slice per thread, each slice's bytes handed
 * back (transferred, not copied) and the part written from them in order.
 *
 * The threads run `formatRows` and `createNumberText` from their source text (a worker evaluated
 * from a string), so the pool needs no file of its own beside a bundle; both are therefore
 * self-contained: no imports, no helpers, nothing from their closure.
 */

/** A part: the header line, then the rows' text in order. */
export function partBytes(header: string, chunks: readonly Uint8Array[]): Uint8Array {
  return Buffer.concat([Buffer.from(`${header}\n`), ...chunks]);
}

/** Below this many numbers a slice is formatted here: a thread's round trip would cost more. */
const MIN_PARALLEL_VALUES = 20_000;

export class FormatPool {
  private readonly threads: Worker[];
  private next = 0;
  private readonly waiting = new Map<number, { resolve: (body: Uint8Array) => void; reject: (error: Error) => void }>();

  constructor(readonly size: number) {
    const source = `const { parentPort } = require('node:worker_threads');
// Where the sources were compiled keeping function names (tsx, vitest), they call esbuild's __name.
const __name = (target) => target;
const createNumberText = ${createNumberText.toString()};
const formatRows = ${formatRows.toString()};
const text = createNumberText();
parentPort.on('message', ({ id, slice }) => {
  let body;
  try { body = formatRows(slice, text); } catch (error) { parentPort.postMessage({ id, error: String(error && error.message || error) }); return; }
  parentPort.postMessage({ id, body }, [body.buffer]);
});`;
    this.threads = Array.from({ length: size }, () => {
      const worker = new Worker(source, { eval: true });
      worker.on('message', (message: { id: number; body?: Uint8Array; error?: string }) => {
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

  /** The rows' text, in order, as one or more chunks: slices over the threads, or here when the shard is small. */
  async format(slice: FormatSlice): Promise<Uint8Array[]> {
    const rows = slice.to - slice.from;
    const values = rows * Math.max(1, slice.width);
    if (this.size < 2 || values < MIN_PARALLEL_VALUES) return [rowsText(slice)];
    const per = Math.ceil(rows / this.size);
    const parts: Promise<Uint8Array>[] = [];
    for (let t = 0; t < this.size; t++) {
      const from = slice.from + t * per;
      const to = Math.min(slice.to, from + per);
      if (from >= to) break;
      const id = this.next++;
      parts.push(new Promise<Uint8Array>((resolve, reject) => this.waiting.set(id, { resolve, reject })));
      // Only this slice's numbers travel: copied once here, then transferred.
      const index = slice.index.slice(from, to);
      const scores = slice.scores.slice(from * slice.width, to * slice.width);
      const sub: FormatSlice = { ...slice, index, scores, from: 0, to: to - from };
      this.threads[t]!.postMessage({ id, slice: sub }, [index.buffer, scores.buffer]);
    }
    return Promise.all(parts);
  }

  async close(): Promise<void> {
    await Promise.all(this.threads.map((thread) => thread.terminate()));
  }
}
