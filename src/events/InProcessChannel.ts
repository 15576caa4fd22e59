import { Rng } from '../util/random.js';

/**
 * How the in-process transport misbehaves, to test the protocol under at-least-once delivery the
 * way SNS, SQS and Lambda retries deliver on AWS. The default delivers each message once, at once.
 */
export interface DeliveryPolicy {
  /** Probability that a message is delivered a second time (1 = every message twice). */
  duplicate?: number;
  /** Each delivery waits a random 0..maxDelayMs first, so deliveries overtake one another. */
  maxDelayMs?: number;
  seed?: number;
  /** Loses a delivery when it returns true (`copy` is 0 for the first delivery, 1 for a duplicate). */
  drop?: (channel: string, message: unknown, copy: number) => boolean;
}

/** Counts messages scheduled or being handled, across channels, and says when none are. */
export class InFlight {
  private count = 0;
  constructor(private readonly onIdle: () => void) {}
  enter(): void {
    this.count++;
  }
  leave(): void {
    if (--this.count === 0) queueMicrotask(() => this.count === 0 && this.onIdle());
  }
  get size(): number {
    return this.count;
  }
}

/**
 * A one-way in-process message channel. Messages are copied through JSON as they would be on the
 * wire, so no consumer shares objects with the producer.
 */
export class InProcessChannel<T> {
  private readonly rng: Rng;

  constructor(
    readonly name: string,
    private readonly consume: (message: T) => Promise<void>,
    private readonly inFlight: InFlight,
    private readonly policy: DeliveryPolicy = {},
  ) {
    this.rng = new Rng(policy.seed ?? 1);
  }

  send(message: T): void {
    const wire = JSON.stringify(message);
    const copies = this.policy.duplicate && this.rng.next() < this.policy.duplicate ? 2 : 1;
    for (let copy = 0; copy < copies; copy++) {
      if (this.policy.drop?.(this.name, JSON.parse(wire), copy)) continue;
      const delay = this.policy.maxDelayMs ? this.rng.next() * this.policy.maxDelayMs : 0;
      this.inFlight.enter();
      const deliver = () => void this.consume(JSON.parse(wire) as T).finally(() => this.inFlight.leave());
      // setTimeout waits at least 1 ms even for 0: two hops a round would cost 2 ms of nothing.
      if (delay > 0) setTimeout(deliver, delay);
      else setImmediate(deliver);
    }
  }
}
