import { softmaxCurvature } from '../../kernels/softmax.js';
import type { Shape, UpdateResult } from '../types.js';
import { dotProduct, fromStandard, meanOf, norm, type PenaltySpec, stdOf } from './layout.js';
import { secondOrderStep, setDirection, tailOffsets, type Accepted } from './secondOrder.js';
import type { RowBlock } from '../types.js';

/*
 * GIANT (Wang, Roosta, Xu, Mahoney: "GIANT: Globally Improved Approximate Newton Method for
 * Distributed Optimization", NeurIPS 2018) for multinomial logistic regression, where the Hessian
 * (C·(d+1))² cannot travel: each worker solves the Newton system of its own shard,
 * (H_w + λI′)·p_w = −∇f, by conjugate gradient, and the aggregator averages the directions weighted
 * by rows and line-searches along the average. Inside a worker every thread runs the same CG: each
 * Hessian-vector product is its rows' product summed across the worker's threads
 * (RowBlock.sumAcrossThreads, one sum in shared memory per CG iteration, no round, no store), so the
 * Hessian is the whole shard's; at W = 1 the step is a truncated Newton step on the whole data. (Each
 * thread solving on its own rows, as before, left a 1.1e-1 gap after 30 rounds at 1 × 2 on the wide
 * image-like problem: a half-shard Hessian underestimates the curvature along rare pixels;
 * docs/algorithms.md.) ∇f is the exact global gradient, so a fixed point has ∇f = 0: it converges to
 * the optimum of the same objective as the other solvers, whatever the split (only its path depends
 * on the split across workers, through their Hessians; the partition-invariance tests hold the
 * objective to 1e-6).
 *
 * Rounds alternate:
 *   evaluate (phase 0): the ordinary multinomial partial at θ = base + p with the trial losses of the
 *     in-round line search (secondOrder.ts); an accepted point's gradient is kept in the model.
 *   solve (phase 1): the worker's CG direction from the accepted point, times each thread's rows;
 *     partial: Σ rows·p_w (n), Σ rows·(CG iterations) in the loss's slot, the rows in the rows slot.
 * So an iteration costs two rounds, and the solve round CG_ITERATIONS + 1 passes over the rows; a
 * rejected point costs one more evaluate round, as for L-BFGS.
 *
 * Step scale: the average of local Newton directions tends to be too long (each worker's Hessian,
 * from fewer rows, underestimates the curvature of the whole in some directions; the inverse of an
 * average is at most the average of the inverses), which costs a rejected round and a forced one. So
 * the averaged direction is multiplied by a scale kept in the model: cut to the trial step the line
 * search settled on when the step is rejected, doubled (up to 1) when a full step is accepted.
 *
 * State after the shared tail: phase, λ, ∇f at the accepted point (n, in θ), then the step scale
 * (the aggregator's alone: it never goes to the threads).
 */

/**
 * Most CG iterations per local solve; CG also stops at a relative residual of CG_TOLERANCE·min(1, √‖∇f‖).
 * Chosen by measurement (docs/algorithms.md, GIANT): on the 20,000 × 784, 10-class problem at 1 × 2
 * the forcing residual is reached only in the first two solves, so the cap sets a solve's cost;
 * of 60, 100, 150 and 200, 100 took the fewest Hessian-vector products in all to 1e-6 of the
 * optimum (906, in 21 rounds; 1e-3 in 15), 60 the fewest to 1e-3 but 37 rounds to 1e-6.
 */
export const CG_ITERATIONS = 100;
const CG_TOLERANCE = 0.1;

export function giantStateLength(dims: number, outputs: number): number {
  return 3 + outputs * (dims + 1);
}

function stateOffsets(dims: number, outputs: number) {
  const o = tailOffsets(dims, outputs);
  return { ...o, phase: o.extra, lambda: o.extra + 1, grad: o.extra + 2, scale: o.extra + 2 + o.n };
}

/** What the thread reads in each phase: evaluate, the point and direction; solve, the point, means, std devs, λ and ∇f. */
export function giantThreadRanges(shape: Shape, model: Float64Array): [number, number][] {
  const o = stateOffsets(shape.dims, shape.classes!);
  if (model[o.phase] === 1) {
    return [
      [0, o.n + 2 * shape.dims],
      [o.phase, o.grad + o.n],
    ];
  }
  return [
    [0, o.n],
    [o.rawDir, o.rawDir + o.n],
    [o.phase, o.phase + 1],
  ];
}

export function isSolveRound(shape: Shape, model: Float64Array): boolean {
  return model[stateOffsets(shape.dims, shape.classes!).phase] === 1;
}

/** A solve round sums each Hessian-vector product (θ's n values) across a worker's threads; an evaluate round sums nothing. */
export function giantThreadSumLength(shape: Shape, model: Float64Array): number {
  return isSolveRound(shape, model) ? shape.classes! * (shape.dims + 1) : 0;
}

/**
 * The worker's local Newton direction, times this thread's rows, added to out[0..n); the CG
 * iterations times the rows to out[n], the rows to out[n + 2]. Conjugate gradient on
 * (H/M + λI′)·p = −∇f in θ (H: the Hessian of the summed log-loss of the M rows of the worker's
 * threads), each product one pass over this thread's rows (softmaxCurvature) in input space, summed
 * across the threads (block.sumAcrossThreads; absent, this block's rows are the worker's), mapped to θ.
 * Every thread's CG then sees the same numbers bit for bit and takes the same iterations.
 */
