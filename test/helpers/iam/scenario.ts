import { HeadObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { ChangeMessageVisibilityCommand, CreateQueueCommand, DeleteMessageCommand, ReceiveMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { createRecoverHandler } from '../../../handlers/recover.js';
import { loadConfig } from '../../../src/aws/config.js';
import { createWiring } from '../../../src/aws/wiring.js';
import { formatCsv } from '../../../src/data/formats/csv-write.js';
import { encodeBinary } from '../../../src/data/formats/binary.js';
import { enforceConditionalWrites } from '../../../src/emulators/s3-local.js';
import { decodeModel, modelToBase64 } from '../../../src/protocol/codec.js';
import type { RoundTask } from '../../../src/domain/job.js';
import { CapturingLambda, localSqsClient, startAwsEmulators, type PublishedMessage } from '../aws-emulators.js';
import { asyncFailureEvent, nextS3Event, snsEvent, sqsEvent } from '../aws-events.js';
import { deliverAll, pipeline, type Pipeline } from '../aws-pipeline.js';
import { blobs, separable, toTable } from '../data.js';
import { asFunction, recordedCalls, startRecording, type RecordedCall } from './record.js';

/*
 * One emulated run of the whole deployed pipeline, every AWS call recorded by the function whose
 * role makes it: upload triggers (a data file with its spec, one without, a data set in parts and
 * its _SUCCESS, a spec before its parts, a spec that is not JSON), `bspml submit` invocations,
 * training to the model on each data plane the stack has without a VPC (DynamoDB, S3), a model
 * larger than one DynamoDB item, data the stack may not read, a worker that failed its retries,
 * and the recovery sweep (re-publishing lost shards, re-sending a lost completion, failing a start
 * that died); jobs whose workers linger (`sync: 'linger'`, on DynamoDB and S3: claims released,
 * rounds aggregated inline by the worker that filled them, which publishes the unclaimed shards and
 * writes the model file), a stray partial discarded by the aggregator and by an inline aggregation,
 * and backup checks (sent by both, received by the aggregator); predict jobs (submitted, uploaded,
 * of an unknown model, and one whose lost task the sweep re-publishes to the predict topic). The completion channel is the
 * template's: the FIFO queue, or a direct Invoke of the aggregator (`--param aggregatorTrigger=invoke`,
 * Lambda captured at its boundary). Calls the Lambda service makes with a function's role
 * (the SQS event source mapping's receives and deletes, with the aggregator's) are recorded as that
 * function's. Add a step here when the code gains a path: the IAM check sees only what runs.
 */

/** The recorded calls, the emulators' names (test/helpers/iam/names.ts places them in the template), and each step's end. */
export interface ScenarioRun {
  calls: readonly RecordedCall[];
  emulated: { table: string; bucket: string; queueUrl: string; dlqUrl: string; backupQueueUrl: string; topicArn: string; predictTopicArn: string };
  /** What each step ended as, so a test can tell the scenario did what it says. */
  outcomes: Record<string, string>;
}

const MINUTE = 60_000;

/** What the template deployed that changes the run: the workers' completion channel (serverless.yml's aggregatorTrigger). */
export interface ScenarioOptions {
  aggregatorTrigger?: 'sqs' | 'invoke';
  /** The aggregator function's name the workers invoke (BSPML_AGGREGATOR_FUNCTION), with the invoke trigger. */
  aggregatorFunction?: string;
}

export async function runIamScenario(options: ScenarioOptions = {}): Promise<ScenarioRun> {
  startRecording();
  // This run's calls only: a process may run the scenario more than once (one per trigger).
  const first = recordedCalls().length;
  const emulators = await startAwsEmulators();
  enforceConditionalWrites(emulators.s3.server);
  const setup = localSqsClient(emulators.sqsEndpoint);
  const backupQueueUrl = (await setup.send(new CreateQueueCommand({ QueueName: 'backup-checks' }))).QueueUrl!;
  setup.destroy();
  const invoke = options.aggregatorTrigger === 'invoke';
  const env = {
    BSPML_THREADS: '1',
    BSPML_DEFAULT_SPEC: JSON.stringify({ algorithm: 'kmeans', k: 2, workers: 2, maxRounds: 2 }),
    // As serverless.yml sets it: the stack's datasets/ only (no --param dataBuckets).
    BSPML_DATA_SOURCES: `s3://${emulators.bucket}/datasets/`,
    // Backup checks on (--param backupTasks=on): every aggregation sends one; the last step delivers them.
    BSPML_BACKUP_TASKS: 'on',
    BSPML_BACKUP_QUEUE_URL: backupQueueUrl,
    ...(invoke ? { BSPML_AGGREGATOR_TRIGGER: 'invoke', BSPML_AGGREGATOR_FUNCTION: options.aggregatorFunction ?? 'bspml-dev-aggregator' } : {}),
  };
  const base = pipeline(emulators, env, invoke ? { lambda: new CapturingLambda() } : {});
  // The recovery sweep's own wiring, as handlers/recover.ts builds it: its completions go to the
  // queue whatever the workers' trigger (the pipeline's shared wiring is the worker's).
  const sweepWiring = createWiring(loadConfig({ ...emulators.env, ...env }), { sns: base.sns });
  const p = asFunctions(base);
  const outcomes: Record<string, string> = {};
  const bucket = emulators.bucket;
  const put = (key: string, body: string | Uint8Array) => base.wiring.s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body }));
  const upload = async (key: string, body: string | Uint8Array) => {
    const event = nextS3Event(emulators.s3.server, key);
    await put(key, body);
    return p.start(await event);
  };
  const modelAt = (key: string) =>
    base.wiring.s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key })).then(
      () => `model at ${key}`,
      () => `no model at ${key}`,
    );
  const statusOf = async (jobId: string | undefined) => (jobId ? ((await base.wiring.store.getJob(jobId))?.status ?? 'missing') : 'no job');
  // Hands the completions sent so far (queued, or invoked directly) to the aggregator, delivering no task.
  const aggregateSent = async () => {
    for (const { event } of base.lambda?.take() ?? []) await p.aggregator(event);
    for (;;) {
      const got = await p.sqs.send(new ReceiveMessageCommand({ QueueUrl: emulators.queueUrl, MaxNumberOfMessages: 10, AttributeNames: ['All'], MessageSystemAttributeNames: ['All'] }));
      if (!got.Messages?.length) break;
      await p.aggregator(sqsEvent(got.Messages));
      for (const m of got.Messages) await p.sqs.send(new DeleteMessageCommand({ QueueUrl: emulators.queueUrl, ReceiptHandle: m.ReceiptHandle! }));
    }
  };
  try {
    const csv = formatCsv(toTable(blobs([[0, 0], [6, 6], [-6, 6]], 60, 1, 3)));

    // Upload triggers, trained to their models: a data file with its spec (DynamoDB data plane) ...
    await put('datasets/blobs.job.json', JSON.stringify({ algorithm: 'kmeans', k: 3, workers: 3, seed: 1, maxRounds: 4, tol: 0 }));
    const [file] = await upload('datasets/blobs.csv', csv);
    await deliverAll(p, emulators.queueUrl);
    outcomes.uploadWithSpec = await statusOf(file?.jobId);
    // ... one with no spec beside it (the default spec) ...
    const [bare] = await upload('datasets/bare.csv', csv);
    await deliverAll(p, emulators.queueUrl);
    outcomes.uploadDefaultSpec = await statusOf(bare?.jobId);
    // ... a spec uploaded before its parts (ignored), then the parts and _SUCCESS (S3 data plane).
    outcomes.specBeforeParts = String((await upload('datasets/parts.job.json', JSON.stringify({ algorithm: 'kmeans', k: 2, workers: 2, maxRounds: 3, tol: 0, backend: 's3' }))).length);
    await put('datasets/parts/part-00000.csv', csv);
    await put('datasets/parts/part-00001.csv', csv);
    const [parts] = await upload('datasets/parts/_SUCCESS', '');
    await deliverAll(p, emulators.queueUrl);
    outcomes.partsOnS3 = `${await statusOf(parts?.jobId)}, ${await modelAt(`models/parts/${parts?.jobId}.json`)}`;
    // A spec that is not JSON: the job is recorded FAILED with the reason.
    await put('datasets/broken.job.json', '{not json');
    const [broken] = await upload('datasets/broken.csv', csv);
    outcomes.brokenSpec = broken?.status ?? 'none';

    // `bspml submit`: logistic regression on a binary data set (ranged GETs), to its model.
    await put('datasets/churn.bin', encodeBinary(toTable(separable(200, 3, 5))));
    const [submitted] = await p.start({ jobId: 'iam-churn', spec: { algorithm: 'logreg', workers: 2, maxRounds: 3, data: { uri: `s3://${bucket}/datasets/churn.bin`, labelColumn: 'label' } } });
    await deliverAll(p, emulators.queueUrl);
    outcomes.submit = await statusOf(submitted?.jobId);

    // Predict jobs (docs/serving.md) with the blobs model trained above: `bspml submit predict` (its
    // latest version), an upload of predictions/NAME.job.json (a pinned version), an unknown model.
    const predictSpec = (model: Record<string, string>) => ({ kind: 'predict', model, data: { uri: `s3://${bucket}/datasets/blobs.csv` }, out: `s3://${bucket}/predictions/blobs/`, workers: 2 });
    await p.start({ jobId: 'iam-predict', spec: predictSpec({ name: 'blobs' }) });
    await deliverAll(p, emulators.queueUrl);
    outcomes.predictSubmit = await statusOf('iam-predict');
    // (over the data set in parts: its parts read by ranged GETs, nothing listed by the predict workers)
    const [predictUpload] = await upload('predictions/blobs-nightly.job.json', JSON.stringify({ model: { name: 'blobs', version: file?.jobId }, data: { uri: `s3://${bucket}/datasets/parts/` } }));
    await deliverAll(p, emulators.queueUrl);
    outcomes.predictUpload = await statusOf(predictUpload?.jobId);
    const [unknownModel] = await p.start({ jobId: 'iam-predict-unknown', spec: predictSpec({ name: 'no-such-model' }) });
    outcomes.predictUnknownModel = `${unknownModel?.status}: ${unknownModel?.error}`;

    // A model over one DynamoDB item (k-means, 30 centroids × 1,500 features): stored in chunks, read back in batches.
    const wide = blobs(Array.from({ length: 2 }, (_, c) => Array.from({ length: 1500 }, () => c * 5)), 40, 1, 7);
    await put('datasets/wide.csv', formatCsv(toTable(wide)));
    await p.start({ jobId: 'iam-big-model', spec: { algorithm: 'kmeans', k: 30, workers: 2, maxRounds: 2, tol: 0, data: { uri: `s3://${bucket}/datasets/wide.csv` } } });
    await deliverAll(p, emulators.queueUrl);
    outcomes.bigModel = await statusOf('iam-big-model');

    // `bspml submit` of data the stack may not read: refused before any S3 call, naming the parameter.
    const [elsewhere] = await p.start({ jobId: 'iam-elsewhere', spec: { algorithm: 'kmeans', k: 2, data: { uri: 's3://someone-elses-lake/blobs.csv' } } });
    outcomes.unreadableData = `${elsewhere?.status}: ${elsewhere?.error}`;

    // A worker that failed its retries: Lambda hands the event to workerFailed, which fails the job.
    await p.start({ jobId: 'iam-failing', spec: { algorithm: 'kmeans', k: 2, workers: 2, data: { uri: `s3://${bucket}/datasets/blobs.csv` } } });
    const [lost] = base.sns.take();
    await p.workerFailed(asyncFailureEvent(snsEvent(lost!), 'Task timed out after 900.00 seconds'));
    outcomes.workerFailed = await statusOf('iam-failing');

    // The recovery sweep, run as if 20 minutes had passed: a round whose tasks were lost (on each
    // data plane), a round whose completion was lost, and a start that died.
    const sweep = createRecoverHandler(() => sweepWiring, () => Date.now() + 20 * MINUTE);
    await p.start({ jobId: 'iam-lost-tasks', spec: { algorithm: 'kmeans', k: 2, workers: 2, maxRounds: 3, tol: 0, data: { uri: `s3://${bucket}/datasets/blobs.csv` } } });
    await p.start({ jobId: 'iam-lost-tasks-s3', spec: { algorithm: 'kmeans', k: 2, workers: 2, maxRounds: 3, tol: 0, backend: 's3', data: { uri: `s3://${bucket}/datasets/blobs.csv` } } });
    // Round 0 (preparation) runs; round 1's tasks, which carry a model the sweep must read back, are lost.
    for (const task of base.sns.take()) await p.worker(snsEvent(task));
    await aggregateSent();
    base.sns.take();
    await p.start({ jobId: 'iam-lost-completion', spec: { algorithm: 'kmeans', k: 2, workers: 2, maxRounds: 2, data: { uri: `s3://${bucket}/datasets/blobs.csv` } } });
    for (const task of base.sns.take()) await p.worker(snsEvent(task));
    // The completion is lost: taken off the queue (or Lambda's event queue) unseen by the aggregator (not a call of any function).
    const lostCompletions = await base.sqs.send(new ReceiveMessageCommand({ QueueUrl: emulators.queueUrl, MaxNumberOfMessages: 10 }));
    for (const m of lostCompletions.Messages ?? []) await base.sqs.send(new DeleteMessageCommand({ QueueUrl: emulators.queueUrl, ReceiptHandle: m.ReceiptHandle! }));
    base.lambda?.take();
    await base.wiring.store.createJob({ ...(await base.wiring.store.getJob('iam-failing'))!, jobId: 'iam-died-starting', status: 'STARTING', error: undefined });
    // A predict job one of whose two tasks is lost: the sweep re-publishes it to the predict topic.
    await p.start({ jobId: 'iam-predict-lost', spec: { kind: 'predict', model: { name: 'blobs' }, data: { uri: `s3://${bucket}/datasets/blobs.csv` }, out: `s3://${bucket}/predictions/blobs/`, workers: 2 } });
    const [firstPredict] = base.sns.take();
    await p.predictWorker(snsEvent(firstPredict!));
    const swept = await asFunction('recover', () => sweep());
    outcomes.sweep = swept.map((r) => `${r.jobId}:${r.action}`).sort().join(' ');
    await deliverAll(p, emulators.queueUrl);
    for (const jobId of ['iam-lost-tasks', 'iam-lost-tasks-s3', 'iam-lost-completion', 'iam-predict-lost']) outcomes[jobId] = await statusOf(jobId);

    // A stray partial (a task carrying another model: forged, or stale from an earlier round) that
    // lands first: the aggregator discards it and publishes its shard again.
    await p.start({ jobId: 'iam-stray', spec: { algorithm: 'kmeans', k: 2, workers: 2, maxRounds: 2, tol: 0, data: { uri: `s3://${bucket}/datasets/blobs.csv` } } });
    for (const task of base.sns.take()) await p.worker(snsEvent(task));
    await aggregateSent();
    const roundOne = base.sns.take();
    await p.worker(snsEvent(forged(roundOne[0]!)));
    for (const task of roundOne) await p.worker(snsEvent(task));
    await deliverAll(p, emulators.queueUrl);
    outcomes.strayDiscarded = `${await statusOf('iam-stray')}, ${await modelAt('models/blobs/iam-stray.json')}`;

    // Lingering workers, delivered one invocation at a time: each waits out its 50 ms and releases
    // its claim (on S3 by deleting its marker) before the next shard arrives; the filling arrival
    // aggregates the round inline, publishes the released shards and, at the end, writes the model.
    for (const [jobId, backend] of [['iam-linger', 'dynamodb'], ['iam-linger-s3', 's3']] as const) {
      await p.start({ jobId, spec: { algorithm: 'kmeans', k: 2, workers: 2, maxRounds: 3, tol: 0, sync: 'linger', lingerMs: 50, backend, data: { uri: `s3://${bucket}/datasets/blobs.csv` } } });
      for (const task of base.sns.take()) await p.worker(snsEvent(task));
      // On DynamoDB, a stray lands first in round 1: the inline aggregation discards it.
      const next = base.sns.take();
      if (backend === 'dynamodb') await p.worker(snsEvent(forged(next[0]!)));
      for (const task of next) await p.worker(snsEvent(task));
      await deliverAll(p, emulators.queueUrl);
      outcomes[jobId] = `${await statusOf(jobId)}, ${await modelAt(`models/blobs/${jobId}.json`)}`;
    }

    // The backup checks every aggregation sent, delivered when due (SQS counts whole seconds of
    // delay) by the event source mapping: the aggregator receives, handles and deletes them. Done
    // once every check sent (handling one may send the next) has been received: no last empty poll.
    const sent = () => recordedCalls().slice(first).filter((c) => c.service === 'SQS' && c.command === 'SendMessage' && c.input.QueueUrl === backupQueueUrl).length;
    let checks = 0;
    for (let polls = 0; polls < 30 && !(checks > 0 && checks >= sent()); polls++) {
      const got = await p.sqs.send(new ReceiveMessageCommand({ QueueUrl: backupQueueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 1, AttributeNames: ['All'], MessageSystemAttributeNames: ['All'] }));
      const messages = got.Messages ?? [];
      if (messages.length === 0 && checks > 0) break;
      if (messages.length === 0) continue;
      await p.aggregator(sqsEvent(messages, 'arn:aws:sqs:us-east-1:123456789012:backup-checks'));
      for (const m of messages) await p.sqs.send(new DeleteMessageCommand({ QueueUrl: backupQueueUrl, ReceiptHandle: m.ReceiptHandle! }));
      checks += messages.length;
    }
    outcomes.backupChecks = checks > 0 ? 'delivered' : 'none';

    return {
      calls: recordedCalls().slice(first),
      emulated: { table: emulators.table, bucket, queueUrl: emulators.queueUrl, dlqUrl: emulators.dlqUrl, backupQueueUrl, topicArn: emulators.env.BSPML_TOPIC_ARN!, predictTopicArn: emulators.env.BSPML_PREDICT_TOPIC_ARN! },
      outcomes,
    };
  } finally {
    await sweepWiring.close();
    await base.close();
    await emulators.close();
  }
}

