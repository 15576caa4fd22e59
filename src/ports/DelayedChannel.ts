/** A delayed look at a round's stragglers. */
export interface BackupCheck {
  jobId: string;
  round: number;
  /** 1 for the first check of the round. */
  check: number;
  delayMs: number;
}

/** Delivers a backup check after a delay (an SQS delay, a timer, the simulator's clock). */
export interface DelayedChannel {
  send(check: BackupCheck, delayMs: number): Promise<void>;
}
