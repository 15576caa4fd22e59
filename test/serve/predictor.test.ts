import { describe, expect, it } from 'vitest';
import { predictKmeans, predictLogreg, predictMultinomial, predictSvm, predictSvmOvr } from '../../src/algorithms/index.js';
import { packSoftmax, softmaxRows } from '../../src/algorithms/logreg/predict.js';
import { kernelInfo } from '../../src/kernels/backend.js';
import type { KmeansResult, LogregResult, MultinomialResult, SvmResult } from '../../src/domain/results.js';
import { compilePredictor, present } from '../../src/serve/predictor.js';
import { binaryModel, kmeansModel, multinomialModel, randomRows, svmModel, svmOvrModel } from '../helpers/served-models.js';

/*
 * The served loops (which are `bspml predict`'s, src/algorithms/*\/predict.ts, blocked four classes
 * or centres and two rows at a time) against plain one-row-one-class loops written here: the same
 * numbers bit for bit, on widths that leave every remainder of the blocked loops (1, 2, 3, 5, 10
 * classes or centres) and an odd number of rows. The multinomial's probabilities run on the
 * WebAssembly kernel where it is built (kernels/softmaxPredict.ts): equal to rounding, and the same
 * for a row whatever batch it comes in.
 */

describe('a compiled predictor', () => {
  it('gives a multinomial model\'s probabilities and classes: the plain loop bit for bit, the kernel to rounding, for 3, 5 and 10 classes and an odd number of rows', () => {
    for (const classes of [3, 5, 10]) {
      // Prepare
      const model = multinomialModel(7, Array.from({ length: classes }, (_, c) => `c${c}`), classes);
      const x = randomRows(201, 7);

      // Act
      const loop = softmaxRows(packSoftmax(model), classes, 7, x, 201);
      const served = compilePredictor(model).run(x, 201);

      // Assess
      const reference = plainMultinomial(model, x, 201);
      expect(Array.from(loop.scores)).toEqual(Array.from(reference.probabilities));
      expect(Array.from(loop.index)).toEqual(Array.from(reference.label));
      served.scores.forEach((p, i) => expect(Math.abs(p - reference.probabilities[i]!)).toBeLessThan(1e-12));
      expect(Array.from(served.index)).toEqual(Array.from(reference.label));
      expect(predictMultinomial(model, x, 201)).toEqual({ label: served.index, probabilities: served.scores });
    }
  });

  it('runs the multinomial on the WebAssembly kernel where it is built, each row\'s answer the same alone or in any batch', () => {
    // Prepare
    const model = multinomialModel(13, ['a', 'b', 'c', 'd', 'e'], 5);
    const x = randomRows(37, 13);
    const predictor = compilePredictor(model);

    // Act
    const whole = predictor.run(x, 37);
    const parts = [x.subarray(0, 13), x.subarray(13, 13 * 20), x.subarray(13 * 20)].map((part) => predictor.run(part, part.length / 13).scores);

    // Assess
    expect(kernelInfo().kind).toBe(process.env.BSPML_KERNELS === 'js' ? 'js' : 'wasm');
    expect(Array.from(parts.flatMap((p) => Array.from(p)))).toEqual(Array.from(whole.scores));
    const loop = softmaxRows(packSoftmax(model), 5, 13, x, 37).scores;
    // The kernel sums in another order than the loop: some probability differs in its last bits.
    if (kernelInfo().kind === 'wasm') expect(Array.from(whole.scores)).not.toEqual(Array.from(loop));
  });

  it('gives logistic regression\'s P(class 1) and the SVM\'s decision value bit for bit', () => {
    // Prepare
    const logreg = binaryModel(5);
    const svm = svmModel(5);
    const x = randomRows(300, 5);

    // Act
    const p = compilePredictor(logreg).run(x, 300);
    const d = compilePredictor(svm).run(x, 300);

    // Assess
    expect(Array.from(p.scores)).toEqual(Array.from(plainLinear(logreg, x, 300, true)));
    expect(Array.from(p.index)).toEqual(Array.from(plainLinear(logreg, x, 300, true), (v) => (v >= 0.5 ? 1 : 0)));
    expect(Array.from(d.scores)).toEqual(Array.from(plainLinear(svm, x, 300, false)));
    expect(Array.from(d.index)).toEqual(Array.from(plainLinear(svm, x, 300, false), (v) => (v >= 0 ? 1 : 0)));
    expect(predictLogreg(logreg, x, 300)).toEqual(plainLinear(logreg, x, 300, true));
    expect(predictSvm(svm, x, 300)).toEqual(plainLinear(svm, x, 300, false));
  });

  it('gives a one-vs-rest SVM\'s decision value per class bit for bit, and the class of the largest, for 3 and 5 classes', () => {
    for (const classes of [3, 5]) {
      // Prepare
      const model = svmOvrModel(6, Array.from({ length: classes }, (_, c) => `c${c}`), classes);
      const x = randomRows(101, 6, classes);

      // Act
      const served = compilePredictor(model).run(x, 101);
      const answer = present(compilePredictor(model), served, 101);

      // Assess: against w_k·x + b_k written out here, one row and one class at a time.
      for (let i = 0; i < 101; i++) {
        const z = model.weights.map((w, k) => w.reduce((sum, wj, j) => sum + wj * x[i * 6 + j]!, model.bias[k]!));
        expect(Array.from(served.scores.subarray(i * classes, (i + 1) * classes))).toEqual(z);
        expect(served.index[i]).toBe(z.indexOf(Math.max(...z)));
        expect(answer.decision![i]).toEqual(z);
        expect(answer.labels![i]).toBe(`c${z.indexOf(Math.max(...z))}`);
      }
      expect(predictSvmOvr(model, x, 101)).toEqual({ label: served.index, decision: served.scores });
      expect(answer.probabilities).toBeUndefined();
    }
  });

  it('gives k-means\' nearest centre and distance bit for bit, for 1, 4 and 6 centres', () => {
    for (const k of [1, 4, 6]) {
      // Prepare
      const model = kmeansModel(3, k, k);
      const x = randomRows(250, 3, k);

      // Act
      const served = compilePredictor(model).run(x, 250);

      // Assess
      const reference = plainKmeans(model, x, 250);
      expect(Array.from(served.index)).toEqual(Array.from(reference.cluster));
      expect(Array.from(served.scores)).toEqual(Array.from(reference.distance));
      expect(predictKmeans(model, x, 250)).toEqual(reference);
    }
  });

  it('answers with the classes as the data named them, and a probability per class summing to 1', () => {
    // Prepare
    const model = multinomialModel();
    const binary = binaryModel();
    const predictor = compilePredictor(model);
    const x = randomRows(4, 4);

    // Act
    const answer = present(predictor, predictor.run(x, 4), 4);
    const yesNo = present(compilePredictor(binary), compilePredictor(binary).run(randomRows(4, 3), 4), 4);

    // Assess
    expect(answer.labels!.every((l) => ['setosa', 'versicolor', 'virginica'].includes(l as string))).toBe(true);
    for (const p of answer.probabilities!) expect(p.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 12);
    answer.labels!.forEach((label, i) => expect(model.classes[answer.probabilities![i]!.indexOf(Math.max(...answer.probabilities![i]!))]).toBe(label));
    expect(yesNo.probabilities!.every((p) => p.length === 2 && Math.abs(p[0]! + p[1]! - 1) < 1e-12)).toBe(true);
    yesNo.labels!.forEach((label, i) => expect(label).toBe(yesNo.probabilities![i]![1]! >= 0.5 ? 'yes' : 'no'));
  });
});

