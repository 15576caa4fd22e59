import { z } from 'zod';
import { DEFAULT_MAX_WORKER_ROUNDS } from '../protocol/costGuard.js';
import { BspmlError } from '../errors.js';
import { parseDataSources } from './dataSources.js';

/** Memory that buys one vCPU on Lambda; 10,240 MB gets 6. */
export const MB_PER_VCPU = 1769;
export const MAX_LAMBDA_VCPUS = 6;

const optionalUrl = z.string().url().optional();
const positiveInt = z.coerce.number().int().min(1);

const envSchema = z.object({
  BSPML_TABLE: z.string().min(1, 'must name the DynamoDB state table'),
  BSPML_BUCKET: z.string().min(1).optional(),
  BSPML_TOPIC_ARN: z.string().min(1).optional(),
  /** The topic of predict jobs' tasks, which only the predict workers take (docs/serving.md). */
  BSPML_PREDICT_TOPIC_ARN: z.string().min(1).optional(),
  BSPML_QUEUE_URL: z.string().url().optional(),
  BSPML_DATA_PREFIX: z.string().default('datasets/'),
  /** Where jobs may read data: comma-separated s3:// prefixes (serverless.yml, --param dataBuckets); absent: not checked. */
  BSPML_DATA_SOURCES: z.string().optional(),
  BSPML_MODEL_PREFIX: z.string().default('models/'),
  /** Where predict specs are uploaded (NAME.job.json starts a predict job) and predict jobs write their parts. */
  BSPML_PREDICTIONS_PREFIX: z.string().min(1).default('predictions/'),
  BSPML_THREADS: positiveInt.max(64).optional(),
  /** Job items expire this long after their last write (DynamoDB TTL on `expiresAt`). */
  BSPML_TTL_DAYS: z.coerce.number().positive().default(7),
  /** The spec of an upload that has no `NAME.job.json` beside it, as JSON. */
  BSPML_DEFAULT_SPEC: z.string().optional(),
  /** The SQS redrive policy's maxReceiveCount: the aggregator fails the job on the last receive. */
  BSPML_MAX_RECEIVES: positiveInt.default(3),
  /** The cost guard's stack-wide cap on one job's worker invocations (workers × rounds). */
  BSPML_MAX_WORKER_ROUNDS: positiveInt.default(DEFAULT_MAX_WORKER_ROUNDS),
  /** A RUNNING or STARTING job whose record has not changed for this long gets a recovery sweep. */
  BSPML_STALE_MINUTES: z.coerce.number().positive().default(15),
  /** The start function's timeout: a job STARTING for longer had its start die (a duplicate event may then fail it). */
  BSPML_START_TIMEOUT_SECONDS: z.coerce.number().positive().default(300),
  /** Key prefix of S3-backed jobs' data plane in BSPML_BUCKET (IAM grants the functions exactly this prefix). */
  BSPML_STATE_PREFIX: z.string().min(1).default('state/'),
  /** redis:// or rediss:// endpoint for Redis-backed jobs; empty or absent: this stack refuses them. */
  BSPML_REDIS_URL: z
    .string()
    .transform((v) => v.trim() || undefined)
    .pipe(z.string().regex(/^rediss?:\/\/\S+$/, 'must be a redis:// or rediss:// URL').optional())
    .optional(),
  /** How the filling arrival reaches the aggregator: the SQS FIFO queue, or a direct asynchronous Invoke (workers only). */
  BSPML_AGGREGATOR_TRIGGER: z.enum(['sqs', 'invoke']).default('sqs'),
  /** The aggregator function's name or ARN, for the invoke trigger. */
  BSPML_AGGREGATOR_FUNCTION: z.string().min(1).optional(),
  /** Backup tasks for stragglers (src/protocol/stragglers.ts): `on` sends each round's delayed check to BSPML_BACKUP_QUEUE_URL. */
  BSPML_BACKUP_TASKS: z.enum(['on', 'off']).default('off'),
  BSPML_BACKUP_QUEUE_URL: z
    .string()
    .transform((v) => v.trim() || undefined)
    .pipe(z.string().url().optional())
    .optional(),
  AWS_REGION: z.string().min(1).optional(),
  AWS_LAMBDA_FUNCTION_MEMORY_SIZE: positiveInt.optional(),
  // Emulator endpoints, for tests and local runs; absent on AWS.
  BSPML_DYNAMODB_ENDPOINT: optionalUrl,
  BSPML_S3_ENDPOINT: optionalUrl,
  BSPML_SQS_ENDPOINT: optionalUrl,
  BSPML_SNS_ENDPOINT: optionalUrl,
  BSPML_LAMBDA_ENDPOINT: optionalUrl,
});

