import { availableParallelism, loadavg } from 'node:os';
import { describe, expect, it } from 'vitest';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { holdLocal, slopeAgainstTrain } from '../../src/sim/holdLocal.js';

/*
 * The simulator held against this machine: `--profile local` must predict the per-round time that
 * the local runtime measures. The full case (1M × 16, k = 16, target: a factor of 1.35) is
 * `npm run bench:sim`, with its figures in docs/simulator.md. Here, on 200k rows so that it takes
 * seconds, both sides use their fastest rounds (the least disturbed by other processes) and the
 * tolerance is a factor of 2.5: calibration and real run are timed seconds apart, and on a shared
 * machine a neighbour's burst can land on one and not the other. A model that drops threads, lets
 * workers not share cores, or loses a factor of the row count is off by 2× to 16×.
 *
 * Timed comparisons do not belong in the default suite (vitest runs test files side by side, so a
 * neighbouring file's burst lands on one side and not the other): by default this test checks what
 * does not depend on the machine's load — both sides ran every case and produced finite times, and
 * the prediction scales with threads and workers as the model says. The timed comparison runs with
 * BSPML_TIMED_TESTS=1, and is skipped, saying so, above a load average of twice the cores: at load
 * averages of 25 on 2 cores the same calibration gave 39 and 446 ns per row ten seconds apart.
 */
const timed = process.env.BSPML_TIMED_TESTS === '1';

describe('the local profile against bspml train on this machine', () => {
  it('runs both sides for 1×1, 1×2 and 4×1; the prediction halves compute with two threads', async () => {
    // Act
    const { cases } = await holdLocal({ rows: 200_000, dims: 16, k: 16, rounds: 3, cases: [[1, 1], [1, 2], [4, 1]] });

    // Assess
    expect(cases.map((c) => [c.workers, c.threads])).toEqual([[1, 1], [1, 2], [4, 1]]);
    for (const c of cases) {
      expect(Number.isFinite(c.measuredMs) && c.measuredMs > 0, `measured ${c.measuredMs}`).toBe(true);
      expect(Number.isFinite(c.predictedMs) && c.predictedMs > 0, `predicted ${c.predictedMs}`).toBe(true);
    }
    // One calibration feeds all three predictions: more threads or workers never predict a slower round.
    const [one, twoThreads, fourWorkers] = cases.map((c) => c.predictedMs);
    expect(twoThreads!).toBeLessThan(one!);
    expect(fourWorkers!).toBeLessThan(one!);
  }, 180_000);

  it.skipIf(!timed)('predicts the per-round time of 1×1, 1×2 and 4×1 within a factor of 2.5 (BSPML_TIMED_TESTS=1)', async (context) => {
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

  it.skipIf(!timed)('predicts bspml train\'s per-round time, as a user measures it (slope of 5 and 25 rounds), within 1.35 (BSPML_TIMED_TESTS=1)', async (context) => {
    const load = loadavg()[0]!;
    if (load > availableParallelism()) {
      console.warn(`skipped: load average ${load.toFixed(1)} on ${availableParallelism()} cores; the target is for a quiet machine`);
      context.skip();
    }
    const dir = await mkdtemp(join(tmpdir(), 'bspml-slope-'));
    try {
      // Act
      const s = await slopeAgainstTrain({ rows: 1_000_000, dims: 16, k: 16, rounds: [5, 25], cli: [process.execPath, '--import', 'tsx', 'src/cli/main.ts'], dir });

      // Assess
      const what = `predicted ${s.predictedMsPerRound.toFixed(1)} ms per round, measured ${s.measuredMsPerRound.toFixed(1)} ms (load ${loadavg()[0]!.toFixed(1)})`;
      expect(s.ratio, what).toBeGreaterThan(1 / 1.35);
      expect(s.ratio, what).toBeLessThan(1.35);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }, 300_000);
});
