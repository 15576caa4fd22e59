/*
 * The floor DynamoDB's request prices put under any lingering job on DynamoDB, against the paper's
 * barrier-wait on Redis (docs/simulator.md, "What DynamoDB's prices allow"). Prints; writes nothing.
 *
 *   npx tsx scripts/linger-floor.ts [docs/simulator/table1.json]
 *
 * Per training round, any design that keeps its state in DynamoDB makes at least, for each of the W
 * workers: one write of its partial, one read of it by whoever merges it, and one read by the worker
 * of the next model (the poll that sees it, when the hand-over carries the model). On-demand prices
 * (aws.amazon.com/dynamodb/pricing/on-demand/, us-east-1, src/costs/prices.ts): $0.625 per million
 * write request units (1 per KB written, per item) and $0.125 per million read request units (1 per
 * 4 KB read strongly consistent). Our protocol adds, per worker and round, its arrival (1 unit), its
 * claim of the next round (1), its polls (1 each; the simulator counts them), and per round the
 * hand-over's √W group writes, the model, the job and the round's record: the "ours" column counts
 * the arrival and the claim beside the floor.
 *
 * The dollars left for DynamoDB under the target ($ ≤ 1.0× barrier-wait's) are barrier-wait's dollars
 * less the Lambda bill of the same job: the table's lingering row on Redis (whose store bills by the
 * hour, not the request) gives that bill, the least a lingering job has shown.
 */
import { readFileSync } from 'node:fs';
import { algorithmFor } from '../src/algorithms/index.js';
import { PRICES } from '../src/costs/prices.js';
import { encodeModel, encodePartial } from '../src/protocol/codec.js';
import { simShape } from '../src/sim/simulate.js';
import { TABLE1_CONFIGS, TABLE1_JOBS } from '../src/sim/table1.js';
import type { JobSpec } from '../src/domain/spec.js';
import type { WorkerReport } from '../src/domain/job.js';

interface Row {
  algorithm: string;
  workers: number;
  threads: number;
  sync: string;
  backend: string;
  routing: string;
  costUsd: number;
  billedGbSeconds: number;
}

/** Bytes DynamoDB bills an item on beyond its payload: keys and attribute names (the partial's pk of ~50 bytes, sk, names). */
const ITEM_OVERHEAD = 128;

const file = process.argv[2] ?? 'docs/simulator/table1.json';
const rows = (JSON.parse(readFileSync(file, 'utf8')) as { rows: Row[] }).rows;
const W_KB = PRICES.dynamoWriteUnit.usd;
const R_KB = PRICES.dynamoReadUnit.usd;

const out: string[] = [
  '| job | W × I | partial | floor per round | floor per job | ours per job (+ arrival, claim) | barrier-wait $ | linger on Redis: Lambda $ | left for DynamoDB | floor / left |',
  '|---|---|--:|--:|--:|--:|--:|--:|--:|--:|',
];
for (const job of Object.values(TABLE1_JOBS)) {
  const shape = simShape(job);
  const algorithm = algorithmFor({ algorithm: job.algorithm } as JobSpec);
  const report: WorkerReport = { shard: 299, rows: 332_226, computeMs: 123.456, loadMs: 0, cacheHit: true, threads: 6, modelDigest: 'f'.repeat(16), arrivedAt: 1_780_000_000_000 };
  const partialBytes = encodePartial(new Float64Array(algorithm.partialLength(shape)), report).byteLength;
  const modelBytes = encodeModel(new Float64Array(algorithm.modelLength(shape))).byteLength;
  const writeUnits = Math.ceil((partialBytes + ITEM_OVERHEAD) / 1024);
  const readUnits = Math.ceil((partialBytes + ITEM_OVERHEAD) / 4096) + Math.ceil((modelBytes + ITEM_OVERHEAD) / 4096);
  for (const [workers, threads] of TABLE1_CONFIGS) {
    const find = (sync: string, backend: string) => rows.find((r) => r.algorithm === job.algorithm && r.workers === workers && r.threads === threads && r.sync === sync && r.backend === backend && (r.routing === 'random' || r.routing === 'any'));
    const bw = find('barrier-wait', 'redis');
    const redis = find('linger', 'redis');
    if (!bw || !redis) continue;
    const perRound = workers * (writeUnits * W_KB + readUnits * R_KB);
    const floor = job.rounds * perRound;
    const ours = floor + job.rounds * workers * 2 * W_KB;
    const lambda = redis.billedGbSeconds * PRICES.lambdaGbSecond.usd;
    const left = bw.costUsd - lambda;
    out.push(
      `| ${job.algorithm} | ${workers} × ${threads} | ${(partialBytes / 1024).toFixed(1)} KB (${writeUnits} WRU) | $${(perRound * 1e3).toFixed(3)}e-3 | $${floor.toFixed(4)} | $${ours.toFixed(4)} | $${bw.costUsd.toFixed(4)} | $${lambda.toFixed(4)} | $${left.toFixed(4)} | ${left > 0 ? `${(floor / left).toFixed(1)}×` : 'none left'} |`,
    );
  }
}
process.stdout.write(`${out.join('\n')}\n`);
