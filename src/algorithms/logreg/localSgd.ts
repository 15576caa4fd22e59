import { BspmlError } from '../../errors.js';
import { logregAccumulate } from '../../kernels/logreg.js';
import { logregMargins } from '../../kernels/curvature.js';
import { localSgdSteps, type SgdLoss } from '../../kernels/localSgd.js';
import { mix32, Rng } from '../../util/random.js';
import type { LocalSgdSettings, RowBlock, Shape, UpdateResult } from '../types.js';
import { hinge } from '../svm/loss.js';
import { rowLossAccumulate } from './secondOrder.js';
import { fromStandard, headLength, meanOf, norm, PARTIAL_HEAD, penaltyOf, type PenaltySpec, penaltyTerm, standardGradient, stdOf, toStandard } from './layout.js';

/*
 * Local SGD with model averaging (KubeML; LambdaML's model averaging), for logistic regression
 * (log-loss) and the linear SVM (hinge). A round: every thread of every worker starts from the
 * averaged model θ, runs K mini-batch SGD steps over its own rows (default: one pass) in an order
 * shuffled with a generator keyed by (seed, round, shard, thread), and adds rows × θ_thread and its
 * rows to the partial; the worker's merge of its threads is their average weighted by rows (times
 * its rows), and the aggregator's merge of the workers the global average: θ ← Σ rows·θ_t / Σ rows.
 * Every step is taken in standardised coordinates (the kernel in kernels/localSgd.ts), so one
 * learning rate suits columns in any units.
 *
 * In the same pass, each thread also adds the ordinary partial of the model that entered the round
 * (gradient sums, loss, rows classified right, rows: logistic regression's partial head), so each
 * round reports the exact objective, accuracy and gradient norm of the averaged model it started
 * from, with no extra round.
 *
 * The result depends on W and I by design (each thread walks its own rows): deterministic for a
 * fixed W × I and seed, not across splits. The step size of round r is lr/√r.
 *
 * Stopping: converged when the objectives of two successive averaged models differ by at most tol
 * (relative); SGD's noise keeps the gradient norm from reaching a small tol.
 *
 * Model tail: the round number r (1 for the first model: it keys the shuffle and the step size),
 * then the objective measured in the previous round (NaN before one was).
 * Partial: logistic regression's head (dims + 4) at the entering model, then Σ rows·θ_t (dims + 1).
 */

/** Rows per mini-batch by default. */
export const DEFAULT_BATCH = 64;

/** The fields of a spec local SGD reads (logistic regression's and the SVM's). */
export interface LocalSgdSpec extends PenaltySpec {
  lr?: number;
  localSteps?: number;
  batchSize?: number;
  seed: number;
}

/** Local SGD's step size of round 1 when the spec gives none (the SVM's spec has no default). */
export const DEFAULT_SGD_LR = 0.5;

export function localSgdSettings(spec: LocalSgdSpec, rows: number, loss: SgdLoss): LocalSgdSettings {
  return { loss, lr: spec.lr ?? DEFAULT_SGD_LR, lambda: penaltyOf(spec, rows), batch: spec.batchSize ?? DEFAULT_BATCH, steps: spec.localSteps, seed: spec.seed };
}

const TAIL = 2;

export function localSgdModelLength(dims: number): number {
  return headLength(dims) + TAIL;
}

export function localSgdPartialLength(dims: number): number {
  return 2 * dims + 1 + PARTIAL_HEAD;
}

export function localSgdInit(head: Float64Array, dims: number): Float64Array {
  const model = new Float64Array(localSgdModelLength(dims));
  model.set(head);
  model[headLength(dims)] = 1;
  model[headLength(dims) + 1] = NaN;
  return model;
}

/** The generator of a thread's mini-batch order: one stream per (seed, round, shard, thread); the finaliser gives nearby keys unrelated seeds. */
export function sgdRng(seed: number, round: number, shard: number, thread: number): Rng {
  return new Rng(mix32(mix32(mix32(mix32(seed) ^ round) ^ shard) ^ thread));
}

/** Fisher–Yates, in place, from the last index down. */
function shuffle(order: Int32Array, rng: Rng): void {
  for (let i = order.length - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    const t = order[i]!;
    order[i] = order[j]!;
    order[j] = t;
  }
}

