/*
 * Claims of lingering workers (docs/protocol.md, "Lingering workers"): the pure part every store
 * shares. A claim says "shard s of round r will be computed by a worker already holding it, if the
 * round is handed over before `until`". Claims of a round are kept per barrier group, the same
 * ⌈√W⌉ groups as DynamoDB's barrier (shard mod G), so that no single item is polled by all W workers.
 */

/** A claim on one shard of a round: its worker waits for the round until `until` (epoch ms). */
export interface Claim {
  shard: number;
  until: number;
}

/** The answer to a claim: it holds, or the round was already handed over (compute now), or the job ended. */
export type ClaimAnswer = 'claimed' | 'handed' | 'ended';
/** The answer to a release: it is released (the aggregator will publish the shard), or too late (compute). */
export type ReleaseAnswer = 'released' | 'handed' | 'ended';
/**
 * What a lingering worker sees when it polls its group: still waiting; the round's model is ready
 * (compute it); the job ended (stop); or the group's item is gone (the round was cleared, so the job
 * is past it: stop).
 */
export type LingerSignal = 'waiting' | 'handed' | 'ended' | 'gone';
/**
 * One poll's answer: the signal and, once the round is handed over, the round's model when the
 * hand-over carried it (small models: the poll that sees "ready" needs no second read, and the W
 * workers do not all read one model item at once).
 */
export interface LingerPoll {
  signal: LingerSignal;
  model?: Uint8Array;
}
/** How a group was handed over: the next round is published (`next`), or the job ended (`end`). */
export type Handed = 'next' | 'end';

/** Groups of a round's claims: ⌈√W⌉, as the two-level barrier's. */
export function claimGroups(shards: number): number {
  return Math.max(1, Math.ceil(Math.sqrt(Math.max(1, shards))));
}

export function claimGroupOf(shard: number, shards: number): number {
  return shard % claimGroups(shards);
}

/** A claim as a set member: `shard@until`. Two workers claiming the same shard hold two members. */
export function encodeClaim(shard: number, until: number): string {
  return `${shard}@${Math.round(until)}`;
}

export function decodeClaim(member: string): Claim {
  const at = member.indexOf('@');
  return { shard: Number(member.slice(0, at)), until: Number(member.slice(at + 1)) };
}

/** Claims sorted by shard, then deadline. */
export function sortClaims(claims: Claim[]): Claim[] {
  return claims.sort((a, b) => a.shard - b.shard || a.until - b.until);
}

export function signalOf(handed: string | undefined): LingerSignal {
  if (handed === undefined) return 'waiting';
  return handed === 'end' ? 'ended' : 'handed';
}
