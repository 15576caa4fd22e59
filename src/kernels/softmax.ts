import { scratch, wasmContextOf, type WasmContext } from './backend.js';

/*
 * The row pass of multinomial logistic regression (algorithms/logreg/multinomial.ts), one pass over
 * the rows: logits z_k = W_k·x + b_k of K classes (`w` holds K rows of dims weights, then K biases),
 * the log-loss logsumexp(z) − z_y and its gradient (softmax(z) − onehot(y))·x, and, when a direction
 * is given (its logits z′ from `dir`, laid out as `w`), the log-loss at the trial points whose logits
 * are z − back_t·z′ (the in-round line search of algorithms/logreg/secondOrder.ts).
 *
 * Rows in a shared WebAssembly memory (see backend.ts) go to the blocked SIMD kernel (rows widened to
 * float64 a block at a time, logits two rows × four classes per pass (two × two for two classes left), gradient four rows × two classes,
 * float64 products and sums, exp and log as the engine's float64 functions), whose results match this
 * loop's to rounding; other arrays take this loop.
 */

export interface SoftmaxPass {
  x: Float32Array;
  y: Float32Array;
  dims: number;
  classes: number;
  start: number;
  end: number;
  w: Float64Array;
  /** Added to: K·dims weight sums, then K bias sums. */
  grad: Float64Array;
  /** The direction whose trial points are evaluated, and back_t for each; absent: no trials. */
  dir?: Float64Array;
  backs?: readonly number[];
  /** Added to: the summed log-loss at each trial point. */
  trialLoss?: Float64Array;
}

/** Adds the rows' gradient (and trial losses) in place; returns the summed log-loss and the rows whose largest logit (the first, on ties) is their label's. */
export function softmaxAccumulate(pass: SoftmaxPass): { loss: number; correct: number } {
  const context = wasmContextOf(pass.x.buffer);
  if (context && pass.y.buffer === pass.x.buffer && pass.end > pass.start) return softmaxAccumulateWasm(context, pass);
  return softmaxAccumulateJs(pass);
}

/** log Σ exp(z[0..K)), shifted by the largest so that no exp overflows. */
function logSumExp(z: Float64Array, classes: number): number {
  let top = -Infinity;
  for (let k = 0; k < classes; k++) top = Math.max(top, z[k]!);
  if (!Number.isFinite(top)) return top;
  let sum = 0;
  for (let k = 0; k < classes; k++) sum += Math.exp(z[k]! - top);
  return top + Math.log(sum);
}

function logits(x: Float32Array, row: number, dims: number, classes: number, w: Float64Array, out: Float64Array): void {
  const biases = classes * dims;
  for (let k = 0; k < classes; k++) {
    let z = 0;
    for (let j = 0; j < dims; j++) z += w[k * dims + j]! * x[row + j]!;
    out[k] = w[biases + k]! + z;
  }
}

/** The plain loop: the fallback, and the definition the WebAssembly kernel must reproduce. */
export function softmaxAccumulateJs(pass: SoftmaxPass): { loss: number; correct: number } {
  const { x, y, dims, classes, start, end, w, grad, dir, backs = [], trialLoss } = pass;
  const biases = classes * dims;
  const z = new Float64Array(classes);
  const along = new Float64Array(classes);
  const trial = new Float64Array(classes);
  let loss = 0;
  let correct = 0;
  for (let i = start; i < end; i++) {
    const row = i * dims;
    const label = y[i]!;
    logits(x, row, dims, classes, w, z);
    const lse = logSumExp(z, classes);
    loss += lse - z[label]!;
    let best = 0;
    for (let k = 1; k < classes; k++) if (z[k]! > z[best]!) best = k;
    if (best === label) correct++;
    for (let k = 0; k < classes; k++) {
      const err = Math.exp(z[k]! - lse) - (k === label ? 1 : 0);
      for (let j = 0; j < dims; j++) grad[k * dims + j] += err * x[row + j]!;
      grad[biases + k] += err;
    }
    if (!dir || !trialLoss) continue;
    logits(x, row, dims, classes, dir, along);
    for (let t = 0; t < backs.length; t++) {
      for (let k = 0; k < classes; k++) trial[k] = z[k]! - backs[t]! * along[k]!;
      trialLoss[t] += logSumExp(trial, classes) - trial[label]!;
    }
  }
  return { loss, correct };
}

