import { describe, expect, it } from 'vitest';
import { logreg } from '../../src/algorithms/index.js';
import { interpolatedStep, tailOffsets } from '../../src/algorithms/logreg/secondOrder.js';
import { summarizeData } from '../../src/data/summary.js';
import { parseJobSpec, type LogregSpec } from '../../src/domain/spec.js';
import { blobs } from '../helpers/data.js';

/*
 * The step multinomial L-BFGS cuts a refused point to (secondOrder.ts): the minimum of the cubic
 * through f and f′ at 0 and 1, kept within [0.1, 0.5].
 */

/** f(0), f′(0), f(1), f′(1) of f(α) = a·α³ + b·α² + d0·α + f0. */
function ends(a: number, b: number, d0: number, f0: number): [number, number, number, number] {
  return [f0, d0, a + b + d0 + f0, 3 * a + 2 * b + d0];
}

describe('interpolatedStep', () => {
  it('finds the minimum of a parabola and of a cubic inside [0.1, 0.5]', () => {
    // Prepare: f = 1 − α + α²/0.6 (minimum at 0.3); f = α³ + 0.65·α² − α + 2 (f′(0.4) = 0.48 + 0.52 − 1 = 0)
    const parabola = ends(0, 1 / 0.6, -1, 1);
    const cubic = ends(1, 0.65, -1, 2);

    // Act
    const a = interpolatedStep(...parabola);
    const b = interpolatedStep(...cubic);

    // Assess
    expect(a).toBeCloseTo(0.3, 12);
    expect(b).toBeCloseTo(0.4, 12);
  });

  it('keeps the step within [0.1, 0.5], and takes the shortest where f(1) overflowed', () => {
    // Prepare: minima at 0.02 (a steep parabola) and 0.8 (f(1) above the Armijo line only by a little)
    const steep = ends(0, 25, -1, 1);
    const long = ends(0, 0.625, -1, 1);

    // Act
    const short = interpolatedStep(...steep);
    const capped = interpolatedStep(...long);
    const overflowed = interpolatedStep(1, -1, Infinity, NaN);
    const noSlope = interpolatedStep(1, -1, 1.5, NaN);

    // Assess
    expect(short).toBe(0.1);
    expect(capped).toBe(0.5);
    expect(overflowed).toBe(0.1);
    // Without f′(1), the parabola through f(0), f′(0), f(1): −d0 / (2·(f1 − f0 − d0)) = 1/3.
    expect(noSlope).toBeCloseTo(1 / 3, 12);
  });
});

/** Three overlapping blobs, label = blob. */
const BASE = blobs(
  [
    [0, 0],
    [2, 1],
    [-1, 2],
  ],
  60,
  1.5,
  5,
);
const DATA = { ...BASE, labels: Float32Array.from({ length: BASE.rows }, (_, i) => i % 3), labelName: 'label' };

describe('multinomial L-BFGS, a refused step', () => {
  it('is cut to the interpolated step along the same direction, tested in the next round, which lowers the objective', () => {
    // Prepare: round 0 (the start, accepted), then its direction made 40 times too long
    const spec = parseJobSpec({ algorithm: 'logreg', data: { uri: 'd' }, solver: 'lbfgs', C: 1, tol: 1e-9 }) as LogregSpec;
    const summary = { ...summarizeData(DATA, { seed: 0, sampleSize: 0 }), classes: 3 };
    const shape = logreg.shape(spec, summary);
    const round = (model: Float64Array) => {
      const merged = new Float64Array(logreg.partialLength(shape));
      logreg.partial(shape, model, { features: DATA.features, labels: DATA.labels, dims: 2, start: 0, end: DATA.rows }, merged);
      return logreg.update(spec, shape, model, merged);
    };
    const first = round(logreg.init(spec, summary));
    const o = tailOffsets(2, 3);
    const stretched = Float64Array.from(first.model);
    for (let j = 0; j < o.n; j++) {
      // The point evaluated is base + 40·p: in input space, base's weights plus the stretched raw direction.
      stretched[j] = first.model[j]! + 39 * first.model[o.rawDir + j]!;
      stretched[o.dir + j]! *= 40;
      stretched[o.rawDir + j]! *= 40;
    }

    // Act
    const refused = round(stretched);
    const next = round(refused.model);

    // Assess: the partial has no trial losses; the refused round reports the base's objective and a
    // step within [0.1, 0.5] of the same direction; the next round accepts that point, lower.
    expect(logreg.partialLength(shape)).toBe(3 * 3 + 3);
    expect(refused.objective).toBe(first.objective);
    expect(refused.stats.step).toBeGreaterThanOrEqual(0.1);
    expect(refused.stats.step).toBeLessThanOrEqual(0.5);
    for (let j = 0; j < o.n; j++) expect(refused.model[o.dir + j]).toBeCloseTo(refused.stats.step! * stretched[o.dir + j]!, 12);
    expect(next.stats.step).toBe(1);
    expect(next.objective).toBeLessThan(first.objective);
  });
});
