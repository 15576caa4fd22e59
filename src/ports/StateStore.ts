import type { Claim, ClaimAnswer, LingerPoll, ReleaseAnswer } from '../domain/claims.js';
import type { JobRecord, JobPatch, JobStatus, RoundMetrics } from '../domain/job.js';

/**
 * Where the shared state of a job lives between rounds. Every method is scoped by job id
 * (jobs are isolated) and every write is safe to repeat (messages arrive at least once).
 * Byte payloads are opaque here: the protocol encodes them, adapters only store them.
 */
/** What `arrive` answers. */
export interface Arrival {
  added: boolean;
  count: number;
  groupFilled: boolean;
}

export interface StateStore {
  /** A short name for reports: "memory", "dynamodb", ... */
  readonly kind: string;

  /** Creates the job record; throws JobExistsError when the id is taken. */
  createJob(job: JobRecord): Promise<void>;
  getJob(jobId: string): Promise<JobRecord | undefined>;
  /**
   * Applies `patch` only if the job is still at `expect.round` with `expect.status`.
   * Returns false (and changes nothing) otherwise: this is how a duplicate completion is
   * kept from advancing a job twice.
   */
  updateJob(jobId: string, expect: { round: number; status: JobStatus }, patch: JobPatch): Promise<boolean>;

  /**
   * Stores the model that round `round` computes with, whole: the aggregator's (src/protocol/modelView.ts).
   * Repeating it with the same bytes is harmless.
   */
  putModel(jobId: string, round: number, bytes: Uint8Array): Promise<void>;
  getModel(jobId: string, round: number): Promise<Uint8Array | undefined>;
  /**
   * Stores the workers' view of round `round`'s model (the part their partials read), for a job whose
   * model is stored split; written with the model, before the round is published. Kept as the models are.
   */
  putModelView(jobId: string, round: number, bytes: Uint8Array): Promise<void>;
  getModelView(jobId: string, round: number): Promise<Uint8Array | undefined>;

  /** Writes a shard's partial once; returns false when one was already stored (a duplicate). */
  putPartial(jobId: string, round: number, shard: number, bytes: Uint8Array): Promise<boolean>;
  /**
   * Removes a shard's partial so that its re-run can write one: the aggregator's answer to a partial
   * computed from a model other than the round's (a forged or corrupted task). The barrier is left as it is.
   */
  discardPartial(jobId: string, round: number, shard: number): Promise<void>;
  /**
   * Deletes what a round left once it is aggregated and the job has moved past it: the partials of
   * shards 0..shards-1 (with any chunks), the barrier and the claims on the round. The models and round metrics stay. Safe to
   * repeat, and harmless for a round that left nothing. A finished job thus keeps only its record,
   * metrics and models, not W partials per round.
   */
  clearRound(jobId: string, round: number, shards: number): Promise<void>;
  /**
   * All partials of a round, in shard order, or those of the shards `which` names, in its order;
   * throws PartialMissingError naming the first missing shard.
   */
  getPartials(jobId: string, round: number, shards: number, which?: readonly number[]): Promise<Uint8Array[]>;

  /**
   * Stores the merged partial of barrier group `group` (src/domain/groups.ts) once; false when one
   * was stored already. The tree merge's group partials: `clearRound` removes them with the round.
   */
  putGroupPartial(jobId: string, round: number, group: number, bytes: Uint8Array): Promise<boolean>;
  /** The group partials of groups 0..groups-1 of a round, in group order; undefined where none is stored. */
  getGroupPartials(jobId: string, round: number, groups: number): Promise<(Uint8Array | undefined)[]>;
  /** Removes a group partial (one the aggregator found not computed from the round's model). */
  discardGroupPartial(jobId: string, round: number, group: number): Promise<void>;

  /**
   * Records that `shard` arrived at the barrier of `round`, atomically: `added` is false when it
   * had arrived before. `count` is the number of distinct shards that have arrived after this call,
   * or a lower bound of it (≥ 1) where the store spreads its barrier (DynamoDB's two levels): it
   * equals `shards` for exactly one first arrival (the filling one), and for repeats after that.
   * `shards` is the round's shard count: stores that spread their barrier (DynamoDB) lay it out by it.
   * `groupFilled` says that every shard of this shard's barrier group (src/domain/groups.ts) has
   * arrived: true for exactly one first arrival per group (the one that completed it) and for
   * repeats after that, so the tree merge has one merger per group, and a retried one.
   */
  arrive(jobId: string, round: number, shard: number, shards: number): Promise<Arrival>;
  /** The shards that have arrived at the barrier of `round`, sorted (`shards` as for `arrive`). */
  arrivals(jobId: string, round: number, shards: number): Promise<number[]>;

  putRoundMetrics(jobId: string, metrics: RoundMetrics): Promise<void>;
  /** Round metrics of a job, in round order. */
  listRoundMetrics(jobId: string): Promise<RoundMetrics[]>;

  // Lingering workers (`sync: 'linger'`, src/protocol/linger.ts). Claims on a round are kept per
  // claim group (src/domain/claims.ts); once a group is handed over it takes no claim nor release.

  /**
   * Claims `shard` of `round` for a worker that will wait for it until `until` (epoch ms): a
   * conditional write that holds only while the shard's group is not handed over. 'handed': the
   * round's model is out already (compute now); 'ended': the job ended after the round before.
   */
  claim(jobId: string, round: number, shard: number, shards: number, until: number): Promise<ClaimAnswer>;
  /**
   * Withdraws a claim (the same `until`), conditionally as `claim`. 'handed': the group was handed
   * over first, so the aggregator counted on this worker, which must compute the shard.
   */
  release(jobId: string, round: number, shard: number, shards: number, until: number): Promise<ReleaseAnswer>;
  /**
   * Marks every group of `round` handed over (`ended`: the job ended instead, no round follows) and
   * returns the claims each group held at that moment, sorted by shard. Safe to repeat: a group keeps
   * its first mark, and claims made after it are refused, so a repeat finds the same claims.
   * `model`: the round's model, kept with each group's mark (first write wins, as the mark), so that
   * a poll that sees the mark reads the model in the same request.
   */
  handOver(jobId: string, round: number, shards: number, ended?: boolean, model?: Uint8Array): Promise<Claim[]>;
  /**
   * One poll of `shard`'s group of `round`: the "model of round r is ready" signal, in one request,
   * with the model when the hand-over carried one.
   */
  handedOver(jobId: string, round: number, shard: number, shards: number): Promise<LingerPoll>;

  /** Releases clients and servers the store owns. */
  close(): Promise<void>;
}
