import { readFile } from 'node:fs/promises';
import ort from 'onnxruntime-node';

/*
 * Runs an exported model in ONNX Runtime (onnxruntime-node's CPU build, a devDependency: tests
 * only, bspml itself never loads it).
 */

/** A CSV with a header and no quoted fields: its column names and its rows as text. */
export async function readCsv(file: string): Promise<{ header: string[]; rows: string[][] }> {
  const [head, ...rest] = (await readFile(file, 'utf8')).trimEnd().split('\n');
  return { header: head!.split(','), rows: rest.map((r) => r.split(',')) };
}

/** The named columns of a CSV's rows as float32 [rows × columns], the layout of the model's input X. */
export function featureMatrix(csv: { header: string[]; rows: string[][] }, names: string[]): Float32Array {
  const at = names.map((n) => csv.header.indexOf(n));
  if (at.some((i) => i < 0)) throw new Error(`a feature is missing from the CSV: ${names.join(', ')}`);
  const x = new Float32Array(csv.rows.length * names.length);
  csv.rows.forEach((row, i) => at.forEach((c, j) => (x[i * names.length + j] = Number(row[c]))));
  return x;
}

export interface OnnxRun {
  inputNames: readonly string[];
  outputNames: readonly string[];
  outputs: Record<string, { type: string; dims: readonly number[]; data: ArrayLike<unknown> }>;
}

/** Loads `file` and runs it on X (rows × dims). */
export async function runOnnx(file: string, x: Float32Array, rows: number, dims: number): Promise<OnnxRun> {
  const session = await ort.InferenceSession.create(file);
  try {
    const result = await session.run({ X: new ort.Tensor('float32', x, [rows, dims]) });
    const outputs: OnnxRun['outputs'] = {};
    for (const [name, tensor] of Object.entries(result)) outputs[name] = { type: tensor.type, dims: tensor.dims, data: tensor.data as ArrayLike<unknown> };
    return { inputNames: session.inputNames, outputNames: session.outputNames, outputs };
  } finally {
    await session.release();
  }
}