export function giantSolvePartial(shape: Shape, model: Float64Array, block: RowBlock, out: Float64Array): void {
  const { dims } = shape;
  const classes = shape.classes!;
  const o = stateOffsets(dims, classes);
  const n = o.n;
  const m = block.end - block.start;
  out[n + 2] += m;
  // The threads that share this solve all take part in every sum, rows or none (the pool gives a
  // thread without rows no block: this returns only outside a shared solve).
  const sum = block.sumAcrossThreads;
  if (m === 0 && !sum) return;
  // The worker's rows: the Hessian below is the mean over every row its threads hold.
  const rows = sum ? sumOf(sum, m) : m;
  const lambda = model[o.lambda]!;
  const grad = model.subarray(o.grad, o.grad + n);
  const mean = meanOf(model, dims, classes);
  const std = stdOf(model, dims, classes);
  // The thread's scratch holds the rows' probabilities while the products run: nothing else in this
  // thread calls a kernel until the solve ends.
  const curvature = softmaxCurvature(block.features, dims, classes, block.start, block.end, model);
  const raw = new Float64Array(n);
  const sums = new Float64Array(n);
  const times = (v: Float64Array, into: Float64Array) => {
    fromStandard(v, model, dims, raw, classes);
    sums.fill(0);
    curvature.times(raw, sums);
    // One sum per product: every thread's CG then runs on the Hessian of the worker's whole shard.
    sum?.(sums);
    for (let k = 0; k < classes; k++) {
      const s = sums[classes * dims + k]!;
      for (let j = 0; j < dims; j++) into[k * dims + j] = (sums[k * dims + j]! - mean[j]! * s) / (std[j]! * rows) + lambda * v[k * dims + j]!;
      into[classes * dims + k] = s / rows;
    }
  };
  const p = new Float64Array(n);
  const r = grad.map((g) => -g);
  const d = Float64Array.from(r);
  const hd = new Float64Array(n);
  let rr = dotProduct(r, r);
  const gradNorm = Math.sqrt(rr);
  const stop = CG_TOLERANCE * Math.min(1, Math.sqrt(gradNorm)) * gradNorm;
  let it = 0;
  for (; it < CG_ITERATIONS && Math.sqrt(rr) > stop; it++) {
    times(d, hd);
    const curv = dotProduct(d, hd);
    // Not positive along d (rounding on a flat direction): keep what CG has.
    if (!(curv > 0)) break;
    const alpha = rr / curv;
    for (let j = 0; j < n; j++) {
      p[j] += alpha * d[j]!;
      r[j] -= alpha * hd[j]!;
    }
    const next = dotProduct(r, r);
    const beta = next / rr;
    rr = next;
    for (let j = 0; j < n; j++) d[j] = r[j]! + beta * d[j]!;
  }
  // The first step of CG from 0 is along −∇f: p is a descent direction whenever an iteration ran.
  if (!p.some((v) => v !== 0)) p.set(r);
  for (let j = 0; j < n; j++) out[j] += m * p[j]!;
  // Hessian-vector products this solve took, times the rows (the loss's slot, unused in a solve round).
  out[n] += m * it;
}

/** A number summed across the threads of a shared solve. */
function sumOf(sum: (values: Float64Array) => void, value: number): number {
  const one = Float64Array.of(value);
  sum(one);
  return one[0]!;
}

/** One GIANT round at the aggregator (see the comment at the top). */
export function giantStep(spec: PenaltySpec, shape: Shape, model: Float64Array, merged: Float64Array): UpdateResult {
  const { dims } = shape;
  const classes = shape.classes!;
  const o = stateOffsets(dims, classes);
  const n = o.n;
  if (model[o.phase] === 1) {
    const rows = merged[n + 2]!;
    const grad = model.subarray(o.grad, o.grad + n);
    const scale = model[o.scale]! > 0 ? model[o.scale]! : 1;
    let p = merged.subarray(0, n).map((v) => (scale * v) / rows);
    let slope = dotProduct(grad, p);
    // The average of descent directions descends; rounding aside, fall back on −∇f.
    if (!(slope < 0) || !p.every(Number.isFinite)) {
      const gn = norm(grad);
      p = grad.map((g) => -g / Math.max(1, gn));
      slope = dotProduct(grad, p);
    }
    const next = new Float64Array(model);
    next[o.scalars + 1] = slope;
    next[o.scalars + 2] = 0;
    next[o.phase] = 0;
    setDirection(next, dims, p, classes);
    // CG iterations per solve, averaged over the rows (each worker's threads share one count).
    const cgIterations = merged[n]! / rows;
    return { model: next, objective: model[o.scalars]!, converged: false, stats: { gradNorm: model[o.scalars + 4]!, accuracy: model[o.scalars + 3]!, step: 0, cgIterations } };
  }
  let accepted: Accepted | undefined;
  const result = secondOrderStep(
    spec,
    shape,
    model,
    merged,
    (point, _before, _merged, next) => {
      accepted = point;
      next.set(point.grad, o.grad);
      next[o.lambda] = point.lambda;
      // The direction comes from the next round's local solves: none to evaluate meanwhile.
      return new Float64Array(n);
    },
    'GIANT',
  );
  const scale = model[o.scale]! > 0 ? model[o.scale]! : 1;
  if (accepted) {
    // A full step passed the Armijo test (not a trial point accepted without one): try longer ones again.
    if (model[o.scalars + 2] !== 1) result.model[o.scale] = Math.min(1, 2 * scale);
    if (!result.converged) result.model[o.phase] = 1;
  } else {
    // Rejected: the next point is base + α·p; later directions start from that length.
    result.model[o.scale] = scale * result.stats.step!;
  }
  return result;
}