/**
 * The pipeline with each handler run as its function, and the queue calls of the driver (which
 * plays the SQS event source mapping) run as the aggregator's: Lambda makes them with its role.
 */
function asFunctions(p: Pipeline): Pipeline {
  const sqs = new Proxy(p.sqs, {
    get: (target, property, receiver) =>
      property === 'send'
        ? (command: Parameters<SQSClient['send']>[0]) =>
            // The driver's ChangeMessageVisibility (a failed record back at once) is a test shortcut:
            // the event source mapping leaves a failed record to its visibility timeout.
            command instanceof ChangeMessageVisibilityCommand ? target.send(command) : asFunction('aggregator', () => target.send(command))
        : Reflect.get(target, property, receiver),
  });
  return {
    ...p,
    sqs,
    start: (event) => asFunction('start', () => p.start(event)),
    worker: (event) => asFunction('worker', () => p.worker(event)),
    predictWorker: (event) => asFunction('predictWorker', () => p.predictWorker(event)),
    aggregator: (event) => asFunction('aggregator', () => p.aggregator(event)),
    workerFailed: (event) => asFunction('workerFailed', () => p.workerFailed(event)),
  };
}

/** A copy of a published task carrying another model (each value + 0.5): its partial is a stray. */
function forged(message: PublishedMessage): PublishedMessage {
  const task = JSON.parse(message.message) as RoundTask;
  const model = modelToBase64(decodeModel(new Uint8Array(Buffer.from(task.model!, 'base64'))).map((v) => v + 0.5));
  return { ...message, id: `${message.id}-forged`, message: JSON.stringify({ ...task, model }) };
}

