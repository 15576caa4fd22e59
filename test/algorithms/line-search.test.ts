import { describe, expect, it } from 'vitest';
import { interpolatedStep } from '../../src/algorithms/logreg/secondOrder.js';

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
