import { JobNotFoundError, SpecError } from '../errors.js';
import type { Arrival, StateStore } from '../ports/StateStore.js';
import { STACK_BACKENDS, stackBackendOf, type StackBackend } from '../domain/spec.js';
import type { JobPatch, JobRecord, JobStatus, RoundMetrics } from '../domain/job.js';
import type { Claim, ClaimAnswer, LingerPoll, ReleaseAnswer } from '../domain/claims.js';

/** How the router reaches one backend's data plane: a store opened on first use, or why there is none. */
export type DataPlane = { open: () => StateStore | Promise<StateStore> } | { unavailable: string };

export interface RoutedStoreOptions {
  /** Holds every job record and round metrics, whatever the job's backend. */
  control: StateStore;
  /** One entry per backend a spec may name; the control store may serve as one of them. */
  planes: Record<StackBackend, DataPlane>;
  /** Job ids whose backend is remembered (oldest forgotten first); default 10,000. */
  cacheSize?: number;
}

/**
 * A deployed stack's state store: the control plane (job records, round metrics) always in one
 * store, so that `bspml status/watch` and the recovery sweep find every job in one table; the data
 * plane (models, partials, barrier) in the store the job's spec names in `backend`.
 *
 * A job's backend is read from its record once and remembered: specs never change after the job is
 * created, and the protocol reads the record before it touches a job's data, so in practice the
 * route comes free with that read. A backend the stack was not given is refused at createJob, before
 * the record exists, so the caller can record the job FAILED with the reason (see handlers/start.ts).
 */
export class RoutedStore implements StateStore {
  readonly kind: string;
  private readonly control: StateStore;
  private readonly planes: Record<StackBackend, DataPlane>;
  private readonly opened = new Map<StackBackend, Promise<StateStore>>();
  private readonly routes = new Map<string, StackBackend>();
  private readonly cacheSize: number;

  constructor(options: RoutedStoreOptions) {
    this.control = options.control;
    this.planes = options.planes;
    this.cacheSize = options.cacheSize ?? 10_000;
    this.kind = `${options.control.kind}+routed`;
  }

  async createJob(job: JobRecord): Promise<void> {
    // A job created FAILED (refused before it could start) never touches a data plane: it needs none.
    if (job.status !== 'FAILED') {
      const backend = routeOf(job.jobId, job.spec);
      await this.plane(backend);
      await this.control.createJob(job);
      this.remember(job.jobId, backend);
      return;
    }
    await this.control.createJob(job);
  }

  async getJob(jobId: string): Promise<JobRecord | undefined> {
    const job = await this.control.getJob(jobId);
    const backend = job && stackBackendOf(job.spec);
    if (backend) this.remember(jobId, backend);
    return job;
  }

  updateJob(jobId: string, expect: { round: number; status: JobStatus }, patch: JobPatch): Promise<boolean> {
    return this.control.updateJob(jobId, expect, patch);
  }

  async putModel(jobId: string, round: number, bytes: Uint8Array): Promise<void> {
    return (await this.dataPlaneOf(jobId)).putModel(jobId, round, bytes);
  }

  async getModel(jobId: string, round: number): Promise<Uint8Array | undefined> {
    return (await this.dataPlaneOf(jobId)).getModel(jobId, round);
  }

  async putModelView(jobId: string, round: number, bytes: Uint8Array): Promise<void> {
    return (await this.dataPlaneOf(jobId)).putModelView(jobId, round, bytes);
  }

  async getModelView(jobId: string, round: number): Promise<Uint8Array | undefined> {
    return (await this.dataPlaneOf(jobId)).getModelView(jobId, round);
  }

  async putPartial(jobId: string, round: number, shard: number, bytes: Uint8Array): Promise<boolean> {
    return (await this.dataPlaneOf(jobId)).putPartial(jobId, round, shard, bytes);
  }

  async discardPartial(jobId: string, round: number, shard: number): Promise<void> {
    return (await this.dataPlaneOf(jobId)).discardPartial(jobId, round, shard);
  }

  async clearRound(jobId: string, round: number, shards: number): Promise<void> {
    return (await this.dataPlaneOf(jobId)).clearRound(jobId, round, shards);
  }

  async getPartials(jobId: string, round: number, shards: number, which?: readonly number[]): Promise<Uint8Array[]> {
    return (await this.dataPlaneOf(jobId)).getPartials(jobId, round, shards, which);
  }

