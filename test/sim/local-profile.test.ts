import { availableParallelism, loadavg } from 'node:os';
import { describe, expect, it } from 'vitest';
import { holdLocal } from '../../src/sim/holdLocal.js';

/*
 * The simulator held against this machine: `--profile local` must predict the per-round time that
 * the local runtime measures. The full case (1M × 16, k = 16, target: a factor of 1.35) is
 * `npm run bench:sim`, with its figures in docs/simulator.md. Here, on 200k rows so that it takes
 * seconds, both sides use their fastest rounds (the least disturbed by other processes) and the
 * tolerance is a factor of 2.5 — or 6 when the load average is above twice the cores. Why so wide:
 * this machine is shared, and at load averages of 25 on 2 cores (seen while this suite ran) one
 * k-means round of the same data took 14 to 81 ms within a minute, and two threads rarely get two
 * cores at once, which the calibration (one thread) cannot see. What it still catches: a model that
 * drops threads, lets workers not share cores, or loses a factor of the row count is off by 2× to 16×
 * in a direction the factor does not excuse at low load, and by more than 6× at any load for the last.
 */
describe('the local profile against bspml train on this machine', () => {
  it('predicts the per-round time of 1×1, 1×2 and 4×1 within a factor of 2.5 (6 under heavy load)', async () => {
    // Act
    const { cases } = await holdLocal({ rows: 200_000, dims: 16, k: 16, rounds: 8, cases: [[1, 1], [1, 2], [4, 1]] });
    const factor = loadavg()[0]! > 2 * availableParallelism() ? 6 : 2.5;

    // Assess
    for (const c of cases) {
      const what = `${c.workers}×${c.threads}: predicted ${c.predictedMs.toFixed(2)} ms, measured ${c.measuredMs.toFixed(2)} ms (load ${loadavg()[0]!.toFixed(1)})`;
      expect(c.ratio, what).toBeGreaterThan(1 / factor);
      expect(c.ratio, what).toBeLessThan(factor);
    }
  }, 180_000);
});
