import { availableParallelism } from 'node:os';
import { readFile } from 'node:fs/promises';
import { z } from 'zod';
import { BspmlError } from '../errors.js';

/**
 * Every parameter of the simulator, with where it comes from and when it was taken, as
 * src/costs/prices.ts does for prices. `assumption: true` marks a figure that is not read off a public
 * page (a typical value, to be replaced by your own measurements: `--profile FILE` overrides any
 * of them). Latencies are distributions: a log-normal given by its median and 99th percentile.
 */
export interface Param {
  value: number;
  unit: string;
  source: string;
  asOf: string;
  assumption: boolean;
}

/** A parameter that is one of a few named behaviours (e.g. how Lambda routes a task to an environment). */
export interface Choice<T extends string = string> {
  value: T;
  options: readonly T[];
  source: string;
  asOf: string;
  assumption: boolean;
}

/** How Lambda picks a warm environment for an invocation: any idle one, or one holding the task's shard. */
export type Routing = 'random' | 'affine';
export const ROUTINGS: readonly Routing[] = ['random', 'affine'];

export interface Dist {
  median: number;
  p99: number;
  unit: 'ms';
  source: string;
  asOf: string;
  assumption: boolean;
}

export interface Profile {
  name: string;
  lambda: {
    mbPerVcpu: Param;
    maxVcpus: Param;
    /** INIT of a new environment (runtime, module load, SDK clients). */
    coldStartMs: Dist;
    /** Starting one inner worker thread (and its WebAssembly instance) in a new environment. */
    threadStartMs: Param;
    /** New environments a function may add per burst window, and the window. */
    burstEnvironments: Param;
    burstWindowS: Param;
    accountConcurrency: Param;
    initBilled: Param;
    aggregatorMemoryMb: Param;
    /** Speed of one vCPU relative to one core of the machine that ran the calibration. */
    cpuSpeed: Param;
    /**
     * How much slower than the median environment the 99th percentile one is (≥ 1): each new
     * environment draws its speed once from a log-normal and keeps it for its life.
     */
    cpuSlowdownP99: Param;
    /** Per-connection bandwidth between a function and a store or S3. */
    networkMBps: Param;
    /** A cap on one function environment's total network throughput, whatever its connections. */
    functionNetworkMBps: Param;
    /**
     * Which warm environment an invocation lands on: `random` (any idle one: Lambda documents no
     * affinity) or `affine` (the one that already holds the task's shard, when it is idle).
     */
    routing: Choice<Routing>;
    /** CPU time of the aggregator's merge per byte of partials (algorithm.merge, one vCPU). */
    mergeNsPerByte: Param;
    /** 1: all environments share this machine's cores (the local runtime). */
    sharedHost: Param;
    hostCores: Param;
  };
  events: {
    snsToLambdaMs: Dist;
    sqsFifoToLambdaMs: Dist;
    /** A direct Lambda Invoke of the aggregator by the filling arrival (the `invoke` trigger). */
    invokeToLambdaMs: Dist;
  };
  dynamodb: {
    requestMs: Dist;
    partitionWriteUnitsPerS: Param;
    partitionReadUnitsPerS: Param;
    retryBaseMs: Param;
    throttlingRetryBaseMs: Param;
    retryMaxMs: Param;
  };
  s3: { firstByteMs: Dist; prefixPutsPerS: Param; prefixGetsPerS: Param };
  redis: { requestMs: Dist; opsPerS: Param };
  memory: { requestMs: Dist };
  /** Per-round overhead of a worker's thread pool (model to threads, partials back), per thread. */
  threadRoundTripMs: Param;
}

const TODAY = '2026-11-30';
const LAMBDA_MEMORY = 'docs.aws.amazon.com/lambda/latest/dg/configuration-memory.html: "At 1,769 MB, a function has the equivalent of one vCPU"; up to 10,240 MB and 6 vCPUs';
const LAMBDA_SCALING = 'docs.aws.amazon.com/lambda/latest/dg/scaling-behavior.html: each function scales by 1,000 execution environments every 10 seconds; default account concurrency 1,000';
const INIT_BILLING = 'aws.amazon.com/blogs/compute/aws-lambda-standardizes-billing-for-init-phase/ (INIT billed for on-demand functions from 2025-08-01)';
const DDB_PARTITIONS = 'docs.aws.amazon.com/amazondynamodb/latest/developerguide/bp-partition-key-design.html: a partition serves up to 3,000 RCU and 1,000 WCU per second';
const SDK_RETRY = '@aws-sdk v3 as pinned (@smithy/core retries-2026-config.js, DefaultRetryBackoffStrategy): delay = random × min(base × 2^attempt, 20 s)';
const S3_PERF = 'docs.aws.amazon.com/AmazonS3/latest/userguide/optimizing-performance.html: 3,500 PUT/COPY/POST/DELETE and 5,500 GET/HEAD per second per prefix; small-object latency roughly 100–200 ms at the tail';
const S3_CONN = 'docs.aws.amazon.com/whitepapers/latest/s3-optimizing-performance-best-practices/: about 85–90 MB/s per connection';

