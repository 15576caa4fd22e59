import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_DEPLOYMENT, estimateCost } from '../../src/costs/estimate.js';
import type { JobRecord, RoundMetrics, TrainJobRecord } from '../../src/domain/job.js';
import { LOGREG_SOLVERS } from '../../src/domain/spec.js';
import { runReportSchema } from '../../src/report/schema.js';
import { DynamoDbStore } from '../../src/stores/DynamoDbStore.js';
import { createStateTable } from '../../src/stores/dynamodb/createTable.js';
import { createDynamoDbClient } from '../../src/aws/dynamodb.js';
import { startDynalite } from '../../src/emulators/dynalite.js';
import { runBspml } from '../helpers/cli.js';

/*
 * `bspml status` and `watch` read the state table of a deployment (dynalite here); `bspml submit`
 * invokes the start function through the Lambda API (a local HTTP endpoint speaking Invoke here).
 */

const TABLE = 'bspml-cli-test';
let dynamo: Awaited<ReturnType<typeof startDynalite>>;
let store: DynamoDbStore;

beforeAll(async () => {
  dynamo = await startDynalite();
  const client = createDynamoDbClient({ endpoint: dynamo.endpoint });
  await createStateTable(client, TABLE);
  store = new DynamoDbStore({ client, tableName: TABLE, ownsClient: true });
});

afterAll(async () => {
  await store?.close();
  await dynamo?.close();
});

function job(jobId: string, overrides: Partial<TrainJobRecord> = {}): TrainJobRecord {
  return {
    jobId,
    spec: { algorithm: 'kmeans', k: 3, initSample: 1000, data: { uri: 's3://b/datasets/blobs.csv' }, workers: 2, maxRounds: 10, tol: 1e-4, seed: 42 },
    status: 'RUNNING',
    round: 0,
    shards: 2,
    fanoutRound: 0,
    recoveries: 0,
    roundStartedAt: 1_700_000_000_000,
    createdAt: 1_700_000_000_000,
    updatedAt: 1_700_000_000_000,
    data: { rows: 600, dims: 3, featureNames: ['x0', 'x1', 'x2'] },
    ...overrides,
  };
}

function round(r: number, overrides: Partial<RoundMetrics> = {}): RoundMetrics {
  return {
    round: r,
    objective: 1000 / (r + 1),
    stats: { shift: 2 / (r + 1) },
    converged: false,
    computeMs: 100,
    loadMs: r === 0 ? 1000 : 0,
    cacheHits: r === 0 ? 0 : 2,
    workers: 2,
    partialBytes: 2048,
    modelBytes: 512,
    publishedAt: 1_700_000_000_000 + r * 1000,
    aggregatedAt: 1_700_000_000_500 + r * 1000,
    ...overrides,
  };
}

const RESULT: JobRecord['result'] = { algorithm: 'kmeans', k: 3, dims: 3, featureNames: ['x0', 'x1', 'x2'], centroids: [[0, 0, 0], [1, 1, 1], [2, 2, 2]], counts: [200, 200, 200], inertia: 333.5, rounds: 2, converged: true };

const query = (jobId: string) => [jobId, '--endpoint', dynamo.endpoint, '--table', TABLE, '--region', 'us-east-1'];

