import { SpecError } from '../errors.js';
import { classKey } from '../data/textColumns.js';
import type { ClassWeightSpec } from '../domain/spec.js';

/*
 * Class weights (scikit-learn's `class_weight`): each row's loss counts w[its class] times. The
 * objective stays (1/n)·Σ w_y·loss + (λ/2)·‖v‖² with n the (unweighted) rows, which is
 * scikit-learn's ½‖w‖² + C·Σ w_y·loss divided by C·n, so `--C` means what it means there.
 *
 * `balanced`: w_k = n / (C · n_k), scikit-learn's compute_class_weight('balanced'), from the label
 * counts the preparation round collected (no extra pass). A JSON object maps labels as the data
 * writes them to weights; classes it does not name weigh 1, as in scikit-learn.
 */

/**
 * The weight of each class 0..C−1 (`classes`: the job's sorted labels, `counts`: rows per class
 * index). Throws a SpecError naming `classWeight` for a label that is not one of the classes.
 */
export function resolveClassWeights(setting: ClassWeightSpec, classes: readonly (string | number)[], counts: Record<string, number>, source: string): number[] {
  const n = classes.reduce<number>((sum, _c, k) => sum + (counts[String(k)] ?? 0), 0);
  if (setting === 'balanced') return classes.map((_c, k) => n / (classes.length * counts[String(k)]!));
  const numeric = classes.every((c) => typeof c === 'number');
  const index = new Map(classes.map((c, k) => [classKey(c), k]));
  const weights = classes.map(() => 1);
  for (const [label, weight] of Object.entries(setting)) {
    // A number's label may be written 1, 1.0 or +1 in the JSON: numbers are matched by value.
    const k = index.get(label) ?? (numeric && label.trim() !== '' && Number.isFinite(Number(label)) ? index.get(String(Number(label))) : undefined);
    if (k === undefined) {
      const shown = classes.length > 10 ? `${classes.slice(0, 10).join(', ')}, … (${classes.length} in all)` : classes.join(', ');
      throw new SpecError(`invalid job spec: classWeight (--class-weight): ${JSON.stringify(label)} is not a class of ${source} (its classes: ${shown})`, 'classWeight');
    }
    weights[k] = weight;
  }
  return weights;
}
