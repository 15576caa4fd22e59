import { describe, expect, it } from 'vitest';
import { deployAdvice, jobSpecFor } from '../../src/cli/tune-deploy.js';
import type { Candidate, TuneResult } from '../../src/sim/tune.js';

/* What `bspml tune` prints under its sweep: the deploy parameters and job spec of its recommendation. */

const FAST: Candidate = { memoryMb: 3008, workers: 16, threads: 2, sync: 'event', considered: true, wallSeconds: 12.5, costUsd: 0.004, billedGbSeconds: 300, throttled: 0 };
const result = (job: Partial<TuneResult['job']> = {}, chosen: Candidate | null = FAST): TuneResult => {
  const recommended = chosen ?? undefined;
  return {
  job: { algorithm: 'kmeans', rows: 1_000_000, dims: 16, k: 8, rounds: 20, backend: 'dynamodb', ...job },
  candidates: recommended ? [recommended] : [],
  recommended: { cost: recommended, speed: recommended, balanced: recommended },
  none: recommended ? {} : { cost: 'nothing fits', speed: 'nothing fits', balanced: 'nothing fits' },
  };
};

describe('tune\'s deploy advice', () => {
  it('gives the workerMemory to deploy, the doctor check and the job spec of the recommendation', () => {
    // Act
    const text = deployAdvice(result(), 'balanced', { maxMemoryMb: 3008, data: 'data/blobs.csv' });

    // Assess
    expect(text.split('\n')).toEqual([
      '',
      'deploy (balanced: 16 workers × 3,008 MB; docs/deploy.md):',
      '  npx serverless deploy --stage dev --param workerMemory=3008',
      '  bspml doctor --workers 16 --worker-memory 3008    # checks the account first',
      'job spec (datasets/blobs.job.json beside the data):',
      '  {"algorithm":"kmeans","k":8,"workers":16,"maxRounds":20}',
      'or: bspml submit --data s3://BUCKET/datasets/blobs.csv --algorithm kmeans --k 8 --workers 16 --max-rounds 20',
      "memory capped at 3,008 MB (--max-memory): a new account's limit per function. Once AWS Support (or Service Quotas) raises it, run tune with --max-memory 10240 to consider up to 6 vCPUs.",
    ]);
  });

  it('spells out threads only where they differ from the memory\'s vCPUs, and a backend other than the default', () => {
    expect(jobSpecFor(result({ algorithm: 'logreg', backend: 's3' }), { ...FAST, memoryMb: 5307, threads: 2 })).toEqual({ algorithm: 'logreg', workers: 16, threads: 2, maxRounds: 20, backend: 's3' });
    expect(jobSpecFor(result(), { ...FAST, memoryMb: 5307, threads: 3 })).toEqual({ algorithm: 'kmeans', k: 8, workers: 16, maxRounds: 20 });
  });

  it('spells out lingering workers when tune chose them, in the spec and the submit line', () => {
    // Arrange
    const lingering: Candidate = { ...FAST, sync: 'linger' };
    // Act
    const text = deployAdvice(result({}, lingering), 'cost', { maxMemoryMb: 3008, data: 'data/blobs.csv' });
    // Assert
    expect(jobSpecFor(result(), lingering)).toEqual({ algorithm: 'kmeans', k: 8, workers: 16, maxRounds: 20, sync: 'linger' });
    expect(text).toContain('--max-rounds 20 --sync linger');
  });

  it('says when nothing was recommended, and how memory above a new account\'s limit is reached', () => {
    const text = deployAdvice(result({}, null), 'cost', { maxMemoryMb: 10_240 });
    expect(text).not.toContain('serverless deploy');
    expect(text).toContain('nothing to deploy (cost): nothing fits');
    expect(text).toContain("memory up to 10,240 MB (--max-memory): deploy above 3,008 MB only once the account's limit is raised (bspml doctor warns).");
  });
});
