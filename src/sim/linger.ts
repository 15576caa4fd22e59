import type { Container } from '../ports/Container.js';
import type { ProtocolDeps } from '../protocol/deps.js';
import { runLingering } from '../protocol/linger.js';
import { runWorker } from '../protocol/runWorker.js';
import type { RoundTask } from '../domain/job.js';
import type { VirtualClock } from './clock.js';

/**
 * Lambda's longest invocation (15 minutes): a simulated lingering worker reads its remaining time
 * against it, as handlers/worker.ts reads context.getRemainingTimeInMillis()
 * (https://docs.aws.amazon.com/lambda/latest/dg/configuration-timeout.html; serverless.yml sets the
 * worker's timeout to it).
 */
export const LAMBDA_TIMEOUT_MS = 900_000;

/**
 * The body of one simulated worker invocation. Event-driven: `runWorker`. Lingering: the real
 * `runLingering` under the virtual clock (its polls are clock events, its waits are billed as
 * waiting GB-s through `billed`), within the invocation's 15 minutes.
 */
export function simulatedWorker(
  sync: 'event' | 'linger',
  deps: ProtocolDeps,
  clock: VirtualClock,
  memoryMb: number,
): (container: Container, task: RoundTask, billed: { waitMs: number }) => Promise<unknown> {
  if (sync === 'event') return (container, task) => runWorker(deps, container, task);
  const lingering: ProtocolDeps = { ...deps, now: () => clock.now(), sleep: (ms) => clock.sleep(ms) };
  return (container, task, billed) => {
    const began = clock.now();
    return runLingering(lingering, container, task, {
      memoryMb,
      // The filling arrival aggregates in its own invocation: its reads, merge CPU and writes are
      // the worker's time, billed at the worker's memory (SimStore charges the merge on the clock).
      inline: true,
      remainingMs: () => LAMBDA_TIMEOUT_MS - (clock.now() - began),
      onWait: (ms) => void (billed.waitMs += ms),
    });
  };
}
