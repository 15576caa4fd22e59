import { expect } from 'vitest';
import { DataError } from '../../src/errors.js';

/** Runs `fn`, which must throw a DataError (code E_DATA), and returns it for the message checks. */
export function dataError(fn: () => unknown): DataError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(DataError);
    expect((err as DataError).code).toBe('E_DATA');
    return err as DataError;
  }
  throw new Error('expected a DataError, nothing was thrown');
}
