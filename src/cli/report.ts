import type { LogregSpec } from '../protocol/spec.js';
import type { RoundMetrics } from '../protocol/types.js';
import type { TrainOutcome } from '../runtime/LocalRuntime.js';
import { bytes, int, ms, num } from './format.js';

/**
 * How a run's wall time divides. Round times come from the job's own per-round records; the
 * preparation round (loading, checking and summarising the data, initialising the model) is not a
 * training round and counts in `other`, with its length as `prepare`.
 */
export function timeSplit(outcome: Pick<TrainOutcome, 'rounds' | 'wallMs' | 'prepare'>) {
  let compute = 0;
  let load = 0;
  let sync = 0;
  for (const r of outcome.rounds) {
    const wall = Math.max(0, r.aggregatedAt - r.publishedAt);
    compute += r.computeMs;
    load += r.loadMs;
    // What a round spends beyond its slowest worker's load and compute: messages, store calls,
    // barrier and aggregation — the price of synchronising.
    sync += Math.max(0, wall - r.computeMs - r.loadMs);
  }
  const prep = outcome.prepare;
  const prepare = prep ? Math.max(0, prep.aggregatedAt - prep.publishedAt) : 0;
  return { compute, load, sync, prepare, other: Math.max(0, outcome.wallMs - compute - sync) };
}

export function formatReport(outcome: TrainOutcome, context: { data: string; backend: string; out?: string }): string {
  const { job, result, rounds } = outcome;
  const spec = job.spec;
  const data = job.data!;
  const n = Math.max(1, rounds.length);
  const last: RoundMetrics | undefined = rounds[rounds.length - 1];
  const split = timeSplit(outcome);
  const io = outcome.io.rounds.reduce((a, b) => ({ requests: a.requests + b.requests, bytesWritten: a.bytesWritten + b.bytesWritten, bytesRead: a.bytesRead + b.bytesRead }), {
    requests: 0,
    bytesWritten: 0,
    bytesRead: 0,
  });
  const workers = rounds.reduce((s, r) => s + r.workers, 0);
  const hits = rounds.reduce((s, r) => s + r.cacheHits, 0);
  const threads = spec.threads ?? 'auto';

  const lines: string[] = [];
  const title =
    spec.algorithm === 'kmeans'
      ? `k-means, k = ${spec.k}`
      : spec.algorithm === 'svm'
        ? `linear SVM (squared hinge, newton), ${penaltyTitle(spec, data.rows)}`
        : logregTitle(spec, result.algorithm === 'logreg' ? result.solver : undefined, data.rows);
  lines.push(`${title}, on ${context.data} (${int(data.rows)} rows × ${data.dims} features)`);
  lines.push(`job        ${job.jobId}: ${spec.workers} workers × ${threads} threads, backend ${context.backend}`);
  if (result.algorithm === 'kmeans') {
    const shift = last?.stats.shift ?? NaN;
    lines.push(`rounds     ${result.rounds}, ${result.converged ? `converged (largest centroid shift ${num(shift)} ≤ tol ${spec.tol})` : `stopped at max rounds (shift ${num(shift)} > tol ${spec.tol})`}`);
    lines.push(`inertia    ${num(result.inertia)}   cluster sizes ${clusterSizes(result.counts)}`);
  } else {
    lines.push(`rounds     ${result.rounds}, ${result.converged ? `converged (gradient norm ${num(result.gradNorm)} ≤ tol ${spec.tol})` : `stopped at max rounds (gradient norm ${num(result.gradNorm)} > tol ${spec.tol})`}`);
    lines.push(`loss       ${num(result.loss)}   accuracy ${(result.accuracy * 100).toFixed(2)}% (training data)`);
  }
  lines.push(`wall       ${ms(outcome.wallMs)} = compute ${ms(split.compute)} + synchronisation ${ms(split.sync)} + other ${ms(split.other)}`);
  lines.push(`           other: the preparation round (loading, checking and summarising the shards, initialising the model: ${ms(split.prepare)}), starting the job and threads`);
  lines.push(`per round  compute ${ms(split.compute / n)}, synchronisation ${ms(split.sync / n)}; store ${(io.requests / n).toFixed(1)} requests, ${bytes(io.bytesWritten / n)} written, ${bytes(io.bytesRead / n)} read`);
  const prep = outcome.prepare;
  const empty = prep?.stats.emptyShards ? `, ${prep.stats.emptyShards} of them empty` : '';
  lines.push(`shards     loaded in the preparation round (slowest ${ms(prep?.loadMs ?? 0)}${empty}); cache hits in training rounds ${hits}/${workers} (${workers ? Math.round((100 * hits) / workers) : 0}%)`);
  lines.push(`threads    to threads ${bytes(outcome.threadTraffic.toThreads / n)}/round, back ${bytes(outcome.threadTraffic.fromThreads / n)}/round`);
  if (context.out) lines.push(`model      written to ${context.out}`);
  return lines.join('\n');
}

/** All sizes for a handful of clusters; for many, the first few and the range. */
function clusterSizes(counts: number[]): string {
  if (counts.length <= 12) return counts.map(int).join(', ');
  return `${counts.slice(0, 8).map(int).join(', ')}, … (${counts.length} clusters, ${int(Math.min(...counts))} to ${int(Math.max(...counts))} rows)`;
}

/** The solver and its settings as a user gave them: lr only for gradient descent, C when given as C. */
function logregTitle(spec: LogregSpec, solver: string | undefined, rows: number): string {
  return `logistic regression (${solver ?? 'gd'}${solver === 'gd' || solver === undefined ? `, lr = ${spec.lr}` : ''}), ${penaltyTitle(spec, rows)}`;
}

function penaltyTitle(spec: { l2: number; C?: number }, rows: number): string {
  return spec.C !== undefined ? `C = ${spec.C} (l2 = ${num(1 / (spec.C * rows))})` : `l2 = ${spec.l2}`;
}
