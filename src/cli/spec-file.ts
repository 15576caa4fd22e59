import { access, readFile } from 'node:fs/promises';
import { dirname, isAbsolute, resolve } from 'node:path';
import { SpecError } from '../errors.js';
import { parseJobSpec, type JobSpec } from '../domain/spec.js';
import { BACKENDS, type Backend } from '../emulators/open.js';
import type { TrainOptions } from './trainOptions.js';

/*
 * `bspml train --spec NAME.job.json`: the spec a stack reads beside an upload (src/aws/uploads.ts),
 * trained locally. Options given on the command line override its fields.
 */

/** Data files a stack would find beside NAME.job.json, in the order they are looked for. */
const DATA_BESIDE = ['.csv', '.csv.gz', '.bin', '.f32', '.parquet'];

/** The job a local `train` runs: its spec (validated), the store to run it on, and the data file. */
export interface TrainJob {
  /** The spec as validated (defaults filled in), for what the CLI shows. */
  spec: JobSpec;
  /** The spec as given, for the runtime to validate itself: parsing fills fields (l2 from C) that a second parse would refuse together. */
  input: Record<string, unknown>;
  backend: Backend;
  data: string;
}

async function exists(path: string): Promise<boolean> {
  return access(path).then(
    () => true,
    () => false,
  );
}

async function readSpecFile(file: string): Promise<Record<string, unknown>> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    throw new SpecError(`${file}: cannot read the spec: ${(error as Error).message}`, 'spec', { cause: error });
  }
  let spec: unknown;
  try {
    spec = JSON.parse(text);
  } catch (error) {
    throw new SpecError(`${file}: not valid JSON: ${(error as Error).message}`, 'spec', { cause: error });
  }
  if (spec === null || typeof spec !== 'object' || Array.isArray(spec)) throw new SpecError(`${file}: the spec must be a JSON object`, 'spec');
  return spec as Record<string, unknown>;
}

/** The data file: --data, else the spec's data.uri (relative to the spec's folder), else NAME.csv (…) beside it. */
async function dataFor(file: string, spec: Record<string, unknown>): Promise<string> {
  const uri = (spec.data as { uri?: unknown } | undefined)?.uri;
  if (typeof uri === 'string' && uri.length > 0) return /^[a-z0-9]+:\/\//i.test(uri) || isAbsolute(uri) ? uri : resolve(dirname(file), uri);
  const base = file.replace(/\.job\.json$/i, '').replace(/\.json$/i, '');
  for (const ext of DATA_BESIDE) if (await exists(base + ext)) return base + ext;
  throw new SpecError(`${file}: no data: give --data, a data.uri in the spec, or put ${base}.csv (or ${DATA_BESIDE.slice(1).join(', ')}) beside it`, 'data');
}

/**
 * The spec of `bspml train [kmeans|logreg]` from its options, and from a spec file when --spec is
 * given (then only options in `given`, those typed on the command line, override its fields).
 */
export async function trainJob(algorithm: 'kmeans' | 'logreg' | 'svm' | undefined, options: TrainOptions, given: ReadonlySet<string>): Promise<TrainJob> {
  const file = options.spec;
  const fromFile = file ? await readSpecFile(file) : {};
  const use = (key: keyof TrainOptions) => options[key] !== undefined && (!file || given.has(key));
  const pick = (keys: (keyof TrainOptions)[]) => Object.fromEntries(keys.filter(use).map((key) => [key, options[key]]));

  const chosen = algorithm ?? fromFile.algorithm;
  if (file && algorithm && fromFile.algorithm !== undefined && fromFile.algorithm !== algorithm) {
    throw new SpecError(`${file}: the spec trains ${String(fromFile.algorithm)}, not ${algorithm} (drop "${algorithm}" or change the spec)`, 'algorithm');
  }
  if (chosen === undefined) throw new SpecError(`${file ?? 'train'}: no algorithm: name it (bspml train kmeans|logreg) or put "algorithm" in the spec`, 'algorithm');
  const data = use('data') ? options.data! : file ? await dataFor(file, fromFile) : undefined;
  if (data === undefined) throw new SpecError('--data is required (or --spec NAME.job.json)', 'data');

  const fileData = (fromFile.data ?? {}) as Record<string, unknown>;
  const labelColumn = {
    ...(use('labelColumn') ? { labelColumn: options.labelColumn } : {}),
    ...(use('features') ? { features: options.features } : {}),
    ...(use('drop') ? { drop: options.drop } : {}),
  };
  const input: Record<string, unknown> = {
    ...fromFile,
    algorithm: chosen,
    ...pick(['workers', 'threads', 'maxRounds', 'tol', 'seed', 'k', 'nInit', 'solver', 'lr', 'l2', 'C', 'localSteps', 'batchSize', 'holdout']),
    data: { ...fileData, ...labelColumn, uri: data },
  };
  // --sync linger goes into the spec (the workers read it); event and barrier-wait are how the local
  // run is driven, and leave the spec in the event-driven mode.
  if (use('sync')) {
    if (options.sync === 'linger') input.sync = 'linger';
    else delete input.sync;
  }
  if (use('lingerMs')) input.lingerMs = options.lingerMs;
  // The store: --backend, else the spec's (a stack backend is also a local one), else memory.
  const specBackend = typeof fromFile.backend === 'string' && (BACKENDS as readonly string[]).includes(fromFile.backend) ? (fromFile.backend as Backend) : undefined;
  const backend: Backend = use('backend') ? options.backend : (specBackend ?? 'memory');
  // A record never claims a store its run did not use.
  if (input.backend !== backend) delete input.backend;
  // Newton and L-BFGS take no learning rate (their steps are line-searched): a --lr given with them
  // would be silently ignored (issue 20 defect 11). The SVM's case is the spec's own check.
  const solver = input.solver as string | undefined;
  if (chosen === 'logreg' && input.lr !== undefined && solver !== 'gd' && solver !== 'local-sgd') {
    const where = use('lr') ? '--lr' : `${file}: "lr"`;
    throw new SpecError(`${where}: only with solver gd or local-sgd; ${solver ?? 'the default solver (newton or lbfgs, by the shape of the data)'} takes no learning rate`, 'lr');
  }
  try {
    return { spec: parseJobSpec(input), input, backend, data };
  } catch (error) {
    if (file && error instanceof SpecError) throw new SpecError(`${file}: ${error.message}`, error.field, { cause: error });
    // Only a missing k is "required"; --k 200000 is refused for what it is (issue 20 defect 11).
    if (error instanceof SpecError && error.field === 'k' && input.k === undefined) throw new SpecError('--k is required for kmeans', 'k', { cause: error });
    throw error;
  }
}