/** Bias first, then feature by feature: P(class 1) (logistic) or the decision value (SVM). */
function plainLinear(model: LogregResult | SvmResult, x: Float32Array, rows: number, logistic: boolean): Float64Array {
  const out = new Float64Array(rows);
  for (let i = 0; i < rows; i++) {
    let z = model.bias;
    for (let j = 0; j < model.dims; j++) z += model.weights[j]! * x[i * model.dims + j]!;
    out[i] = !logistic ? z : z >= 0 ? 1 / (1 + Math.exp(-z)) : Math.exp(z) / (1 + Math.exp(z));
  }
  return out;
}

/** One row and one class at a time; softmax shifted by the largest logit; the first class on ties. */
function plainMultinomial(model: MultinomialResult, x: Float32Array, rows: number): { label: Int32Array; probabilities: Float64Array } {
  const classes = model.classes.length;
  const label = new Int32Array(rows);
  const probabilities = new Float64Array(rows * classes);
  for (let i = 0; i < rows; i++) {
    const p = probabilities.subarray(i * classes, (i + 1) * classes);
    for (let k = 0; k < classes; k++) {
      let z = model.bias[k]!;
      for (let j = 0; j < model.dims; j++) z += model.weights[k]![j]! * x[i * model.dims + j]!;
      p[k] = z;
    }
    let best = 0;
    for (let k = 1; k < classes; k++) if (p[k]! > p[best]!) best = k;
    const top = p[best]!;
    let sum = 0;
    for (let k = 0; k < classes; k++) sum += p[k] = Math.exp(p[k]! - top);
    for (let k = 0; k < classes; k++) p[k]! /= sum;
    label[i] = best;
  }
  return { label, probabilities };
}

/** One row and one centroid at a time; ties to the lower index. */
function plainKmeans(model: KmeansResult, x: Float32Array, rows: number): { cluster: Uint32Array; distance: Float64Array } {
  const cluster = new Uint32Array(rows);
  const distance = new Float64Array(rows);
  for (let i = 0; i < rows; i++) {
    let best = 0;
    let bestDist = Infinity;
    model.centroids.forEach((centroid, c) => {
      let d = 0;
      for (let j = 0; j < model.dims; j++) {
        const diff = x[i * model.dims + j]! - centroid[j]!;
        d += diff * diff;
      }
      if (d < bestDist) [bestDist, best] = [d, c];
    });
    cluster[i] = best;
    distance[i] = Math.sqrt(bestDist);
  }
  return { cluster, distance };
}