describe('bspml status', () => {
  it('prints the job, each round with its objective, and the cost so far', async () => {
    // Prepare
    await store.createJob(job('status-1', { round: 1 }));
    await store.putRoundMetrics('status-1', round(0));

    // Act
    const { code, stdout } = await runBspml(['status', ...query('status-1')]);

    // Assess
    expect(code).toBe(0);
    const lines = stdout.trimEnd().split('\n');
    expect(lines[0]).toBe('job        status-1: round 1 of at most 10 (k-means, k = 3, 2 workers)');
    expect(lines[1]).toBe('data       s3://b/datasets/blobs.csv (600 rows × 3 features)');
    // round, objective, wall (published to aggregated), compute, load, sync (wall − compute − load), cache.
    expect(lines[2]).toMatch(/^round +objective +wall +compute +load +sync +cache +figures$/);
    expect(lines[3]).toMatch(/^ {4}0 {2}1,000 +500 ms +100 ms +1,000 ms +0\.0 ms +0\/2 +shift 2$/);
    expect(lines[4]).toMatch(/^cost {7}≈ \$0\.000\d+ so far: Lambda \$0\.000\d+, DynamoDB \$0\.0000\d+, /);
    expect(lines[5]).toContain('with the dynamodb data plane at 3008 MB arm64 workers');
  });

  it('prices a job by the data plane its spec names', async () => {
    // Prepare: the same rounds on a DynamoDB and a Redis job.
    await store.createJob(job('status-4', { round: 2, spec: { ...job('x').spec, backend: 'redis' } }));
    await store.createJob(job('status-5', { round: 2 }));
    for (const id of ['status-4', 'status-5']) for (const r of [0, 1]) await store.putRoundMetrics(id, round(r));

    // Act
    const redis = await runBspml(['status', ...query('status-4'), '--json']);
    const dynamo = await runBspml(['status', ...query('status-5'), '--json']);

    // Assess: the report is all of standard output, and the Redis job pays for its node, not DynamoDB's data plane.
    expect(redis.code, redis.stderr).toBe(0);
    const r = runReportSchema.parse(JSON.parse(redis.stdout));
    const d = runReportSchema.parse(JSON.parse(dynamo.stdout));
    expect(r.source).toBe('stack');
    expect(r.cost.backend).toBe('redis');
    expect(d.cost.backend).toBe('dynamodb');
    expect(r.cost.usd.elasticache).toBeGreaterThan(0);
    expect(d.cost.usd.elasticache).toBe(0);
    expect(r.cost.usd.dynamodb).toBeLessThan(d.cost.usd.dynamodb);
    expect(r.rounds.round).toEqual([0, 1]);
    expect(r.rounds.syncMs).toEqual([0, 400]);
    expect(r.totals.requests).toBeNull();
  });

  it('writes an HTML report of a stack job with --report, and prints nothing with --quiet', async () => {
    // Prepare
    await store.createJob(job('status-6', { round: 1, status: 'SUCCEEDED', result: RESULT }));
    for (const r of [0, 1]) await store.putRoundMetrics('status-6', round(r));
    const file = join(await mkdtemp(join(tmpdir(), 'bspml-status-')), 'job.html');

    // Act
    const { code, stdout, stderr } = await runBspml(['status', ...query('status-6'), '--report', file, '--quiet']);

    // Assess
    try {
      expect(code, stderr).toBe(0);
      expect(stdout).toBe('');
      const html = await readFile(file, 'utf8');
      expect(html.match(/<svg/g)).toHaveLength(3);
      expect(html).toContain('status-6 (stack job, backend dynamodb)');
    } finally {
      await rm(dirname(file), { recursive: true, force: true });
    }
  });

  it('shows why a job FAILED, even one refused for a spec that never parsed', async () => {
    // Prepare: what the start handler records for a bad spec.
    await store.createJob(job('status-2', { status: 'FAILED', shards: 0, spec: { algorithm: 'forest' } as never, data: undefined, error: 'invalid job spec: algorithm: Invalid input' }));

    // Act
    const { code, stdout } = await runBspml(['status', ...query('status-2')]);

    // Assess
    expect(code).toBe(0);
    expect(stdout).toContain('job        status-2: FAILED (unknown algorithm, 0 workers)\n');
    expect(stdout).toContain('error      invalid job spec: algorithm: Invalid input\n');
  });

  it('names the backend of a job whose spec chose one', async () => {
    // Prepare
    const spec = { ...job('status-3').spec, backend: 's3' as const };
    await store.createJob(job('status-3', { spec }));

    // Act
    const { code, stdout } = await runBspml(['status', ...query('status-3')]);

    // Assess
    expect(code).toBe(0);
    expect(stdout.split('\n').slice(0, 3)).toEqual([
      'job        status-3: round 0 of at most 10 (k-means, k = 3, 2 workers)',
      'data       s3://b/datasets/blobs.csv (600 rows × 3 features)',
      'backend    s3 (models, partials, barrier)',
    ]);
  });

  it('names a job that is not in the table, with exit code 1', async () => {
    const { code, stderr } = await runBspml(['status', ...query('nope')]);
    expect(code).toBe(1);
    expect(stderr).toBe(`bspml: error: job nope (table ${TABLE}) not found\n`);
  });
});

