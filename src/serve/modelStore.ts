import { checkModel, ModelFileError } from './modelCheck.js';
import { compilePredictor, type Predictor } from './predictor.js';
import { RequestError } from './request.js';

/*
 * Trained models in S3, as the aggregator publishes them (src/aws/models.ts): every model is kept
 * as `models/NAME/VERSION.json`, its version being the id of the job that trained it, and
 * `models/NAME/latest.json` is a copy of the newest. A version never changes once written, so a
 * loaded version is kept for the life of the environment; `latest` is re-read after a short time.
 */

/** Reads an object's text; undefined when there is none (src/serve/s3Get.ts on Lambda). */
export interface ObjectReader {
  get(bucket: string, key: string): Promise<string | undefined>;
}

/** A model ready to serve, and which one it is. */
export interface ServedModel {
  name: string;
  version: string;
  predictor: Predictor;
}

export const LATEST = 'latest';
/** How long `latest` is trusted before it is read again (assumption: a minute's lag after a retraining is acceptable). */
export const LATEST_TTL_MS = 60_000;
/** Versions kept per environment; the least recently used goes first (each is a few KB to a few MB). */
const MAX_CACHED = 16;

const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}(\/[A-Za-z0-9][A-Za-z0-9._-]{0,127}){0,7}$/;
const VERSION = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

/** Refuses a model name or version that could not be one (a path out of the prefix, odd characters). */
export function checkModelRef(name: string | undefined, version: string | undefined): { name: string; version: string } {
  if (name === undefined || name === '') throw new RequestError(400, 'no model: give ?model=NAME (the data set\'s name, as models/NAME/ in the bucket)');
  if (!NAME.test(name) || name.split('/').some((part) => part === '.' || part === '..')) throw new RequestError(400, `model "${name.slice(0, 64)}": not a model name (letters, digits, . _ - and /)`);
  const v = version ?? LATEST;
  if (!VERSION.test(v)) throw new RequestError(400, `version "${v.slice(0, 64)}": not a model version (a job id such as 20261130T045225Z-0b9e8d, or latest)`);
  return { name, version: v };
}

/** The version a model file names: its `version`, else the id of the job that trained it. */
export function versionOf(document: unknown): string | undefined {
  const d = document as { version?: unknown; jobId?: unknown } | null;
  const v = d?.version ?? d?.jobId;
  return typeof v === 'string' ? v : undefined;
}

export class ModelStore {
  readonly #versions = new Map<string, ServedModel>();
  readonly #latest = new Map<string, { version: string; at: number }>();
  /** S3 GETs made, for tests and the bench. */
  gets = 0;

  constructor(
    private readonly s3: ObjectReader,
    private readonly bucket: string,
    private readonly prefix = 'models/',
    private readonly now: () => number = Date.now,
  ) {}

  /** The model NAME at `version` (or the latest), loaded once per environment. */
  async get(name: string, version: string = LATEST): Promise<ServedModel> {
    const ref = checkModelRef(name, version);
    if (ref.version === LATEST) {
      const pointer = this.#latest.get(ref.name);
      if (pointer && this.now() - pointer.at < LATEST_TTL_MS) {
        const cached = this.#cached(`${ref.name}@${pointer.version}`);
        if (cached) return cached;
      }
      const model = await this.#load(ref.name, LATEST);
      this.#latest.set(ref.name, { version: model.version, at: this.now() });
      return model;
    }
    return this.#cached(`${ref.name}@${ref.version}`) ?? this.#load(ref.name, ref.version);
  }

  #cached(key: string): ServedModel | undefined {
    const model = this.#versions.get(key);
    if (model) {
      // Most recently used last.
      this.#versions.delete(key);
      this.#versions.set(key, model);
    }
    return model;
  }

  async #load(name: string, version: string): Promise<ServedModel> {
    const key = `${this.prefix}${name}/${version}.json`;
    this.gets++;
    const text = await this.s3.get(this.bucket, key);
    if (text === undefined) {
      throw new RequestError(404, version === LATEST ? `model "${name}": no such model (nothing at ${key})` : `model "${name}": no version "${version}" (nothing at ${key})`);
    }
    let document: unknown;
    try {
      document = JSON.parse(text);
    } catch {
      throw new ModelFileError(`s3://${this.bucket}/${key}`, 'not valid JSON');
    }
    const predictor = compilePredictor(checkModel(document, `s3://${this.bucket}/${key}`));
    // latest.json is a copy of a version: it names its job.
    const served: ServedModel = { name, version: versionOf(document) ?? version, predictor };
    this.#versions.set(`${name}@${served.version}`, served);
    while (this.#versions.size > MAX_CACHED) this.#versions.delete(this.#versions.keys().next().value!);
    return served;
  }
}