const CPU_VARIANCE =
  'assumption informed by Ginzburg & Freedman, "Serverless Isn\'t Server-Less: Measuring and Exploiting Resource Variability on Cloud FaaS Platforms" (WoSC \'20: AWS Lambda performance varies significantly between the servers functions land on, stably enough that steering work to faster ones saved up to 13 %) and "Minos: Exploiting Cloud Performance Variation with Function-as-a-Service Instance Selection" (arXiv 2505.12928: up to 13 % faster by dropping slow instances)';
const MESSAGING_LATENCY = 'bitesizedserverless.com/bite/serverless-messaging-latency-compared/ (1,024 messages per service, eu-west-1, one message at a time, not a fan-out of hundreds)';
const ENV_REUSE =
  'docs.aws.amazon.com/lambda/latest/operatorguide/execution-environments.html: "the Lambda service retains the execution environment for a non-deterministic period of time. During this time, if another request arrives for the same function, the service may reuse the environment" (no affinity between a request and an environment is documented; docs.aws.amazon.com/lambda/latest/dg/lambda-runtime-environment.html likewise)';
const FUNCTION_NETWORK =
  'assumption: AWS documents no network bandwidth for a Lambda function; public measurements say it grows with memory and varies (medium.com/dpg-media engineering, "The Effect of Memory Configuration on AWS Lambda\'s Network Throughput", 2022; cribl.io/blog/aws-lambda-physics, 2018). 300 MB/s lets about 3.5 connections of 85 MB/s run at full speed';
const p = (value: number, unit: string, source: string, assumption = false, asOf = TODAY): Param => ({ value, unit, source, asOf, assumption });
const d = (median: number, p99: number, source: string, assumption = true, asOf = TODAY): Dist => ({ median, p99, unit: 'ms', source, asOf, assumption });

