import { DEFAULT_BATCH, DEFAULT_SGD_LR } from '../algorithms/logreg/localSgd.js';
import type { LogregSpec } from '../domain/spec.js';
import { isMultinomial, isOneVsRest } from '../domain/results.js';
import type { RunReport } from '../report/schema.js';
import type { TrainOutcome } from '../runtime/LocalRuntime.js';
import { bytes, int, ms, num } from '../util/format.js';

/** The text report `bspml train` prints: the run report (src/report/) in a few lines. */
export function formatReport(outcome: TrainOutcome, report: RunReport, context: { data: string; out?: string }): string {
  const { job, result } = outcome;
  const spec = job.spec;
  const data = job.data!;
  const t = report.totals;
  const n = Math.max(1, t.rounds);
  const lastShift = report.rounds.stats.shift?.at(-1) ?? Number.NaN;
  const threads = spec.threads ?? 'auto';

  const lines: string[] = [];
  const title =
    spec.algorithm === 'kmeans'
      ? `k-means, k = ${spec.k}`
      : spec.algorithm === 'svm'
        ? `linear SVM (${spec.solver === 'local-sgd' ? `hinge, ${localSgdTitle(spec)}` : `squared hinge, newton${isOneVsRest(result) ? `, one-vs-rest on ${result.classes.length} classes` : ''}`}), ${penaltyTitle(spec, data.rows)}`
        : logregTitle(spec, result.algorithm === 'logreg' ? result.solver : undefined, data.rows, isMultinomial(result) ? result.classes.length : undefined);
  const weights = 'classWeight' in spec && spec.classWeight !== undefined ? `, class weights ${typeof spec.classWeight === 'string' ? spec.classWeight : JSON.stringify(spec.classWeight)}` : '';
  lines.push(`${title}${weights}, on ${context.data} (${int(data.rows)} rows × ${data.dims} features)`);
  lines.push(`job        ${job.jobId}: ${spec.workers} workers × ${threads} threads, backend ${report.job.backend}`);
  if (result.algorithm === 'kmeans') {
    lines.push(`rounds     ${result.rounds}, ${result.converged ? `converged (largest centroid shift ${num(lastShift)} ≤ tol ${spec.tol})` : `stopped at max rounds (shift ${num(lastShift)} > tol ${spec.tol})`}`);
    lines.push(`inertia    ${num(result.inertia)}   cluster sizes ${clusterSizes(result.counts)}`);
  } else {
    const change = report.rounds.stats.change?.at(-1) ?? undefined;
    const measure = 'solver' in spec && spec.solver === 'local-sgd' ? `objective change ${change === undefined ? 'not measured' : num(change)}` : `gradient norm ${num(result.gradNorm)}`;
    lines.push(`rounds     ${result.rounds}, ${result.converged ? `converged (${measure} ≤ tol ${spec.tol})` : `stopped at max rounds (${measure} > tol ${spec.tol})`}`);
    // The objective apart: the data term (what log-loss means elsewhere) and the L2 penalty.
    const apart = result.penalty !== undefined && result.penalty > 0 ? ` = data ${num(result.loss - result.penalty)} + penalty ${num(result.penalty)}` : '';
    lines.push(`loss       ${num(result.loss)}${apart}   accuracy ${(result.accuracy * 100).toFixed(2)}% (training data)`);
  }
  lines.push(`wall       ${ms(t.wallMs)} = compute ${ms(t.computeMs)} + synchronisation ${ms(t.syncMs)} + other ${ms(t.otherMs + t.loadMs + t.prepareMs)}`);
  lines.push(`           other: the preparation round (loading, checking and summarising the shards, initialising the model: ${ms(t.prepareMs)}), starting the job and threads`);
  lines.push(
    `per round  compute ${ms(t.computeMs / n)}, synchronisation ${ms(t.syncMs / n)}; store ${((t.requests ?? 0) / n).toFixed(1)} requests, ${bytes((t.bytesWritten ?? 0) / n)} written, ${bytes((t.bytesRead ?? 0) / n)} read`,
  );
  const prep = report.prepare;
  const empty = prep?.stats.emptyShards ? `, ${prep.stats.emptyShards} of them empty` : '';
  lines.push(
    `shards     loaded in the preparation round (slowest ${ms(prep?.loadMs ?? 0)}${empty}); cache hits in training rounds ${t.cacheHits}/${t.workerInvocations} (${t.workerInvocations ? Math.round((100 * t.cacheHits) / t.workerInvocations) : 0}%)`,
  );
  lines.push(`threads    to threads ${bytes(outcome.threadTraffic.toThreads / n)}/round, back ${bytes(outcome.threadTraffic.fromThreads / n)}/round`);
  lines.push(costLine(report));
  if (context.out) lines.push(`model      written to ${context.out}`);
  return lines.join('\n');
}

/** The projected AWS bill, its largest parts first. */
export function costLine(report: RunReport): string {
  const c = report.cost;
  const usd = (v: number) => `$${v.toFixed(6)}`;
  const parts = Object.entries(c.usd)
    .filter(([service, v]) => service !== 'total' && v > 0)
    .sort((a, b) => b[1] - a[1])
    .map(([service, v]) => `${SERVICE_NAMES[service] ?? service} ${usd(v)}`);
  return `AWS cost   ≈ ${usd(c.usd.total)} on a stack (${c.backend} data plane, ${c.workerMemoryMb} MB ${c.architecture} workers): ${parts.join(', ')}`;
}

const SERVICE_NAMES: Record<string, string> = { lambda: 'Lambda', dynamodb: 'DynamoDB', sns: 'SNS', sqs: 'SQS', s3: 'S3', elasticache: 'ElastiCache' };

/** All sizes for a handful of clusters; for many, the first few and the range. */
function clusterSizes(counts: number[]): string {
  if (counts.length <= 12) return counts.map(int).join(', ');
  return `${counts.slice(0, 8).map(int).join(', ')}, … (${counts.length} clusters, ${int(Math.min(...counts))} to ${int(Math.max(...counts))} rows)`;
}

/** The solver and its settings as a user gave them: lr only for gradient descent, C when given as C. */
function logregTitle(spec: LogregSpec, solver: string | undefined, rows: number, classes?: number): string {
  if (classes !== undefined) return `multinomial logistic regression (${classes} classes, ${solver}), ${penaltyTitle(spec, rows)}`;
  if (solver === 'local-sgd') return `logistic regression (${localSgdTitle(spec)}), ${penaltyTitle(spec, rows)}`;
  return `logistic regression (${solver ?? 'gd'}${solver === 'gd' || solver === undefined ? `, lr = ${spec.lr}` : ''}), ${penaltyTitle(spec, rows)}`;
}

/** Local SGD's settings, defaults included (algorithms/logreg/localSgd.ts). */
function localSgdTitle(spec: { lr?: number; batchSize?: number; localSteps?: number }): string {
  const steps = spec.localSteps === undefined ? 'one pass' : `${spec.localSteps} steps`;
  return `local-sgd, lr = ${spec.lr ?? DEFAULT_SGD_LR}/√round, batch ${spec.batchSize ?? DEFAULT_BATCH}, ${steps} per thread per round`;
}

function penaltyTitle(spec: { l2?: number; C?: number }, rows: number): string {
  return spec.C !== undefined ? `C = ${spec.C} (l2 = ${num(1 / (spec.C * rows))})` : `l2 = ${spec.l2 ?? 0}`;
}
