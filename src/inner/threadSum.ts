/*
 * A sum across the threads that compute one partial, inside the partial (RowBlock.sumAcrossThreads):
 * each thread writes its vector into its slot of a shared buffer and waits at a barrier until every
 * thread has written; then each adds the slots in thread order 0, 1, …, so every thread holds the
 * same sums bit for bit and can go on computing the same thing (GIANT's conjugate gradient on the
 * Hessian of the worker's whole shard: one sum per Hessian-vector product, no round, no store).
 *
 * Two banks of slots alternate between successive sums: a thread may write sum g + 1 while a sibling
 * still reads sum g's slots, never sum g + 2 (it cannot pass barrier g + 1 before every thread has
 * reached it, hence finished reading g). One barrier per sum.
 *
 * Failure: a thread whose partial throws, or the pool on any failure of a call, raises the abort
 * flag; a thread waiting at the barrier sees it within WAIT_MS and throws instead of waiting for a
 * sibling that will never come. A barrier where nothing arrives for STALL_MS throws too: a pool is
 * never left hanging on a sum.
 */

/** Int32 slots at the buffer's start: arrivals so far (all sums of the call), the abort flag. */
const ARRIVED = 0;
const ABORT = 1;
const HEADER_BYTES = 16;
const WAIT_MS = 1_000;
const STALL_MS = 10 * 60_000;

/** What a compute message carries for its thread to join the call's sums. */
export interface ThreadSumChannel {
  buffer: SharedArrayBuffer;
  /** Threads computing the call (each must make the same sums, in the same order). */
  participants: number;
  /** This thread's place among them: its slot, and its term's place in every sum. */
  index: number;
  /** Longest vector a sum takes. */
  capacity: number;
}

/** What a thread released from a sum by a sibling's failure throws: the failure is the sibling's. */
export const SIBLING_FAILED = 'a sibling thread failed during a sum across threads';

export class ThreadSumError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ThreadSumError';
  }
}

/** A buffer for `participants` threads' sums of at most `capacity` values. */
export function threadSumBuffer(participants: number, capacity: number): SharedArrayBuffer {
  return new SharedArrayBuffer(HEADER_BYTES + 2 * participants * capacity * 8);
}

/** Makes a buffer ready for a new call: no arrivals, no abort. Only while no thread uses it. */
export function resetThreadSum(buffer: SharedArrayBuffer): void {
  const control = new Int32Array(buffer, 0, 2);
  Atomics.store(control, ARRIVED, 0);
  Atomics.store(control, ABORT, 0);
}

/** Releases every thread waiting on this buffer's barrier: they throw. */
export function abortThreadSum(buffer: SharedArrayBuffer): void {
  const control = new Int32Array(buffer, 0, 2);
  Atomics.store(control, ABORT, 1);
  Atomics.notify(control, ARRIVED);
}

/**
 * The sum function of one thread in one call: replaces `values` by the sum of every participant's
 * `values` at the same call number, added in participant order.
 */
export function threadSummer(channel: ThreadSumChannel): (values: Float64Array) => void {
  const { buffer, participants, index, capacity } = channel;
  const control = new Int32Array(buffer, 0, 2);
  const slots = new Float64Array(buffer, HEADER_BYTES, 2 * participants * capacity);
  let calls = 0;
  return (values: Float64Array) => {
    const length = values.length;
    if (length > capacity) throw new ThreadSumError(`a sum across threads of ${length} values, more than the ${capacity} this call allows`);
    const bank = (calls & 1) * participants * capacity;
    slots.set(values, bank + index * capacity);
    const target = ++calls * participants;
    const arrived = Atomics.add(control, ARRIVED, 1) + 1;
    if (arrived === target) Atomics.notify(control, ARRIVED);
    else {
      let last = arrived;
      let since = Date.now();
      for (;;) {
        // The flag before the count: a sibling that raised it after finishing this sum (failing
        // before the next) did so after the count reached the target, which the load after it sees.
        const aborted = Atomics.load(control, ABORT) !== 0;
        const seen = Atomics.load(control, ARRIVED);
        if (seen >= target) break;
        if (aborted) throw new ThreadSumError(SIBLING_FAILED);
        if (seen !== last) {
          last = seen;
          since = Date.now();
        } else if (Date.now() - since > STALL_MS) throw new ThreadSumError(`no sibling thread reached sum ${calls} in ${STALL_MS / 1000} s`);
        Atomics.wait(control, ARRIVED, seen, WAIT_MS);
      }
    }
    values.set(slots.subarray(bank, bank + length));
    for (let t = 1; t < participants; t++) {
      const from = bank + t * capacity;
      for (let j = 0; j < length; j++) values[j] += slots[from + j]!;
    }
  };
}
