import { formatFloat32 } from './table.js';

/**
 * Most classes a label column may hold (labels 0..MAX_CLASSES − 1). A column with larger integers is
 * more likely an id or a count than a class, and a model with a row of weights per class would not
 * be what its user meant.
 */
export const MAX_CLASSES = 1000;

/** Why `y` cannot be a class label (0, 1, 2, …), or undefined when it can. */
export function classLabelProblem(y: number): string | undefined {
  return Number.isInteger(y) && y >= 0 && y < MAX_CLASSES ? undefined : `label ${formatFloat32(y)} is not a class: labels must be integers 0 to ${MAX_CLASSES - 1}`;
}
