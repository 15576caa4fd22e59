import type { Completion } from '../ports/Completion.js';
import type { DatasetSource } from '../ports/DatasetSource.js';
import type { Fanout } from '../ports/Fanout.js';
import type { StateStore } from '../ports/StateStore.js';
import type { Limits } from './costGuard.js';
import type { DelayedChannel } from '../ports/DelayedChannel.js';
import type { ModelFiles } from '../ports/ModelFiles.js';
import type { PredictMarkers } from '../ports/PredictMarkers.js';

/** The ports the protocol runs over; Lambda handlers and the local runtime wire them differently. */
export interface ProtocolDeps {
  store: StateStore;
  fanout: Fanout;
  completion: Completion;
  datasets: DatasetSource;
  /** The cost guard's limits (src/protocol/costGuard.ts); absent: the defaults. */
  limits?: Partial<Limits>;
  /** Backup tasks for stragglers (stragglers.ts): the channel that brings a round's delayed check; absent, none. */
  delayed?: DelayedChannel;
  /** A finished job's model file, written before the job is marked SUCCEEDED (AWS); absent, none (a local run writes `--out` itself). */
  modelFiles?: ModelFiles;
  /** A finished predict job's `_SUCCESS` marker, written before the job is marked SUCCEEDED (AWS); absent, none. */
  predictMarkers?: PredictMarkers;
  /** Epoch milliseconds; tests may pin it. */
  now?: () => number;
  /** Waits (a lingering worker between polls); the simulator passes its virtual clock's. Default: a timer. */
  sleep?: (ms: number) => Promise<void>;
}

export function clock(deps: Pick<ProtocolDeps, 'now'>): number {
  return (deps.now ?? Date.now)();
}