describe('bspml watch', () => {
  it('prints rounds as they are recorded, each once, until the job ends', async () => {
    // Prepare
    await store.createJob(job('watch-1'));
    await store.putRoundMetrics('watch-1', round(0));
    const later = (async () => {
      await new Promise((resolve) => setTimeout(resolve, 300));
      await store.updateJob('watch-1', { round: 0, status: 'RUNNING' }, { round: 1 });
      await store.putRoundMetrics('watch-1', round(1, { converged: true }));
      await store.updateJob('watch-1', { round: 1, status: 'RUNNING' }, { status: 'SUCCEEDED', result: RESULT });
    })();

    // Act
    const { code, stdout } = await runBspml(['watch', ...query('watch-1'), '--interval', '0.05']);
    await later;

    // Assess
    expect(code).toBe(0);
    const rounds = stdout.split('\n').filter((l) => /^ {4}\d /.test(l));
    expect(rounds.map((l) => l.slice(0, 5).trim())).toEqual(['0', '1']);
    expect(stdout).toContain('result     2 rounds, converged; inertia 333.5\n');
  });

  it('ends with exit code 1 and the reason when the job FAILED', async () => {
    await store.createJob(job('watch-2', { status: 'FAILED', error: 'worker for shard 1 of round 0 failed after 3 attempts: boom' }));
    const { code, stdout, stderr } = await runBspml(['watch', ...query('watch-2'), '--interval', '0.05']);
    expect(code).toBe(1);
    expect(stdout).toContain('error      worker for shard 1 of round 0 failed after 3 attempts: boom\n');
    expect(stderr).toBe('bspml: error: job watch-2 failed: worker for shard 1 of round 0 failed after 3 attempts: boom\n');
  });
});

describe('bspml jobs', () => {
  const at = (minute: number) => Date.UTC(2026, 10, 30, 1, minute, 0);
  const flags: string[] = [];

  beforeAll(async () => {
    flags.push('--endpoint', dynamo.endpoint, '--table', TABLE, '--region', 'us-east-1');
    await store.createJob(job('blobs-20261130T010000Z-aaaaaa', { createdAt: at(0), updatedAt: at(1), status: 'SUCCEEDED', round: 7 }));
    await store.createJob(job('blobs-20261130T010500Z-bbbbbb', { createdAt: at(5), updatedAt: at(5), status: 'FAILED', error: 'round 2: diverged' }));
    await store.createJob(job('blobs_2-20261130T010600Z-cccccc', { createdAt: at(6), updatedAt: at(6) }));
  });

  it('lists jobs newest first, by status and by data set', async () => {
    // Act
    const all = await runBspml(['jobs', ...flags, '--limit', '100']);
    const failed = await runBspml(['jobs', ...flags, '--status', 'FAILED']);
    const blobs = await runBspml(['jobs', ...flags, '--data', 'blobs']);

    // Assess
    expect(all.code).toBe(0);
    const ids = (out: string) => out.split('\n').slice(1).filter(Boolean).map((l) => l.split(/\s+/)[0]);
    expect(ids(all.stdout).filter((id) => id!.includes('20261130T01'))).toEqual(['blobs_2-20261130T010600Z-cccccc', 'blobs-20261130T010500Z-bbbbbb', 'blobs-20261130T010000Z-aaaaaa']);
    expect(ids(failed.stdout)).toContain('blobs-20261130T010500Z-bbbbbb');
    expect(failed.stdout).not.toContain('aaaaaa');
    expect(failed.stdout).toMatch(/blobs-20261130T010500Z-bbbbbb +FAILED +0 +2026-11-30T01:05:00Z +round 2: diverged\n/);
    expect(ids(blobs.stdout)).toEqual(['blobs-20261130T010500Z-bbbbbb', 'blobs-20261130T010000Z-aaaaaa']);
  });

  it('follows the newest job of a data set with watch --latest', async () => {
    // Prepare: blobs_2's only job is RUNNING; it finishes while watched.
    const later = (async () => {
      await new Promise((resolve) => setTimeout(resolve, 300));
      await store.putRoundMetrics('blobs_2-20261130T010600Z-cccccc', round(0, { converged: true }));
      await store.updateJob('blobs_2-20261130T010600Z-cccccc', { round: 0, status: 'RUNNING' }, { status: 'SUCCEEDED', result: RESULT });
    })();

    // Act
    const { code, stdout } = await runBspml(['watch', '--latest', 'blobs_2', ...flags, '--interval', '0.05']);
    await later;

    // Assess
    expect(code).toBe(0);
    expect(stdout).toContain('blobs_2-20261130T010600Z-cccccc');
    expect(stdout).toContain('result     2 rounds, converged; inertia 333.5\n');
  });

  it('names the stage\'s table when a job is not found, and refuses watch with neither a job id nor --latest', async () => {
    // Act
    const missing = await runBspml(['status', 'nope', '--stage', 'prod', '--endpoint', dynamo.endpoint, '--region', 'us-east-1']);
    const neither = await runBspml(['watch', '--endpoint', dynamo.endpoint]);
    const none = await runBspml(['watch', '--latest', 'never-uploaded', ...flags]);

    // Assess
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('bspml-prod-state');
    expect(neither.code).toBe(1);
    expect(neither.stderr).toContain('watch needs a job id or --latest NAME');
    expect(none.code).toBe(1);
    expect(none.stderr).toContain('any job of data set never-uploaded');
  });
});