/** Runs the WebAssembly kernel on rows in the context's memory; weights, sums and the block scratch go through scratch. */
function softmaxAccumulateWasm(context: WasmContext, pass: SoftmaxPass): { loss: number; correct: number } {
  const { x, y, dims, classes, start, end, w, grad, dir, backs = [], trialLoss } = pass;
  const n = classes * (dims + 1);
  const trials = dir && trialLoss ? backs.length : 0;
  const modelBytes = align(n * 8);
  const trialBytes = align(Math.max(1, trials) * 8);
  // w, dir, grad; backs, trial losses; loss and correct; the kernel's block scratch.
  const wPtr = scratch(context, 3 * modelBytes + 2 * trialBytes + 16 + context.exports.softmaxScratchBytes(dims, classes));
  const dirPtr = wPtr + modelBytes;
  const gradPtr = dirPtr + modelBytes;
  const backsPtr = gradPtr + modelBytes;
  const trialPtr = backsPtr + trialBytes;
  const outPtr = trialPtr + trialBytes;
  const tmpPtr = outPtr + 16;
  const buffer = context.memory.buffer;
  new Float64Array(buffer, wPtr, n).set(w.subarray(0, n));
  if (trials > 0) {
    new Float64Array(buffer, dirPtr, n).set(dir!.subarray(0, n));
    new Float64Array(buffer, backsPtr, trials).set(backs);
    new Float64Array(buffer, trialPtr, trials).set(trialLoss!.subarray(0, trials));
  }
  const gradView = new Float64Array(buffer, gradPtr, n);
  gradView.set(grad.subarray(0, n));
  context.exports.softmaxAccumulate(x.byteOffset, y.byteOffset, dims, classes, start, end, wPtr, dirPtr, gradPtr, tmpPtr, backsPtr, trials, trialPtr, outPtr);
  grad.set(gradView);
  if (trials > 0) trialLoss!.set(new Float64Array(buffer, trialPtr, trials));
  const out = new Float64Array(buffer, outPtr, 2);
  return { loss: out[0]!, correct: out[1]! };
}

function align(bytes: number): number {
  return Math.ceil(bytes / 16) * 16;
}

/**
 * The curvature of the log-loss over rows [start, end), for Hessian-vector products (the local
 * Newton solves of algorithms/logreg/giant.ts): the rows' softmax probabilities under `w` are
 * computed once, then `times(v, out)` adds H·v (H: the Hessian of the summed log-loss in the
 * input-space weights, v laid out as the weights) to `out`, one pass over the rows per product:
 * with u = V·x + c and p the row's probabilities, r_k = p_k·(u_k − pᵀu), out += r ⊗ (x, 1).
 */
export interface SoftmaxCurvature {
  times(v: Float64Array, out: Float64Array): void;
}

export function softmaxCurvature(x: Float32Array, dims: number, classes: number, start: number, end: number, w: Float64Array): SoftmaxCurvature {
  const context = wasmContextOf(x.buffer);
  if (context && end > start) return softmaxCurvatureWasm(context, x, dims, classes, start, end, w);
  return softmaxCurvatureJs(x, dims, classes, start, end, w);
}

/** The plain loops: the fallback, and the definition the WebAssembly kernels must reproduce. */
export function softmaxCurvatureJs(x: Float32Array, dims: number, classes: number, start: number, end: number, w: Float64Array): SoftmaxCurvature {
  const probs = new Float64Array((end - start) * classes);
  const z = new Float64Array(classes);
  for (let i = start; i < end; i++) {
    logits(x, i * dims, dims, classes, w, z);
    const lse = logSumExp(z, classes);
    for (let k = 0; k < classes; k++) probs[(i - start) * classes + k] = Math.exp(z[k]! - lse);
  }
  const biases = classes * dims;
  const u = new Float64Array(classes);
  return {
    times(v, out) {
      for (let i = start; i < end; i++) {
        const row = i * dims;
        logits(x, row, dims, classes, v, u);
        const p = probs.subarray((i - start) * classes, (i - start + 1) * classes);
        let pu = 0;
        for (let k = 0; k < classes; k++) pu += p[k]! * u[k]!;
        for (let k = 0; k < classes; k++) {
          const r = p[k]! * (u[k]! - pu);
          for (let j = 0; j < dims; j++) out[k * dims + j] += r * x[row + j]!;
          out[biases + k] += r;
        }
      }
    },
  };
}

function softmaxCurvatureWasm(context: WasmContext, x: Float32Array, dims: number, classes: number, start: number, end: number, w: Float64Array): SoftmaxCurvature {
  const n = classes * (dims + 1);
  const rows = end - start;
  const modelBytes = align(n * 8);
  const probBytes = align(rows * classes * 8);
  // v (w first), out, the rows' probabilities, the block scratch: this thread's scratch, held while
  // the products run (nothing else in the thread uses its scratch meanwhile).
  const vPtr = scratch(context, 2 * modelBytes + probBytes + context.exports.softmaxScratchBytes(dims, classes));
  const outPtr = vPtr + modelBytes;
  const probPtr = outPtr + modelBytes;
  const tmpPtr = probPtr + probBytes;
  new Float64Array(context.memory.buffer, vPtr, n).set(w.subarray(0, n));
  context.exports.softmaxProbabilities(x.byteOffset, dims, classes, start, end, vPtr, probPtr, tmpPtr);
  return {
    times(v, out) {
      const buffer = context.memory.buffer;
      new Float64Array(buffer, vPtr, n).set(v.subarray(0, n));
      const outView = new Float64Array(buffer, outPtr, n);
      outView.set(out.subarray(0, n));
      context.exports.softmaxHessianProduct(x.byteOffset, dims, classes, start, end, vPtr, probPtr, outPtr, tmpPtr);
      out.set(outView);
    },
  };
}
