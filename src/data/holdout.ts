import { sampleKey } from './summary.js';

/*
 * A seeded held-out share of a data set's rows (`--holdout FRACTION`): a row is held out when a
 * hash of (seed, part, position) falls below the fraction. The key is the row's identity in its
 * part (a CSV line's byte offset, a binary or Parquet row's index), never its shard, so the same
 * rows are held out whatever the number of workers, threads or pieces; training reads the rest,
 * and the scoring pass reads these.
 */

export interface Holdout {
  fraction: number;
  seed: number;
  /** Which side a reader keeps: the training rows, or the held-out ones. */
  keep: 'train' | 'holdout';
}

/** Another stream than the initialisation sample's, which keys on the same (seed, part, position). */
const SALT = 0x68f1c3a5;

export function isHeldOut(h: Pick<Holdout, 'fraction' | 'seed'>, part: number, position: number): boolean {
  return sampleKey((h.seed ^ SALT) >>> 0, part, position) < h.fraction;
}