describe('the cost estimate', () => {
  it('prices worker and aggregator time, requests and messages with src/costs/prices.ts', () => {
    // 2 workers × (100 ms + 40 ms overhead) + 2 cold loads × 1,000 ms at the stack's default
    // 3,008 MB = 2.28 s × 2.9375 GB = 6.6975 GB-s, plus a 150 ms aggregation at 2 GB = 0.3 GB-s:
    // 6.9975 GB-s; 4 invocations with the start.
    const cost = estimateCost({ status: 'RUNNING' }, [round(0)]);
    const x86 = estimateCost({ status: 'RUNNING' }, [round(0)], { ...DEFAULT_DEPLOYMENT, architecture: 'x86_64' });
    // arm64, as serverless.yml deploys by default; x86_64 at its own GB-second price, the rest unchanged.
    expect(cost.lambda).toBeCloseTo(6.9975 * 0.0000133334 + 4 * 0.2e-6, 12);
    expect(x86.lambda).toBeCloseTo(6.9975 * 0.0000166667 + 4 * 0.2e-6, 12);
    expect(x86.dynamodb).toBe(cost.dynamodb);
    // At 1,024 MB workers: 2.28 s × 1 GB + the same aggregation.
    const small = estimateCost({ status: 'RUNNING' }, [round(0)], { ...DEFAULT_DEPLOYMENT, workerMemoryMb: 1024 });
    expect(small.lambda).toBeCloseTo((2.28 + 0.3) * 0.0000133334 + 4 * 0.2e-6, 12);
    // Writes: 3 at start + 2 × (1 KB partial + barrier) + metrics + 1 KB model + 2 job updates = 11.
    // Reads: the job + 2 partials (1 unit each) + the model = 4.
    expect(cost.dynamodb).toBeCloseTo(11 * 0.625e-6 + 4 * 0.125e-6, 15);
    expect(cost.sns).toBeCloseTo(2 * 0.5e-6, 15);
    expect(cost.sqs).toBeCloseTo(3 * 0.5e-6, 15);
    expect(cost.total).toBeCloseTo(cost.lambda + cost.dynamodb + cost.sns + cost.sqs + cost.s3, 15);
    expect(cost.elasticache).toBe(0);
  });

  it('prices a model stored split by what its workers are sent, its view, written beside the model', () => {
    // Prepare: multinomial L-BFGS at 784 × 10: a 2,838,600-byte model, a 62,824-byte view (src/protocol/modelView.ts).
    const whole = round(1, { modelBytes: 2_838_600 });
    const split = round(1, { modelBytes: 2_838_600, viewBytes: 62_824 });

    // Act
    const [one, two] = [whole, split].map((r) => estimateCost({ status: 'RUNNING' }, [r]));

    // Assess: a message of 4/3 of the bytes + 200, billed per 64 KiB: 58 requests per worker for the
    // model, 2 for the view; the view's write is 62 units (62,824 / 1,024, rounded up) more.
    expect(one.sns).toBeCloseTo(2 * 58 * 0.5e-6, 15);
    expect(two.sns).toBeCloseTo(2 * 2 * 0.5e-6, 15);
    expect(two.dynamodb - one.dynamodb).toBeCloseTo(62 * 0.625e-6, 15);
    expect(two.lambda).toBe(one.lambda);
  });

  it('moves the data plane\'s requests to the backend the job runs on', () => {
    // Prepare
    const rounds = [round(0), round(1)];

    // Act
    const dynamo = estimateCost({ status: 'RUNNING' }, rounds, undefined, 'dynamodb');
    const s3 = estimateCost({ status: 'RUNNING' }, rounds, undefined, 's3');
    const redis = estimateCost({ status: 'RUNNING' }, rounds, undefined, 'redis');

    // Assess: the same Lambda time everywhere; partials and barrier leave DynamoDB for S3 or the node.
    expect(s3.lambda).toBe(dynamo.lambda);
    expect(redis.lambda).toBe(dynamo.lambda);
    // Control plane only: 2 at start + 3 per round; the job read per round.
    expect(s3.dynamodb).toBeCloseTo(8 * 0.625e-6 + 2 * 0.125e-6, 15);
    expect(redis.dynamodb).toBeCloseTo(s3.dynamodb, 15);
    // S3: model 0, then per round 4 PUT-priced requests per worker + the model; GETs: 2 at start,
    // 2 cold loads × 2, and per round the partials and the model.
    expect(s3.s3).toBeCloseTo((1 + 2 * 9) * 0.005e-3 + (2 + 4 + 2 * 3) * 0.0004e-3, 15);
    expect(redis.elasticache).toBeCloseTo((2 / 1800) * 0.032, 12);
    expect(redis.total).toBeCloseTo(redis.lambda + redis.dynamodb + redis.sns + redis.sqs + redis.s3 + redis.elasticache, 15);
  });
});