export function localSgdPartial(shape: Shape, model: Float64Array, block: RowBlock, out: Float64Array): void {
  const { dims } = shape;
  const settings = shape.sgd;
  if (!settings) throw new Error('local SGD partial without its settings in the shape');
  const { features, labels, start, end } = block;
  if (!labels) throw new Error(`${shape.algorithm === 'svm' ? 'linear SVM' : 'logistic regression'} partial needs labels`);
  const rows = end - start;
  if (settings.loss === 'logistic') {
    const { loss, correct } = logregAccumulate(features, labels, dims, start, end, model, out);
    out[dims + 1] += loss;
    out[dims + 2] += correct;
  } else if (rows > 0) {
    const z = new Float64Array(rows);
    logregMargins(features, dims, start, end, model, z);
    rowLossAccumulate(features, labels, dims, start, z, hinge, out);
  }
  out[dims + 3] += rows;
  if (rows === 0) return;

  const round = model[headLength(dims)]!;
  const theta = toStandard(model, dims);
  const mean = Float64Array.from(meanOf(model, dims));
  const invStd = stdOf(model, dims).map((s) => 1 / s);
  const rng = sgdRng(settings.seed, round, block.shard ?? 0, block.thread ?? 0);
  const order = new Int32Array(rows);
  for (let i = 0; i < rows; i++) order[i] = start + i;
  const perPass = Math.ceil(rows / settings.batch);
  let left = settings.steps ?? perPass;
  // Each pass over the rows is shuffled anew (from the previous pass's order), its batches consecutive slices of it.
  while (left > 0) {
    shuffle(order, rng);
    const steps = Math.min(left, perPass);
    localSgdSteps(features, labels, dims, order, theta, mean, invStd, { loss: settings.loss, lr: settings.lr / Math.sqrt(round), lambda: settings.lambda, batch: settings.batch, steps });
    left -= steps;
  }
  const sum = out.subarray(dims + PARTIAL_HEAD);
  for (let j = 0; j <= dims; j++) sum[j] += rows * theta[j]!;
}

/**
 * The loss of the model local SGD starts from (zero weights and bias: every margin 0): ln 2 per row
 * for the log-loss, 1 for the hinge. The optimum's objective is never above it (the penalty of zero
 * weights is 0), so an averaged model far above it is a step that is too long, not noise.
 */
export function zeroModelLoss(loss: SgdLoss): number {
  return loss === 'logistic' ? Math.LN2 : 1;
}

/**
 * Divergence, beyond the non-finite: a round whose averaged model's objective is this many times the
 * zero model's is diverging (with lr/√r the step would take ~10^12 rounds to shrink back from
 * lr = 1e9); sane runs peak below 20× here (issue 20: lr up to 100 on noisy data).
 */
export const DIVERGED_FACTOR = 1000;
/** A job may not end (converged, or at maxRounds) with an objective this much above the zero model's: SGD's noise stays well below it. */
export const END_MARGIN = 1.1;

export function localSgdStep(spec: PenaltySpec & { maxRounds?: number }, shape: Shape, model: Float64Array, merged: Float64Array, method: string): UpdateResult {
  const { dims } = shape;
  const n = merged[dims + 3]!;
  const lambda = penaltyOf(spec, n);
  const t = headLength(dims);
  const round = model[t]!;
  const previous = model[t + 1]!;
  const theta = toStandard(model, dims);
  const objective = merged[dims + 1]! / n + penaltyTerm(lambda, theta, dims);
  const gradNorm = norm(standardGradient(merged, model, theta, dims, lambda));
  const accuracy = merged[dims + 2]! / n;

  const average = merged.slice(dims + PARTIAL_HEAD, dims + PARTIAL_HEAD + dims + 1).map((v) => v / n);
  const next = new Float64Array(model);
  fromStandard(average, model, dims, next);
  next[t] = round + 1;
  next[t + 1] = objective;
  // As for gradient descent: weights whose squared norm overflows (beyond ~1e154) are meaningless even where the loss stays finite.
  let squared = 0;
  for (let j = 0; j < dims; j++) squared += next[j]! * next[j]!;
  if (!Number.isFinite(objective) || !Number.isFinite(squared) || !next.subarray(0, dims + 1).every(Number.isFinite)) {
    throw new BspmlError('E_DIVERGED', `${method} diverged (loss ${objective}, squared weight norm ${squared}): lower the learning rate (lr = ${shape.sgd?.lr})`);
  }
  const zero = zeroModelLoss(shape.sgd?.loss ?? 'logistic');
  const lower = `lower the learning rate (lr = ${shape.sgd?.lr})`;
  if (objective > DIVERGED_FACTOR * zero) {
    throw new BspmlError('E_DIVERGED', `${method} diverged (loss ${objective}, over ${DIVERGED_FACTOR}× the ${fmt(zero)} of zero weights): ${lower}`);
  }
  const stats: Record<string, number> = { gradNorm, accuracy };
  let converged = false;
  if (!Number.isNaN(previous)) {
    stats.change = Math.abs(objective - previous) / Math.max(Math.abs(previous), Number.MIN_VALUE);
    converged = stats.change <= spec.tol;
  }
  // The job ends here (converged, or its last round): never with a model worse than the one it started from.
  const last = converged || (spec.maxRounds !== undefined && round >= spec.maxRounds);
  if (last && objective > END_MARGIN * zero) {
    throw new BspmlError('E_DIVERGED', `${method} did not converge: it ended at round ${round} with loss ${fmt(objective)}, worse than the ${fmt(zero)} of zero weights: ${lower}`);
  }
  return { model: next, objective, converged, stats };
}

function fmt(x: number): string {
  return Number(x.toPrecision(4)).toString();
}
