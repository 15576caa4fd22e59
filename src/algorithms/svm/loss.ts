import type { RowLoss } from '../logreg/secondOrder.js';

/** max(0, 1 − y±·z)² with y± = 2y − 1, its slope in z, and its generalised second derivative. */
export const squaredHinge: RowLoss = {
  value: (z, y) => {
    const r = 1 - (2 * y - 1) * z;
    return r > 0 ? r * r : 0;
  },
  slope: (z, y) => {
    const sign = 2 * y - 1;
    const r = 1 - sign * z;
    return r > 0 ? -2 * sign * r : 0;
  },
  curvature: (z, y) => (1 - (2 * y - 1) * z > 0 ? 2 : 0),
};

/** max(0, 1 − y±·z): its subgradient (−y± inside the margin, 0 outside) and no curvature (local SGD's SVM loss). */
export const hinge: RowLoss = {
  value: (z, y) => Math.max(0, 1 - (2 * y - 1) * z),
  slope: (z, y) => ((2 * y - 1) * z < 1 ? -(2 * y - 1) : 0),
  curvature: () => 0,
};
