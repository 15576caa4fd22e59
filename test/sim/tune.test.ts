import { describe, expect, it } from 'vitest';
import { tuneChartHtml } from '../../src/sim/chart.js';
import { AWS_PROFILE } from '../../src/sim/profile.js';
import { TUNE_CONSIDERED, tune, type TuneJob } from '../../src/sim/tune.js';
import { formatTune } from '../../src/cli/simulate.js';

const MS_PER_ROW = () => 50e-6;
// One mode where the test is about workers and memory (the modes have a test of their own).
const SWEEP = { workers: [1, 2, 4, 8, 16, 32, 64], memories: [1769, 3538], syncs: ['event' as const], shown: [] };

describe('bspml tune', () => {
  it('recommends more workers for a compute-heavy job than for a sync-heavy one, whatever the strategy', async () => {
    // Prepare: the same model shape; 400M rows (seconds of compute per round) against 20k rows (microseconds).
    const heavy: TuneJob = { algorithm: 'kmeans', rows: 400_000_000, dims: 16, k: 16, rounds: 4, backend: 'dynamodb' };
    const light: TuneJob = { ...heavy, rows: 20_000 };

    // Act
    const h = await tune(heavy, AWS_PROFILE, MS_PER_ROW, SWEEP);
    const l = await tune(light, AWS_PROFILE, MS_PER_ROW, SWEEP);

    // Assess
    for (const s of ['speed', 'balanced'] as const) {
      expect(h.recommended[s]!.workers, s).toBeGreaterThan(l.recommended[s]!.workers);
    }
    expect(h.recommended.cost!.workers).toBeGreaterThanOrEqual(l.recommended.cost!.workers);
  }, 120_000);

  it('lists the configurations that cannot run with the reason, and keeps to a budget or says there is none', async () => {
    // Prepare: 2 GB of rows: one worker's shard cannot fit 1,769 MB; --max-memory 3008 rules out 3,538 MB.
    const job: TuneJob = { algorithm: 'kmeans', rows: 32_000_000, dims: 16, k: 8, rounds: 3, backend: 'dynamodb' };

    // Act
    const limited = await tune(job, AWS_PROFILE, MS_PER_ROW, { ...SWEEP, workers: [1, 8, 64], maxMemoryMb: 3008 });
    const broke = await tune(job, AWS_PROFILE, MS_PER_ROW, { ...SWEEP, workers: [8, 64], budgetUsd: 1e-9 });
    const html = tuneChartHtml(limited, 'balanced');

    // Assess
    const one = limited.candidates.find((c) => c.memoryMb === 1769 && c.workers === 1)!;
    expect(one.unfit).toMatch(/shard of 1953 MB does not fit 1769 MB/);
    expect(limited.candidates.filter((c) => c.memoryMb === 3538).every((c) => /max-memory 3008/.test(c.unfit ?? ''))).toBe(true);
    expect(limited.recommended.balanced?.memoryMb).toBe(1769);
    expect(broke.recommended.cost).toBeUndefined();
    expect(broke.none.cost).toMatch(/budget/);
    expect(html).toContain('<svg');
    expect(html).toContain('Cannot run');
    expect(html).toMatch(/balanced[^<]*: \d+ × 1, 1769 MB/);
  }, 120_000);

  it('considers our sync modes and shows the paper\'s barrier-wait beside them without recommending it', async () => {
    // Prepare: a sync-heavy job (rounds of microseconds), where barrier-wait's rounds are the fastest.
    const job: TuneJob = { algorithm: 'kmeans', rows: 50_000, dims: 8, k: 4, rounds: 4, backend: 'dynamodb' };

    // Act
    const result = await tune(job, AWS_PROFILE, MS_PER_ROW, { workers: [2, 8], memories: [1769] });

    // Assess
    const modes = new Set(result.candidates.map((c) => `${c.sync}:${c.considered}`));
    expect(modes).toEqual(new Set([...TUNE_CONSIDERED.map((m) => `${m}:true`), 'barrier-wait:false']));
    expect(TUNE_CONSIDERED).toContain('event');
    const shown = result.candidates.filter((c) => c.sync === 'barrier-wait');
    expect(shown.every((c) => c.wallSeconds! > 0)).toBe(true);
    for (const s of ['cost', 'speed', 'balanced'] as const) expect(TUNE_CONSIDERED, s).toContain(result.recommended[s]!.sync);
    expect(formatTune(result, 'balanced')).toMatch(/barrier-wait \(shown\)/);
  }, 120_000);

  it('runs as many threads as a deployed worker would: one per vCPU begun (2 at 3,008 MB, 6 at 10,240 MB)', async () => {
    // Prepare
    const job: TuneJob = { algorithm: 'kmeans', rows: 100_000, dims: 8, k: 4, rounds: 2, backend: 'dynamodb' };

    // Act
    const result = await tune(job, AWS_PROFILE, MS_PER_ROW, { workers: [2], syncs: ['event'], shown: [] });

    // Assess
    const threadsAt = (mb: number) => result.candidates.find((c) => c.memoryMb === mb)?.threads;
    expect([1769, 3008, 3538, 5307, 7076, 8845, 10_240].map(threadsAt)).toEqual([1, 2, 2, 3, 4, 5, 6]);
  }, 120_000);
});
