import type { StateStore } from '../../src/ports/StateStore.js';

/**
 * Runs several actors (e.g. two aggregations of one round) over one store, one store call at a
 * time, in an order a policy chooses: each actor's calls wait at a gate until the policy picks it,
 * and the policy is asked only once every live actor waits at a gate or has finished, so every
 * interleaving of their store calls can be forced.
 */
export class Interleaver {
  private readonly waiting = new Map<number, () => void>();
  private wake?: () => void;
  /** Actor ids in the order their calls were let through. */
  readonly granted: number[] = [];
  /** Method names in the order they were let through, with their actor. */
  readonly trace: string[] = [];

  /** `inner` as actor `actor` sees it: every method call waits for its turn. */
  storeFor(inner: StateStore, actor: number): StateStore {
    return new Proxy(inner, {
      get: (target, name, receiver) => {
        const value = Reflect.get(target, name, receiver) as unknown;
        if (typeof value !== 'function' || name === 'close') return value;
        return async (...args: unknown[]) => {
          // A call the actor makes beside one already waiting (Promise.all) goes with it: the actor
          // waits at one gate, so the policy's turn that lets it through sees it through.
          if (this.waiting.has(actor)) {
            this.trace.push(`${actor}:${String(name)}`);
            return (value as (...a: unknown[]) => Promise<unknown>).apply(target, args);
          }
          await new Promise<void>((resolve) => {
            this.waiting.set(actor, () => {
              this.trace.push(`${actor}:${String(name)}`);
              resolve();
            });
            this.wake?.();
          });
          return (value as (...a: unknown[]) => Promise<unknown>).apply(target, args);
        };
      },
    });
  }

  /** Runs the actors to their ends; `pick` chooses among the waiting actors (ids, ascending). */
  async run<T>(actors: ((store: StateStore) => Promise<T>)[], inner: StateStore, pick: (ready: number[], granted: readonly number[]) => number): Promise<({ value: T } | { error: unknown })[]> {
    const n = actors.length;
    const out: ({ value: T } | { error: unknown })[] = new Array(n);
    const done = new Set<number>();
    actors.forEach((actor, i) => {
      void actor(this.storeFor(inner, i)).then(
        (value) => {
          out[i] = { value };
          done.add(i);
          this.wake?.();
        },
        (error: unknown) => {
          out[i] = { error };
          done.add(i);
          this.wake?.();
        },
      );
    });
    for (;;) {
      await new Promise<void>((resolve) => {
        this.wake = resolve;
        if (this.waiting.size + done.size === n) resolve();
      });
      if (this.waiting.size + done.size < n) continue;
      if (done.size === n) return out;
      const ready = [...this.waiting.keys()].sort((a, b) => a - b);
      const chosen = pick(ready, this.granted);
      const go = this.waiting.get(ready.includes(chosen) ? chosen : ready[0]!)!;
      this.waiting.delete(ready.includes(chosen) ? chosen : ready[0]!);
      this.granted.push(ready.includes(chosen) ? chosen : ready[0]!);
      go();
    }
  }
}
