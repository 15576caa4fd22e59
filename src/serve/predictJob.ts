import type { S3Client } from '@aws-sdk/client-s3';
import type { PartsDatasetSource } from '../data/sources/PartsDatasetSource.js';
import { BspmlError, SpecError } from '../errors.js';
import type { RoundTask } from '../domain/job.js';
import { parsePredictSpec } from '../domain/predictSpec.js';
import type { ProtocolDeps } from '../protocol/deps.js';
import { predictShard, startPredictJob, type PredictShardOutcome } from '../protocol/predictRound.js';
import type { PredictJobRecord } from '../domain/predictJob.js';
import { ModelFileError } from './modelCheck.js';
import type { ModelStore, ServedModel } from './modelStore.js';
import type { PartSink } from './batch.js';
import { s3Sink } from './partSink.js';
import { preparePredictor, runPredictTask } from './predictTask.js';
import { RequestError } from './request.js';

/*
 * A stack's predict job (docs/serving.md): what the start function and the predict workers run
 * around the protocol's round (src/protocol/predictRound.ts). The start resolves the model's
 * version once (`latest` becomes the version it names then) and describes the data set with the
 * model's features; each task loads the model through the environment's ModelStore (one read per
 * version per environment), predicts its shard and writes its part under the job's own folder.
 */

export interface PredictJobDeps {
  protocol: Pick<ProtocolDeps, 'store' | 'fanout' | 'now' | 'limits'> & Partial<Pick<ProtocolDeps, 'predictMarkers'>>;
  datasets: Pick<PartsDatasetSource, 'describe' | 'loadShard'>;
  /** The environment's models, kept by version. */
  models: Pick<ModelStore, 'get' | 'gets'>;
  s3: Pick<S3Client, 'send'>;
  /** s3:// prefixes predict jobs may write under (the predict workers' role); empty: not checked. */
  outPrefixes: readonly string[];
}

/** Starts a predict job from its spec; a spec that does not parse throws SpecError before the job exists. */
export async function startPredict(deps: PredictJobDeps, request: { jobId: string; spec: unknown }): Promise<PredictJobRecord> {
  const spec = parsePredictSpec(request.spec);
  if (deps.outPrefixes.length > 0 && !deps.outPrefixes.some((prefix) => spec.out.startsWith(prefix))) {
    throw new SpecError(`invalid predict spec: out: ${spec.out} is not where this stack writes predictions (under ${deps.outPrefixes.join(', ')})`, 'out');
  }
  return startPredictJob(deps.protocol, { jobId: request.jobId, spec }, async () => {
    const served = await modelFor(deps.models, spec.model.name, spec.model.version);
    const layout = await deps.datasets.describe({ uri: spec.data.uri, features: [...served.predictor.featureNames] });
    return { model: { name: served.name, version: served.version }, layout, shards: spec.workers ?? layout.parts.length };
  });
}

/** One predict task: the shard predicted and written as its part, then the barrier (src/protocol/predictRound.ts). */
export async function runPredictJobTask(deps: PredictJobDeps, task: RoundTask): Promise<PredictShardOutcome> {
  return predictShard(deps.protocol, task, async (job) => {
    // A Lambda environment runs one task at a time: the store's reads during it are this task's.
    const readsBefore = deps.models.gets;
    const served = await modelFor(deps.models, job.predict.model.name, job.predict.model.version);
    const prepared = preparePredictor(served.predictor, job.layout);
    const sink = s3Sink(deps.s3, job.predict.out);
    let bytes = 0;
    const counted: PartSink = {
      async write(index, count, body) {
        bytes = body.byteLength;
        return sink.write(index, count, body);
      },
    };
    const { part, rows } = await runPredictTask(prepared, { layout: job.layout, shard: task.shard, shards: job.shards }, deps.datasets, counted);
    return { uri: part, rows, bytes, modelReads: deps.models.gets - readsBefore };
  });
}

/**
 * The model, or a SpecError naming `model` when it cannot serve: an unknown name or version, a
 * stored file that is not a model, a kind the loops do not serve. Anything else (a read that
 * failed) is thrown as it is, to be retried.
 */
async function modelFor(models: Pick<ModelStore, 'get'>, name: string, version: string | undefined): Promise<ServedModel> {
  try {
    return await models.get(name, version);
  } catch (error) {
    if (error instanceof RequestError || error instanceof ModelFileError || (error instanceof BspmlError && error.code === 'E_MODEL')) {
      throw new SpecError(error.message, 'model', { cause: error });
    }
    throw error;
  }
}