export interface AwsConfig {
  table: string;
  bucket?: string;
  topicArn?: string;
  predictTopicArn?: string;
  queueUrl?: string;
  dataPrefix: string;
  /** s3:// prefixes jobs may read; empty: anywhere (the roles decide). */
  dataSources: string[];
  modelPrefix: string;
  predictionsPrefix: string;
  threads: number;
  ttlSeconds: number;
  defaultSpec?: unknown;
  maxReceives: number;
  maxWorkerRounds: number;
  staleMs: number;
  startTimeoutMs: number;
  statePrefix: string;
  redisUrl?: string;
  aggregatorTrigger: 'sqs' | 'invoke';
  aggregatorFunction?: string;
  /** The queue of backup checks when backup tasks are on; undefined: off. */
  backupQueueUrl?: string;
  region?: string;
  endpoints: { dynamodb?: string; s3?: string; sqs?: string; sns?: string; lambda?: string };
}

export class ConfigError extends BspmlError {
  constructor(message: string) {
    super('E_CONFIG', message);
  }
}

/** Reads and validates the handlers' environment; throws ConfigError naming the first bad variable. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): AwsConfig {
  const parsed = envSchema.safeParse(env);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new ConfigError(`environment variable ${issue.path.join('.')}: ${issue.message}`);
  }
  const e = parsed.data;
  let defaultSpec: unknown;
  if (e.BSPML_DEFAULT_SPEC !== undefined) {
    try {
      defaultSpec = JSON.parse(e.BSPML_DEFAULT_SPEC);
    } catch (error) {
      throw new ConfigError(`environment variable BSPML_DEFAULT_SPEC: not JSON: ${(error as Error).message}`);
    }
  }
  return {
    table: e.BSPML_TABLE,
    bucket: e.BSPML_BUCKET,
    topicArn: e.BSPML_TOPIC_ARN,
    predictTopicArn: e.BSPML_PREDICT_TOPIC_ARN,
    queueUrl: e.BSPML_QUEUE_URL,
    dataPrefix: e.BSPML_DATA_PREFIX,
    dataSources: parseDataSources(e.BSPML_DATA_SOURCES),
    modelPrefix: e.BSPML_MODEL_PREFIX,
    predictionsPrefix: e.BSPML_PREDICTIONS_PREFIX,
    threads: e.BSPML_THREADS ?? threadsForMemory(e.AWS_LAMBDA_FUNCTION_MEMORY_SIZE),
    ttlSeconds: Math.round(e.BSPML_TTL_DAYS * 86_400),
    defaultSpec,
    maxReceives: e.BSPML_MAX_RECEIVES,
    maxWorkerRounds: e.BSPML_MAX_WORKER_ROUNDS,
    staleMs: e.BSPML_STALE_MINUTES * 60_000,
    startTimeoutMs: e.BSPML_START_TIMEOUT_SECONDS * 1000,
    statePrefix: e.BSPML_STATE_PREFIX,
    redisUrl: e.BSPML_REDIS_URL,
    aggregatorTrigger: e.BSPML_AGGREGATOR_TRIGGER,
    aggregatorFunction: e.BSPML_AGGREGATOR_FUNCTION,
    backupQueueUrl: e.BSPML_BACKUP_TASKS === 'on' ? required(e.BSPML_BACKUP_QUEUE_URL, 'BSPML_BACKUP_QUEUE_URL') : undefined,
    region: e.AWS_REGION,
    endpoints: { dynamodb: e.BSPML_DYNAMODB_ENDPOINT, s3: e.BSPML_S3_ENDPOINT, sqs: e.BSPML_SQS_ENDPOINT, sns: e.BSPML_SNS_ENDPOINT, lambda: e.BSPML_LAMBDA_ENDPOINT },
  };
}

/**
 * Inner threads for a function of `memoryMb`: Lambda allots vCPUs in proportion to memory, and a
 * thread per vCPU keeps every one busy without oversubscribing. Outside Lambda (no memory size), 1.
 */
export function threadsForMemory(memoryMb: number | undefined): number {
  if (memoryMb === undefined) return 1;
  return Math.max(1, Math.min(MAX_LAMBDA_VCPUS, Math.ceil(memoryMb / MB_PER_VCPU)));
}

/** A setting one handler needs and another does not; absent, a readable error instead of undefined. */
export function required<T>(value: T | undefined, name: string): T {
  if (value === undefined) throw new ConfigError(`environment variable ${name} is not set`);
  return value;
}
