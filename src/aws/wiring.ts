import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { S3Client } from '@aws-sdk/client-s3';
import { SNSClient } from '@aws-sdk/client-sns';
import { SQSClient } from '@aws-sdk/client-sqs';
import { WorkerContainer } from '../inner/WorkerContainer.js';
import type { Completion } from '../ports/Completion.js';
import type { Fanout } from '../ports/Fanout.js';
import type { StateStore } from '../ports/StateStore.js';
import type { ProtocolDeps } from '../protocol/deps.js';
import type { StackBackend } from '../domain/spec.js';
import { DynamoDbStore } from '../stores/DynamoDbStore.js';
import { RoutedStore, type DataPlane } from '../stores/RoutedStore.js';
import { S3Store } from '../stores/S3Store.js';
import { loadConfig, required, type AwsConfig } from './config.js';
import { createS3Client } from './s3.js';
import { S3DatasetSource } from './S3DatasetSource.js';
import { SnsFanout, type SnsLike } from './SnsFanout.js';
import { awsClientTimeouts, redisTimeouts } from '../util/clients.js';
import { SqsCompletion, type SqsLike } from './SqsCompletion.js';
import { SqsDelayed } from './SqsDelayed.js';
import { S3ModelFiles } from './S3ModelFiles.js';
import { S3PredictMarkers } from './S3PredictMarkers.js';

/**
 * Everything a handler needs, built once per container (module scope outlives an invocation on a
 * warm Lambda). Clients are created from the configuration; tests pass their own for the SNS
 * boundary or emulator endpoints through `BSPML_*_ENDPOINT`.
 */
export interface AwsWiring {
  config: AwsConfig;
  deps: ProtocolDeps;
  /** Job records and round metrics in the state table; each job's data plane where its spec's `backend` says. */
  store: RoutedStore;
  /** The state table's client, for the recovery sweep's scan (the StateStore port has no listing). */
  dynamodb: DynamoDBClient;
  datasets: S3DatasetSource;
  s3: S3Client;
  /** The warm container's thread pool and shard cache, created on first use (workers only). */
  container(): WorkerContainer;
  close(): Promise<void>;
}

export interface WiringOverrides {
  sns?: SnsLike;
  sqs?: SqsLike;
  /** The completion channel when not the queue (the worker's invoke trigger: LambdaCompletion.ts's invokeCompletionFor). */
  completion?: (config: AwsConfig) => Completion | undefined;
  s3?: S3Client;
  dynamodb?: DynamoDBClient;
}

export function createWiring(config: AwsConfig, overrides: WiringOverrides = {}): AwsWiring {
  const region = config.region;
  const s3 = overrides.s3 ?? createS3Client({ endpoint: config.endpoints.s3, region });
  const dynamodb = overrides.dynamodb ?? dynamoDbClient(config);
  const table = new DynamoDbStore({ client: dynamodb, tableName: config.table, ttlSeconds: config.ttlSeconds });
  const store = new RoutedStore({ control: table, planes: dataPlanes(config, table, s3) });
  const datasets = new S3DatasetSource(s3);
  // The topic and queue are resolved when first used: not every function is given both.
  let sns: SnsLike | undefined;
  const snsClient = () => (sns ??= overrides.sns ?? new SNSClient({ ...awsClientTimeouts(), region, endpoint: config.endpoints.sns }));
  let fanout: SnsFanout | undefined;
  let predictFanout: SnsFanout | undefined;
  let completion: Completion | undefined;
  const lazyFanout: Fanout = {
    // Predict jobs' tasks go to their own topic, which only the predict workers take.
    publish: async (tasks) => {
      const predict = tasks.filter((t) => t.phase === 'predict');
      const rounds = tasks.filter((t) => t.phase !== 'predict');
      if (rounds.length > 0) await (fanout ??= new SnsFanout(snsClient(), required(config.topicArn, 'BSPML_TOPIC_ARN'))).publish(rounds);
      if (predict.length > 0) await (predictFanout ??= new SnsFanout(snsClient(), required(config.predictTopicArn, 'BSPML_PREDICT_TOPIC_ARN'))).publish(predict);
    },
  };
  const lazyCompletion: Completion = {
    send: (message) => {
      // The invoke trigger is the workers' (handlers/worker.ts); other senders (the sweep) use the queue.
      completion ??= overrides.completion?.(config) ?? new SqsCompletion(overrides.sqs ?? sqsClient(config), required(config.queueUrl, 'BSPML_QUEUE_URL'));
      return completion.send(message);
    },
  };
  // Backup checks, when the stack turned them on: sent by the aggregation that publishes a round.
  let delayed: SqsDelayed | undefined;
  const backupQueueUrl = config.backupQueueUrl;
  const lazyDelayed = backupQueueUrl
    ? { send: (check: Parameters<SqsDelayed['send']>[0], delayMs: number) => (delayed ??= new SqsDelayed(overrides.sqs ?? sqsClient(config), backupQueueUrl)).send(check, delayMs) }
    : undefined;
  // A finished job's model file, written by the aggregation before the job is marked SUCCEEDED.
  const modelFiles = new S3ModelFiles(s3, () => required(config.bucket, 'BSPML_BUCKET'), { dataPrefix: config.dataPrefix, modelPrefix: config.modelPrefix });
  let container: WorkerContainer | undefined;
  return {
    config,
    deps: { store, datasets, fanout: lazyFanout, completion: lazyCompletion, modelFiles, predictMarkers: new S3PredictMarkers(s3), limits: { maxWorkerRounds: config.maxWorkerRounds }, ...(lazyDelayed ? { delayed: lazyDelayed } : {}) },
    store,
    dynamodb,
    datasets,
    s3,
    container: () => {
      // A thread that died leaves its pool unusable: the next invocation gets a fresh container.
      if (container?.pool.broken) {
        void container.close().catch(() => undefined);
        container = undefined;
      }
      return (container ??= new WorkerContainer(config.threads));
    },
    close: async () => {
      await container?.close();
      await store.close();
    },
  };
}

