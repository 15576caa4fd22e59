/**
 * The barrier groups of a round, defined once for every store and for the tree merge: the W shards
 * are dealt into G = ⌈√W⌉ groups, shard s into group s mod G. DynamoDB's two-level barrier gives each
 * group a partition of its own (no item takes W writes in a burst); the tree merge has the arrival
 * that fills a group merge that group's partials into one, so the aggregator reads G group partials
 * instead of W. Groups and the root then each take about √W arrivals or partials.
 */

/** Groups of a round of `shards` shards: ⌈√W⌉ (1 for W = 1). */
export function barrierGroups(shards: number): number {
  return Math.max(1, Math.ceil(Math.sqrt(shards)));
}

/** The group shard `shard` of `shards` belongs to. */
export function groupOf(shard: number, shards: number): number {
  return shard % barrierGroups(shards);
}

/** Shards dealt to `group` (shard mod groups = group). */
export function groupSize(shards: number, groups: number, group: number): number {
  return Math.floor((shards - 1 - group) / groups) + 1;
}

/** The shards of `group`, ascending: the order its partials are merged in. */
export function groupMembers(group: number, shards: number): number[] {
  const groups = barrierGroups(shards);
  const out: number[] = [];
  for (let shard = group; shard < shards; shard += groups) out.push(shard);
  return out;
}

/** Whether every member of `shard`'s group is in `arrived`. */
export function groupComplete(shard: number, shards: number, arrived: { has(shard: number): boolean }): boolean {
  return groupMembers(groupOf(shard, shards), shards).every((member) => arrived.has(member));
}
