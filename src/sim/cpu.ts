import type { VirtualClock } from './clock.js';

interface Task {
  /** Work left, in thread-milliseconds at full speed of one core. */
  remaining: number;
  /** Most cores this task can use at once (its threads). */
  cap: number;
  rate: number;
  done: () => void;
}

/**
 * Processor sharing: tasks on one host split its cores fairly, each using at most as many as it has
 * threads (water-filling). On Lambda every environment is a host of its own with the vCPUs its
 * memory buys; on the local profile all containers share this machine's cores.
 */
export class Host {
  private readonly tasks = new Set<Task>();
  private last = 0;
  private generation = 0;

  constructor(private readonly clock: VirtualClock, readonly cores: number) {}

  /** Runs `work` thread-ms on at most `threads` cores; resolves when done. */
  run(work: number, threads: number): Promise<void> {
    if (work <= 0) return Promise.resolve();
    return new Promise((done) => {
      this.advance();
      this.tasks.add({ remaining: work, cap: Math.max(1e-9, threads), rate: 0, done });
      this.reschedule();
    });
  }

  private advance(): void {
    const now = this.clock.now();
    const dt = now - this.last;
    this.last = now;
    if (dt <= 0) return;
    for (const t of this.tasks) t.remaining -= t.rate * dt;
  }

  private reschedule(): void {
    // Water-filling: hand out cores equally, capping each task at its threads, until none are left.
    let free = this.cores;
    let open = [...this.tasks].sort((a, b) => a.cap - b.cap);
    for (const t of open) t.rate = 0;
    while (open.length && free > 1e-12) {
      const share = free / open.length;
      const capped = open.filter((t) => t.cap - t.rate <= share);
      if (!capped.length) {
        for (const t of open) t.rate += share;
        free = 0;
        break;
      }
      for (const t of capped) {
        free -= t.cap - t.rate;
        t.rate = t.cap;
      }
      open = open.filter((t) => !capped.includes(t));
    }
    let next = Infinity;
    for (const t of this.tasks) if (t.rate > 0) next = Math.min(next, Math.max(0, t.remaining) / t.rate);
    if (next === Infinity) return;
    const generation = ++this.generation;
    this.clock.at(this.clock.now() + next, () => {
      if (generation !== this.generation) return;
      this.advance();
      for (const t of [...this.tasks]) {
        if (t.remaining <= 1e-9) {
          this.tasks.delete(t);
          t.done();
        }
      }
      this.reschedule();
    });
  }
}
