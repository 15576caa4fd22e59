import { required } from '../aws/config.js';
import { s3TextReader } from '../aws/s3.js';
import type { AwsWiring } from '../aws/wiring.js';
import { ModelStore } from './modelStore.js';
import type { PredictJobDeps } from './predictJob.js';

/*
 * A predict job's dependencies on Lambda, from a function's wiring. The predict workers keep one
 * ModelStore per environment (a version is read once, then served from memory while the
 * environment lives); the start reads the model afresh each time, so `latest` is what S3 holds now.
 */

const environments = new WeakMap<AwsWiring, ModelStore>();

export function predictJobDeps(w: AwsWiring, options: { fresh?: boolean } = {}): PredictJobDeps & { models: ModelStore } {
  const bucket = required(w.config.bucket, 'BSPML_BUCKET');
  let models = options.fresh ? undefined : environments.get(w);
  if (!models) {
    models = new ModelStore(s3TextReader(w.s3), bucket, w.config.modelPrefix);
    if (!options.fresh) environments.set(w, models);
  }
  return { protocol: w.deps, datasets: w.datasets, models, s3: w.s3, outPrefixes: [`s3://${bucket}/${w.config.predictionsPrefix}`] };
}
