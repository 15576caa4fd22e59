import { Worker } from 'node:worker_threads';
import { createNumberText, type NumberText } from './numberText.js';

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

/**
 * Rows [from, to) as `bspml predict` writes them, each line ended by a newline, as UTF-8 bytes: each
 * number written straight into the bytes by `text` (String(x)'s text, src/serve/numberText.ts).
 * Self-contained but for `text` (see above).
 */
export function formatRows(slice: FormatSlice, text: NumberText): Uint8Array {
  const { kmeans, names, index, scores, width, from, to } = slice;
  const encoder = new TextEncoder();
  const labels = names.map((name) => encoder.encode(name));
  let longest = 0;
  for (const label of labels) longest = Math.max(longest, label.length);
  // The most one line can take; the buffer starts at a typical size and doubles when a line might not fit.
  const lineMax = kmeans ? 12 + text.maxBytes + 1 : longest + width * (text.maxBytes + 1) + 1;
  let out = new Uint8Array(Math.max(lineMax, (to - from) * (kmeans ? 24 : longest + width * 20 + 1)));
  let at = 0;
  for (let i = from; i < to; i++) {
    if (at + lineMax > out.length) {
      const grown = new Uint8Array(Math.max(out.length * 2, at + lineMax));
      grown.set(out.subarray(0, at));
      out = grown;
    }
    if (kmeans) {
      at = text.writeInteger(out, at, index[i]!);
      out[at++] = 44;
      at = text.writeDouble(out, at, scores[i]!);
      out[at++] = 10;
      continue;
    }
    const label = labels[index[i]!]!;
    for (let b = 0; b < label.length; b++) out[at++] = label[b]!;
    const start = i * width;
    for (let c = 0; c < width; c++) {
      out[at++] = 44;
      at = text.writeDouble(out, at, scores[start + c]!);
    }
    out[at++] = 10;
  }
  return out.subarray(0, at);
}

let here: NumberText | undefined;

/** formatRows in this thread. */
export function rowsText(slice: FormatSlice): Uint8Array {
  here ??= createNumberText();
  return formatRows(slice, here);
}

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
