import { describe, expect, it } from 'vitest';
import { PRICES } from '../../src/costs/prices.js';
import type { BenchPredictResult } from '../../src/serve/bench.js';
import { ONE_VCPU_MB, tunePredict } from '../../src/serve/tune.js';

/*
 * The inference tuner's arithmetic on a bench result written here (no timing): the calibration
 * line, the Lambda price of each configuration, and what each strategy picks.
 */

/** A bench where a request takes 2 ms + 10 µs per row, with JSON bodies of `bytesPerRow` bytes a row. */
function bench(bytesPerRow = 100): BenchPredictResult {
  const warm = [1, 100, 1000, 10000].map((batchRows) => ({ batchRows, p50Ms: 0.01 * batchRows, p99Ms: 0.02 * batchRows, samples: 20, requestP50Ms: 2 + 0.01 * batchRows, requestP99Ms: 3 + 0.01 * batchRows, requestBytes: bytesPerRow * batchRows }));
  return { model: 'm.json', kind: 'multinomial', dims: 10, classes: 3, coldStartMs: 100, cold: { runs: 1, totalMs: [100], parts: { nodeMs: 40, loadMs: 20, parseMs: 1, compileMs: 1, firstPredictMs: 1 } }, warm, node: '24', loadAverage: [0, 0, 0] };
}

describe('bspml tune predict\'s model', () => {
  it('fits the warm requests as a fixed part and a part per row', () => {
    // Act
    const result = tunePredict(bench());

    // Assess
    expect(result.calibration.fixedMs).toBeCloseTo(2, 9);
    expect(result.calibration.perRowMs).toBeCloseTo(0.01, 9);
  });

  it('prices each configuration as Lambda bills it: requests plus GB-s of the duration rounded up to 1 ms, CPU in proportion to memory', () => {
    // Act
    const result = tunePredict(bench());

    // Assess
    const at = (memoryMb: number, batchRows: number) => result.configurations.find((c) => c.memoryMb === memoryMb && c.batchRows === batchRows)!;
    // 1,024 MB has 1024/1769 of a vCPU: 1,000 rows take (2 + 10 ms) × 1769/1024, billed 21 ms.
    const c = at(1024, 1000);
    expect(c.p50Ms).toBeCloseTo((12 * ONE_VCPU_MB) / 1024, 9);
    expect(c.billedMs).toBe(21);
    expect(c.usdPerMillionRows).toBeCloseTo(1000 * (PRICES.lambdaRequest.usd + 1 * 0.021 * PRICES.lambdaGbSecondArm.usd), 12);
    // Above one vCPU the duration no longer falls, and the GB-s grow.
    expect(at(3008, 1000).p50Ms).toBeCloseTo(12, 9);
    expect(at(3008, 1000).usdPerMillionRows).toBeGreaterThan(at(ONE_VCPU_MB, 1000).usdPerMillionRows);
    // 10,000 rows of 100 bytes (1 MB) fit a request; of 500 bytes (5 MB) they fit the request but not 128 MB.
    expect(at(128, 10000)).toBeDefined();
    const wide = tunePredict(bench(500)).configurations;
    expect(wide.find((c) => c.memoryMb === 128 && c.batchRows === 10000)).toBeUndefined();
    expect(wide.find((c) => c.memoryMb === 256 && c.batchRows === 10000)).toBeDefined();
    // Of 1,000 bytes (10 MB), over a function URL's 6 MB: never.
    expect(tunePredict(bench(1000)).configurations.some((c) => c.batchRows === 10000)).toBe(false);
  });

  it('recommends the cheapest for cost, the fastest for a million rows for speed, and one in between for balanced', () => {
    // Act
    const { configurations, recommendations } = tunePredict(bench());

    // Assess
    const minCost = Math.min(...configurations.map((c) => c.usdPerMillionRows));
    const minTime = Math.min(...configurations.map((c) => c.secondsPerMillionRows));
    expect(recommendations.cost.usdPerMillionRows).toBeLessThanOrEqual(minCost * 1.001);
    expect(recommendations.speed.secondsPerMillionRows).toBeLessThanOrEqual(minTime * 1.001);
    // Large batches amortise the $0.20 per million requests: the cheapest sends the most rows it may.
    expect(recommendations.cost.batchRows).toBe(10000);
    for (const key of ['memoryMb', 'batchRows', 'usdPerMillionRows', 'p50Ms'] as const) {
      for (const s of ['cost', 'speed', 'balanced'] as const) expect(typeof recommendations[s][key]).toBe('number');
    }
    const score = (c: (typeof configurations)[number]) => c.usdPerMillionRows / minCost + c.secondsPerMillionRows / minTime;
    expect(score(recommendations.balanced)).toBeLessThanOrEqual(Math.min(...configurations.map(score)) * 1.001);
  });

  it('keeps to an account\'s memory limit', () => {
    // Act
    const result = tunePredict(bench(), { maxMemoryMb: 3008 });

    // Assess
    expect(Math.max(...result.configurations.map((c) => c.memoryMb))).toBe(3008);
  });
});
