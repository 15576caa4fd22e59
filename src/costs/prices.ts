/**
 * AWS prices the cost projections use, in one place so a user can update them. Region us-east-1,
 * USD. Each entry says where it comes from and when it was taken; "assumption" marks a figure that
 * was not read off a price page (check it before relying on it).
 */
export interface Price {
  usd: number;
  per: string;
  source: string;
  /** When the figure was taken (ISO date). */
  asOf: string;
  /** True when the figure is an estimate, not read off AWS's price page. */
  assumption: boolean;
}

// The public price pages each figure was read from (us-east-1, on-demand).
const DYNAMODB = 'aws.amazon.com/dynamodb/pricing/on-demand (us-east-1)';
const S3 = 'aws.amazon.com/s3/pricing (us-east-1, S3 Standard requests)';
const LAMBDA = 'aws.amazon.com/lambda/pricing (us-east-1)';
const SNS = 'aws.amazon.com/sns/pricing (us-east-1)';
const SQS = 'aws.amazon.com/sqs/pricing (us-east-1)';
const TAKEN = '2026-11-22';

export const PRICES = {
  dynamoWriteUnit: { usd: 0.625 / 1e6, per: 'write request unit (on-demand; 1 per 1 KB written per item)', source: DYNAMODB, asOf: TAKEN, assumption: false },
  dynamoReadUnit: { usd: 0.125 / 1e6, per: 'read request unit (on-demand; 1 per 4 KB strongly consistent)', source: DYNAMODB, asOf: TAKEN, assumption: false },
  s3Put: { usd: 0.005 / 1e3, per: 'PUT, COPY, POST or LIST request (S3 Standard)', source: S3, asOf: TAKEN, assumption: false },
  s3Get: { usd: 0.0004 / 1e3, per: 'GET or other request (S3 Standard)', source: S3, asOf: TAKEN, assumption: false },
  lambdaGbSecond: { usd: 0.0000166667, per: 'GB-second (x86)', source: LAMBDA, asOf: TAKEN, assumption: false },
  // The stack runs on arm64 (serverless.yml): Graviton's GB-second, first pricing tier.
  lambdaGbSecondArm: { usd: 0.0000133334, per: 'GB-second (arm64, first 6 billion GB-s a month)', source: 'aws.amazon.com/lambda/pricing (us-east-1)', asOf: '2026-12-06', assumption: false },
  lambdaRequest: { usd: 0.2 / 1e6, per: 'invocation', source: LAMBDA, asOf: TAKEN, assumption: false },
  snsPublish: { usd: 0.5 / 1e6, per: 'publish', source: SNS, asOf: TAKEN, assumption: false },
  sqsFifoRequest: { usd: 0.5 / 1e6, per: 'FIFO request', source: SQS, asOf: TAKEN, assumption: false },
  elasticacheT4gSmallHour: {
    usd: 0.032,
    per: 'cache.t4g.small node-hour (on-demand, Redis OSS)',
    source: 'assumption: the on-demand rate last seen on aws.amazon.com/elasticache/pricing, not re-checked offline',
    asOf: TAKEN,
    assumption: true,
  },
} satisfies Record<string, Price>;

/**
 * Latencies for projecting a loopback measurement onto AWS. All are assumptions (typical in-region
 * figures from a Lambda in the same region), not measurements: replace them with your own.
 */
export const AWS_LATENCY_MS = {
  dynamodb: { perRequest: 6, note: 'assumption: DynamoDB single-digit ms per request (aws.amazon.com/dynamodb: "single-digit millisecond performance")' },
  s3: { perRequest: 25, note: 'assumption: S3 PUT/GET/LIST of small objects 15–40 ms first byte' },
  redis: { perRequest: 0.5, note: 'assumption: ElastiCache in the same VPC and AZ, sub-millisecond' },
  memory: { perRequest: 0, note: 'in-process: no AWS equivalent' },
} as const;

/** Bandwidth one Lambda gets to a store, for the transfer part of the projection (assumption). */
export const AWS_BANDWIDTH_MB_PER_S = { value: 75, note: 'assumption: ~75 MB/s per Lambda connection to S3/DynamoDB/ElastiCache' } as const;

/**
 * Rounds a dedicated ElastiCache node serves per hour, to amortise its node-hour (assumption: a
 * round every 2 s, i.e. ~150 ms of synchronisation plus compute; a node kept up between jobs costs
 * its full node-hours whatever the rounds).
 */
export const ASSUMED_ROUNDS_PER_NODE_HOUR = 1800;
