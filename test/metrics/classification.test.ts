import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { classificationMetrics, heldOutInertia } from '../../src/metrics/classification.js';

/*
 * Held-out metrics against scikit-learn's own on fixed cases (test/fixtures/metrics-sklearn.json,
 * made by scripts/metrics.py): string labels with tied and 0/1 scores, -1/+1 labels, four classes
 * with one almost never predicted, and k-means' held-out inertia.
 */

interface Case {
  name: string;
  classes: (string | number)[];
  truth: (string | number)[];
  probabilities: number[][];
  accuracy: number;
  logLoss: number;
  precision: number;
  recall: number;
  f1: number;
  auc?: number;
  confusion: number[][];
}

const fixture = JSON.parse(await readFile(new URL('../fixtures/metrics-sklearn.json', import.meta.url), 'utf8')) as {
  cases: Case[];
  kmeans: { centroids: number[][]; heldOut: number[][]; inertia: number };
};

describe('classificationMetrics: scikit-learn\'s figures to 1e-6', () => {
  it.each(fixture.cases.map((c) => [c.name, c] as const))('%s', (_name, c) => {
    // Prepare
    const truth = c.truth.map((t) => c.classes.indexOf(t));
    const probabilities = c.probabilities.flat();

    // Act
    const m = classificationMetrics(truth, probabilities, c.classes);

    // Assess
    expect(truth).not.toContain(-1);
    expect(m.rows).toBe(c.truth.length);
    expect(Math.abs(m.accuracy - c.accuracy)).toBeLessThanOrEqual(1e-12);
    expect(Math.abs(m.logLoss - c.logLoss)).toBeLessThanOrEqual(1e-6);
    expect(Math.abs(m.precision - c.precision)).toBeLessThanOrEqual(1e-12);
    expect(Math.abs(m.recall - c.recall)).toBeLessThanOrEqual(1e-12);
    expect(Math.abs(m.f1 - c.f1)).toBeLessThanOrEqual(1e-12);
    expect(m.confusion).toEqual(c.confusion);
    expect(m.average).toBe(c.classes.length === 2 ? 'binary' : 'macro');
    if (c.auc === undefined) expect(m.auc).toBeUndefined();
    else expect(Math.abs(m.auc! - c.auc)).toBeLessThanOrEqual(1e-12);
  });
});

describe('heldOutInertia', () => {
  it("is KMeans.score's negative on held-out rows, to 1e-6 relative", () => {
    // Prepare
    const { centroids, heldOut, inertia } = fixture.kmeans;

    // Act
    const ours = heldOutInertia(centroids, heldOut.flat(), heldOut.length, 3);

    // Assess
    expect(Math.abs(ours - inertia) / inertia).toBeLessThanOrEqual(1e-6);
  });
});
