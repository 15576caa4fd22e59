import { scratch, wasmContextOf, type WasmContext } from './backend.js';

/*
 * The row pass of multinomial logistic regression (algorithms/logreg/multinomial.ts), one pass over
 * the rows: logits z_k = W_k·x + b_k of K classes (`w` holds K rows of dims weights, then K biases),
 * the log-loss logsumexp(z) − z_y and its gradient (softmax(z) − onehot(y))·x, and, when a direction
 * is given (its logits z′ from `dir`, laid out as `w`), the log-loss at the trial points whose logits
 * are z − back_t·z′ (the in-round line search of algorithms/logreg/secondOrder.ts).
 *
 * Rows in a shared WebAssembly memory (see backend.ts) go to the SIMD kernel (float64 products and
 * sums, its dot products and row updates shared with the binary kernels, exp and log as the engine's
 * float64 functions), whose results match this loop's to rounding; other arrays take this loop.
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

/** Runs the WebAssembly kernel on rows in the context's memory; weights, sums and per-row scratch go through scratch. */
function softmaxAccumulateWasm(context: WasmContext, pass: SoftmaxPass): { loss: number; correct: number } {
  const { x, y, dims, classes, start, end, w, grad, dir, backs = [], trialLoss } = pass;
  const n = classes * (dims + 1);
  const trials = dir && trialLoss ? backs.length : 0;
  const align = (bytes: number) => Math.ceil(bytes / 16) * 16;
  const modelBytes = align(n * 8);
  const classBytes = align(classes * 8);
  const trialBytes = align(Math.max(1, trials) * 8);
  // w, dir, grad; z, z′, trial logits; backs, trial losses; loss and correct.
  const wPtr = scratch(context, 3 * modelBytes + 3 * classBytes + 2 * trialBytes + 16);
  const dirPtr = wPtr + modelBytes;
  const gradPtr = dirPtr + modelBytes;
  const zPtr = gradPtr + modelBytes;
  const backsPtr = zPtr + 3 * classBytes;
  const trialPtr = backsPtr + trialBytes;
  const outPtr = trialPtr + trialBytes;
  const buffer = context.memory.buffer;
  new Float64Array(buffer, wPtr, n).set(w.subarray(0, n));
  if (trials > 0) {
    new Float64Array(buffer, dirPtr, n).set(dir!.subarray(0, n));
    new Float64Array(buffer, backsPtr, trials).set(backs);
    new Float64Array(buffer, trialPtr, trials).set(trialLoss!.subarray(0, trials));
  }
  const gradView = new Float64Array(buffer, gradPtr, n);
  gradView.set(grad.subarray(0, n));
  context.exports.softmaxAccumulate(x.byteOffset, y.byteOffset, dims, classes, start, end, wPtr, dirPtr, gradPtr, zPtr, backsPtr, trials, trialPtr, outPtr);
  grad.set(gradView);
  if (trials > 0) trialLoss!.set(new Float64Array(buffer, trialPtr, trials));
  const out = new Float64Array(buffer, outPtr, 2);
  return { loss: out[0]!, correct: out[1]! };
}