/**
 * The backends a job's spec may name, as this stack was configured. The Redis client is created
 * (and connects) only when a Redis-backed job first needs it: other jobs never wait on the VPC.
 */
function dataPlanes(config: AwsConfig, table: DynamoDbStore, s3: S3Client): Record<StackBackend, DataPlane> {
  const bucket = config.bucket;
  const redisUrl = config.redisUrl;
  return {
    dynamodb: { open: () => table },
    s3: bucket
      ? { open: () => new S3Store({ client: s3, bucket, prefix: config.statePrefix }) }
      : { unavailable: 'this stack has no bucket (BSPML_BUCKET is not set)' },
    redis: redisUrl
      ? { open: () => openRedis(redisUrl, config.ttlSeconds) }
      : { unavailable: 'this stack has no Redis endpoint; deploy it with BSPML_REDIS_URL set (see "Deploy to AWS" in README.md)' },
  };
}

async function openRedis(url: string, ttlSeconds: number): Promise<StateStore> {
  const [{ Redis }, { RedisStore }] = await Promise.all([import('ioredis'), import('../stores/RedisStore.js')]);
  const client = new Redis(url, redisTimeouts());
  // Errors reach callers through their rejected requests; this only keeps ioredis from logging each one.
  client.on('error', () => {});
  return new RedisStore({ client, ttlSeconds, ownsClient: true });
}

/*
 * Clients are built here rather than with the local helpers in src/stores: those import the
 * DynamoDB emulator, which must not end up in a Lambda bundle. An emulator endpoint ignores
 * credentials, so dummy ones stand in when none are configured.
 */
function dynamoDbClient(config: AwsConfig): DynamoDBClient {
  const local = config.endpoints.dynamodb !== undefined;
  return new DynamoDBClient({
    ...awsClientTimeouts(),
    region: config.region ?? (local ? 'us-east-1' : undefined),
    endpoint: config.endpoints.dynamodb,
    // Adaptive retries rate-limit this client after throttling (a hot partition at large W).
    retryMode: 'adaptive',
    ...(local && !process.env.AWS_ACCESS_KEY_ID ? { credentials: { accessKeyId: 'local', secretAccessKey: 'local' } } : {}),
  });
}

function sqsClient(config: AwsConfig): SQSClient {
  const local = config.endpoints.sqs !== undefined;
  return new SQSClient({
    ...awsClientTimeouts(),
    region: config.region ?? (local ? 'us-east-1' : undefined),
    endpoint: config.endpoints.sqs,
    ...(local && !process.env.AWS_ACCESS_KEY_ID ? { credentials: { accessKeyId: 'local', secretAccessKey: 'local' } } : {}),
  });
}

let fromEnv: AwsWiring | undefined;

/** The wiring of this Lambda container, from its environment; built on the first invocation. */
export function wiringFromEnv(): AwsWiring {
  return (fromEnv ??= createWiring(loadConfig(process.env)));
}
