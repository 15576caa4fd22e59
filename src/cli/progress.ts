import cliProgress from 'cli-progress';
import type { RoundMetrics } from '../domain/job.js';
import { num } from '../util/format.js';

/** A bar of rounds done out of the most that may run, with the latest objective. */
export class RoundProgress {
  private readonly bar: cliProgress.SingleBar;
  private started = false;
  private done = 0;

  constructor(
    private readonly total: number,
    private readonly objective: string,
    stream: NodeJS.WritableStream & { isTTY?: boolean },
  ) {
    this.bar = new cliProgress.SingleBar(
      {
        stream: stream as NodeJS.WritableStream,
        format: `round {value}/{total} |{bar}| ${objective} {objective} {extra}`,
        hideCursor: true,
        clearOnComplete: false,
        // In a log (no terminal) print the bar line now and then instead of redrawing it.
        noTTYOutput: !stream.isTTY,
        notTTYSchedule: 2000,
        barsize: 30,
      },
      cliProgress.Presets.shades_classic,
    );
  }

  round(metrics: RoundMetrics): void {
    const payload = { objective: num(metrics.objective), extra: extra(metrics) };
    if (!this.started) {
      this.bar.start(this.total, 0, payload);
      this.started = true;
    }
    // Round 0 prepares the data; training rounds count from 1, as the report counts them.
    this.done = metrics.phase === 'prepare' ? 0 : metrics.round;
    this.bar.update(this.done, payload);
  }

  stop(): void {
    if (!this.started) return;
    // A converged job ends before the bar's end: show where it stopped as complete.
    this.bar.setTotal(this.done);
    this.bar.stop();
  }
}

function extra(metrics: RoundMetrics): string {
  const s = metrics.stats;
  if (s.shift !== undefined) return `shift ${num(s.shift)}`;
  if (s.accuracy !== undefined) return `accuracy ${(s.accuracy * 100).toFixed(1)}% grad ${num(s.gradNorm ?? NaN)}`;
  return '';
}
