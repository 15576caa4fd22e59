/**
 * A virtual clock for a discrete-event simulation that runs real async code. Simulated waits
 * (`sleep`) are events in a queue; `run` fires them in time order and, between two events, lets
 * every promise continuation that the last one released run to its next simulated wait. The code
 * under simulation must therefore wait only through this clock (no real timers or I/O), which
 * holds for the protocol over the memory store and the simulated ports.
 */
export class VirtualClock {
  private time = 0;
  private seq = 0;
  private readonly heap: { at: number; seq: number; fire: () => void }[] = [];
  /** Events fired so far (for reports and tests). */
  events = 0;

  /** Virtual milliseconds since the start of the simulation. */
  now(): number {
    return this.time;
  }

  sleep(ms: number): Promise<void> {
    return new Promise((resolve) => this.at(this.time + Math.max(0, ms), resolve));
  }

  /** Calls `fire` at virtual time `at` (never earlier than now). */
  at(at: number, fire: () => void): void {
    this.push({ at: Math.max(at, this.time), seq: this.seq++, fire });
  }

  /**
   * Fires events until none is left or `stop()` says so. `onIdle` runs when the queue is empty: it
   * may schedule more (a recovery sweep), and the run ends when it schedules nothing.
   */
  async run(options: { stop?: () => boolean; onIdle?: () => Promise<void> | void; maxEvents?: number } = {}): Promise<void> {
    const maxEvents = options.maxEvents ?? 50_000_000;
    for (;;) {
      await settle();
      if (options.stop?.()) return;
      let next = this.pop();
      if (!next) {
        await options.onIdle?.();
        await settle();
        next = this.pop();
        if (!next) return;
      }
      this.time = next.at;
      next.fire();
      // Every event due at the same instant fires before the continuations run.
      while (this.heap.length && this.heap[0]!.at === this.time) this.pop()!.fire();
      if (++this.events > maxEvents) throw new Error(`simulation did not end within ${maxEvents} events`);
    }
  }

  private push(e: { at: number; seq: number; fire: () => void }): void {
    const h = this.heap;
    h.push(e);
    let i = h.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (before(h[p]!, h[i]!)) break;
      [h[p], h[i]] = [h[i]!, h[p]!];
      i = p;
    }
  }

  private pop(): { at: number; seq: number; fire: () => void } | undefined {
    const h = this.heap;
    if (!h.length) return undefined;
    const top = h[0]!;
    const last = h.pop()!;
    if (h.length) {
      h[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < h.length && before(h[l]!, h[m]!)) m = l;
        if (r < h.length && before(h[r]!, h[m]!)) m = r;
        if (m === i) break;
        [h[m], h[i]] = [h[i]!, h[m]!];
        i = m;
      }
    }
    return top;
  }
}

function before(a: { at: number; seq: number }, b: { at: number; seq: number }): boolean {
  return a.at < b.at || (a.at === b.at && a.seq < b.seq);
}

/** Resolves after every queued promise continuation has run (a macrotask comes after all microtasks). */
function settle(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
