import { describe, expect, it } from 'vitest';
import { RowProblem } from '../../src/data/rowProblem.js';
import { labelKey, sortClasses, TextDictionary } from '../../src/data/textColumns.js';

/*
 * How a label becomes a class: its key (a number's shortest form, other text as it is) and the
 * order of the classes, which must be np.unique's (a model's class i is the i-th in that order).
 * The expected orders below are what np.unique returns for the same values (numbers as a numeric
 * array, text as a str array).
 */

describe('labelKey', () => {
  it('reads 1, 1.0, +1 and 1e0 as one class, -1 as another, and keeps text as written (trimmed)', () => {
    // Act
    const keys = ['1', '1.0', '+1', '1e0', '-1', ' setosa ', 'True', '007x'].map((t) => labelKey(t, 3));

    // Assess
    expect(keys).toEqual(['1', '1', '1', '1', '-1', 'setosa', 'True', '007x']);
  });

  it('refuses an empty label, naming its column', () => {
    // Act
    let caught: unknown;
    try {
      labelKey('  ', 3);
    } catch (error) {
      caught = error;
    }

    // Assess
    expect(caught).toBeInstanceOf(RowProblem);
    expect((caught as RowProblem).column).toBe(3);
    expect((caught as RowProblem).message).toBe('empty label (every row needs its class)');
  });
});

describe('sortClasses: np.unique\'s order', () => {
  it.each([
    ['integers, numerically (not as text)', ['10', '9', '-1', '100'], [-1, 9, 10, 100]],
    ['-1/+1', ['1', '-1'], [-1, 1]],
    ['strings, by code point (capitals first)', ['versicolor', 'Setosa', 'virginica', 'setosa'], ['Setosa', 'setosa', 'versicolor', 'virginica']],
    ['booleans as pandas writes them', ['True', 'False'], ['False', 'True']],
    ['numbers mixed with text, all as text', ['2', '10', 'x'], ['10', '2', 'x']],
  ])('%s', (_what, keys, sorted) => {
    expect(sortClasses(keys)).toEqual(sorted);
  });
});

describe('TextDictionary', () => {
  it('codes values in order of first appearance, and refuses more than its limit, naming why', () => {
    // Prepare
    const dict = new TextDictionary(2, 'label', { most: 2, why: 'two at most here' });

    // Act
    const codes = ['b', 'a', 'b', '2.0', '2'].slice(0, 3).map((t) => dict.code(t));

    // Assess
    expect(codes).toEqual([0, 1, 0]);
    expect(dict.keys).toEqual(['b', 'a']);
    expect(() => dict.code('c')).toThrow('more than 2 distinct values: two at most here');
    expect(new TextDictionary(0, 'raw').codeOfNumber(0.1)).toBe(0);
  });
});
