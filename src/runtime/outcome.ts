import { BspmlError, JobFailedError } from '../errors.js';
import type { StateStore } from '../ports/StateStore.js';
import { PREPARE_ROUND } from '../protocol/constants.js';
import type { JobRecord, RoundMetrics, TrainJobRecord } from '../domain/job.js';
import type { ModelResult } from '../domain/results.js';
import type { IoCounts } from '../util/io-meter.js';

/** What every local runtime reports of a finished job (LocalRuntime's and BarrierWaitRuntime's outcomes build on it). */
export interface JobOutcome {
  job: TrainJobRecord;
  result: ModelResult;
  /** The preparation round (round 0): loading, checking and summarising the shards, initialising the model. */
  prepare?: RoundMetrics;
  /** The training rounds (1, 2, …), in order. */
  rounds: RoundMetrics[];
  /** Store I/O of each training round (workers and aggregator), in round order; `start` is job start, `prepare` round 0. */
  io: { start: IoCounts; prepare: IoCounts; rounds: IoCounts[] };
}

/**
 * The outcome of a job that has ended, however it was run: its rounds and their store I/O if it
 * succeeded; otherwise the error a caller acts on. Bad input that the preparation round found
 * (E_DATA, E_SPEC) is thrown as the same one-line error the start step would have thrown; any
 * other end is a JobFailedError with the job's reason.
 */
export async function jobOutcome(store: StateStore, jobId: string, done: JobRecord | undefined, startIo: IoCounts, ioByRound: Map<number, IoCounts>): Promise<JobOutcome> {
  if (done?.status === 'FAILED' && (done.errorCode === 'E_DATA' || done.errorCode === 'E_SPEC') && done.error) throw new BspmlError(done.errorCode, done.error);
  if (!done || done.kind === 'predict' || done.status !== 'SUCCEEDED' || !done.result) throw new JobFailedError(jobId, done?.error ?? `ended ${done?.status ?? 'missing'}`);
  const all = await store.listRoundMetrics(jobId);
  const prepare = all.find((r) => r.phase === 'prepare');
  const rounds = all.filter((r) => r.phase !== 'prepare');
  const ioOf = (round: number) => ioByRound.get(round) ?? { requests: 0, bytesWritten: 0, bytesRead: 0 };
  return {
    job: done,
    result: done.result,
    ...(prepare ? { prepare } : {}),
    rounds,
    io: { start: startIo, prepare: ioOf(PREPARE_ROUND), rounds: rounds.map((r) => ioOf(r.round)) },
  };
}
