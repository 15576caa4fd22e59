import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { decodeModel, encodeModel, modelDigest } from '../../src/protocol/codec.js';

describe('model encoding', () => {
  it('encodes a model as a view of its bytes (no copy), which decodes to the same values in a copy of its own', () => {
    // Prepare: a model inside a larger buffer, as a subarray can be
    const whole = Float64Array.from({ length: 12 }, (_, i) => i / 3 - 1);
    const model = whole.subarray(2, 9);

    // Act
    const bytes = encodeModel(model);
    const decoded = decodeModel(bytes);

    // Assess
    expect(bytes.buffer).toBe(whole.buffer);
    expect(bytes.byteOffset).toBe(16);
    expect(bytes.byteLength).toBe(7 * 8);
    expect(Array.from(decoded)).toEqual(Array.from(model));
    expect(decoded.buffer).not.toBe(whole.buffer);
  });

  it('digests the bytes once per array: the same digest again, and for equal bytes elsewhere, the SHA-256 prefix', () => {
    // Prepare
    const bytes = encodeModel(Float64Array.from([1.5, -2, 3e10]));
    const copy = bytes.slice();
    const expected = createHash('sha256').update(copy).digest('hex').slice(0, 32);

    // Act
    const first = modelDigest(bytes);
    const again = modelDigest(bytes);
    const other = modelDigest(copy);

    // Assess
    expect(first).toBe(expected);
    expect(again).toBe(expected);
    expect(other).toBe(expected);
    expect(modelDigest(encodeModel(Float64Array.from([1.5, -2, 3e10 + 1])))).not.toBe(expected);
  });
});
