import { describe, expect, it } from 'vitest';
import { predictKmeans, predictLogreg, predictMultinomial, predictSvm } from '../../src/algorithms/index.js';
import { compilePredictor, present } from '../../src/serve/predictor.js';
import { binaryModel, kmeansModel, multinomialModel, randomRows, svmModel } from '../helpers/served-models.js';

/*
 * The served loops against the training side's predict functions (src/algorithms/*\/predict.ts),
 * which `bspml predict` uses: the same numbers bit for bit, on widths that leave every remainder
 * of the four-at-a-time loops (1, 2, 3, 5, 10 classes or centres).
 */

describe('a compiled predictor', () => {
  it('gives a multinomial model\'s probabilities and classes bit for bit, for 3, 5 and 10 classes and an odd number of rows', () => {
    for (const classes of [3, 5, 10]) {
      // Prepare
      const model = multinomialModel(7, Array.from({ length: classes }, (_, c) => `c${c}`), classes);
      const x = randomRows(201, 7);

      // Act
      const served = compilePredictor(model).run(x, 201);

      // Assess
      const reference = predictMultinomial(model, x, 201);
      expect(Array.from(served.scores)).toEqual(Array.from(reference.probabilities));
      expect(Array.from(served.index)).toEqual(Array.from(reference.label));
    }
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
    expect(Array.from(p.scores)).toEqual(Array.from(predictLogreg(logreg, x, 300)));
    expect(Array.from(p.index)).toEqual(Array.from(predictLogreg(logreg, x, 300), (v) => (v >= 0.5 ? 1 : 0)));
    expect(Array.from(d.scores)).toEqual(Array.from(predictSvm(svm, x, 300)));
    expect(Array.from(d.index)).toEqual(Array.from(predictSvm(svm, x, 300), (v) => (v >= 0 ? 1 : 0)));
  });

  it('gives k-means\' nearest centre and distance bit for bit, for 1, 4 and 6 centres', () => {
    for (const k of [1, 4, 6]) {
      // Prepare
      const model = kmeansModel(3, k, k);
      const x = randomRows(250, 3, k);

      // Act
      const served = compilePredictor(model).run(x, 250);

      // Assess
      const reference = predictKmeans(model, x, 250);
      expect(Array.from(served.index)).toEqual(Array.from(reference.cluster));
      expect(Array.from(served.scores)).toEqual(Array.from(reference.distance));
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
