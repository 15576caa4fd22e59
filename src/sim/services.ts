import { mix32, Rng } from '../util/random.js';
import type { VirtualClock } from './clock.js';
import type { Dist, Profile } from './profile.js';

/**
 * Named random streams (Services.sample): the user's request reaching the start function or the
 * driver; a worker task's delivery (the fan-out's SNS messages, barrier-wait's Invokes); worker cold
 * starts and environment speeds; shard loads from S3.
 */
export const STREAMS = ['submit', 'delivery', 'cold:worker', 'speed:worker', 'load'] as const;
export type Stream = (typeof STREAMS)[number];

export type Service = 'dynamodb' | 's3' | 'redis' | 'memory';

/** One request to a store as its adapter makes it: which partition (or prefix) it loads, and how much. */
export interface StoreRequest {
  service: Service;
  /** DynamoDB: the partition key; S3: the prefix; Redis and memory: the server. */
  key: string;
  kind: 'read' | 'write';
  /** Bytes moved (payload and key). */
  bytes: number;
  /** DynamoDB capacity units (1 per KB written per item; 1 per 4 KB read strongly consistent). */
  units: number;
  /** What the store method was, for the request counts by operation. */
  op: string;
}

export interface Counters {
  requests: Record<string, number>;
  throttled: Record<string, number>;
  readUnits: number;
  writeUnits: number;
  s3Puts: number;
  s3Gets: number;
  redisOps: number;
  snsPublishes: number;
  sqsRequests: number;
  lambdaInvocations: Record<string, number>;
  coldStarts: Record<string, number>;
  billedGbSeconds: Record<string, number>;
  /** Each billed stretch (virtual ms, GB): the per-phase breakdown integrates them. */
  billedSpans: { from: number; to: number; gb: number }[];
  /** Time spent waiting at a barrier by long-lived workers (barrier-wait), GB-s. */
  waitGbSeconds: number;
  /** Shard requests of worker invocations: served from the environment's cache, or loaded from S3. */
  shardCache: { hits: number; loads: number; reloads: number; seen: Set<string> };
  /** Partials the aggregator merged (bytes) and the CPU time that took (ms). */
  merge: { bytes: number; ms: number };
  /** Direct Lambda Invoke requests (the `invoke` trigger). */
  lambdaInvokes: number;
}

/** A token bucket: `rate` per second, holding at most one second's worth. */
class Bucket {
  private tokens: number;
  private last: number;
  constructor(private readonly rate: number, now: number) {
    this.tokens = rate;
    this.last = now;
  }
  take(units: number, now: number): boolean {
    this.tokens = Math.min(this.rate, this.tokens + ((now - this.last) / 1000) * this.rate);
    this.last = now;
    if (this.tokens < units) return false;
    this.tokens -= units;
    return true;
  }
}

/**
 * The AWS services a simulated job talks to, under a virtual clock: request latency drawn from the
 * profile's distributions, per-partition (DynamoDB) and per-prefix (S3) throughput as token
 * buckets whose refusals are retried with the SDK's backoff, and a single-threaded Redis engine.
 */
export class Services {
  readonly rng: Rng;
  readonly counters: Counters = {
    requests: {},
    throttled: {},
    readUnits: 0,
    writeUnits: 0,
    s3Puts: 0,
    s3Gets: 0,
    redisOps: 0,
    snsPublishes: 0,
    sqsRequests: 0,
    lambdaInvocations: {},
    coldStarts: {},
    billedGbSeconds: {},
    billedSpans: [],
    waitGbSeconds: 0,
    shardCache: { hits: 0, loads: 0, reloads: 0, seen: new Set() },
    merge: { bytes: 0, ms: 0 },
    lambdaInvokes: 0,
  };
  private readonly buckets = new Map<string, Bucket>();
  private redisFreeAt = 0;

  private readonly streams = new Map<Stream, Rng>();

  constructor(readonly clock: VirtualClock, readonly profile: Profile, private readonly seed: number) {
    this.rng = new Rng(seed);
  }