describe('bspml submit', () => {
  let server: Server;
  let endpoint: string;
  const requests: { path: string; body: unknown }[] = [];
  let answer: { status: number; body: unknown; headers?: Record<string, string> } = { status: 200, body: [] };

  beforeAll(async () => {
    // Lambda's Invoke API: POST /2015-03-31/functions/NAME/invocations, the payload as the body.
    server = createServer(async (req: IncomingMessage, res) => {
      const chunks: Buffer[] = [];
      for await (const chunk of req) chunks.push(chunk as Buffer);
      requests.push({ path: req.url ?? '', body: JSON.parse(Buffer.concat(chunks).toString('utf8')) });
      res.writeHead(answer.status, { 'content-type': 'application/json', ...answer.headers });
      res.end(JSON.stringify(answer.body));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  const base = ['submit', '--function', 'bspml-prod-start', '--region', 'us-east-1'];

  it('invokes the start function with the job spec and prints the job id', async () => {
    // Prepare
    requests.length = 0;
    answer = { status: 200, body: [{ jobId: 'blobs-20261122T210000Z-abcdef', status: 'RUNNING' }] };

    // Act
    const { code, stdout } = await runBspml([...base, '--endpoint', endpoint, '--data', 's3://b/datasets/blobs.csv', '--algorithm', 'kmeans', '--k', '5', '--workers', '8', '--seed', '3']);

    // Assess
    expect(code).toBe(0);
    expect(requests).toEqual([
      {
        path: '/2015-03-31/functions/bspml-prod-start/invocations',
        body: { spec: { algorithm: 'kmeans', data: { uri: 's3://b/datasets/blobs.csv' }, k: 5, workers: 8, seed: 3 } },
      },
    ]);
    expect(stdout).toBe('job blobs-20261122T210000Z-abcdef: RUNNING\nfollow it with: bspml watch blobs-20261122T210000Z-abcdef\n');
  });

  it('passes --backend through in the spec, and refuses a backend a stack cannot run', async () => {
    // Prepare
    requests.length = 0;
    answer = { status: 200, body: [{ jobId: 'blobs-20261122T210000Z-abcdef', status: 'RUNNING' }] };

    // Act
    const s3 = await runBspml([...base, '--endpoint', endpoint, '--data', 's3://b/datasets/blobs.csv', '--algorithm', 'kmeans', '--k', '5', '--backend', 's3']);
    const memory = await runBspml([...base, '--endpoint', endpoint, '--data', 's3://b/datasets/blobs.csv', '--algorithm', 'kmeans', '--k', '5', '--backend', 'memory']);

    // Assess
    expect(s3.code).toBe(0);
    expect(requests.map((r) => r.body)).toEqual([{ spec: { algorithm: 'kmeans', data: { uri: 's3://b/datasets/blobs.csv' }, backend: 's3', k: 5 } }]);
    expect(memory.code).not.toBe(0);
    expect(memory.stderr).toContain("option '--backend <name>' argument 'memory' is invalid. must be one of: dynamodb, s3, redis.");
  });

  it('passes svm, --solver and --C through in the spec, and refuses them where they do not apply, before calling AWS', async () => {
    // Prepare
    requests.length = 0;
    answer = { status: 200, body: [{ jobId: 'digits-20261122T210000Z-abcdef', status: 'RUNNING' }] };
    const data = ['--endpoint', endpoint, '--data', 's3://b/datasets/digits.csv'];

    // Act
    const logreg = await runBspml([...base, ...data, '--algorithm', 'logreg', '--solver', 'lbfgs', '--C', '0.5']);
    const svm = await runBspml([...base, ...data, '--algorithm', 'svm', '--C', '2', '--label-column', 'y']);
    const unknown = await runBspml([...base, ...data, '--algorithm', 'logreg', '--solver', 'sgd']);
    const svmSolver = await runBspml([...base, ...data, '--algorithm', 'svm', '--solver', 'lbfgs']);
    const localSgd = await runBspml([...base, ...data, '--algorithm', 'svm', '--solver', 'local-sgd', '--lr', '0.2', '--local-steps', '40', '--batch-size', '32']);
    const stepsAlone = await runBspml([...base, ...data, '--algorithm', 'logreg', '--local-steps', '40']);
    const both = await runBspml([...base, ...data, '--algorithm', 'svm', '--C', '1', '--l2', '0.1']);
    const kmeansC = await runBspml([...base, ...data, '--algorithm', 'kmeans', '--k', '2', '--C', '1']);

    // Assess
    expect(logreg.code, logreg.stderr).toBe(0);
    expect(svm.code, svm.stderr).toBe(0);
    expect(requests.map((r) => r.body)).toEqual([
      { spec: { algorithm: 'logreg', data: { uri: 's3://b/datasets/digits.csv' }, solver: 'lbfgs', C: 0.5 } },
      { spec: { algorithm: 'svm', data: { uri: 's3://b/datasets/digits.csv', labelColumn: 'y' }, C: 2 } },
      { spec: { algorithm: 'svm', data: { uri: 's3://b/datasets/digits.csv' }, solver: 'local-sgd', lr: 0.2, localSteps: 40, batchSize: 32 } },
    ]);
    expect(unknown.code).not.toBe(0);
    expect(unknown.stderr).toContain(`option '--solver <name>' argument 'sgd' is invalid. must be one of: ${LOGREG_SOLVERS.join(', ')}.`);
    expect(localSgd.code, localSgd.stderr).toBe(0);
    expect(svmSolver).toMatchObject({ code: 1, stderr: 'bspml: error: --solver for svm is one of newton, local-sgd, not lbfgs\n' });
    expect(stepsAlone).toMatchObject({ code: 1, stderr: 'bspml: error: --local-steps is for --solver local-sgd\n' });
    expect(both).toMatchObject({ code: 1, stderr: 'bspml: error: --C: give --l2 or --C (= 1 / (l2 × rows)), not both\n' });
    expect(kmeansC).toMatchObject({ code: 1, stderr: 'bspml: error: --C is for logreg and svm, not kmeans\n' });
    expect(requests).toHaveLength(3);
  });

  it('reports a spec the start function refused, and a function error, with exit code 1', async () => {
    answer = { status: 200, body: [{ jobId: 'j1', status: 'FAILED', error: 'invalid job spec: lr: Too small' }] };
    const refused = await runBspml([...base, '--endpoint', endpoint, '--data', 's3://b/d.csv', '--algorithm', 'logreg', '--lr', '0.1']);
    answer = { status: 200, body: { errorType: 'Error', errorMessage: 'Task timed out after 300.00 seconds' }, headers: { 'x-amz-function-error': 'Unhandled' } };
    const crashed = await runBspml([...base, '--endpoint', endpoint, '--data', 's3://b/d.csv', '--algorithm', 'logreg']);

    expect(refused).toMatchObject({ code: 1, stderr: 'bspml: error: job j1 failed: invalid job spec: lr: Too small\n' });
    expect(crashed).toMatchObject({ code: 1, stderr: 'bspml: error: bspml-prod-start failed: Task timed out after 300.00 seconds\n' });
  });

  it('submit predict: passes the predict spec through, the model by name, by version or by name and version', async () => {
    // Prepare
    requests.length = 0;
    answer = { status: 200, body: [{ jobId: 'iris-predict-20261206T070000Z-abcdef', status: 'RUNNING' }] };
    const common = ['submit', 'predict', '--function', 'bspml-prod-start', '--region', 'us-east-1', '--endpoint', endpoint, '--data', 's3://bkt/datasets/new/', '--out', 's3://bkt/predictions/iris/'];

    // Act
    const byName = await runBspml([...common, '--model', 'iris', '--workers', '4']);
    const byVersion = await runBspml([...common, '--model', 'iris-20261206T010000Z-0b9e8d']);
    const pinned = await runBspml([...common, '--model', 'team/iris', '--model-version', 'team_iris-20261206T010000Z-0b9e8d']);

    // Assess
    expect(byName).toMatchObject({ code: 0, stdout: 'job iris-predict-20261206T070000Z-abcdef: RUNNING\nfollow it with: bspml watch iris-predict-20261206T070000Z-abcdef\n' });
    expect(byVersion.code, byVersion.stderr).toBe(0);
    expect(pinned.code, pinned.stderr).toBe(0);
    const spec = { kind: 'predict', data: { uri: 's3://bkt/datasets/new/' }, out: 's3://bkt/predictions/iris/' };
    expect(requests.map((r) => r.body)).toEqual([
      { spec: { ...spec, model: { name: 'iris' }, workers: 4 } },
      { spec: { ...spec, model: { name: 'iris', version: 'iris-20261206T010000Z-0b9e8d' } } },
      { spec: { ...spec, model: { name: 'team/iris', version: 'team_iris-20261206T010000Z-0b9e8d' } } },
    ]);
  });

  it('submit predict and submit refuse each other\'s options, and an unknown kind, before calling AWS', async () => {
    // Prepare
    requests.length = 0;
    const predict = ['submit', 'predict', ...base.slice(1), '--data', 's3://bkt/datasets/new/'];

    // Act
    const noModel = await runBspml([...predict, '--out', 's3://bkt/predictions/']);
    const noOut = await runBspml([...predict, '--model', 'iris']);
    const withAlgorithm = await runBspml([...predict, '--model', 'iris', '--out', 's3://bkt/predictions/', '--algorithm', 'kmeans']);
    const badName = await runBspml([...predict, '--model', '../iris', '--out', 's3://bkt/predictions/']);
    const trainWithout = await runBspml([...base, '--data', 's3://bkt/d.csv']);
    const trainWithModel = await runBspml([...base, '--data', 's3://bkt/d.csv', '--algorithm', 'kmeans', '--k', '2', '--model', 'iris']);
    const unknown = await runBspml(['submit', 'score', ...base.slice(1), '--data', 's3://bkt/d.csv']);

    // Assess
    expect(noModel).toMatchObject({ code: 1, stderr: "bspml: error: --model is required: a model name (models/NAME/ in the stack's bucket) or a version\n" });
    expect(noOut).toMatchObject({ code: 1, stderr: 'bspml: error: --out is required: the S3 prefix the parts go under, s3://BUCKET/predictions/…/\n' });
    expect(withAlgorithm).toMatchObject({ code: 1, stderr: 'bspml: error: --algorithm is for training: a predict job uses a trained model (--model)\n' });
    expect(badName).toMatchObject({ code: 1, stderr: 'bspml: error: --model: not a model name (letters, digits, . _ - and /)\n' });
    expect(trainWithout).toMatchObject({ code: 1, stderr: 'bspml: error: --algorithm is required to train (kmeans, logreg or svm); `bspml submit predict` starts predictions\n' });
    expect(trainWithModel).toMatchObject({ code: 1, stderr: 'bspml: error: --model is for bspml submit predict\n' });
    expect(unknown).toMatchObject({ code: 1, stderr: 'bspml: error: submit score: the kind is train (the default) or predict\n' });
    expect(requests).toEqual([]);
  });

  it('checks its options before calling AWS', async () => {
    const local = await runBspml([...base, '--data', 'data/blobs.csv', '--algorithm', 'kmeans', '--k', '2']);
    const noK = await runBspml([...base, '--data', 's3://b/d.csv', '--algorithm', 'kmeans']);
    expect(local).toMatchObject({ code: 1, stderr: 'bspml: error: --data must be an s3://bucket/key URI, got data/blobs.csv\n' });
    expect(noK).toMatchObject({ code: 1, stderr: 'bspml: error: --k is required for kmeans\n' });
  });
});
