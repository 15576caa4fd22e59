import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createNumberText, numbersCsv } from '../../src/data/formats/numberText.js';

/*
 * Batch predictions write their numbers as bytes (src/data/formats/numberText.ts); the text must be what
 * String(x) gives, which `bspml predict` has always written: the shortest digits that read back as
 * the same double. Held to String(x) over random doubles of every kind, and at the fixed cases where
 * a digit generator goes wrong: powers of two (the gap below is half the gap above), powers of ten,
 * the notation's switches (1e-7, 1e21), 17-digit ties, the extremes.
 */

const text = createNumberText();
const buffer = new Uint8Array(64);
const decoder = new TextDecoder();

function written(x: number): string {
  const end = text.writeDouble(buffer, 0, x);
  return decoder.decode(buffer.subarray(0, end));
}

const bits = new Float64Array(1);
const words = new Uint32Array(bits.buffer);
function fromBits(high: number, low: number): number {
  words[1] = high;
  words[0] = low;
  return bits[0]!;
}

const RUNS = 20_000;

describe('numbers written as bytes', () => {
  it('are String(x) for any double, from its bit pattern (subnormals, NaN and infinities included)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 0xffffffff }), fc.integer({ min: 0, max: 0xffffffff }), (high, low) => {
        const x = fromBits(high, low);
        expect(written(x)).toBe(String(x));
      }),
      { numRuns: RUNS, seed: 2401 },
    );
  });

  it("are String(x) for fast-check's doubles, probabilities in [0, 1], their complements, integers and subnormals", () => {
    const cases = fc.oneof(
      fc.double(),
      fc.double({ min: 0, max: 1, noNaN: true }),
      fc.double({ min: 0, max: 1, noNaN: true }).map((p) => 1 - p),
      fc.double({ min: -1e-300, max: 1e-300, noNaN: true }),
      fc.integer().map((n) => n * 1),
      fc.maxSafeInteger().map((n) => n * 1),
      fc.integer({ min: -1074, max: 1023 }).map((e) => 2 ** e),
      fc.tuple(fc.integer({ min: 1, max: 999_999 }), fc.integer({ min: -330, max: 310 })).map(([d, e]) => Number(`${d}e${e}`)),
    );
    fc.assert(
      fc.property(cases, (x) => {
        expect(written(x)).toBe(String(x));
      }),
      { numRuns: RUNS, seed: 2402 },
    );
  });

  it('are String(x) for softmax outputs of random logits, and round-trip to the same double', () => {
    // Prepare: probabilities as a multinomial model writes them, tiny ones (e-12 and below) among them.
    let seed = 7;
    const random = () => {
      seed = (seed * 16807) % 2147483647;
      return seed / 2147483647;
    };
    const wrong: string[] = [];
    for (let row = 0; row < 10_000; row++) {
      const z = Array.from({ length: 8 }, () => (random() - 0.5) * 60);
      const top = Math.max(...z);
      const e = z.map((v) => Math.exp(v - top));
      const sum = e.reduce((a, b) => a + b, 0);
      for (const v of e) {
        const p = v / sum;
        // Act
        const out = written(p);
        if (out !== String(p) || Number(out) !== p) wrong.push(`${String(p)} written ${out}`);
      }
    }

    // Assess
    expect(wrong).toEqual([]);
  });

  it('are String(x) at the fixed edge cases', () => {
    const cases = [
      0, -0, 1, -1, 0.1, 0.2, 0.3, 0.1 + 0.2, 1 / 3, 2 / 3, 0.5, 1e-7, 1.5e-7, 9.999999999999999e-7, 1e-6, 0.000001234, 1e20, 1e21, 123456789012345680000,
      1e22, 1e23, 2 ** 52, 2 ** 53, 2 ** 53 + 2, 2 ** 63, 2 ** 64, 1e15 + 0.25, 1e15 + 0.75, 5e-324, -5e-324, 2.2250738585072014e-308, 2.225073858507201e-308,
      1.7976931348623157e308, -1.7976931348623157e308, 9007199254740993, 4.35, 0.000123, 100, 1e100, 1e-100, 9.87856616750342e21, 9.93988453939863e-178, NaN, Infinity, -Infinity,
      Number.EPSILON, 1 - Number.EPSILON / 2, 1 + Number.EPSILON,
    ];
    for (const x of cases) expect(written(x)).toBe(String(x));
  });

  it('are String(x) at every power of two and ten, and just below each', () => {
    const wrong: string[] = [];
    for (let e = -1074; e <= 1023; e++) {
      for (const x of [2 ** e, 2 ** e * 1.5, 2 ** e * (2 - Number.EPSILON)]) if (written(x) !== String(x)) wrong.push(String(x));
    }
    for (let e = -323; e <= 308; e++) {
      const x = Number(`1e${e}`);
      const below = x * (1 - Number.EPSILON); // the double just below (or x, where it is subnormal)
      for (const y of [x, below, Number(`9.999999999999999e${e}`)]) if (written(y) !== String(y)) wrong.push(String(y));
    }
    expect(wrong).toEqual([]);
  });

  it('take the fallback (String itself) only for subnormals, NaN and infinities among random probabilities', () => {
    // Prepare
    const before = text.fallbacks();
    let seed = 11;

    // Act
    for (let i = 0; i < 100_000; i++) {
      seed = (seed * 16807) % 2147483647;
      written(seed / 2147483647);
    }

    // Assess: the fast path decided every one of them.
    expect(text.fallbacks() - before).toBe(0);
  });

  it('write integers as String does', () => {
    for (const n of [0, 1, 9, 10, 99, 100, 2147483647, -5, 123456789012345]) {
      const end = text.writeInteger(buffer, 0, n);
      expect(decoder.decode(buffer.subarray(0, end))).toBe(String(n));
    }
  });
});

describe('a row of numbers as text (local bspml predict)', () => {
  it('is the numbers joined by commas as Array.join writes them, for one number and for many', () => {
    // Prepare
    const values = Float64Array.from([0.1, 1e-7, -2.5e21, 0, 0.30000000000000004, 5e-324, 1 / 3, 12]);

    // Act
    const all = numbersCsv(values, 0, values.length);
    const one = numbersCsv(values, 2, 3);
    const none = numbersCsv(values, 4, 4);

    // Assess
    expect(all).toBe(Array.from(values).join(','));
    expect(one).toBe('-2.5e+21');
    expect(none).toBe('');
  });
});