  async putGroupPartial(jobId: string, round: number, group: number, bytes: Uint8Array): Promise<boolean> {
    return (await this.dataPlaneOf(jobId)).putGroupPartial(jobId, round, group, bytes);
  }

  async getGroupPartials(jobId: string, round: number, groups: number): Promise<(Uint8Array | undefined)[]> {
    return (await this.dataPlaneOf(jobId)).getGroupPartials(jobId, round, groups);
  }

  async discardGroupPartial(jobId: string, round: number, group: number): Promise<void> {
    return (await this.dataPlaneOf(jobId)).discardGroupPartial(jobId, round, group);
  }

  async arrive(jobId: string, round: number, shard: number, shards: number): Promise<Arrival> {
    return (await this.dataPlaneOf(jobId)).arrive(jobId, round, shard, shards);
  }

  async arrivals(jobId: string, round: number, shards: number): Promise<number[]> {
    return (await this.dataPlaneOf(jobId)).arrivals(jobId, round, shards);
  }

  /** Claims live in the data plane, beside the barrier whose groups they share. */
  async claim(jobId: string, round: number, shard: number, shards: number, until: number): Promise<ClaimAnswer> {
    return (await this.dataPlaneOf(jobId)).claim(jobId, round, shard, shards, until);
  }

  async release(jobId: string, round: number, shard: number, shards: number, until: number): Promise<ReleaseAnswer> {
    return (await this.dataPlaneOf(jobId)).release(jobId, round, shard, shards, until);
  }

  async handOver(jobId: string, round: number, shards: number, ended?: boolean, model?: Uint8Array): Promise<Claim[]> {
    return (await this.dataPlaneOf(jobId)).handOver(jobId, round, shards, ended, model);
  }

  async handedOver(jobId: string, round: number, shard: number, shards: number): Promise<LingerPoll> {
    return (await this.dataPlaneOf(jobId)).handedOver(jobId, round, shard, shards);
  }

  putRoundMetrics(jobId: string, metrics: RoundMetrics): Promise<void> {
    return this.control.putRoundMetrics(jobId, metrics);
  }

  listRoundMetrics(jobId: string): Promise<RoundMetrics[]> {
    return this.control.listRoundMetrics(jobId);
  }

  /** The backend `jobId` runs on, as its record says; undefined until the record has been read or created here. */
  routeOf(jobId: string): StackBackend | undefined {
    return this.routes.get(jobId);
  }

  async close(): Promise<void> {
    const stores = new Set<StateStore>([this.control]);
    for (const opening of this.opened.values()) {
      const store = await opening.catch(() => undefined);
      if (store) stores.add(store);
    }
    this.opened.clear();
    await Promise.all([...stores].map((store) => store.close()));
  }

  private async dataPlaneOf(jobId: string): Promise<StateStore> {
    let backend = this.routes.get(jobId);
    if (!backend) {
      const job = await this.control.getJob(jobId);
      if (!job) throw new JobNotFoundError(jobId);
      backend = routeOf(jobId, job.spec);
      this.remember(jobId, backend);
    }
    return this.plane(backend);
  }

  private plane(backend: StackBackend): Promise<StateStore> {
    const plane = this.planes[backend];
    if ('unavailable' in plane) return Promise.reject(new SpecError(`backend ${backend}: ${plane.unavailable}`, 'backend'));
    let opening = this.opened.get(backend);
    if (!opening) {
      opening = Promise.resolve().then(plane.open);
      // A failed open is not kept: the next job (or Lambda's retry) tries again.
      const mine = opening;
      mine.catch(() => this.opened.get(backend) === mine && this.opened.delete(backend));
      this.opened.set(backend, mine);
    }
    return opening;
  }

  private remember(jobId: string, backend: StackBackend): void {
    this.routes.delete(jobId);
    this.routes.set(jobId, backend);
    // A Map iterates in insertion order, so the first key is the least recently seen job.
    if (this.routes.size > this.cacheSize) this.routes.delete(this.routes.keys().next().value!);
  }
}

function routeOf(jobId: string, spec: unknown): StackBackend {
  const backend = stackBackendOf(spec);
  if (!backend) {
    const named = (spec as { backend?: unknown } | null)?.backend;
    throw new SpecError(`job ${jobId}: backend ${JSON.stringify(named)} is not one of ${STACK_BACKENDS.join(', ')}`, 'backend');
  }
  return backend;
}
