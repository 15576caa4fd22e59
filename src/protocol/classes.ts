import { classKey } from '../data/textColumns.js';
import type { ShardData } from '../data/types.js';
import { BspmlError } from '../errors.js';

/*
 * A classifier's labels in a worker's shard become class indices once the job's classes are known
 * (after the preparation round, which collected them): rewritten in place, once per loaded shard,
 * before its first training partial. Shards read as text hold per-shard codes named by
 * `labelKeys`; shards of numbers hold the labels themselves.
 */

/** Rewrites `shard.labels` as indices into `classes` (the job's sorted class list); a no-op when done. */
export function applyClasses(shard: ShardData, classes: readonly (string | number)[] | undefined, source: string): void {
  if (!shard.labels || !classes || shard.labelsAreClasses) return;
  const index = new Map(classes.map((c, i) => [classKey(c), i]));
  const keys = shard.labelKeys;
  const known = new Map<number, number>();
  const labels = shard.labels;
  for (let i = 0; i < labels.length; i++) {
    const v = labels[i]!;
    let k = known.get(v);
    if (k === undefined) {
      const key = keys ? keys[v]! : String(v);
      k = index.get(key);
      // The preparation round counted every label of every shard: only a data set changed under
      // the job (or a corrupt shard) gets here.
      if (k === undefined) throw new BspmlError('E_DATA', `${source}: label ${JSON.stringify(key)} is not one of the job's classes (${classes.join(', ')}): did the data change during the job?`);
      known.set(v, k);
    }
    labels[i] = k;
  }
  shard.labelsAreClasses = true;
}
