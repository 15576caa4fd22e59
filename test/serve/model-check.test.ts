import { describe, expect, it } from 'vitest';
import { parseModel } from '../../src/protocol/modelFile.js';
import { checkModel } from '../../src/serve/modelCheck.js';
import { binaryModel, kmeansModel, multinomialModel, svmModel, svmOvrModel } from '../helpers/served-models.js';

/*
 * The endpoint checks model files without zod (src/serve/modelCheck.ts); `bspml predict` checks
 * them with parseModel. Both must refuse every file that serving could not use correctly.
 */

const good = { multinomial: multinomialModel(), binary: binaryModel(), svm: svmModel(), ovr: svmOvrModel(), kmeans: kmeansModel() };

/** Each a model broken in one way that would make predictions wrong or crash them. */
const bad: Record<string, unknown> = {
  'not an object': [1, 2],
  'unknown algorithm': { ...good.binary, algorithm: 'forest' },
  'dims not an integer': { ...good.binary, dims: 2.5 },
  'a weight that is not finite': { ...good.binary, weights: [1, null, 3] },
  'fewer weights than dims': { ...good.binary, weights: [1, 2] },
  'fewer feature names than dims': { ...good.binary, featureNames: ['x0', 'x1'] },
  'a feature named twice': { ...good.binary, featureNames: ['x0', 'x0', 'x2'] },
  'the label among the features': { ...good.binary, labelName: 'x1' },
  'a class named twice': { ...good.binary, classes: ['a', 'a'] },
  'three classes on a binary model': { ...good.binary, classes: ['a', 'b', 'c'] },
  'a bias that is not a number': { ...good.binary, bias: 'x' },
  'no label name': { ...good.svm, labelName: undefined },
  'multinomial with fewer biases than classes': { ...good.multinomial, bias: [0, 1] },
  'multinomial with a short row of weights': { ...good.multinomial, weights: [[1, 2, 3, 4], [1, 2, 3], [1, 2, 3, 4]] },
  'multinomial with two classes': { ...good.multinomial, classes: ['a', 'b'], weights: good.multinomial.weights.slice(0, 2), bias: [0, 1] },
  'one-vs-rest SVM with fewer biases than classes': { ...good.ovr, bias: [0, 1] },
  'one-vs-rest SVM with two classes': { ...good.ovr, classes: ['a', 'b'], weights: good.ovr.weights.slice(0, 2), bias: [0, 1] },
  'one-vs-rest SVM with a short row of weights': { ...good.ovr, weights: [[1, 2, 3, 4], [1, 2], [1, 2, 3, 4]] },
  'k-means with fewer centroids than k': { ...good.kmeans, k: 6 },
  'k-means centroid of another width': { ...good.kmeans, centroids: [[1, 2, 3], ...good.kmeans.centroids.slice(1)] },
};

describe('the endpoint\'s model check', () => {
  it('accepts the models parseModel accepts, unchanged', () => {
    for (const [kind, model] of Object.entries(good)) {
      // Act
      const checked = checkModel(structuredClone(model), `${kind}.json`);

      // Assess
      expect(checked, kind).toMatchObject(parseModel(structuredClone(model), `${kind}.json`) as object);
    }
  });

  it('refuses, with one line naming the file, every model parseModel refuses for what serving reads', () => {
    for (const [why, model] of Object.entries(bad)) {
      // Act
      const reference = (() => {
        try {
          parseModel(model, 'm.json');
          return undefined;
        } catch (error) {
          return error as Error;
        }
      })();

      // Assess
      expect(reference, `parseModel should refuse ${why}`).toBeInstanceOf(Error);
      expect(() => checkModel(model, 'm.json'), why).toThrow(/^m\.json: not a bspml model: \S+: .+$/);
    }
  });
});