/** AWS, us-east-1, a Node 20 function bundle of a few MB. */
export const AWS_PROFILE: Profile = {
  name: 'aws',
  lambda: {
    mbPerVcpu: p(1769, 'MB per vCPU', LAMBDA_MEMORY),
    maxVcpus: p(6, 'vCPUs', LAMBDA_MEMORY),
    coldStartMs: d(350, 1200, 'assumption: Node.js 20 INIT with a bundled AWS SDK; AWS says cold starts range from under 100 ms to over 1 s (docs: lambda-runtime-environment)'),
    threadStartMs: p(25, 'ms per thread', 'assumption: worker_threads start plus WebAssembly instantiation, as measured locally (bench:kernels first call)', true),
    burstEnvironments: p(1000, 'environments', LAMBDA_SCALING),
    burstWindowS: p(10, 's', LAMBDA_SCALING),
    accountConcurrency: p(1000, 'concurrent executions', LAMBDA_SCALING),
    initBilled: p(1, 'boolean', INIT_BILLING),
    aggregatorMemoryMb: p(1769, 'MB', 'this project: serverless.yml gives the aggregator one vCPU', true),
    cpuSpeed: p(1, '× one core of the calibrating machine', 'assumption: a Lambda vCPU is as fast as one core of the machine that ran the calibration', true),
    cpuSlowdownP99: p(1.25, '× the median environment', CPU_VARIANCE, true),
    networkMBps: p(85, 'MB/s per connection', S3_CONN, true),
    functionNetworkMBps: p(300, 'MB/s per function environment', FUNCTION_NETWORK, true),
    routing: { value: 'random', options: ROUTINGS, source: ENV_REUSE, asOf: '2026-12-06', assumption: false },
    mergeNsPerByte: p(0.22, 'CPU ns per byte of partials', 'this project: calibrateMerge (src/sim/calibrate.ts) timing algorithm.merge on its 2-core development machine, 2026-12-06: 0.20–0.24 ns per byte for k-means d = 32, k = 16 and logistic regression d = 300 (gd, newton); `bspml simulate` replaces it with a calibration on the machine it runs on', false, '2026-12-06'),
    sharedHost: p(0, 'boolean', 'each Lambda environment has its own vCPUs'),
    hostCores: p(0, 'cores', 'unused on AWS'),
  },
  events: {
    snsToLambdaMs: d(73, 225, `${MESSAGING_LATENCY}: SNS Standard → Lambda (asynchronous invoke) p50 73 ms, p99 225 ms`, false, '2022-09-05'),
    sqsFifoToLambdaMs: d(28.1, 645, `${MESSAGING_LATENCY}: SQS FIFO → Lambda (event source mapping) p50 28.1 ms, p99 645 ms`, false, '2022-09-05'),
    // An asynchronous Invoke (InvocationType Event, src/aws/LambdaCompletion.ts) passes through
    // Lambda's internal queue as SNS's delivery does; SNS's measured figure, which includes that
    // queue and SNS's own hop besides, stands in for it: an assumption, on the slow side.
    invokeToLambdaMs: d(73, 225, `assumption: no public measurement of a direct asynchronous Invoke; the ${MESSAGING_LATENCY} SNS → Lambda figure (p50 73 ms, p99 225 ms), which includes Lambda's asynchronous queue, stands in for it`, true, '2026-12-06'),
  },
  dynamodb: {
    requestMs: d(5, 25, 'assumption from docs.aws.amazon.com/amazondynamodb/latest/developerguide/Introduction.html ("single-digit millisecond performance")'),
    partitionWriteUnitsPerS: p(1000, 'WCU/s', DDB_PARTITIONS),
    partitionReadUnitsPerS: p(3000, 'RCU/s', DDB_PARTITIONS),
    retryBaseMs: p(50, 'ms', SDK_RETRY),
    throttlingRetryBaseMs: p(1000, 'ms', SDK_RETRY),
    retryMaxMs: p(20000, 'ms', SDK_RETRY),
  },
  s3: {
    firstByteMs: d(30, 200, `assumption within ${S3_PERF}`),
    prefixPutsPerS: p(3500, 'requests/s', S3_PERF),
    prefixGetsPerS: p(5500, 'requests/s', S3_PERF),
  },
  redis: {
    requestMs: d(0.5, 2, 'assumption: ElastiCache in the same VPC and AZ, sub-millisecond round trips'),
    opsPerS: p(100_000, 'ops/s', 'assumption: one small Redis node, one engine thread, small commands', true),
  },
  memory: { requestMs: d(0.01, 0.05, 'in-process (no AWS equivalent)') },
  threadRoundTripMs: p(0.05, 'ms per thread per round', 'this project: README "Speed" (worker ↔ threads: 8 KB per round for k = 16, d = 16)', true),
};

/**
 * This machine's local runtime (`bspml train`): in-process events, the memory store, containers
 * that share this machine's cores, no cold starts beyond starting threads.
 */
export function localProfile(): Profile {
  const cores = availableParallelism();
  const local = 'this project: src/runtime/LocalRuntime.ts (in-process channels through setImmediate, memory store)';
  return {
    ...AWS_PROFILE,
    name: 'local',
    lambda: {
      ...AWS_PROFILE.lambda,
      coldStartMs: d(0.01, 0.02, local, false),
      threadStartMs: p(15, 'ms per thread', 'assumption: worker_threads start on this machine', true),
      burstEnvironments: p(1e9, 'environments', local),
      accountConcurrency: p(32, 'containers', 'LocalRuntime default concurrency'),
      initBilled: p(0, 'boolean', 'nothing is billed locally'),
      cpuSpeed: p(1, '× one core', 'the calibration ran here'),
      cpuSlowdownP99: p(1, '× the median environment', 'one machine: every container runs on the same cores'),
      networkMBps: p(2000, 'MB/s', 'assumption: memory copies in process', true),
      functionNetworkMBps: p(2000, 'MB/s', 'assumption: memory copies in process', true),
      routing: { value: 'affine', options: ROUTINGS, source: 'this project: src/runtime/LocalRuntime.ts keeps each shard in the container that loaded it', asOf: '2026-12-06', assumption: false },
      sharedHost: p(1, 'boolean', local),
      hostCores: p(cores, 'cores', 'os.availableParallelism() on this machine'),
      maxVcpus: p(cores, 'cores', 'os.availableParallelism() on this machine'),
    },
    events: { snsToLambdaMs: d(0.02, 0.1, local, false), sqsFifoToLambdaMs: d(0.02, 0.1, local, false), invokeToLambdaMs: d(0.02, 0.1, local, false) },
    memory: { requestMs: d(0.005, 0.03, 'assumption: a MemoryStore call with structuredClone of small payloads', true) },
    threadRoundTripMs: p(0.1, 'ms per thread per round', 'this project: README "Speed": local round overhead excluding compute, median 0.40 ms at W = 8', true),
  };
}

const override = z.record(z.string(), z.unknown());

