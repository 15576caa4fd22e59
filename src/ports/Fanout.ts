import type { RoundTask } from '../domain/job.js';

/** Delivers one task per shard to the workers of a round (SNS on AWS, in-process locally). */
export interface Fanout {
  publish(tasks: RoundTask[]): Promise<void>;
}
