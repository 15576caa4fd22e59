import { csvField } from '../data/formats/csvField.js';
import { createNumberText, type NumberText } from '../data/formats/numberText.js';
import type { Predictor, RawPredictions } from './predictor.js';

/*
 * Predictions as the CSV lines `bspml predict` writes (the header aside: src/serve/batch.ts), as
 * UTF-8 bytes, each number written by src/data/formats/numberText.ts. Here, below serve/, so that the
 * threads that parse a data set's blocks can write their predictions too (src/inner/thread.ts), as
 * well as the format pool's threads (src/serve/formatPool.ts) and the parts' writer.
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
 * number written straight into the bytes by `text` (String(x)'s text, src/data/formats/numberText.ts).
 * Self-contained but for `text` (see above).
 */
export function formatRows(slice: FormatSlice, text: NumberText): Uint8Array {
  const { kmeans, names, index, scores, width, from, to } = slice;
  const encoder = new TextEncoder();
  const labels = names.map((name) => encoder.encode(name));
  let longest = 0;
  for (const label of labels) longest = Math.max(longest, label.length);
  // The most one line can take; the buffer starts at a typical size and doubles when a line might not fit.
  // Typical: a probability's shortest digits with its comma take 19–22 bytes (0.0123…, 1.23…e-7), so
  // 22 a number: with 20, nearly every block of softmax rows outgrew its buffer and was copied once.
  const lineMax = kmeans ? 12 + text.maxBytes + 1 : longest + width * (text.maxBytes + 1) + 1;
  let out = new Uint8Array(Math.max(lineMax, (to - from) * (kmeans ? 24 : longest + width * 22 + 1)));
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

/** What to write for the rows' predictions as `bspml predict` writes them, one line each (src/serve/formatPool.ts: formatRows). */
export function formatSlice(predictor: Predictor, raw: RawPredictions, rows: number): FormatSlice {
  const names = (predictor.classes ?? []).map((c) => csvField(String(c)));
  return { kmeans: predictor.kind === 'kmeans', names, index: raw.index, scores: raw.scores, width: raw.width, from: 0, to: rows };
}