  /**
   * A draw from a log-normal with the distribution's median and 99th percentile; from the named
   * `stream` when given. Named streams are common random numbers: the n-th cold start, delivery or
   * shard load of a job draws the same figure whatever the design does in between (its store
   * requests, its polls), so two designs compared on one seed meet the same cold starts and the same
   * deliveries, and their difference is theirs, not the draws'.
   */
  sample(dist: Dist, stream?: Stream): number {
    const sigma = Math.log(Math.max(dist.p99, dist.median * 1.0001) / dist.median) / 2.3263;
    return dist.median * Math.exp(sigma * (stream ? this.stream(stream) : this.rng).normal());
  }

  private stream(name: Stream): Rng {
    let rng = this.streams.get(name);
    if (!rng) this.streams.set(name, (rng = new Rng(mix32(this.seed ^ mix32(STREAMS.indexOf(name) + 1)))));
    return rng;
  }

  /** Milliseconds to move `bytes` over one connection. */
  transferMs(bytes: number): number {
    return (bytes / (this.profile.lambda.networkMBps.value * 1e6)) * 1000;
  }

  /** Runs requests that go out together (an adapter's parallel lanes); resolves when all have answered. */
  async parallel(requests: StoreRequest[]): Promise<void> {
    await Promise.all(requests.map((r) => this.one(r)));
  }

  /** Runs requests one after another. */
  async serial(requests: StoreRequest[]): Promise<void> {
    for (const r of requests) await this.one(r);
  }

  private async one(r: StoreRequest): Promise<void> {
    const c = this.counters;
    c.requests[r.op] = (c.requests[r.op] ?? 0) + 1;
    const { profile, clock } = this;
    for (let attempt = 0; ; attempt++) {
      if (r.service === 'dynamodb') {
        if (r.kind === 'write') c.writeUnits += r.units;
        else c.readUnits += r.units;
        const rate = r.kind === 'write' ? profile.dynamodb.partitionWriteUnitsPerS.value : profile.dynamodb.partitionReadUnitsPerS.value;
        if (this.bucket(`ddb:${r.kind}:${r.key}`, rate).take(r.units, clock.now())) {
          await clock.sleep(this.sample(profile.dynamodb.requestMs) + this.transferMs(r.bytes));
          return;
        }
        // ProvisionedThroughputExceeded: the SDK backs off (throttling base), then tries again.
        c.throttled[r.op] = (c.throttled[r.op] ?? 0) + 1;
        await clock.sleep(this.sample(profile.dynamodb.requestMs) + this.backoff(attempt, profile.dynamodb.throttlingRetryBaseMs.value));
      } else if (r.service === 's3') {
        if (r.kind === 'write') c.s3Puts++;
        else c.s3Gets++;
        const rate = r.kind === 'write' ? profile.s3.prefixPutsPerS.value : profile.s3.prefixGetsPerS.value;
        if (this.bucket(`s3:${r.kind}:${r.key}`, rate).take(1, clock.now())) {
          await clock.sleep(this.sample(profile.s3.firstByteMs) + this.transferMs(r.bytes));
          return;
        }
        c.throttled[r.op] = (c.throttled[r.op] ?? 0) + 1; // 503 Slow Down
        await clock.sleep(this.sample(profile.s3.firstByteMs) + this.backoff(attempt, profile.dynamodb.retryBaseMs.value));
      } else if (r.service === 'redis') {
        c.redisOps++;
        // One engine thread: commands queue behind each other.
        const service = 1000 / profile.redis.opsPerS.value + this.transferMs(r.bytes);
        const start = Math.max(clock.now(), this.redisFreeAt);
        this.redisFreeAt = start + service;
        await clock.sleep(this.redisFreeAt - clock.now() + this.sample(profile.redis.requestMs));
        return;
      } else {
        await clock.sleep(this.sample(profile.memory.requestMs) + this.transferMs(r.bytes));
        return;
      }
    }
  }

  private bucket(key: string, rate: number): Bucket {
    let b = this.buckets.get(key);
    if (!b) this.buckets.set(key, (b = new Bucket(rate, this.clock.now())));
    return b;
  }

  /** The pinned SDK's backoff: random × min(base × 2^attempt, max). */
  private backoff(attempt: number, base: number): number {
    return this.rng.next() * Math.min(base * 2 ** attempt, this.profile.dynamodb.retryMaxMs.value);
  }
}
