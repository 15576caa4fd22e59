import type { VirtualClock } from './clock.js';
import { Host } from './cpu.js';
import { vcpusFor } from './profile.js';
import type { Services } from './services.js';

export interface Environment<C> {
  id: number;
  host: Host;
  context: C;
}

/**
 * One Lambda function under the virtual clock: warm environments are reused, a new one pays INIT
 * (billed when the profile says so), new environments come at most `burstEnvironments` per
 * `burstWindowS` (Lambda's scaling rate) and all at once at most the account's concurrency;
 * invocations beyond either wait, as Lambda's asynchronous queue holds them. Billed time is each
 * invocation's duration rounded up to the millisecond, times the memory in GB.
 */
export class LambdaFunction<C> {
  private readonly idle: Environment<C>[] = [];
  private busy = 0;
  private nextId = 0;
  private tokens: number;
  private tokensAt = 0;
  private readonly waiting: (() => void)[] = [];
  private readonly sharedHost?: Host;
  readonly vcpus: number;

  constructor(
    private readonly services: Services,
    readonly name: string,
    readonly memoryMb: number,
    private readonly makeContext: (host: Host) => C,
    /** A shared account-wide concurrency counter (all functions of the job). */
    private readonly account: { active: number; limit: number; waiting: (() => void)[] },
    sharedHost?: Host,
  ) {
    const lambda = services.profile.lambda;
    this.tokens = lambda.burstEnvironments.value;
    this.vcpus = vcpusFor(services.profile, memoryMb);
    this.sharedHost = sharedHost;
  }

  get clock(): VirtualClock {
    return this.services.clock;
  }

  /** Runs `fn` in an environment of this function; resolves with its value once it has returned. */
  async invoke<T>(fn: (env: Environment<C>, billed: { waitMs: number }) => Promise<T>, prefer?: (env: Environment<C>) => boolean): Promise<T> {
    const { counters, profile } = this.services;
    counters.lambdaInvocations[this.name] = (counters.lambdaInvocations[this.name] ?? 0) + 1;
    while (this.account.active >= this.account.limit) await new Promise<void>((r) => this.account.waiting.push(r));
    this.account.active++;
    let env = this.pick(prefer);
    const gb = this.memoryMb / 1024;
    try {
      if (!env) {
        while (!this.takeToken()) await this.clock.sleep(1000 / (profile.lambda.burstEnvironments.value / profile.lambda.burstWindowS.value));
        counters.coldStarts[this.name] = (counters.coldStarts[this.name] ?? 0) + 1;
        const init = this.services.sample(profile.lambda.coldStartMs, this.name === 'worker' ? 'cold:worker' : undefined);
        await this.clock.sleep(init);
        if (profile.lambda.initBilled.value) this.bill(gb, this.clock.now() - Math.ceil(init), this.clock.now());
        const host = this.sharedHost ?? new Host(this.clock, (this.vcpus * profile.lambda.cpuSpeed.value) / this.slowdown());
        env = { id: this.nextId++, host, context: this.makeContext(host) };
      }
      this.busy++;
      const began = this.clock.now();
      const billed = { waitMs: 0 };
      try {
        return await fn(env, billed);
      } finally {
        this.busy--;
        this.bill(gb, began, began + Math.ceil(this.clock.now() - began));
        counters.waitGbSeconds += gb * (billed.waitMs / 1000);
        this.idle.push(env);
      }
    } finally {
      this.account.active--;
      this.account.waiting.shift()?.();
    }
  }

  /**
   * This environment's speed for its whole life, relative to the median one: a log-normal draw
   * whose 99th percentile is the profile's `cpuSlowdownP99` (servers differ, and keep differing).
   */
  private slowdown(): number {
    const p99 = this.services.profile.lambda.cpuSlowdownP99.value;
    if (p99 <= 1) return 1;
    return this.services.sample({ median: 1, p99, unit: 'ms', source: '', asOf: '', assumption: true }, this.name === 'worker' ? 'speed:worker' : undefined);
  }

  /**
   * The warm environment an invocation lands on. `affine` routing gives the one that `prefer`
   * accepts (it holds the task's shard) when it is idle; `random` routing, as Lambda documents it
   * (an idle environment "may" be reused, nothing ties a request to one), any idle one. Both take
   * the most recently used when nothing is preferred.
   */
  private pick(prefer?: (env: Environment<C>) => boolean): Environment<C> | undefined {
    if (!this.idle.length) return undefined;
    if (this.services.profile.lambda.routing.value === 'random') {
      const i = Math.floor(this.services.rng.next() * this.idle.length);
      return this.idle.splice(i, 1)[0];
    }
    const i = prefer ? this.idle.findIndex(prefer) : -1;
    if (i >= 0) return this.idle.splice(i, 1)[0];
    return this.idle.pop();
  }

  private takeToken(): boolean {
    const { burstEnvironments, burstWindowS } = this.services.profile.lambda;
    const now = this.clock.now();
    this.tokens = Math.min(burstEnvironments.value, this.tokens + ((now - this.tokensAt) / 1000) * (burstEnvironments.value / burstWindowS.value));
    this.tokensAt = now;
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }

  /** Bills `gb` from `from` to `to` (virtual ms). */
  private bill(gb: number, from: number, to: number): void {
    const c = this.services.counters;
    c.billedGbSeconds[this.name] = (c.billedGbSeconds[this.name] ?? 0) + gb * ((to - from) / 1000);
    c.billedSpans.push({ from, to, gb });
  }
}
