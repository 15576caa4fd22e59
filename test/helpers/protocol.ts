import type { WorkerContainer } from '../../src/inner/WorkerContainer.js';
import type { Completion } from '../../src/ports/Completion.js';
import type { DatasetSource } from '../../src/ports/DatasetSource.js';
import type { Fanout } from '../../src/ports/Fanout.js';
import type { StateStore } from '../../src/ports/StateStore.js';
import { aggregate, type AggregateOutcome } from '../../src/protocol/aggregate.js';
import type { ProtocolDeps } from '../../src/protocol/deps.js';
import { runWorker } from '../../src/protocol/runWorker.js';
import type { CompletionMessage, RoundTask } from '../../src/domain/job.js';
import { checkStragglers } from '../../src/protocol/stragglers.js';
import { type BackupCheck, type DelayedChannel } from '../../src/ports/DelayedChannel.js';
import type { ModelFiles } from '../../src/ports/ModelFiles.js';
import { Rng } from '../../src/util/random.js';

/*
 * Ports that record what the protocol sends instead of delivering it, so a test decides when
 * (and how often, and in which order) each message is handled.
 */

export class RecordingFanout implements Fanout {
  /** Every task ever published, in publish order (copied through JSON, as on the wire). */
  readonly published: RoundTask[] = [];
  /** Tasks not yet taken by `drive`. */
  readonly pending: RoundTask[] = [];
  /** Publishes to reject before one goes through (simulates SNS or the aggregator failing). */
  failures = 0;

  async publish(tasks: RoundTask[]): Promise<void> {
    if (this.failures > 0) {
      this.failures--;
      throw new Error('fan-out unavailable');
    }
    const copies = JSON.parse(JSON.stringify(tasks)) as RoundTask[];
    this.published.push(...copies);
    this.pending.push(...copies);
  }

  /** Published tasks of one job and round. */
  of(jobId: string, round: number): RoundTask[] {
    return this.published.filter((t) => t.jobId === jobId && t.round === round);
  }
}

export class RecordingCompletion implements Completion {
  readonly sent: CompletionMessage[] = [];
  readonly pending: CompletionMessage[] = [];
  /** Sends to reject before one goes through (simulates a crash between arrive and send). */
  failures = 0;

  async send(message: CompletionMessage): Promise<void> {
    if (this.failures > 0) {
      this.failures--;
      throw new Error('completion queue unavailable');
    }
    const copy = JSON.parse(JSON.stringify(message)) as CompletionMessage;
    this.sent.push(copy);
    this.pending.push(copy);
  }
}

/** Backup checks (src/protocol/stragglers.ts), held until a driver delivers them; their delay is the driver's to honour or not. */
export class RecordingDelayed implements DelayedChannel {
  readonly sent: BackupCheck[] = [];
  readonly pending: BackupCheck[] = [];

  async send(check: BackupCheck): Promise<void> {
    const copy = structuredClone(check);
    this.sent.push(copy);
    this.pending.push(copy);
  }
}

export interface Harness {
  deps: ProtocolDeps;
  store: StateStore;
  fanout: RecordingFanout;
  completion: RecordingCompletion;
  /** Present when the harness was made with backup tasks. */
  delayed?: RecordingDelayed;
}

export function harness(store: StateStore, datasets: DatasetSource, options: { backups?: boolean; modelFiles?: ModelFiles } = {}): Harness {
  const fanout = new RecordingFanout();
  const completion = new RecordingCompletion();
  const delayed = options.backups ? new RecordingDelayed() : undefined;
  const files = options.modelFiles ? { modelFiles: options.modelFiles } : {};
  return { deps: { store, datasets, fanout, completion, ...files, ...(delayed ? { delayed } : {}) }, store, fanout, completion, ...(delayed ? { delayed } : {}) };
}

/**
 * Handles pending messages until none is left: worker tasks through `runWorker`, completions
 * through `aggregate`. In order by default; with `seed`, each step takes a random pending
 * message (tasks and completions of every job mixed), as an unordered transport would.
 */
export async function drive(h: Harness, container: WorkerContainer, options: { seed?: number; maxSteps?: number } = {}): Promise<AggregateOutcome[]> {
  const rng = options.seed === undefined ? undefined : new Rng(options.seed);
  const outcomes: AggregateOutcome[] = [];
  for (let step = 0; ; step++) {
    if (step > (options.maxSteps ?? 10_000)) throw new Error('drive: too many steps');
    const total = h.fanout.pending.length + h.completion.pending.length;
    if (total === 0 && h.delayed?.pending.length) {
      // Backup checks last: in order, nothing is late.
      await checkStragglers(h.deps, h.delayed.pending.shift()!);
      continue;
    }
    if (total === 0) return outcomes;
    const pick = rng ? rng.int(total) : h.fanout.pending.length > 0 ? 0 : h.fanout.pending.length;
    if (pick < h.fanout.pending.length) {
      const [task] = h.fanout.pending.splice(pick, 1);
      await runWorker(h.deps, container, task!);
    } else {
      const [message] = h.completion.pending.splice(pick - h.fanout.pending.length, 1);
      outcomes.push(await aggregate(h.deps, message!));
    }
  }
}

/** Runs the pending worker tasks of one job and round (in shard order), leaving the rest pending. */
export async function runRound(h: Harness, container: WorkerContainer, jobId: string, round: number): Promise<void> {
  const mine = h.fanout.pending.filter((t) => t.jobId === jobId && t.round === round).sort((a, b) => a.shard - b.shard);
  for (const task of mine) {
    h.fanout.pending.splice(h.fanout.pending.indexOf(task), 1);
    await runWorker(h.deps, container, task);
  }
}
