import { stat } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { SpecError } from '../errors.js';
import { toOnnx } from '../export/toOnnx.js';
import { writeFileAtomic } from '../util/files.js';
import type { CliIo } from './io.js';
import { readModel } from './predict.js';

export const EXPORT_FORMATS = ['onnx'] as const;

export interface ExportOptions {
  model: string;
  format: string;
  out: string;
}

/** `bspml export`: a model file in a standard format (docs/export.md); refused input writes nothing. */
export async function exportModel(options: ExportOptions, io: CliIo): Promise<void> {
  if (!(EXPORT_FORMATS as readonly string[]).includes(options.format)) {
    throw new SpecError(`--format ${options.format}: unknown export format (known: ${EXPORT_FORMATS.join(', ')})`, 'format');
  }
  if (resolve(options.out) === resolve(options.model)) {
    throw new SpecError(`--out ${options.out}: is the model file itself; writing there would replace it`, 'out');
  }
  const folder = dirname(resolve(options.out));
  const isFolder = await stat(folder).then((s) => s.isDirectory(), () => false);
  if (!isFolder) throw new SpecError(`--out ${options.out}: the folder ${folder} does not exist`, 'out');
  const model = await readModel(options.model);
  const bytes = toOnnx(model);
  await writeFileAtomic(options.out, bytes);
  io.stderr.write(`exported ${model.algorithm} model (${model.dims} features) as ONNX to ${options.out} (${bytes.length} bytes)\n`);
}
