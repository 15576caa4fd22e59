import { availableParallelism, loadavg } from 'node:os';
import { describe, expect, it } from 'vitest';
import { holdLocal } from '../../src/sim/holdLocal.js';

/*
 * The simulator held against this machine: `--profile local` must predict the per-round time that
 * the local runtime measures. The full case (1M × 16, k = 16, target: a factor of 1.35) is
 * `npm run bench:sim`, with its figures in docs/simulator.md. Here, on 200k rows so that it takes
 * seconds, both sides use their fastest rounds (the least disturbed by other processes) and the
 * tolerance is a factor of 2.5: calibration and real run are timed seconds apart, and on a shared
 * machine a neighbour's burst can land on one and not the other. A model that drops threads, lets
 * workers not share cores, or loses a factor of the row count is off by 2× to 16×.
 *
 * Above a load average of twice the cores the comparison says nothing and the test is skipped,
 * saying so: at load averages of 25 on 2 cores (while this session's agents shared the machine) the
 * same calibration gave 39 and 446 ns per row ten seconds apart, and measured rounds of one job
 * varied 4×. CI runs it on a machine of its own.
 */
describe('the local profile against bspml train on this machine', () => {
  it('predicts the per-round time of 1×1, 1×2 and 4×1 within a factor of 2.5', async (context) => {
    const load = loadavg()[0]!;
    if (load > 2 * availableParallelism()) {
      console.warn(`skipped: load average ${load.toFixed(1)} on ${availableParallelism()} cores; timings here would measure the neighbours`);
      context.skip();
    }

    // Act
    const { cases } = await holdLocal({ rows: 200_000, dims: 16, k: 16, rounds: 8, cases: [[1, 1], [1, 2], [4, 1]] });
    const factor = 2.5;

    // Assess
    for (const c of cases) {
      const what = `${c.workers}×${c.threads}: predicted ${c.predictedMs.toFixed(2)} ms, measured ${c.measuredMs.toFixed(2)} ms (load ${loadavg()[0]!.toFixed(1)})`;
      expect(c.ratio, what).toBeGreaterThan(1 / factor);
      expect(c.ratio, what).toBeLessThan(factor);
    }
  }, 180_000);
});