/**
 * `aws`, `local`, or a JSON file: `{"base": "aws"|"local", "lambda": {"coldStartMs": {"median": 200}}, …}`,
 * merged over its base field by field (a number sets `value`; an object merges).
 */
export async function loadProfile(name: string): Promise<Profile> {
  if (name === 'aws') return structuredClone(AWS_PROFILE);
  if (name === 'local') return localProfile();
  let raw: unknown;
  try {
    raw = JSON.parse(await readFile(name, 'utf8'));
  } catch (error) {
    throw new BspmlError('E_ARGUMENT', `--profile ${name}: not aws, local or a readable JSON file (${error instanceof Error ? error.message : String(error)})`);
  }
  const parsed = override.safeParse(raw);
  if (!parsed.success) throw new BspmlError('E_ARGUMENT', `--profile ${name}: expected a JSON object`);
  const base = parsed.data.base === 'local' ? localProfile() : structuredClone(AWS_PROFILE);
  merge(base as unknown as Record<string, unknown>, parsed.data, name, '');
  checkValues(base as unknown as Record<string, unknown>, name, '');
  base.name = name;
  return base;
}

/**
 * Every figure after the overrides: a Param's value finite and ≥ 0, a distribution's median > 0 and
 * its p99 at least the median (a log-normal needs both). A negative latency would otherwise send
 * the virtual clock backwards until the simulator gives up (issue 20 defect 11).
 */
function checkValues(node: Record<string, unknown>, file: string, path: string): void {
  const bad = (here: string, rule: string, value: unknown) => new BspmlError('E_ARGUMENT', `--profile ${file}: ${here} must be ${rule} (got ${String(value)})`);
  if ('median' in node && 'p99' in node) {
    const { median, p99 } = node as unknown as Dist;
    if (!(Number.isFinite(median) && median > 0)) throw bad(`${path}.median`, 'a number > 0', median);
    if (!(Number.isFinite(p99) && p99 >= median)) throw bad(`${path}.p99`, `a number ≥ its median (${median})`, p99);
    return;
  }
  if ('value' in node && typeof node.value === 'number') {
    if (!(Number.isFinite(node.value) && node.value >= 0)) throw bad(`${path}`, 'a number ≥ 0', node.value);
    return;
  }
  for (const [key, child] of Object.entries(node)) {
    if (child && typeof child === 'object') checkValues(child as Record<string, unknown>, file, `${path}${path ? '.' : ''}${key}`);
  }
}

function merge(target: Record<string, unknown>, patch: Record<string, unknown>, file: string, path: string): void {
  for (const [key, value] of Object.entries(patch)) {
    if (path === '' && (key === 'base' || key === 'name')) continue;
    const here = `${path}${path ? '.' : ''}${key}`;
    if (!(key in target)) throw new BspmlError('E_ARGUMENT', `--profile ${file}: unknown parameter ${here}`);
    const current = target[key];
    if (typeof value === 'number' && current && typeof current === 'object' && 'median' in current) {
      throw new BspmlError('E_ARGUMENT', `--profile ${file}: ${here} is a distribution: give {"median": …, "p99": …} in ${(current as Dist).unit}, not a number`);
    } else if (typeof value === 'number' && current && typeof current === 'object' && 'value' in current && typeof (current as Param).value === 'number') {
      (current as Param).value = value;
      (current as Param).source = `${file} (override)`;
    } else if (typeof value === 'string' && current && typeof current === 'object' && 'options' in current) {
      const choice = current as Choice;
      if (!choice.options.includes(value)) throw new BspmlError('E_ARGUMENT', `--profile ${file}: ${here} must be one of ${choice.options.join(', ')}, got ${value}`);
      choice.value = value;
      choice.source = `${file} (override)`;
    } else if (value && typeof value === 'object' && current && typeof current === 'object') {
      merge(current as Record<string, unknown>, value as Record<string, unknown>, file, here);
      if ('source' in current && !('source' in value)) (current as Param).source = `${file} (override)`;
    } else if (typeof value === typeof current) {
      target[key] = value;
    } else {
      throw new BspmlError('E_ARGUMENT', `--profile ${file}: ${here} must be ${typeof current === 'object' ? 'an object or a number' : `a ${typeof current}`}`);
    }
  }
}

/** vCPU-seconds per second a function of `memoryMb` gets (10,240 MB: about 5.8). */
export function vcpusFor(profile: Profile, memoryMb: number): number {
  if (profile.lambda.sharedHost.value) return profile.lambda.hostCores.value;
  return Math.min(profile.lambda.maxVcpus.value, memoryMb / profile.lambda.mbPerVcpu.value);
}
